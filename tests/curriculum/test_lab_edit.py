"""Staff correct a lab in the app; a later import never overwrites the correction silently."""

import json

import pytest
import yaml
from django.core.management import call_command

from core.exceptions import ApplicationError
from curriculum.exporter import EXPORTERS, curriculum_data
from curriculum.models import Lab, LabRevision
from curriculum.selectors import tracks_with_labs
from curriculum.services import import_apply, import_curriculum_file, import_preview, lab_edit
from notifications.models import Event, Notification
from tests.curriculum.conftest import labs_index, simple_track
from tests.factories import MembershipFactory, UserFactory
from tests.notifications.conftest import make_world, process_all

pytestmark = pytest.mark.django_db

FIXED = "Build thing {week}:\n1. Write the `parser_{week}` for format {n}.\n2. Measure it {week} times and report.\n"


def source(weeks: int = 3) -> bytes:
    return labs_index({"Alpha": simple_track(weeks)})


def run(data: bytes, **kwargs):
    return import_curriculum_file(actor=None, source=data, filename="c.txt", **kwargs)


def edit(staff, lab, *, week=None, note="Marked the parser name as code"):
    week = week or lab.week
    return lab_edit(
        actor=staff,
        lab=lab,
        title=lab.title,
        body=FIXED.format(week=week, n=week * 7),
        note=note,
    )


def test_edit_makes_a_revision_with_editor_note_and_derived_steps(staff):
    run(source())
    lab = Lab.objects.get(week=2)
    revision = edit(staff, lab)
    lab.refresh_from_db()
    assert revision.number == 2 and lab.current_revision == revision
    assert revision.origin == LabRevision.Origin.EDIT
    assert revision.edited_by == staff and revision.note == "Marked the parser name as code"
    assert lab.body == FIXED.format(week=2, n=14) == revision.body
    # The steps (checklist) follow the corrected text.
    assert lab.deliverables == [
        "Write the `parser_2` for format 14.",
        "Measure it 2 times and report.",
    ]
    assert revision.deliverables == lab.deliverables


@pytest.mark.parametrize(
    "field, value",
    [("note", "  "), ("body", "\n \n"), ("title", ""), ("note", "x" * 501)],
)
def test_bad_edit_is_refused_and_writes_nothing(staff, field, value):
    run(source())
    lab = Lab.objects.get(week=1)
    values = {"title": "New title", "body": "Other text:\n- one step\n", "note": "why"}
    values[field] = value
    with pytest.raises(ApplicationError) as exc:
        lab_edit(actor=staff, lab=lab, **values)
    assert exc.value.code == "invalid" and field in exc.value.extra["errors"]
    assert LabRevision.objects.filter(lab=lab).count() == 1
    assert not Event.objects.filter(kind="lab.updated").exists()


def test_edit_with_the_same_text_is_refused(staff):
    run(source())
    lab = Lab.objects.get(week=1)
    with pytest.raises(ApplicationError):
        lab_edit(actor=staff, lab=lab, title=lab.title, body=lab.body + "\n\n", note="nothing")
    assert LabRevision.objects.filter(lab=lab).count() == 1


def test_only_staff_may_edit():
    run(source())
    lab = Lab.objects.get(week=1)
    with pytest.raises(ApplicationError) as exc:
        lab_edit(actor=UserFactory(), lab=lab, title="Mine", body="Mine:\n- x\n", note="mine")
    assert exc.value.code == "forbidden"
    lab.refresh_from_db()
    assert lab.title == "Lab number 1" and lab.revisions.count() == 1


def test_learners_working_on_the_lab_are_told_after_commit(django_capture_on_commit_callbacks):
    # The set-up's own transactions "commit" (their callbacks run), as between requests.
    with django_capture_on_commit_callbacks(execute=True):
        world = make_world()
        world.submit()
        finished = world.add_learner()
        world.draft(learner=finished)
        bystander = world.add_learner()
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        revision = lab_edit(
            actor=world.staff,
            lab=world.lab,
            title=world.lab.title,
            body="Corrected:\n1. Run `make test`.\n",
            note="Fixed the command",
        )
        # Nothing is sent before the edit commits.
        assert not Notification.objects.filter(kind="lab.updated").exists()
    assert callbacks, "the event is enqueued after commit"
    event = Event.objects.get(kind="lab.updated")
    assert event.target_id == world.lab.pk and event.data["revision_id"] == revision.pk
    process_all()
    told = set(
        Notification.objects.filter(kind="lab.updated").values_list("recipient_id", flat=True)
    )
    assert told == {world.learner.pk, finished.pk}
    assert bystander.pk not in told and world.staff.pk not in told


def test_reimport_lists_the_edit_as_a_conflict_and_keeps_it_by_default(staff):
    run(source())
    lab = Lab.objects.get(week=2)
    edit(staff, lab)
    preview = import_preview(actor=staff, source=source(), filename="c.txt")
    conflicts = preview.diff["labs"]["conflicts"]
    assert [(c["lab_id"], c["week"]) for c in conflicts] == [(lab.pk, 2)]
    item = next(i for t in preview.diff["detail"] for i in t["labs"] if i["lab_id"] == lab.pk)
    assert item["conflict"]["note"] == "Marked the parser name as code"
    assert item["conflict"]["by"] == staff.display_name
    Event.objects.all().delete()

    applied = import_apply(actor=staff, curriculum_import=preview)
    lab.refresh_from_db()
    assert lab.body == FIXED.format(week=2, n=14)  # the correction stays
    assert lab.revisions.count() == 2 and lab.current_revision.origin == "edit"
    assert not Event.objects.filter(kind="lab.updated").exists()
    assert applied.diff["resolution"] == [
        {"track": "Alpha", "week": 2, "title": "Lab number 2", "lab_id": lab.pk, "choice": "edit"}
    ]
    assert "1 app edit kept" in applied.summary
    # The next import of the file still shows it: the edit is never dropped quietly.
    again = import_preview(actor=staff, source=source(), filename="c.txt")
    assert [c["lab_id"] for c in again.diff["labs"]["conflicts"]] == [lab.pk]


def test_per_lab_choice_takes_the_file_for_one_and_keeps_the_other(staff):
    run(source())
    one, two = Lab.objects.get(week=1), Lab.objects.get(week=2)
    edit(staff, one)
    edit(staff, two)
    Event.objects.all().delete()
    preview = import_preview(actor=staff, source=source(), filename="c.txt")
    assert {c["lab_id"] for c in preview.diff["labs"]["conflicts"]} == {one.pk, two.pk}
    import_apply(actor=staff, curriculum_import=preview, take_file=[one.pk])
    one.refresh_from_db()
    two.refresh_from_db()
    assert "`parser_1`" not in one.body  # the file's text
    assert one.current_revision.number == 3 and one.current_revision.origin == "import"
    assert "`parser_2`" in two.body and two.current_revision.number == 2
    # Learners of the lab that changed are told; the kept one did not change.
    assert list(Event.objects.filter(kind="lab.updated").values_list("target_id", flat=True)) == [
        one.pk
    ]


def test_taking_the_file_for_a_lab_that_is_no_conflict_is_refused(staff):
    run(source())
    edit(staff, Lab.objects.get(week=2))
    other = Lab.objects.get(week=3)
    preview = import_preview(actor=staff, source=source(4), filename="c.txt")
    with pytest.raises(ApplicationError) as exc:
        import_apply(actor=staff, curriculum_import=preview, take_file=[other.pk])
    assert exc.value.code == "invalid"
    preview.refresh_from_db()
    assert preview.status == "previewed"
    assert not Lab.objects.filter(week=4).exists()


def test_a_file_that_already_has_the_edited_text_is_no_conflict(staff):
    run(source())
    lab = Lab.objects.get(week=2)
    edit(staff, lab)
    data = curriculum_data(tracks_with_labs())
    data["tracks"][0]["labs"][2]["body"] = "Something else:\n- one new step\n"
    data["tracks"][0]["labs"][2].pop("deliverables")
    result = run(json.dumps(data).encode())
    assert result.diff["labs"]["conflicts"] == []
    assert [item["week"] for item in result.diff["labs"]["changed"]] == [3]
    lab.refresh_from_db()
    assert lab.body == FIXED.format(week=2, n=14) and lab.revisions.count() == 2


def test_reimport_of_the_same_file_is_unchanged(staff):
    run(source())
    again = run(source())
    assert again.summary.startswith("no changes")
    assert again.diff["labs"]["unchanged"] == 3 and again.diff["labs"]["conflicts"] == []


def test_export_carries_the_edit_and_reimports_unchanged(staff):
    run(source())
    lab = Lab.objects.get(week=2)
    edit(staff, lab)
    data = curriculum_data(tracks_with_labs())
    exported = yaml.safe_load(EXPORTERS["yaml"](data))
    week2 = next(item for item in exported["tracks"][0]["labs"] if item["week"] == 2)
    assert week2["body"] == FIXED.format(week=2, n=14)
    assert "`parser_2`" in EXPORTERS["markdown"](data)
    assert json.loads(EXPORTERS["json"](data)) == exported
    back = run(EXPORTERS["json"](data).encode())
    assert back.summary.startswith("no changes")
    assert back.diff["labs"]["conflicts"] == []


def test_command_keeps_edits_unless_told_and_says_so(staff, tmp_path, capsys):
    path = tmp_path / "c.txt"
    path.write_bytes(source())
    run(source())
    one, two = Lab.objects.get(week=1), Lab.objects.get(week=2)
    edit(staff, one)
    edit(staff, two)
    call_command("import_curriculum", str(path), "--take-file", str(two.pk))
    out = capsys.readouterr().out
    assert f"conflict lab {one.pk}" in out and "kept the app edit" in out
    assert f"conflict lab {two.pk}" in out and "took the file's text" in out
    one.refresh_from_db()
    two.refresh_from_db()
    assert "`parser_1`" in one.body and "`parser_2`" not in two.body


def test_api_apply_honours_take_file(staff):
    from tests.api.conftest import token_client

    run(source())
    lab = Lab.objects.get(week=3)
    edit(staff, lab)
    preview = import_preview(actor=staff, source=source(), filename="c.txt")
    client = token_client(staff)
    response = client.post(
        f"/api/v1/curriculum/imports/{preview.pk}/apply/",
        {"take_file": [lab.pk]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["resolution"][0]["choice"] == "file"
    lab.refresh_from_db()
    assert "`parser_3`" not in lab.body
    learner = MembershipFactory().user
    refused = token_client(learner).post(
        f"/api/v1/curriculum/imports/{preview.pk}/apply/", {"take_file": [lab.pk]}, format="json"
    )
    assert refused.status_code in (403, 404)
