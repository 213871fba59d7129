"""Away mode and overflow (issue 15, point 3): a mentor on holiday hands over their open
reviews with a note and gets nothing new until they are back; work nobody had room for is
assigned as soon as a mentor has room again, oldest first."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.services import user_set_away
from cohorts import services as cohort_services
from cohorts.models import Membership
from core.exceptions import ApplicationError
from notifications.models import Event
from submissions import services
from submissions.models import Assignment, Submission
from tests.factories import MentorMembershipFactory, StaffFactory

from .conftest import make_world

pytestmark = pytest.mark.django_db

S = Submission.State


def _today(zone="UTC"):
    return timezone.localtime(timezone.now(), ZoneInfo(zone)).date()


def _week_ahead():
    return _today() + dt.timedelta(days=7)


def _open(submission) -> Assignment | None:
    return Assignment.objects.filter(submission=submission, ended_at__isnull=True).first()


# --- going away ------------------------------------------------------------------------


def test_going_away_hands_open_reviews_to_the_other_mentor_with_the_note():
    world = make_world(mentors=2, capacity=5)
    work = [world.submitted(learner=world.add_learner()) for _ in range(4)]
    mine = [s for s in work if s.assigned_to_id == world.mentor.pk]
    assert mine, "the first mentor holds some of the work"
    services.submission_claim(actor=world.mentor, submission=mine[0])

    moved = services.mentor_set_away(
        actor=world.mentor, user=world.mentor, until=_week_ahead(), note="Ask Bob meanwhile."
    )

    assert moved == len(mine)
    world.mentor.refresh_from_db()
    assert world.mentor.is_away() and world.mentor.away_note == "Ask Bob meanwhile."
    for submission in mine:
        submission.refresh_from_db()
        assignment = _open(submission)
        assert submission.assigned_to_id == world.other_mentor.pk
        assert assignment.reason == Assignment.Reason.AWAY
        assert "is away: Ask Bob meanwhile." in assignment.note
    # The claimed one stays in review, now with the other mentor.
    mine[0].refresh_from_db()
    assert mine[0].state == S.IN_REVIEW
    events = Event.objects.filter(kind="assignment.reassigned")
    assert events.count() == len(mine)
    assert all("Ask Bob meanwhile." in e.data["note"] for e in events)


def test_an_away_mentor_gets_no_new_work_and_overflow_waits_instead():
    world = make_world(mentors=2, capacity=1)
    services.mentor_set_away(actor=world.mentor, user=world.mentor, until=_week_ahead())
    first = world.submitted(learner=world.add_learner())
    second = world.submitted(learner=world.add_learner())
    assert first.assigned_to_id == world.other_mentor.pk
    # The away mentor has room, but is away: the second waits, unassigned.
    assert second.assigned_to_id is None and second.state == S.SUBMITTED
    assert services.assignments_fill(cohort_id=world.cohort.pk) == 0


def test_a_resubmission_skips_the_previous_mentor_while_they_are_away():
    world = make_world(mentors=2)
    submission = world.submitted()
    reviewer = submission.assigned_to
    services.review_create(
        actor=reviewer, submission=submission, verdict="request_changes", body="Again."
    )
    services.mentor_set_away(actor=reviewer, user=reviewer, until=_week_ahead())
    services.submission_submit(actor=world.learner, submission=submission)
    submission.refresh_from_db()
    assert submission.assigned_to_id not in (None, reviewer.pk)


def test_nobody_with_room_sends_the_reviews_back_to_the_queue():
    world = make_world(mentors=1, capacity=3)
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    assert services.mentor_set_away(actor=world.mentor, user=world.mentor, until=_today()) == 1
    submission.refresh_from_db()
    assert (submission.state, submission.assigned_to_id) == (S.SUBMITTED, None)


def test_a_past_day_is_refused_and_changes_nothing():
    world = make_world(mentors=2)
    submission = world.submitted()
    holder = submission.assigned_to
    with pytest.raises(ApplicationError) as error:
        services.mentor_set_away(
            actor=holder, user=holder, until=_today() - dt.timedelta(days=1), note="late"
        )
    assert error.value.code == "invalid"
    assert error.value.extra == {"field": "away_until"}
    assert "is in the past" in error.value.message
    holder.refresh_from_db()
    assert (holder.away_until, holder.away_note) == (None, "")
    submission.refresh_from_db()
    assert submission.assigned_to_id == holder.pk


def test_more_than_a_year_and_a_long_note_are_refused():
    world = make_world(mentors=1)
    with pytest.raises(ApplicationError) as error:
        services.mentor_set_away(
            actor=world.mentor, user=world.mentor, until=_today() + dt.timedelta(days=400)
        )
    assert error.value.extra == {"field": "away_until"}
    with pytest.raises(ApplicationError) as error:
        services.mentor_set_away(
            actor=world.mentor, user=world.mentor, until=_today(), note="x" * 501
        )
    assert error.value.extra == {"field": "away_note"}


def test_the_day_is_read_on_the_viewers_calendar():
    world = make_world(mentors=1)
    # 20:00 UTC on 10 March is already 11 March in Auckland (UTC+13).
    now = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)
    auckland = ZoneInfo("Pacific/Auckland")
    with pytest.raises(ApplicationError):
        user_set_away(
            actor=world.mentor,
            user=world.mentor,
            until=dt.date(2026, 3, 10),
            zone=auckland,
            now=now,
        )
    user_set_away(
        actor=world.mentor, user=world.mentor, until=dt.date(2026, 3, 10), zone=dt.UTC, now=now
    )
    user = user_set_away(
        actor=world.mentor, user=world.mentor, until=dt.date(2026, 3, 11), zone=auckland, now=now
    )
    # Back at 00:00 on 12 March in Auckland.
    assert user.away_until == dt.datetime(2026, 3, 12, tzinfo=auckland)
    assert user.away_until == dt.datetime(2026, 3, 11, 11, 0, tzinfo=dt.UTC)


def test_permissions_learner_other_mentor_and_staff():
    world = make_world(mentors=2)
    with pytest.raises(ApplicationError) as error:
        services.mentor_set_away(actor=world.learner, user=world.learner, until=_week_ahead())
    assert error.value.code == "forbidden" and "for mentors" in error.value.message
    with pytest.raises(ApplicationError) as error:
        services.mentor_set_away(actor=world.mentor, user=world.other_mentor, until=_week_ahead())
    assert error.value.code == "forbidden" and "Only staff" in error.value.message
    with pytest.raises(ApplicationError):
        services.mentor_end_away(actor=world.mentor, user=world.other_mentor)
    world.other_mentor.refresh_from_db()
    assert world.other_mentor.away_until is None
    staff = StaffFactory()
    services.mentor_set_away(actor=staff, user=world.other_mentor, until=_week_ahead())
    world.other_mentor.refresh_from_db()
    assert world.other_mentor.is_away()
    with pytest.raises(ApplicationError) as error:
        services.mentor_set_away(actor=staff, user=world.learner, until=_week_ahead())
    assert "mentors no cohort" in error.value.message


def test_staff_cannot_reassign_to_an_away_mentor_and_an_away_mentor_cannot_claim():
    world = make_world(mentors=2, capacity=0)
    submission = world.submitted()
    services.mentor_set_away(actor=world.other_mentor, user=world.other_mentor, until=_today())
    with pytest.raises(ApplicationError) as error:
        services.submission_reassign(
            actor=StaffFactory(), submission=submission, mentor=world.other_mentor
        )
    assert "is away until" in error.value.message
    with pytest.raises(ApplicationError) as error:
        services.submission_claim(actor=world.other_mentor, submission=submission)
    assert "away mode" in error.value.message


# --- overflow: assigned as soon as a mentor has room ------------------------------------


def _overflowing(capacity=1, waiting=2):
    """One mentor at capacity and `waiting` hand-ins nobody had room for (oldest first)."""
    world = make_world(mentors=1, capacity=capacity)
    held = [world.submitted(learner=world.add_learner()) for _ in range(capacity)]
    queued = [world.submitted(learner=world.add_learner()) for _ in range(waiting)]
    assert all(s.assigned_to_id == world.mentor.pk for s in held)
    assert all(s.assigned_to_id is None for s in queued)
    return world, held, queued


def _verdict(world, held, queued):
    services.review_create(actor=world.mentor, submission=held[0], verdict="approve", body="Good.")
    return world.mentor


def _release(world, held, queued):
    services.submission_claim(actor=world.mentor, submission=held[0])
    services.submission_release(actor=world.mentor, submission=held[0])
    return world.mentor


def _cohort_capacity_raise(world, held, queued):
    cohort_services.cohort_update(actor=StaffFactory(), cohort=world.cohort, mentor_capacity=2)
    return world.mentor


def _mentor_capacity_raise(world, held, queued):
    membership = Membership.objects.get(user=world.mentor, cohort=world.cohort)
    cohort_services.membership_set_capacity(actor=StaffFactory(), membership=membership, capacity=2)
    return world.mentor


def _mentor_joins(world, held, queued):
    membership = cohort_services.membership_add(
        actor=StaffFactory(), cohort=world.cohort, email="new.mentor@example.com", role="mentor"
    )
    return membership.user


def _mentor_comes_back(world, held, queued):
    membership = MentorMembershipFactory(cohort=world.cohort, active=False)
    cohort_services.membership_reactivate(actor=StaffFactory(), membership=membership)
    return membership.user


def _away_ends_early(world, held, queued):
    other = world.add_mentor()
    user_set_away(actor=other, user=other, until=_week_ahead())  # away before any work came
    services.mentor_end_away(actor=other, user=other)
    return other


FREEING_EVENTS = [
    _verdict,
    _release,
    _cohort_capacity_raise,
    _mentor_capacity_raise,
    _mentor_joins,
    _mentor_comes_back,
    _away_ends_early,
]


@pytest.mark.parametrize("event", FREEING_EVENTS, ids=lambda f: f.__name__.strip("_"))
def test_waiting_work_is_assigned_when_capacity_frees_up(event, django_capture_on_commit_callbacks):
    world, held, queued = _overflowing(capacity=1, waiting=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        gets_it = event(world, held, queued)
    assert callbacks, "a task was enqueued after commit"
    oldest, newest = (Submission.objects.get(pk=s.pk) for s in queued)
    # (A released piece is not handed back to the mentor who gave it up: it waits too.)
    assert oldest.assigned_to_id == gets_it.pk, "the oldest waiting work goes first"
    assert newest.assigned_to_id is None, "one slot freed: the newer one still waits"
    assignment = _open(oldest)
    assert assignment.reason == Assignment.Reason.OVERFLOW
    created = Event.objects.filter(kind="assignment.created", data__reason="overflow")
    assert created.count() == 1


def test_an_away_period_ending_by_itself_is_picked_up_by_the_sweep():
    world, held, queued = _overflowing(capacity=1, waiting=1)
    other = world.add_mentor()
    user_set_away(actor=other, user=other, until=_today())
    assert services.assignments_sweep()["assigned"] == 0
    later = other.away_until + dt.timedelta(minutes=1)
    assert services.assignments_sweep(now=later) == {"handed_over": 0, "assigned": 1}
    queued[0].refresh_from_db()
    assert queued[0].assigned_to_id == other.pk
    # Idempotent: nothing left to do.
    assert services.assignments_sweep(now=later) == {"handed_over": 0, "assigned": 0}


def test_the_sweep_hands_over_reviews_an_away_mentor_still_holds():
    world = make_world(mentors=2)
    submission = world.submitted()
    holder = submission.assigned_to
    # Away set through the accounts service alone (no hand-over): the sweep catches it.
    user_set_away(actor=holder, user=holder, until=_week_ahead(), note="Conference")
    assert services.assignments_sweep()["handed_over"] == 1
    submission.refresh_from_db()
    assert submission.assigned_to_id not in (None, holder.pk)
    assert "Conference" in _open(submission).note


def test_fill_never_exceeds_capacity_and_is_idempotent():
    world, held, queued = _overflowing(capacity=2, waiting=3)
    assert services.assignments_fill(cohort_id=world.cohort.pk) == 0
    membership = Membership.objects.get(user=world.mentor, cohort=world.cohort)
    Membership.objects.filter(pk=membership.pk).update(capacity=4)  # e.g. a raw admin edit
    assert services.assignments_fill(cohort_id=world.cohort.pk) == 2
    assert services.assignments_fill(cohort_id=world.cohort.pk) == 0
    states = [Submission.objects.get(pk=s.pk).assigned_to_id for s in queued]
    assert states == [world.mentor.pk, world.mentor.pk, None]
    assert Assignment.objects.filter(mentor=world.mentor, ended_at__isnull=True).count() == 4


def test_the_assign_task_takes_an_id():
    from submissions.tasks import assign_waiting_work

    world, held, queued = _overflowing(capacity=1, waiting=1)
    assert assign_waiting_work.delay(world.cohort.pk).get() == 0
    services.review_create(actor=world.mentor, submission=held[0], verdict="approve", body="ok")
    assert assign_waiting_work.delay(world.cohort.pk).get() == 1
    assert assign_waiting_work.delay(world.cohort.pk).get() == 0


def test_a_capacity_raised_in_the_admin_assigns_waiting_work(
    client, django_capture_on_commit_callbacks
):
    world, held, queued = _overflowing(capacity=1, waiting=1)
    membership = Membership.objects.get(user=world.mentor, cohort=world.cohort)
    client.force_login(StaffFactory(is_superuser=True))
    url = f"/admin/cohorts/membership/{membership.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"capacity": "2"})
    assert response.status_code == 302, response.content[:2000]
    membership.refresh_from_db()
    assert membership.capacity == 2
    queued[0].refresh_from_db()
    assert queued[0].assigned_to_id == world.mentor.pk
