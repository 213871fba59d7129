"""Every diff category, identity across imports, revisions and events."""

import pytest

from curriculum.models import Lab, LabRevision, Track
from curriculum.services import import_curriculum_file, import_preview
from notifications.models import Event
from tests.curriculum.conftest import labs_index, simple_track

pytestmark = pytest.mark.django_db


def run(tracks, **kwargs):
    return import_curriculum_file(actor=None, source=labs_index(tracks), filename="c.txt", **kwargs)


def titles(diff, key):
    return [(lab["week"], lab["title"]) for lab in diff["labs"][key]]


def test_first_import_adds_everything():
    result = run({"Alpha": simple_track(3), "Beta": simple_track(2)})
    assert result.diff["tracks"]["added"] == ["Alpha", "Beta"]
    assert titles(result.diff, "added") == [
        (1, "Lab number 1"),
        (2, "Lab number 2"),
        (3, "Lab number 3"),
        (1, "Lab number 1"),
        (2, "Lab number 2"),
    ]
    assert result.diff["totals"] == {"tracks": 2, "labs": 5}
    assert (
        Event.objects.filter(kind="lab.updated").count() == 0
    )  # nobody can have work on a new lab


def test_inserting_a_week_shows_one_added_and_the_rest_moved():
    run({"Alpha": simple_track(6)})
    ids = dict(Lab.objects.values_list("title", "id"))
    labs = simple_track(6)
    inserted = (
        3,
        "Profiling",
        "Profile it",
        "Profile the service:\n- Capture a flame graph.\n- Find the hot path.",
    )
    shifted = labs[:2] + [inserted] + [(week + 1, m, t, b) for week, m, t, b in labs[2:]]
    result = run({"Alpha": shifted})
    labs_diff = result.diff["labs"]
    assert titles(result.diff, "added") == [(3, "Profile it")]
    assert [(lab["from_week"], lab["week"]) for lab in labs_diff["moved"]] == [
        (3, 4),
        (4, 5),
        (5, 6),
        (6, 7),
    ]
    assert labs_diff["changed"] == [] and labs_diff["renamed"] == [] and labs_diff["removed"] == []
    assert labs_diff["unchanged"] == 2
    # Identity kept: same rows, new weeks, no new revisions for moved labs.
    assert Lab.objects.get(id=ids["Lab number 3"]).week == 4
    assert Lab.objects.get(id=ids["Lab number 6"]).week == 7
    assert LabRevision.objects.filter(lab_id=ids["Lab number 3"]).count() == 1
    assert Event.objects.filter(kind="lab.updated").count() == 0


def test_changed_content_makes_a_new_revision_and_records_lab_updated(staff):
    run({"Alpha": simple_track(3)})
    lab = Lab.objects.get(title="Lab number 2")
    first_revision = lab.current_revision
    labs = simple_track(3)
    week, module, title, body = labs[1]
    labs[1] = (week, module, title, body + "\n3. Write up what you found.")
    result = import_curriculum_file(
        actor=staff, source=labs_index({"Alpha": labs}), filename="c.txt"
    )
    assert titles(result.diff, "changed") == [(2, "Lab number 2")]
    lab.refresh_from_db()
    assert lab.current_revision.number == 2
    assert lab.current_revision.deliverables[-1] == "Write up what you found."
    assert lab.deliverables == lab.current_revision.deliverables
    first_revision.refresh_from_db()
    assert first_revision.number == 1 and "Write up" not in first_revision.body  # immutable
    event = Event.objects.get(kind="lab.updated")
    assert event.target_type == "curriculum.lab" and event.target_id == lab.pk
    assert event.data == {"revision_id": lab.current_revision_id, "import_id": result.pk}
    assert event.actor_id == staff.pk


def test_renamed_lab_keeps_its_identity_and_slug():
    run({"Alpha": simple_track(3)})
    lab = Lab.objects.get(title="Lab number 2")
    labs = simple_track(3)
    week, module, _title, body = labs[1]
    labs[1] = (week, module, "A better name", body)
    result = run({"Alpha": labs})
    assert titles(result.diff, "renamed") == [(2, "A better name")]
    assert result.diff["labs"]["added"] == [] and result.diff["labs"]["removed"] == []
    lab.refresh_from_db()
    assert lab.title == "A better name" and lab.slug == "lab-number-2" and lab.active
    assert lab.current_revision.number == 2
    assert Event.objects.filter(kind="lab.updated", target_id=lab.pk).count() == 1


def test_removed_lab_is_archived_with_its_revisions():
    run({"Alpha": simple_track(3)})
    lab = Lab.objects.get(title="Lab number 3")
    result = run({"Alpha": simple_track(2)})
    assert titles(result.diff, "removed") == [(3, "Lab number 3")]
    assert result.diff["totals"]["labs"] == 2
    lab.refresh_from_db()
    assert lab.active is False
    assert lab.revisions.count() == 1
    # It comes back with its history instead of as a duplicate.
    back = run({"Alpha": simple_track(3)})
    assert titles(back.diff, "added") == [(3, "Lab number 3")]
    lab.refresh_from_db()
    assert lab.active is True
    assert Lab.objects.filter(title="Lab number 3").count() == 1


def test_removed_and_renamed_tracks():
    run({"Alpha": simple_track(3), "Beta": simple_track(2)})
    beta = Track.objects.get(name="Beta")
    result = run({"Alpha Prime": simple_track(3)})
    assert result.diff["tracks"] == {
        "added": [],
        "renamed": ["Alpha Prime"],
        "removed": ["Beta"],
        "unchanged": 0,
    }
    assert result.diff["labs"]["unchanged"] == 3
    assert len(result.diff["labs"]["removed"]) == 2
    beta.refresh_from_db()
    assert beta.active is False
    assert not Lab.objects.filter(track=beta, active=True).exists()
    alpha = Track.objects.get(name="Alpha Prime")
    assert alpha.slug == "alpha"  # identity and URLs kept


def test_moved_to_another_week_with_same_content():
    labs = simple_track(3)
    run({"Alpha": labs})
    swapped = [(1, *labs[0][1:]), (2, *labs[2][1:]), (3, *labs[1][1:])]
    result = run({"Alpha": swapped})
    assert sorted((lab["from_week"], lab["week"]) for lab in result.diff["labs"]["moved"]) == [
        (2, 3),
        (3, 2),
    ]
    assert Lab.objects.get(title="Lab number 3").week == 2


def test_preview_writes_nothing_but_the_record(staff):
    run({"Alpha": simple_track(3)})
    preview = import_preview(
        actor=staff, source=labs_index({"Alpha": simple_track(4)}), filename="c.txt"
    )
    assert preview.status == "previewed"
    assert titles(preview.diff, "added") == [(4, "Lab number 4")]
    assert Lab.objects.count() == 3


def test_apply_refuses_a_stale_preview(staff):
    from core.exceptions import ApplicationError
    from curriculum.services import import_apply

    run({"Alpha": simple_track(3)})
    stale = import_preview(
        actor=staff, source=labs_index({"Alpha": simple_track(4)}), filename="c.txt"
    )
    run({"Alpha": simple_track(5)})
    with pytest.raises(ApplicationError) as exc:
        import_apply(actor=staff, curriculum_import=stale)
    assert exc.value.code == "conflict"
    assert Lab.objects.filter(active=True).count() == 5


def test_apply_twice_is_refused(staff):
    from core.exceptions import ApplicationError
    from curriculum.services import import_apply

    preview = import_preview(
        actor=staff, source=labs_index({"Alpha": simple_track(2)}), filename="c.txt"
    )
    import_apply(actor=staff, curriculum_import=preview)
    with pytest.raises(ApplicationError):
        import_apply(actor=staff, curriculum_import=preview)
    assert Lab.objects.count() == 2


def test_renamed_with_edited_text_and_rewritten_lab_is_added_and_removed():
    labs = [
        (
            1,
            "M",
            "Profile",
            "Profile the service:\n1. Capture a flame graph under load.\n2. Find the three hottest functions.\n3. Write up a fix for each one.",
        ),
        (
            2,
            "M",
            "Cache",
            "Add a cache:\n1. Put a bounded LRU in front of the lookup.\n2. Measure the hit rate over a day of traffic.",
        ),
    ]
    run({"Alpha": labs})
    profile, cache = Lab.objects.get(title="Profile"), Lab.objects.get(title="Cache")
    edited = [
        (1, "M", "Profile the hot path", labs[0][3].replace("three hottest", "five hottest")),
        (2, "M", "Queue", "Replace polling with a queue:\n- Pick a broker.\n- Move the jobs over."),
    ]
    result = run({"Alpha": edited})
    assert titles(result.diff, "renamed") == [(1, "Profile the hot path")]
    assert titles(result.diff, "added") == [(2, "Queue")]
    assert titles(result.diff, "removed") == [(2, "Cache")]
    profile.refresh_from_db()
    cache.refresh_from_db()
    assert profile.title == "Profile the hot path" and profile.current_revision.number == 2
    assert cache.active is False


def _distinct_track() -> list[tuple]:
    topics = ["sockets", "caching", "tracing", "sharding"]
    return [
        (
            week,
            f"Module {week}",
            f"{topic.title()} lab",
            f"Work with {topic}:\n1. Build a small {topic} demo that prints what it does.\n"
            f"2. Explain in a paragraph when {topic} helps and when it hurts.\n"
            f"3. Measure the {topic} demo under load and report the figures.",
        )
        for week, topic in enumerate(topics, start=1)
    ]


def test_a_lab_moved_and_renamed_in_one_update_keeps_its_identity_and_history():
    """Week 2 moves to week 4 under a new title, with a line of its text edited; the other
    labs shift up. It is the same lab: same row, slug and revisions, not added + removed."""
    labs = _distinct_track()
    run({"Alpha": labs})
    lab = Lab.objects.get(title="Caching lab")
    first_revision = lab.current_revision_id
    week, module, _title, body = labs[1]
    edited = body.replace("Explain in a paragraph", "Explain in two paragraphs")
    update = [
        labs[0],
        (2, *labs[2][1:]),
        (3, *labs[3][1:]),
        (4, "Module 4", "Caching in depth", edited),
    ]
    result = run({"Alpha": update})
    assert result.diff["labs"]["added"] == [] and result.diff["labs"]["removed"] == []
    assert titles(result.diff, "renamed") == [(4, "Caching in depth")]
    lab.refresh_from_db()
    assert (lab.title, lab.week, lab.active, lab.slug) == (
        "Caching in depth",
        4,
        True,
        "caching-lab",
    )
    assert Lab.objects.filter(track=lab.track).count() == 4  # no new row
    assert list(
        LabRevision.objects.filter(lab=lab).order_by("number").values_list("number", flat=True)
    ) == [1, 2]
    assert LabRevision.objects.filter(pk=first_revision, lab=lab).exists()
    assert Event.objects.filter(kind="lab.updated", target_id=lab.pk).count() == 1
