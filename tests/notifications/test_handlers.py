"""Each event kind tells the right people, never the actor."""

import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Extension, Invitation
from notifications.events import record
from notifications.handlers import HANDLERS, KINDS
from notifications.models import Event, Notification
from submissions import services as submissions
from tests.factories import LabFactory, MentorMembershipFactory, StaffFactory

from .conftest import process_all

pytestmark = pytest.mark.django_db


def told(kind: str) -> dict[int, Notification]:
    return {n.recipient_id: n for n in Notification.objects.filter(kind=kind)}


def test_every_kind_with_a_handler_has_a_preference_entry():
    assert set(HANDLERS) <= set(KINDS)


def test_submit_tells_the_assigned_mentor_once_and_not_the_learner(world):
    submission = world.submit()
    process_all()
    assert submission.assigned_to_id == world.mentor.pk
    submitted = told("submission.submitted")
    assert set(submitted) == {world.mentor.pk}
    assert world.learner.display_name in submitted[world.mentor.pk].text
    assert "assigned to you" in submitted[world.mentor.pk].text
    # The automatic assignment made by the submit does not tell the mentor a second time.
    assert Event.objects.filter(kind="assignment.created").exists()
    assert not Notification.objects.filter(kind="assignment.created").exists()
    assert not Notification.objects.filter(recipient=world.learner).exists()


def test_submit_with_no_mentor_with_room_tells_every_mentor_of_the_cohort(world):
    world.submit()
    world.submit(learner=world.add_learner())
    third = world.add_learner()
    submission = world.submit(learner=third)  # both mentors are at capacity 1
    process_all()
    assert submission.assigned_to_id is None
    recipients = set(
        Notification.objects.filter(
            kind="submission.submitted", event__target_id=submission.pk
        ).values_list("recipient_id", flat=True)
    )
    assert recipients == {world.mentor.pk, world.other_mentor.pk}


@pytest.mark.parametrize(
    ("verdict", "body", "words"),
    [
        ("approve", "", "approved"),
        ("request_changes", "Add tests.", "requested changes"),
        ("comment", "Nice start.", "commented"),
    ],
)
def test_review_tells_the_learner_not_the_reviewer(world, verdict, body, words):
    submission = world.submit()
    submissions.review_create(actor=world.mentor, submission=submission, verdict=verdict, body=body)
    process_all()
    posted = told("review.posted")
    assert set(posted) == {world.learner.pk}
    assert words in posted[world.learner.pk].text
    assert posted[world.learner.pk].actor_id == world.mentor.pk


def test_claim_by_a_mentor_tells_nobody(world):
    submission = world.submit(learner=world.add_learner())
    submission2 = world.submit()
    process_all()
    Notification.objects.all().delete()
    # The other mentor claims work that is not assigned to anyone yet after a release.
    submissions.submission_claim(actor=submission2.assigned_to, submission=submission2)
    process_all()
    assert not Notification.objects.filter(kind="assignment.created").exists()
    assert submission.pk != submission2.pk


def test_comment_tells_the_conversation_but_not_its_author(world):
    submission = world.submit()
    submissions.review_create(
        actor=world.mentor, submission=submission, verdict="comment", body="Looks good"
    )
    submissions.comment_create(actor=world.learner, submission=submission, body="Thanks!")
    process_all()
    assert set(told("comment.added")) == {world.mentor.pk}
    submissions.comment_create(actor=world.mentor, submission=submission, body="You're welcome")
    process_all()
    recipients = set(
        Notification.objects.filter(kind="comment.added", actor=world.mentor).values_list(
            "recipient_id", flat=True
        )
    )
    assert recipients == {world.learner.pk}


def test_reassign_tells_new_and_previous_mentor_not_the_staff_actor(world):
    submission = world.submit()
    submissions.submission_reassign(
        actor=world.staff, submission=submission, mentor=world.other_mentor, reason="Balance"
    )
    process_all()
    reassigned = told("assignment.reassigned")
    assert set(reassigned) == {world.mentor.pk, world.other_mentor.pk}
    assert "reassigned to you" in reassigned[world.other_mentor.pk].text
    assert "moved to another mentor" in reassigned[world.mentor.pk].text


def test_overdue_review_reminds_the_mentor_and_escalation_tells_staff(world):
    submission = world.submit()
    later = timezone.now() + dt.timedelta(hours=48 + 25)  # past due by more than half the SLA
    submissions.assignments_remind_overdue(now=later)
    submissions.assignments_escalate_overdue(now=later)
    process_all()
    assert set(told("review.overdue")) == {world.mentor.pk}
    second_staff = StaffFactory()
    escalated = told("review.escalated")
    assert world.staff.pk in escalated
    assert second_staff.pk not in escalated  # created after the event was processed
    assert set(told("assignment.reassigned")) == {world.mentor.pk, world.other_mentor.pk}
    submission.refresh_from_db()
    assert submission.assigned_to_id == world.other_mentor.pk


def test_abandoned_claim_release_tells_the_mentor(world):
    submission = world.submit()
    submissions.submission_claim(actor=world.mentor, submission=submission)
    submissions.claims_release_abandoned(now=timezone.now() + dt.timedelta(hours=49))
    process_all()
    assert set(told("assignment.released")) == {world.mentor.pk}


def test_lab_updated_tells_learners_with_open_work_on_that_lab(
    world, django_capture_on_commit_callbacks
):
    open_work = world.submit()
    approved_learner = world.add_learner()
    approved = world.submit(learner=approved_learner)
    submissions.review_create(
        actor=approved.assigned_to, submission=approved, verdict="approve", body=""
    )
    world.add_learner()  # never started the lab
    other_lab_learner = world.add_learner()
    world.draft(learner=other_lab_learner, lab=LabFactory(track=world.cohort.track, week=2))
    Notification.objects.all().delete()
    Event.objects.update(processed_at=timezone.now())
    record(
        "lab.updated", actor=world.staff, target=world.lab, data={"revision_id": 2, "import_id": 1}
    )
    process_all()
    updated = told("lab.updated")
    assert set(updated) == {world.learner.pk}
    assert updated[world.learner.pk].link == f"/submissions/{open_work.pk}/"


def test_extension_granted_tells_the_learner_not_the_granter(world):
    extension = Extension.objects.create(
        cohort=world.cohort,
        lab=world.lab,
        learner=world.learner,
        due_at=timezone.now() + dt.timedelta(days=3),
        reason="Ill",
        granted_by=world.staff,
    )
    record("extension.granted", actor=world.staff, target=extension, data={})
    process_all()
    granted = told("extension.granted")
    assert set(granted) == {world.learner.pk}
    assert "You have until" in granted[world.learner.pk].text


def test_invitation_tells_the_invited_user(world):
    # Invitations go to people just enrolled (a member); see test_membership_end.py for
    # those who left before the event was processed.
    invited = world.add_learner()
    invitation = Invitation.objects.create(
        user=invited, cohort=world.cohort, invited_by=world.staff
    )
    record(
        "invitation.sent", actor=world.staff, target=invitation, data={"cohort_id": world.cohort.pk}
    )
    process_all()
    invitations = told("invitation.sent")
    assert set(invitations) == {invited.pk}
    assert world.cohort.name in invitations[invited.pk].text


def test_actor_is_never_told_even_when_a_handler_would_include_them(world):
    # A mentor comments on work they are also the learner of? Not possible; instead a mentor
    # who is assigned comments: the handler lists them as a participant, the service drops them.
    submission = world.submit()
    submissions.comment_create(actor=world.mentor, submission=submission, body="Hello")
    process_all()
    assert not Notification.objects.filter(recipient=world.mentor, kind="comment.added").exists()
    assert Notification.objects.filter(recipient=world.learner, kind="comment.added").exists()


def test_inactive_users_and_missing_targets_are_skipped(world):
    submission = world.submit()
    world.mentor.is_active = False
    world.mentor.save()
    submissions.comment_create(actor=world.learner, submission=submission, body="Anyone?")
    record("review.posted", actor=world.mentor, target=world.lab, data={"verdict": "approve"})
    event = Event.objects.create(
        kind="review.posted", target_type="submissions.submission", target_id=10**9
    )
    process_all()
    assert not Notification.objects.filter(recipient=world.mentor, kind="comment.added").exists()
    event.refresh_from_db()
    assert event.processed_at is not None
    assert not event.notifications.exists()


def test_a_second_mentor_added_later_is_not_told_of_old_events(world):
    world.submit()
    process_all()
    late = MentorMembershipFactory(cohort=world.cohort).user
    process_all()
    assert not Notification.objects.filter(recipient=late).exists()


def test_links_point_at_the_pages_people_act_on(world):
    from django.urls import reverse

    submission = world.submit()
    record("lab.released", target=world.lab, data={"cohort_id": world.cohort.pk})
    process_all()
    mentor_note = Notification.objects.get(recipient=world.mentor, kind="submission.submitted")
    assert mentor_note.link == reverse("submissions:detail", args=[submission.pk])
    released = Notification.objects.get(recipient=world.learner, kind="lab.released")
    assert released.link == reverse("submissions:lab", args=[world.cohort.pk, world.lab.pk])
