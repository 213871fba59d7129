"""An ended membership ends everything (issue 14, point 4).

When a mentor leaves a cohort (or stops being its mentor): their open reviews move at once,
they hear nothing more about the cohort (not even from events recorded before they left),
and no page or API answer shows them its work.
"""

import pytest
from django.core import mail
from django.test import Client

from cohorts.models import Membership
from cohorts.services import membership_change_role, membership_deactivate
from notifications.models import Notification
from notifications.services import digest_send, notification_email_send
from submissions import services as submissions
from submissions.models import Assignment
from tests.api.conftest import token_client

from .conftest import process_all

pytestmark = pytest.mark.django_db


def _end(world, user):
    membership = Membership.objects.get(cohort=world.cohort, user=user)
    return membership_deactivate(actor=world.staff, membership=membership)


def _reviewed_by_mentor(world):
    submission = world.submit()
    assert submission.assigned_to_id == world.mentor.pk
    submissions.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Fix it."
    )
    process_all()
    return submission


def _told(user, submission) -> list[Notification]:
    return list(
        Notification.objects.filter(
            recipient=user, kind="comment.added", event__target_id=submission.pk
        )
    )


def test_a_removed_mentor_is_not_told_of_comments_on_work_they_reviewed(world):
    submission = _reviewed_by_mentor(world)
    _end(world, world.mentor)
    submissions.comment_create(actor=world.learner, submission=submission, body="Done?")
    process_all()
    assert _told(world.mentor, submission) == []


def test_an_event_recorded_before_the_mentor_left_does_not_reach_them(world):
    submission = _reviewed_by_mentor(world)
    submissions.comment_create(actor=world.learner, submission=submission, body="Done?")
    _end(world, world.mentor)  # the event is still in the outbox
    process_all()
    assert _told(world.mentor, submission) == []


def test_an_email_queued_before_the_mentor_left_is_not_sent(world):
    submission = _reviewed_by_mentor(world)
    submissions.comment_create(actor=world.learner, submission=submission, body="Done?")
    process_all()
    (queued,) = _told(world.mentor, submission)
    assert queued.email_status == Notification.EmailStatus.PENDING
    _end(world, world.mentor)
    mail.outbox.clear()
    assert notification_email_send(notification_id=queued.pk) is False
    assert mail.outbox == []
    queued.refresh_from_db()
    assert queued.email_status != Notification.EmailStatus.SENT


def test_a_digest_after_the_mentor_left_leaves_out_the_cohort(world):
    submission = _reviewed_by_mentor(world)
    Notification.objects.filter(recipient=world.mentor).delete()
    submissions.comment_create(actor=world.learner, submission=submission, body="Done?")
    process_all()
    Notification.objects.filter(recipient=world.mentor).update(
        email_status=Notification.EmailStatus.DIGEST
    )
    _end(world, world.mentor)
    mail.outbox.clear()
    from django.utils import timezone

    digest_send(user_id=world.mentor.pk, day=timezone.localdate())
    assert not [m for m in mail.outbox if submission.lab.title in m.body]


def test_the_learner_still_hears_of_the_review_after_the_mentor_left(world):
    submission = _reviewed_by_mentor(world)
    assert Notification.objects.filter(recipient=world.learner, kind="review.posted").exists()
    _end(world, world.mentor)
    submissions.comment_create(actor=world.other_mentor, submission=submission, body="Hi")
    process_all()
    assert _told(world.learner, submission)


def _open(user) -> list[Assignment]:
    return list(Assignment.objects.filter(mentor=user, ended_at__isnull=True))


def test_open_reviews_move_to_another_mentor_the_moment_the_membership_ends(world):
    submission = world.submit()
    submissions.submission_claim(actor=world.mentor, submission=submission)
    assert len(_open(world.mentor)) == 1
    _end(world, world.mentor)
    submission.refresh_from_db()
    assert _open(world.mentor) == []
    assert submission.assigned_to_id == world.other_mentor.pk
    assert [a.submission_id for a in _open(world.other_mentor)] == [submission.pk]
    process_all()
    assert Notification.objects.filter(
        recipient=world.other_mentor, kind="assignment.reassigned"
    ).exists()
    assert not Notification.objects.filter(
        recipient=world.mentor, kind="assignment.reassigned"
    ).exists()


def test_open_reviews_go_back_to_the_queue_when_no_mentor_has_room(world):
    submission = world.submit()
    submissions.submission_claim(actor=world.mentor, submission=submission)
    _end(world, world.other_mentor)
    _end(world, world.mentor)
    submission.refresh_from_db()
    assert _open(world.mentor) == []
    assert submission.assigned_to_id is None
    assert submission.state == "submitted"  # waiting in the cohort's queue


def test_a_mentor_made_a_learner_hands_over_their_reviews(world):
    submission = world.submit()
    membership = Membership.objects.get(cohort=world.cohort, user=world.mentor)
    membership_change_role(actor=world.staff, membership=membership, role="learner")
    submission.refresh_from_db()
    assert _open(world.mentor) == []
    assert submission.assigned_to_id == world.other_mentor.pk


def test_a_removed_mentor_reaches_none_of_the_cohorts_work(world):
    submission = _reviewed_by_mentor(world)
    _end(world, world.mentor)
    client = Client()
    client.force_login(world.mentor)
    assert client.get(f"/submissions/{submission.pk}/").status_code == 404
    assert client.get(f"/submissions/{submission.pk}/review/").status_code == 404
    assert submission.learner.display_name not in client.get("/submissions/queue/").content.decode()
    api = token_client(world.mentor)
    assert api.get(f"/api/v1/submissions/{submission.pk}/").status_code == 404
    assert api.get("/api/v1/submissions/").json()["count"] == 0
    assert api.get(f"/api/v1/cohorts/{world.cohort.pk}/").status_code == 404
