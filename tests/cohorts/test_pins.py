"""Keeping a cohort on its current lab revisions until it ends (pinning): what learners and
mentors read, notifications, the cohort page and the API, refusals, and no half-applied
import."""

import pytest
from django.urls import reverse

from cohorts.models import Cohort, CohortLabPin
from cohorts.selectors import lab_revision_for
from cohorts.services import cohort_update
from core.exceptions import ApplicationError
from curriculum.models import CurriculumImport, LabRevision
from curriculum.services import import_apply
from notifications.models import Event, Notification
from submissions import services as work
from submissions.models import Iteration
from tests.cohorts.pin_world import NEW_STEP, make_pin_world
from tests.factories import MembershipFactory, MentorMembershipFactory, UserFactory
from tests.notifications.conftest import process_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_pin_world()


def apply_keeping(world, *cohorts):
    record = world.preview()
    import_apply(actor=world.staff, curriculum_import=record, keep_cohorts=[c.pk for c in cohorts])
    world.labs[2].refresh_from_db()
    return record


def lab_page(client, user, cohort, lab):
    client.force_login(user)
    response = client.get(reverse("submissions:lab", args=[cohort.pk, lab.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_kept_cohort_reads_the_old_text_and_checklist_the_others_the_new(world, client):
    old = world.labs[2].current_revision
    record = apply_keeping(world, world.running)
    lab = world.labs[2]
    assert lab.current_revision.number == 2 and NEW_STEP in lab.body
    pin = CohortLabPin.objects.get(cohort=world.running, lab=lab)
    assert pin.revision_id == old.pk and pin.source_import_id == record.pk
    assert lab_revision_for(cohort=world.running, lab=lab) == old
    assert lab_revision_for(cohort=world.other, lab=lab) == lab.current_revision

    kept = lab_page(client, world.people["Ada Draft"], world.running, lab)
    assert NEW_STEP not in kept and "revision 1" in kept
    assert "stays on revision 1 of this lab until the cohort ends" in kept
    assert 'name="checklist" value="2"' not in kept  # two steps only
    assert "This lab changed" not in kept

    fresh = lab_page(client, world.people["Fay Other"], world.other, lab)
    assert NEW_STEP in fresh and 'name="checklist" value="2"' in fresh
    assert "This lab changed" in fresh  # the learner's "what changed" diff


def test_a_kept_learner_hands_in_against_the_old_revision_and_the_mentor_reviews_it(world, client):
    apply_keeping(world, world.running)
    draft = world.submissions["Ada Draft"]
    # The third step does not exist for this cohort: ticking it is refused.
    with pytest.raises(ApplicationError):
        work.submission_save_draft(
            actor=draft.learner,
            submission=draft,
            repo_url="https://github.com/example/lab",
            commit_sha="",
            notes="",
            checklist=[0, 2],
        )
    work.submission_submit(actor=draft.learner, submission=draft)
    iteration = Iteration.objects.get(submission=draft)
    assert iteration.lab_revision.number == 1
    assert [item["text"] for item in iteration.checklist] == [
        "Write the 2 parser for format 14.",
        "Measure it 2 times and report.",
    ]
    client.force_login(world.mentor)
    page = client.get(reverse("submissions:review", args=[draft.pk])).content.decode()
    assert "Measure it 2 times" in page and NEW_STEP not in page


def test_catalogue_page_and_api_show_the_kept_revision_to_its_learners(world, client):
    apply_keeping(world, world.running)
    lab = world.labs[2]
    client.force_login(world.people["Ada Draft"])
    page = client.get(lab.get_absolute_url()).content.decode()
    assert NEW_STEP not in page and "Your cohort stays on revision 1" in page
    data = client.get(f"/api/v1/labs/{lab.pk}/").json()
    assert data["revision"] == 1 and data["latest_revision"] == 2
    assert NEW_STEP not in data["body"] and len(data["deliverables"]) == 2
    listed = {
        row["id"]: row
        for row in client.get("/api/v1/labs/?track=" + lab.track.slug).json()["results"]
    }
    assert listed[lab.pk]["revision"] == 1

    client.force_login(world.people["Fay Other"])
    data = client.get(f"/api/v1/labs/{lab.pk}/").json()
    assert data["revision"] == 2 and NEW_STEP in data["body"]
    # The kept cohort's mentor (mentoring only that cohort) reads what it reads.
    client.force_login(world.mentor)
    assert client.get(f"/api/v1/labs/{lab.pk}/").json()["revision"] == 1
    client.force_login(world.staff)
    assert client.get(f"/api/v1/labs/{lab.pk}/").json()["revision"] == 2


def test_when_the_cohort_ends_it_follows_the_latest(world, client):
    apply_keeping(world, world.running)
    lab = world.labs[2]
    learner = world.people["Ada Draft"]
    cohort_update(actor=world.staff, cohort=world.running, status=Cohort.Status.FINISHED)
    world.running.refresh_from_db()
    assert lab_revision_for(cohort=world.running, lab=lab) == lab.current_revision
    page = lab_page(client, learner, world.running, lab)
    assert NEW_STEP in page and "This lab changed" in page


def test_ending_the_pin_on_the_cohort_page_shows_the_latest(world, client):
    apply_keeping(world, world.running)
    lab = world.labs[2]
    client.force_login(world.staff)
    schedule = client.get(reverse("cohorts:schedule", args=[world.running.slug])).content.decode()
    assert "Kept on revision 1" in schedule and "the course has revision 2" in schedule
    response = client.post(
        reverse("cohorts:pinning", args=[world.running.slug]), {"choice": "apply", "lab": lab.pk}
    )
    assert response.status_code == 302
    pin = CohortLabPin.objects.get(cohort=world.running, lab=lab)
    assert pin.ended_at is not None and pin.ended_by == world.staff
    page = lab_page(client, world.people["Ada Draft"], world.running, lab)
    assert NEW_STEP in page and "This lab changed" in page


def test_keeping_on_the_cohort_page_holds_later_updates_back(world, client):
    client.force_login(world.staff)
    client.post(reverse("cohorts:pinning", args=[world.running.slug]), {"choice": "keep"})
    assert CohortLabPin.objects.filter(cohort=world.running, ended_at=None).count() == 3
    page = client.get(reverse("cohorts:schedule", args=[world.running.slug])).content.decode()
    assert "Kept on its current revisions until the cohort ends" in page
    # A later import (applied "now" for everyone) does not reach the kept cohort.
    record = world.preview()
    preview = client.get(reverse("curriculum:import_detail", args=[record.pk])).content.decode()
    assert "kept on revision 1" in preview
    import_apply(actor=world.staff, curriculum_import=record)
    lab = world.labs[2]
    lab.refresh_from_db()
    assert lab_revision_for(cohort=world.running, lab=lab).number == 1
    client.post(reverse("cohorts:pinning", args=[world.running.slug]), {"choice": "apply"})
    assert not CohortLabPin.objects.filter(cohort=world.running, ended_at=None).exists()
    assert lab_revision_for(cohort=world.running, lab=lab).number == 2


def test_the_import_page_applies_the_per_cohort_choice(world, client):
    record = world.preview()
    client.force_login(world.staff)
    response = client.post(
        reverse("curriculum:import_apply", args=[record.pk]),
        {f"cohort-{world.running.pk}": "keep", f"cohort-{world.other.pk}": "apply"},
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == CurriculumImport.Status.APPLIED
    assert set(CohortLabPin.objects.values_list("cohort_id", "lab_id")) == {
        (world.running.pk, world.labs[2].pk)
    }


def test_kept_cohorts_are_left_out_of_the_change_notifications(world):
    Notification.objects.all().delete()
    Event.objects.update(processed_at=__import__("django").utils.timezone.now())
    apply_keeping(world, world.running)
    process_all()
    told = set(
        Notification.objects.filter(kind="lab.updated").values_list("recipient_id", flat=True)
    )
    names = {user.pk: name for name, user in world.people.items()}
    told = {names.get(pk, pk) for pk in told}
    # Hal's cohort is finished, and told as before (the handler's rule for ended cohorts
    # is unchanged); no one in the kept cohort is told.
    assert told == {"Fay Other", "Hal Finished"}


def test_a_refused_choice_leaves_no_half_applied_import(world):
    lab = world.labs[2]
    before = (LabRevision.objects.count(), lab.current_revision_id, lab.body)
    events = Event.objects.count()
    record = world.preview()
    # The finished cohort and another path's cohort do not run the changed lab.
    for wrong in (world.finished, world.beta):
        with pytest.raises(ApplicationError) as refused:
            import_apply(
                actor=world.staff,
                curriculum_import=record,
                keep_cohorts=[world.running.pk, wrong.pk],
            )
        assert str(wrong.pk) in refused.value.message
    lab.refresh_from_db()
    assert (LabRevision.objects.count(), lab.current_revision_id, lab.body) == before
    assert Event.objects.count() == events
    assert not CohortLabPin.objects.exists()
    record.refresh_from_db()
    assert record.status == CurriculumImport.Status.PREVIEWED


def test_the_import_page_reports_a_refused_choice_and_changes_nothing(world, client):
    record = world.preview()
    client.force_login(world.staff)
    response = client.post(
        reverse("curriculum:import_apply", args=[record.pk]),
        {f"cohort-{world.beta.pk}": "keep"},
        follow=True,
    )
    assert "Nothing was imported" in response.content.decode()
    record.refresh_from_db()
    assert record.status == CurriculumImport.Status.PREVIEWED


# --- the API ----------------------------------------------------------------------------


def test_api_apply_with_keep_cohorts_and_the_pinning_endpoint(world, client):
    record = world.preview()
    client.force_login(world.staff)
    response = client.post(
        f"/api/v1/curriculum/imports/{record.pk}/apply/",
        {"keep_cohorts": [world.running.pk]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    url = f"/api/v1/cohorts/{world.running.pk}/pinning/"
    state = client.get(url).json()
    assert state["choice"] == "keep" and state["ended"] is False
    assert [
        (p["lab"], p["revision"], p["latest_revision"], p["source_import"]) for p in state["pins"]
    ] == [(world.labs[2].pk, 1, 2, record.pk)]
    state = client.post(url, {"choice": "apply"}, content_type="application/json").json()
    assert state == {"choice": "apply", "ended": False, "pins": []}
    state = client.post(url, {"choice": "keep"}, content_type="application/json").json()
    assert [p["revision"] for p in state["pins"]] == [1, 2, 1]
    lab_id = world.labs[2].pk
    state = client.post(
        url, {"choice": "apply", "lab": lab_id}, content_type="application/json"
    ).json()
    assert lab_id not in [p["lab"] for p in state["pins"]] and len(state["pins"]) == 2


def test_api_refuses_bad_input_and_changes_nothing(world, client):
    record = world.preview()
    client.force_login(world.staff)
    response = client.post(
        f"/api/v1/curriculum/imports/{record.pk}/apply/",
        {"keep_cohorts": [world.beta.pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    record.refresh_from_db()
    assert record.status == CurriculumImport.Status.PREVIEWED
    url = f"/api/v1/cohorts/{world.running.pk}/pinning/"
    for body in ({"choice": "forever"}, {"choice": "keep", "lab": world.labs[2].pk}, {}):
        assert client.post(url, body, content_type="application/json").status_code == 400
    other_path_lab = world.beta.track.labs.first()
    response = client.post(
        url, {"choice": "apply", "lab": other_path_lab.pk}, content_type="application/json"
    )
    assert response.status_code in (400, 404)
    assert not CohortLabPin.objects.exists()


def test_only_staff_set_pinning(world, client):
    apply_keeping(world, world.running)
    url = f"/api/v1/cohorts/{world.running.pk}/pinning/"
    page = reverse("cohorts:pinning", args=[world.running.slug])
    outsider_mentor = UserFactory()
    MentorMembershipFactory(cohort=world.other, user=outsider_mentor)
    learner = world.people["Ada Draft"]
    for user, api_read, api_write, page_write in (
        (world.mentor, 200, 403, 403),  # the cohort's mentor reads it, cannot change it
        (learner, 403, 403, 403),
        (outsider_mentor, 404, 404, 404),
    ):
        client.force_login(user)
        assert client.get(url).status_code == api_read
        assert (
            client.post(url, {"choice": "apply"}, content_type="application/json").status_code
            == api_write
        )
        assert client.post(page, {"choice": "apply"}).status_code == page_write
    client.logout()
    assert client.post(url, {"choice": "apply"}, content_type="application/json").status_code in (
        401,
        403,
    )
    assert CohortLabPin.objects.filter(ended_at=None).count() == 1
    # A learner's own membership in the kept cohort does not let them see others' pins page
    # either; and the import preview (with its impact) is staff only.
    record = world.preview()
    client.force_login(learner)
    assert client.get(f"/api/v1/curriculum/imports/{record.pk}/").status_code == 403
    assert client.get(reverse("curriculum:import_detail", args=[record.pk])).status_code == 403


def test_services_refuse_non_staff_and_finished_cohorts(world):
    from cohorts.services import cohort_keep_current, cohort_pins_end

    with pytest.raises(ApplicationError):
        cohort_keep_current(actor=world.mentor, cohort=world.running)
    with pytest.raises(ApplicationError):
        cohort_pins_end(actor=world.people["Ada Draft"], cohort=world.running)
    with pytest.raises(ApplicationError):
        cohort_keep_current(actor=world.staff, cohort=world.finished)
    assert not CohortLabPin.objects.exists()


def test_schedule_page_queries_do_not_grow_with_pins(world, client):
    client.force_login(world.staff)
    url = reverse("cohorts:schedule", args=[world.running.slug])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    client.post(reverse("cohorts:pinning", args=[world.running.slug]), {"choice": "keep"})
    with CaptureQueriesContext(connection) as after:
        assert "Kept on its current revisions" in client.get(url).content.decode()
    assert len(after.captured_queries) == len(before.captured_queries) > 0


def test_a_second_learner_membership_sees_the_same_rule(world):
    # A learner who joins the kept cohort later reads the kept revision too.
    apply_keeping(world, world.running)
    newcomer = MembershipFactory(cohort=world.running).user
    from cohorts.permissions import LabAccess

    assert LabAccess(newcomer).revision_for(world.labs[2]).number == 1


def test_the_gradebook_of_a_kept_cohort_lists_its_kept_deliverables(world):
    from dashboards.exports import marks_table

    apply_keeping(world, world.running)
    kept = [h for h in marks_table(cohort=world.running).header if NEW_STEP in h]
    fresh = [h for h in marks_table(cohort=world.other).header if NEW_STEP in h]
    assert kept == [] and len(fresh) == 1
