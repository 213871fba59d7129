"""Predicted first review and the staff capacity warning (formula: submissions/wait.py)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts import services as cohort_services
from submissions import services
from submissions.models import Iteration, Review, Submission
from submissions.wait import (
    CohortPace,
    capacity_forecast,
    expected_review_by,
    waits_for,
)
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    hand_in,
)

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _pace(capacity=10, sla_hours=48, turnaround_hours=None):
    return CohortPace(
        sla=sla_hours * H,
        capacity=capacity,
        turnaround=None if turnaround_hours is None else turnaround_hours * H,
    )


@pytest.mark.parametrize(
    ("pace", "submitted_hours_ago", "position", "expected_in_hours"),
    [
        # 10 held reviews / 48 h SLA = one review every 4.8 h: 3rd in line -> 14.4 h; the
        # 6 h turnaround (due 4 h from now) comes earlier, so the queue decides.
        (_pace(turnaround_hours=6), 2, 3, 14.4),
        # A 30 h turnaround (28 h from now) is later than the queue (14.4 h): it decides.
        (_pace(turnaround_hours=30), 2, 3, 28),
        # 40th in line: 192 h, beyond the SLA deadline (48 h after hand-in = 46 h from now).
        (_pace(turnaround_hours=6), 2, 40, 46),
        # No recent reviews: the queue alone.
        (_pace(), 2, 1, 4.8),
        # No mentor capacity at all: the SLA deadline.
        (_pace(capacity=0, turnaround_hours=1), 2, 1, 46),
        # Already past its deadline: the deadline (in the past), not a later guess.
        (_pace(turnaround_hours=6), 50, 1, -2),
    ],
)
def test_expected_review_by_formula(pace, submitted_hours_ago, position, expected_in_hours):
    submitted_at = NOW - submitted_hours_ago * H
    got = expected_review_by(
        submitted_at=submitted_at,
        review_due_at=submitted_at + pace.sla,
        position=position,
        pace=pace,
        now=NOW,
    )
    assert got == NOW + dt.timedelta(hours=expected_in_hours)


def test_weekly_capacity_is_held_reviews_times_slas_per_week():
    assert _pace(capacity=10, sla_hours=48).reviews_per_week == 35  # 10 * 168 / 48
    assert _pace(capacity=1, sla_hours=168).reviews_per_week == 1
    assert _pace(capacity=0).reviews_per_week == 0


def _reviewed(cohort, lab, mentor, *, took_hours, hours_ago, now, verdict="request_changes"):
    """A hand-in whose first verdict came `hours_ago` before `now`, `took_hours` after it."""
    submission = hand_in(cohort, lab)
    review = services.review_create(
        actor=mentor, submission=submission, verdict=verdict, body="Please fix the tests."
    )
    verdict_at = now - hours_ago * H
    Iteration.objects.filter(submission=submission).update(submitted_at=verdict_at - took_hours * H)
    Review.objects.filter(pk=review.pk).update(created_at=verdict_at)
    return submission


def _waiting_since(submission, hours_ago, *, now, sla_hours=48):
    submitted_at = now - hours_ago * H
    Submission.objects.filter(pk=submission.pk).update(
        submitted_at=submitted_at, review_due_at=submitted_at + sla_hours * H
    )


def test_waits_follow_queue_capacity_and_recent_turnaround():
    now = timezone.now()
    cohort = CohortFactory(review_sla_hours=48, mentor_capacity=5)
    lab = LabFactory(track=cohort.track, week=1)
    mentor = MentorMembershipFactory(cohort=cohort, capacity=3).user
    MentorMembershipFactory(cohort=cohort)  # the cohort default: 5 -> 8 held reviews
    MentorMembershipFactory(cohort=cohort, capacity=100, active=False)  # left: not counted
    # Recent first verdicts took 8, 20 and 40 h: median 20 h. Older ones and comments
    # do not count.
    for took in (8, 20, 40):
        _reviewed(cohort, lab, mentor, took_hours=took, hours_ago=24, now=now)
    _reviewed(cohort, lab, mentor, took_hours=500, hours_ago=15 * 24, now=now)
    commented = hand_in(cohort, lab)
    services.review_create(
        actor=mentor, submission=commented, verdict="comment", body="Looking at it."
    )
    _waiting_since(commented, 80, now=now)  # waiting, first in line, long overdue
    Review.objects.filter(submission=commented).update(created_at=now - 70 * H)
    # Another cohort's queue and reviews do not count.
    other = CohortFactory()
    hand_in(other, LabFactory(track=other.track, week=1))

    second, third, fourth = (hand_in(cohort, lab) for _ in range(3))
    _waiting_since(second, 10, now=now)
    _waiting_since(third, 5, now=now)
    _waiting_since(fourth, 1, now=now)
    rows = list(Submission.objects.filter(cohort=cohort, state__in=["submitted", "in_review"]))
    waits = waits_for(rows, now=now)

    # 8 held reviews / 48 h: one every 6 h. Turnaround 20 h.
    assert waits[commented.pk].queue_position == 1
    assert waits[commented.pk].expected_review_by == now - 32 * H  # its SLA deadline
    assert waits[second.pk].queue_position == 2
    assert waits[second.pk].expected_review_by == now + 12 * H  # queue (12 h) > 10 h
    assert waits[third.pk].queue_position == 3
    assert waits[third.pk].expected_review_by == now + 18 * H  # queue (18 h) > 15 h
    assert waits[fourth.pk].queue_position == 4
    assert waits[fourth.pk].expected_review_by == now + 24 * H  # queue (24 h) > 19 h

    # With room for 80 held reviews the queue is quick and the turnaround decides.
    cohort.mentor_capacity = 77
    cohort.save()
    faster = waits_for(rows, now=now)
    assert faster[third.pk].expected_review_by == now + 15 * H  # 5 h ago + 20 h


def test_position_of_one_row_counts_the_work_ahead_of_it_in_queue_order():
    """Asked about one submission (a hand-in's answer), its position is its rank in the
    cohort's queue: oldest hand-in first, equal times by id, work that moved on left out."""
    now = timezone.now()
    cohort = CohortFactory()
    lab = LabFactory(track=cohort.track, week=1)
    MentorMembershipFactory(cohort=cohort)
    queue = [hand_in(cohort, lab) for _ in range(6)]
    for submission, hours_ago in zip(queue, (9, 7, 7, 7, 3, 1), strict=True):
        _waiting_since(submission, hours_ago, now=now)
    Submission.objects.filter(pk=queue[1].pk).update(state=Submission.State.APPROVED)
    other = CohortFactory()
    _waiting_since(hand_in(other, LabFactory(track=other.track, week=1)), 20, now=now)

    def position(submission):
        fresh = Submission.objects.get(pk=submission.pk)
        return waits_for([fresh], now=now)[submission.pk].queue_position

    # 9 h ago; then three at 7 h ago, by id (the first of them has moved on); 3 h; 1 h.
    assert [position(s) for s in (queue[0], queue[2], queue[3], queue[4], queue[5])] == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_only_waiting_work_has_a_wait():
    cohort = CohortFactory()
    lab = LabFactory(track=cohort.track, week=1)
    mentor = MentorMembershipFactory(cohort=cohort).user
    approved = hand_in(cohort, lab)
    services.review_create(actor=mentor, submission=approved, verdict="approve")
    draft = services.submission_get_or_create_draft(
        learner=MembershipFactory(cohort=cohort).user, cohort=cohort, lab=lab
    )
    approved.refresh_from_db()
    assert waits_for([approved, draft]) == {}


def _capacity_world():
    now = timezone.now()
    staff = StaffFactory()
    cohort = CohortFactory(
        start_date=timezone.localdate() + dt.timedelta(days=60),  # nothing due by default
        review_sla_hours=168,
    )
    lab1, lab2, lab3 = (LabFactory(track=cohort.track, week=w) for w in (1, 2, 3))
    for lab, due_in_days in ((lab1, 3), (lab2, 10), (lab3, -1)):
        cohort_services.schedule_override_set(
            actor=staff,
            cohort=cohort,
            lab=lab,
            release_at=now - dt.timedelta(days=20),
            due_at=now + dt.timedelta(days=due_in_days),
        )
    mentor_membership = MentorMembershipFactory(cohort=cohort, capacity=1)
    mentor = mentor_membership.user
    learners = [MembershipFactory(cohort=cohort).user for _ in range(4)]
    MembershipFactory(cohort=cohort, active=False)  # left the cohort: needs nothing
    a, b, c, _d = learners
    services.review_create(
        actor=mentor, submission=hand_in(cohort, lab1, a), verdict="approve"
    )  # done: needs no review
    hand_in(cohort, lab1, b)  # waiting: one review
    services.submission_get_or_create_draft(learner=c, cohort=cohort, lab=lab1)  # draft: one
    # d has nothing for lab1: one. lab2 is due in 10 days, lab3 was due yesterday...
    cohort_services.extension_grant(
        actor=staff,
        cohort=cohort,
        lab=lab3,
        learner=c,
        due_at=now + dt.timedelta(days=2),
        reason="ill",
    )  # ...but c has until the day after tomorrow: one.
    return cohort, staff, mentor_membership


def test_capacity_forecast_counts_the_coming_week():
    cohort, _staff, _ = _capacity_world()
    forecast = capacity_forecast(cohort=cohort)
    assert forecast.reviews_needed == 4
    assert forecast.reviews_possible == 1  # 1 held review, one SLA (168 h) a week
    assert forecast.over_capacity


def test_staff_see_the_capacity_warning_on_the_cohort_page(client):
    cohort, staff, mentor_membership = _capacity_world()
    client.force_login(staff)
    url = reverse("dashboard:staff-cohort", args=[cohort.pk])
    page = client.get(url).content.decode()
    assert "This week needs about 4 reviews; your mentors can do about 1." in page

    mentor_membership.capacity = 4
    mentor_membership.save()
    page = client.get(url).content.decode()
    assert "This week needs about" not in page


def test_a_mentor_away_adds_no_capacity_until_back():
    cohort, staff, mentor_membership = _capacity_world()
    other = MentorMembershipFactory(cohort=cohort, capacity=3).user
    assert capacity_forecast(cohort=cohort).reviews_possible == 4

    services.mentor_set_away(
        actor=staff, user=other, until=timezone.localdate() + dt.timedelta(days=6), note="Leave"
    )
    assert capacity_forecast(cohort=cohort).reviews_possible == 1

    back = timezone.now() + dt.timedelta(days=8)
    assert capacity_forecast(cohort=cohort, now=back).reviews_possible == 4
