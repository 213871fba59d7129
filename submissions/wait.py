"""Predicted wait for a first review, and whether a cohort's mentors can keep up.

Formula (docs/architecture.md, "Predicted wait"), per cohort:
- capacity C = sum over active mentors not away of their capacity (``Membership.capacity``,
  else the cohort's ``mentor_capacity``): the open reviews the mentors hold at once, as the
  assignment service (``pick_mentor``) counts them.
- throughput R = C / SLA hours (reviews per hour): each held review is finished within the SLA.
- recent turnaround T = median of submit -> first verdict over the cohort's last
  ``TURNAROUND_SAMPLE`` reviewed iterations whose verdict came in the last 14 days.
- queue position p = 1-based rank among the cohort's waiting submissions (submitted or
  in review) ordered as the review queue orders them (oldest hand-in first, then id).

  expected_review_by = min(SLA deadline, max(submitted_at + T, now + p / R))

leaving out a term that has no data (no recent reviews: no T; no mentors: no queue term,
so the estimate is the SLA deadline). The SLA deadline is the submission's
``review_due_at`` (submitted_at + the cohort's review SLA).

Weekly capacity M = floor(C * 168 / SLA hours); the demand N of the coming week is the
waiting submissions plus each (active learner, lab) whose effective due time (extensions
included) falls in the next 7 days and that is not handed in or approved yet.
"""

import dataclasses
import datetime as dt
import math
import statistics
from collections import defaultdict

from django.db.models import Count, DateTimeField, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cohorts.models import Cohort, Extension, Membership
from cohorts.selectors import active_learner_memberships, cohort_schedule
from core.prepared import Param, PreparedQuery

from .models import Iteration, Review, Submission

S = Submission.State
WAITING_STATES = (S.SUBMITTED, S.IN_REVIEW)
TURNAROUND_SAMPLE = 20
TURNAROUND_WINDOW = dt.timedelta(days=14)
WEEK = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class CohortPace:
    sla: dt.timedelta
    capacity: int  # open reviews the active mentors hold at once
    turnaround: dt.timedelta | None  # recent median submit -> first verdict

    @property
    def reviews_per_hour(self) -> float:
        return self.capacity / (self.sla.total_seconds() / 3600)

    @property
    def reviews_per_week(self) -> int:
        return math.floor(self.capacity * (WEEK / self.sla))


@dataclasses.dataclass(frozen=True)
class Wait:
    queue_position: int
    expected_review_by: dt.datetime


def expected_review_by(
    *,
    submitted_at: dt.datetime,
    review_due_at: dt.datetime | None,
    position: int,
    pace: CohortPace,
    now: dt.datetime,
) -> dt.datetime:
    """The formula of the module docstring, for one waiting submission."""
    deadline = review_due_at or submitted_at + pace.sla
    candidates = []
    if pace.turnaround is not None:
        candidates.append(submitted_at + pace.turnaround)
    if pace.capacity > 0:
        candidates.append(now + dt.timedelta(hours=position / pace.reviews_per_hour))
    else:
        return deadline  # nobody can take it: only the SLA says when
    return min(deadline, max(candidates))


def mentor_capacities(cohort_ids, *, now: dt.datetime) -> dict[int, tuple[int, dt.timedelta]]:
    """(capacity C, SLA) of each cohort: one query whatever the number of cohorts. A mentor
    away at `now` holds no reviews (``pick_mentor`` gives them none), so adds nothing."""
    mentor = Q(
        memberships__role=Membership.Role.MENTOR,
        memberships__active=True,
        memberships__user__is_active=True,
    ) & (Q(memberships__user__away_until__isnull=True) | Q(memberships__user__away_until__lte=now))
    rows = (
        Cohort.objects.filter(pk__in=set(cohort_ids))
        .annotate(
            capacity_sum=Sum(Coalesce("memberships__capacity", "mentor_capacity"), filter=mentor)
        )
        .values_list("pk", "capacity_sum", "review_sla_hours")
    )
    return {pk: (capacity or 0, dt.timedelta(hours=sla)) for pk, capacity, sla in rows}


def _reviewed_iterations(cohort_filter: dict, since):
    """Iterations of the cohorts in `cohort_filter` with their first verdict at or after
    `since`, latest verdict first: (cohort id, submitted at, first verdict at).

    A review sets its submission's last activity to its own time (`review_create`), so only
    the submissions active since `since` can hold such a verdict: reached by the (cohort,
    last activity) index, the sample reads the cohort's recent work rather than its whole
    history (2,200 submissions a cohort in the bench's data: 10 -> 3 ms)."""
    return (
        Iteration.objects.filter(
            **cohort_filter,
            submission__last_activity_at__gte=since,
            # Work never reviewed has no verdict to sample: a burst of fresh hand-ins is
            # passed over on the submission's row, without reading its iterations.
            submission__first_reviewed_at__isnull=False,
        )
        .annotate(
            first_verdict_at=Min(
                "reviews__created_at",
                filter=~Q(reviews__verdict=Review.Verdict.COMMENT),
            )
        )
        .filter(first_verdict_at__gte=since)
        .order_by("-first_verdict_at")
        .values_list("submission__cohort_id", "submitted_at", "first_verdict_at")
    )


# One cohort's sample, compiled once (a hand-in's answer reads it): only the rows kept.
_COHORT_REVIEWED = PreparedQuery(
    lambda: _reviewed_iterations(
        {"submission__cohort_id": Param("cohort")},
        Param("since", output_field=DateTimeField()),
    )[:TURNAROUND_SAMPLE]
)


def recent_turnarounds(cohort_ids, *, now: dt.datetime) -> dict[int, dt.timedelta]:
    """Median submit -> first verdict of each cohort's last ``TURNAROUND_SAMPLE`` reviewed
    iterations in the last 14 days (cohorts without any are left out). One query."""
    durations: dict[int, list[dt.timedelta]] = defaultdict(list)
    cohort_ids = set(cohort_ids)
    since = now - TURNAROUND_WINDOW
    if len(cohort_ids) == 1:
        reviewed = _COHORT_REVIEWED.tuples(cohort=next(iter(cohort_ids)), since=since)
    else:
        reviewed = _reviewed_iterations({"submission__cohort_id__in": cohort_ids}, since)
    for cohort_id, submitted_at, verdict_at in reviewed:
        if len(durations[cohort_id]) < TURNAROUND_SAMPLE:
            durations[cohort_id].append(max(verdict_at - submitted_at, dt.timedelta(0)))
    return {cohort_id: statistics.median(values) for cohort_id, values in durations.items()}


def cohort_paces(cohort_ids, *, now: dt.datetime) -> dict[int, CohortPace]:
    """Pace of each cohort: two queries whatever the number of cohorts."""
    if not cohort_ids:
        return {}
    turnarounds = recent_turnarounds(cohort_ids, now=now)
    return {
        pk: CohortPace(sla=sla, capacity=capacity, turnaround=turnarounds.get(pk))
        for pk, (capacity, sla) in mentor_capacities(cohort_ids, now=now).items()
    }


def _positions(waiting: Q, now) -> QuerySet:
    """(pk, cohort id, submissions ahead, capacity C, SLA hours) of the `waiting` rows
    (a filter on Submission) still waiting."""
    mentors = (
        Membership.objects.filter(
            cohort_id=OuterRef("cohort_id"),
            role=Membership.Role.MENTOR,
            active=True,
            user__is_active=True,
        )
        .filter(Q(user__away_until__isnull=True) | Q(user__away_until__lte=now))
        .order_by()
        .values("cohort_id")
        .annotate(total=Sum(Coalesce("capacity", "cohort__mentor_capacity")))
        .values("total")
    )
    ahead = (
        Submission.objects.filter(cohort_id=OuterRef("cohort_id"), state__in=WAITING_STATES)
        .filter(
            Q(submitted_at__lt=OuterRef("submitted_at"))
            | Q(submitted_at=OuterRef("submitted_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("cohort_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Submission.objects.filter(waiting, state__in=WAITING_STATES)
        .annotate(
            ahead=Coalesce(Subquery(ahead), 0),
            capacity_sum=Subquery(mentors),
        )
        .values_list("pk", "cohort_id", "ahead", "capacity_sum", "cohort__review_sla_hours")
    )


# One submission's, compiled once (a hand-in's answer and a detail read it).
_ONE_POSITION = PreparedQuery(
    lambda: _positions(Q(pk=Param("pk")), Param("now", output_field=DateTimeField()))
)


def _positions_and_paces(submissions, *, now: dt.datetime) -> list[tuple]:
    """(pk, cohort id, queue position, capacity C, SLA) of each of `submissions` still
    waiting: one query. The position is counted (the waiting submissions of the cohort
    ahead of it in queue order, plus one) rather than read off the whole queue, so a
    request costs the same with 10 or 10,000 hand-ins waiting."""
    if len(submissions) == 1:
        rows = _ONE_POSITION.tuples(pk=submissions[0].pk, now=now)
    else:
        rows = _positions(Q(pk__in=[s.pk for s in submissions]), now)
    return [
        (pk, cohort_id, ahead + 1, capacity or 0, dt.timedelta(hours=sla))
        for pk, cohort_id, ahead, capacity, sla in rows
    ]


def waits_for(submissions, *, now: dt.datetime | None = None) -> dict[int, Wait]:
    """Queue position and expected first review of each waiting submission in
    ``submissions`` (others are left out). Two queries for any number of rows and
    cohorts (positions with capacities, then the recent turnarounds), none when nothing
    is waiting."""
    now = now or timezone.now()
    waiting = [s for s in submissions if s.state in WAITING_STATES and s.submitted_at]
    if not waiting:
        return {}
    turnarounds = recent_turnarounds({s.cohort_id for s in waiting}, now=now)
    positions: dict[int, int] = {}
    paces: dict[int, CohortPace] = {}
    for pk, cohort_id, position, capacity, sla in _positions_and_paces(waiting, now=now):
        positions[pk] = position
        paces[cohort_id] = CohortPace(
            sla=sla, capacity=capacity, turnaround=turnarounds.get(cohort_id)
        )
    result = {}
    for submission in waiting:
        position = positions.get(submission.pk)
        if position is None:  # it moved on since the caller read it
            continue
        result[submission.pk] = Wait(
            queue_position=position,
            expected_review_by=expected_review_by(
                submitted_at=submission.submitted_at,
                review_due_at=submission.review_due_at,
                position=position,
                pace=paces[submission.cohort_id],
                now=now,
            ),
        )
    return result


@dataclasses.dataclass(frozen=True)
class CapacityForecast:
    reviews_needed: int  # N
    reviews_possible: int  # M

    @property
    def over_capacity(self) -> bool:
        return self.reviews_needed > self.reviews_possible


def capacity_forecast(*, cohort: Cohort, now: dt.datetime | None = None) -> CapacityForecast:
    """Reviews the coming 7 days need against what the mentors can do (module docstring)."""
    now = now or timezone.now()
    end = now + WEEK
    capacity, sla = mentor_capacities([cohort.pk], now=now)[cohort.pk]
    due_dates = {entry.lab.pk: entry.due_at for entry in cohort_schedule(cohort=cohort, now=now)}
    extensions = {
        (e.learner_id, e.lab_id): e.due_at
        for e in Extension.objects.filter(cohort=cohort, lab_id__in=due_dates)
    }
    # Labs someone may have due this week: by the schedule, or by an extension.
    labs_due = {lab_id for lab_id, due_at in due_dates.items() if now <= due_at < end}
    labs_due |= {lab_id for (_, lab_id), due_at in extensions.items() if now <= due_at < end}
    rows = Submission.objects.filter(
        Q(state__in=WAITING_STATES) | Q(lab_id__in=labs_due), cohort=cohort
    ).values_list("learner_id", "lab_id", "state")
    states = {(learner_id, lab_id): state for learner_id, lab_id, state in rows}
    needed = sum(1 for state in states.values() if state in WAITING_STATES)
    learners = active_learner_memberships(cohort).values_list("user_id", flat=True)
    for learner_id in learners:
        for lab_id in labs_due:
            due_at = extensions.get((learner_id, lab_id), due_dates[lab_id])
            if not (now <= due_at < end):
                continue
            if states.get((learner_id, lab_id)) not in (*WAITING_STATES, S.APPROVED):
                needed += 1
    pace = CohortPace(sla=sla, capacity=capacity, turnaround=None)
    return CapacityForecast(reviews_needed=needed, reviews_possible=pace.reviews_per_week)
