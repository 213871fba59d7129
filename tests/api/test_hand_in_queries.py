"""The hand-in requests stay cheap: a burst of learners handing in through the API is
bounded by these two requests (docs/performance.md, "Bursts")."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cohorts.models import CohortLabPin, Extension
from notifications.models import Event
from submissions.models import Assignment, Iteration, Submission

pytestmark = pytest.mark.django_db

REPO = "https://github.com/learner/lab-1"
# Token auth, BEGIN, the locked row (with schedule, membership, pin and whether the draft
# has files: none here), the iteration, the mentors (locked), their loads and away times,
# the assignment, the row, the two events, COMMIT, then the predicted wait (two). A first
# hand-in has no open assignment to end.
SUBMIT_QUERIES = 12
# Token auth, the cohort, the lab, BEGIN, the learner's row (locked; none yet), the
# schedule with membership and pin, the INSERT, COMMIT.
NEW_DRAFT_QUERIES = 8


def _draft(client, world, **fields):
    body = {"cohort": world.cohort.pk, "lab": world.labs[0].pk, "repo_url": REPO, **fields}
    return client.post("/api/v1/submissions/", body, format="json")


def _warm(world):
    """A first hand-in by someone else, so first-request work is not counted."""
    client = world.client("other_learner")
    pk = _draft(client, world).json()["id"]
    assert client.post(f"/api/v1/submissions/{pk}/submit/").status_code == 200


# Committed for real (as in production: BEGIN and COMMIT, not a test's savepoints).
@pytest.mark.django_db(transaction=True)
def test_a_new_draft_and_its_submit_take_a_fixed_small_number_of_queries(world, monkeypatch):
    from notifications import tasks

    _warm(world)
    # Delivery is the worker's (the test settings would run it here, eagerly, at commit).
    enqueued = []
    monkeypatch.setattr(tasks, "enqueue_outbox", lambda: enqueued.append(1) or True)
    client = world.client("learner")
    client.get("/api/v1/me/")  # the token's use stamp
    with CaptureQueriesContext(connection) as draft:
        response = _draft(client, world, commit="abc1234")
    assert response.status_code == 201, response.content
    assert len(draft) <= NEW_DRAFT_QUERIES, [q["sql"][:70] for q in draft.captured_queries]
    body = response.json()
    assert body["state"] == "draft" and body["commit"] == "abc1234"
    assert body["learner"]["id"] == world.learner.pk and body["lab"]["id"] == world.labs[0].pk

    with CaptureQueriesContext(connection) as submit:
        response = client.post(f"/api/v1/submissions/{body['id']}/submit/")
    assert response.status_code == 200, response.content
    assert len(submit) <= SUBMIT_QUERIES, [q["sql"][:120] for q in submit.captured_queries]
    assert enqueued == [1]  # one delivery for both events
    body = response.json()
    # The answer is the saved row: the assignee, the wait (second in the queue).
    row = Submission.objects.get(pk=body["id"])
    assert body["state"] == "submitted" and body["iteration_count"] == 1
    assert body["assigned_to"]["id"] == row.assigned_to_id == world.mentor.pk
    assert body["queue_position"] == 2 and body["expected_review_by"] is not None
    assert Assignment.objects.filter(submission=row, ended_at__isnull=True).count() == 1
    kinds = list(
        Event.objects.filter(target_id=row.pk, target_type="submissions.submission")
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds == ["submission.submitted", "assignment.created"]


@pytest.mark.django_db(transaction=True)
def test_updating_a_draft_reads_the_row_once(world):
    client = world.client("learner")
    first = _draft(client, world, notes="first")
    assert first.status_code == 201
    with CaptureQueriesContext(connection) as update:
        again = _draft(client, world, commit="1234567")
    assert again.status_code == 200 and again.json()["notes"] == "first"
    # Token, cohort, lab, BEGIN, the locked row with its context, the UPDATE, COMMIT.
    assert len(update) <= 7, [q["sql"][:120] for q in update.captured_queries]


def test_the_submit_reads_the_learners_extension_and_the_cohorts_pin(world):
    """The schedule context read with the lock gives the same answers as the selectors:
    an extension moves the due time (not late), a pin freezes the pinned revision."""
    from curriculum.models import LabRevision

    lab = world.labs[0]
    client = world.client("learner")
    pk = _draft(client, world).json()["id"]
    revision = lab.current_revision
    if revision is not None:
        CohortLabPin.objects.create(cohort=world.cohort, lab=lab, revision=revision)
    from cohorts.selectors import schedule_entry

    due = schedule_entry(cohort=world.cohort, lab=lab).due_at
    import datetime as dt

    Extension.objects.create(
        cohort=world.cohort,
        lab=lab,
        learner=world.learner,
        due_at=due + dt.timedelta(days=30),
        reason="ill",
    )
    response = client.post(f"/api/v1/submissions/{pk}/submit/")
    assert response.status_code == 200, response.content
    iteration = Iteration.objects.get(submission_id=pk)
    assert iteration.due_at == due + dt.timedelta(days=30)
    assert iteration.lab_revision_id == (revision.pk if revision else None)
    assert LabRevision.objects.count() >= 0


def test_a_learner_whose_membership_ended_cannot_submit(world):
    client = world.client("learner")
    pk = _draft(client, world).json()["id"]
    world.learner.memberships.filter(cohort=world.cohort).update(active=False)
    response = client.post(f"/api/v1/submissions/{pk}/submit/")
    assert response.status_code == 403
    assert not Iteration.objects.filter(submission_id=pk).exists()


def test_someone_elses_submission_is_a_404_and_locks_nothing_for_them(world):
    pk = _draft(world.client("learner"), world).json()["id"]
    assert (
        world.client("other_learner").post(f"/api/v1/submissions/{pk}/submit/").status_code == 404
    )
    assert world.client("other_mentor").post(f"/api/v1/submissions/{pk}/submit/").status_code == 404
    assert world.client("learner").post("/api/v1/submissions/abc/submit/").status_code == 404
    assert Submission.objects.get(pk=pk).state == Submission.State.DRAFT


def test_only_the_learner_hands_in_whoever_else_can_see_the_work(world):
    """The hand-in's one locking statement applies the visibility policy: a mentor of the
    cohort and staff see the work (403), anyone else does not (404)."""
    pk = _draft(world.client("learner"), world).json()["id"]
    url = f"/api/v1/submissions/{pk}/submit/"
    assert world.client("staff").post(url).status_code == 403
    assert world.client("mentor").post(url).status_code == 403
    assert world.client("other_mentor").post(url).status_code == 404
    assert world.client("learner").post("/api/v1/submissions/999999/submit/").status_code == 404
    assert Submission.objects.get(pk=pk).state == Submission.State.DRAFT


@pytest.mark.usefixtures("media_storage")
def test_a_resubmission_hands_in_the_kept_files_and_moves_the_assignment(world):
    """A draft with files hands them in; after changes are requested, the next hand-in
    hands in the files kept with the draft, ends the open assignment and goes back to the
    mentor who asked for the changes."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from submissions import services
    from submissions.models import Attachment

    client = world.client("learner")
    pk = _draft(client, world).json()["id"]
    upload = client.post(
        f"/api/v1/submissions/{pk}/attachments/",
        {"file": SimpleUploadedFile("notes.txt", b"my notes")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    assert client.post(f"/api/v1/submissions/{pk}/submit/").status_code == 200
    first = Iteration.objects.get(submission_id=pk, number=1)
    assert list(first.attachments.values_list("original_name", flat=True)) == ["notes.txt"]

    services.review_create(
        actor=world.mentor,
        submission=Submission.objects.get(pk=pk),
        verdict="request_changes",
        body="Fix it.",
    )
    again = client.post(f"/api/v1/submissions/{pk}/submit/")
    assert again.status_code == 200, again.content
    body = again.json()
    assert body["state"] == "submitted" and body["iteration_count"] == 2
    assert body["assigned_to"]["id"] == world.mentor.pk
    second = Iteration.objects.get(submission_id=pk, number=2)
    assert list(second.attachments.values_list("original_name", flat=True)) == ["notes.txt"]
    assert Attachment.objects.filter(submission_id=pk, iteration=None).count() == 1
    open_assignments = Assignment.objects.filter(submission_id=pk, ended_at__isnull=True)
    assert [(a.mentor_id, a.reason) for a in open_assignments] == [
        (world.mentor.pk, Assignment.Reason.RESUBMIT)
    ]
