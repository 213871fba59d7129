"""The staff home's figures across cohorts: per cohort and per mentor, open reviews, median
turnaround, SLA compliance, and per cohort the learners at risk.

Definitions (the page and the API say them too):

- **Open reviews**: work handed in and waiting for a verdict (submitted or in review). Per
  mentor: the open work assigned to them. *Overdue*: past its review due time. These are
  exactly the rows of the review queue filtered the same way (`queue_url`).
- **Turnaround and SLA** over a window (`WINDOW`, the last 30 days): every hand-in
  (iteration) submitted in the window. Turnaround is hand-in to the first review of that
  hand-in; the median is the nearest-rank median, as on the cohort page. SLA compliance is
  the share of those hand-ins first reviewed within the cohort's review SLA
  (`Cohort.review_sla_hours`), counting a hand-in still waiting past the SLA as a miss
  and leaving one still waiting within it out. Per mentor: the hand-ins whose first review
  they wrote, plus the ones still waiting past the SLA that are assigned to them.
- **At risk**: the mentor matrix's rule (`dashboards.selectors.MatrixRow.risk_reasons`):
  an active learner with at least `BEHIND_THRESHOLD` released labs past their due time
  (the learner's extension counted) not handed in, or no activity for `INACTIVE_AFTER`.
  Learners are not assigned to mentors, so it is per cohort only.

`staff_overview` runs a fixed number of queries whatever the number of cohorts, mentors,
learners or submissions (`tests/dashboards/test_staff_overview.py` asserts it for one
cohort and for many).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.utils import timezone

from cohorts.models import Cohort, Extension, Membership
from cohorts.selectors import cohort_schedules
from submissions import selectors as progress_selectors
from submissions.models import Iteration, Review, Submission

from .selectors import BEHIND_THRESHOLD, INACTIVE_AFTER, _percentile

S = Submission.State
WINDOW = dt.timedelta(days=30)
OPEN_STATES = (S.SUBMITTED, S.IN_REVIEW)


@dataclasses.dataclass
class Figures:
    """Review figures of a cohort, or of one mentor in a cohort."""

    open_reviews: int = 0
    overdue_reviews: int = 0
    reviewed: int = 0  # hand-ins of the window with a first review
    median_hours: float | None = None  # nearest-rank median turnaround of those
    within_sla: int = 0
    breached: int = 0

    @property
    def sla_percent(self) -> int | None:
        total = self.within_sla + self.breached
        return round(100 * self.within_sla / total) if total else None

    @property
    def sla_counted(self) -> int:
        return self.within_sla + self.breached


@dataclasses.dataclass
class MentorFigures:
    mentor: object  # the User
    figures: Figures


@dataclasses.dataclass
class CohortFigures:
    cohort: Cohort
    figures: Figures
    at_risk: int
    learners: int
    mentors: list[MentorFigures]


def staff_overview(*, cohorts: list[Cohort], now: dt.datetime | None = None) -> list[CohortFigures]:
    """The figures of ``cohorts`` (in their order). Eight queries at most, whatever their
    number or size."""
    now = now or timezone.now()
    if not cohorts:
        return []
    ids = [c.pk for c in cohorts]
    figures = {pk: Figures() for pk in ids}
    mentor_figures: dict[tuple[int, int], Figures] = defaultdict(Figures)

    # 1. Mentors (active mentor memberships).
    mentors: dict[int, list] = defaultdict(list)
    for membership in (
        Membership.objects.filter(cohort_id__in=ids, role=Membership.Role.MENTOR, active=True)
        .select_related("user")
        .order_by("user__name", "user__email", "pk")
    ):
        mentors[membership.cohort_id].append(membership.user)

    # 2. Open reviews per cohort and assignee.
    for cohort_id, mentor_id, open_count, overdue in (
        Submission.objects.filter(cohort_id__in=ids, state__in=OPEN_STATES)
        .values("cohort_id", "assigned_to_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(review_due_at__lt=now)))
        .order_by()
        .values_list("cohort_id", "assigned_to_id", "open", "overdue")
    ):
        figures[cohort_id].open_reviews += open_count
        figures[cohort_id].overdue_reviews += overdue
        if mentor_id is not None:
            mentor_figures[cohort_id, mentor_id].open_reviews += open_count
            mentor_figures[cohort_id, mentor_id].overdue_reviews += overdue

    # 3. Turnaround and SLA of the window's hand-ins, per cohort and per mentor.
    window = _window_figures_sql if connection.vendor == "postgresql" else _window_figures_python
    for (cohort_id, mentor_id), (reviewed, median, within, breached) in window(
        cohorts=cohorts, now=now
    ).items():
        target = figures[cohort_id] if mentor_id is WHOLE else mentor_figures[cohort_id, mentor_id]
        target.reviewed, target.median_hours = reviewed, median
        target.within_sla, target.breached = within, breached

    at_risk, learners = _at_risk_counts(cohorts=cohorts, now=now)
    return [
        CohortFigures(
            cohort=cohort,
            figures=figures[cohort.pk],
            at_risk=at_risk.get(cohort.pk, 0),
            learners=learners.get(cohort.pk, 0),
            mentors=[
                MentorFigures(
                    mentor=user, figures=mentor_figures.get((cohort.pk, user.pk), Figures())
                )
                for user in mentors[cohort.pk]
            ],
        )
        for cohort in cohorts
    ]


# The key of a cohort's own figures in the window figures (mentors are keyed by user id).
WHOLE = object()

# {(cohort_id, mentor_id or WHOLE): (reviewed, median hours, within the SLA, missed)}
WindowFigures = dict[tuple[int, object], tuple[int, float | None, int, int]]


def _window_figures_sql(*, cohorts: list[Cohort], now: dt.datetime) -> WindowFigures:
    """The window's figures aggregated by PostgreSQL in one query: a hand-in's first review
    (by time, then id) through a lateral join, the nearest-rank median as `percentile_disc`
    (the first value whose cumulative share reaches one half), the SLA counts as
    `COUNT FILTER`, the cohort and per-mentor rows in one pass by grouping sets. Only the
    figures cross the wire, not every hand-in (docs/performance.md "Staff home")."""
    iteration, submission = Iteration._meta.db_table, Submission._meta.db_table
    review, cohort = Review._meta.db_table, Cohort._meta.db_table
    sql = f"""
        WITH handins AS (
            SELECT s.cohort_id, s.assigned_to_id, i.submitted_at,
                   c.review_sla_hours * interval '1 hour' AS sla,
                   f.created_at AS first_at, f.reviewer_id AS first_by
            FROM {iteration} i
            JOIN {submission} s ON s.id = i.submission_id
            JOIN {cohort} c ON c.id = s.cohort_id
            LEFT JOIN LATERAL (
                SELECT r.created_at, r.reviewer_id FROM {review} r
                WHERE r.iteration_id = i.id ORDER BY r.created_at, r.id LIMIT 1
            ) f ON true
            WHERE s.cohort_id = ANY(%(ids)s)
              AND i.submitted_at >= %(since)s AND i.submitted_at <= %(now)s
        ), counted AS (
            -- A hand-in still waiting within the SLA is neither kept nor missed yet; one
            -- waiting past it is a miss of the mentor it is assigned to.
            SELECT cohort_id,
                   CASE WHEN first_at IS NULL THEN assigned_to_id ELSE first_by END AS mentor_id,
                   CASE WHEN first_at IS NOT NULL THEN
                       GREATEST(0.0, EXTRACT(EPOCH FROM first_at - submitted_at)::float8 / 3600)
                   END AS hours,
                   first_at IS NOT NULL AND first_at - submitted_at <= sla AS kept
            FROM handins
            WHERE first_at IS NOT NULL OR %(now)s - submitted_at > sla
        )
        SELECT cohort_id, mentor_id, GROUPING(mentor_id) AS whole, COUNT(hours),
               percentile_disc(0.5) WITHIN GROUP (ORDER BY hours),
               COUNT(*) FILTER (WHERE kept), COUNT(*) FILTER (WHERE NOT kept)
        FROM counted
        GROUP BY GROUPING SETS ((cohort_id), (cohort_id, mentor_id))
    """  # noqa: S608 - table names from the models' metadata, values as parameters
    params = {"ids": [c.pk for c in cohorts], "since": now - WINDOW, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        (cohort_id, WHOLE if whole else mentor_id): (reviewed, median, within, breached)
        for cohort_id, mentor_id, whole, reviewed, median, within, breached in rows
    }


def _window_figures_python(*, cohorts: list[Cohort], now: dt.datetime) -> WindowFigures:
    """The same figures as `_window_figures_sql` for databases without `percentile_disc`
    and grouping sets (SQLite, the default of `make test`): every hand-in of the window
    with its first review, counted here."""
    sla = {c.pk: dt.timedelta(hours=c.review_sla_hours) for c in cohorts}
    first = Review.objects.filter(iteration=OuterRef("pk")).order_by("created_at", "pk")
    rows = (
        Iteration.objects.filter(
            submission__cohort_id__in=list(sla), submitted_at__gte=now - WINDOW,
            submitted_at__lte=now,
        )
        .annotate(
            first_at=Subquery(first.values("created_at")[:1]),
            first_by=Subquery(first.values("reviewer_id")[:1]),
        )
        .values_list(
            "submission__cohort_id", "submission__assigned_to_id", "submitted_at", "first_at",
            "first_by",
        )
    )  # fmt: skip
    hours: dict[tuple[int, object], list[float]] = defaultdict(list)
    counts: dict[tuple[int, object], list[int]] = defaultdict(lambda: [0, 0])
    for cohort_id, assigned_id, submitted_at, first_at, first_by in rows:
        if first_at is None:
            if now - submitted_at <= sla[cohort_id]:
                continue  # still within the SLA: neither kept nor missed yet
            for key in ((cohort_id, WHOLE), (cohort_id, assigned_id)):
                counts[key][1] += 1
            continue
        delay = first_at - submitted_at
        for key in ((cohort_id, WHOLE), (cohort_id, first_by)):
            hours[key].append(max(0.0, delay.total_seconds() / 3600))
            counts[key][0 if delay <= sla[cohort_id] else 1] += 1
    return {
        key: (len(hours[key]), _percentile(sorted(hours[key]), 0.5), within, breached)
        for key, (within, breached) in counts.items()
    }


def _at_risk_counts(*, cohorts: list[Cohort], now: dt.datetime) -> tuple[dict, dict]:
    """``({cohort_id: learners at risk}, {cohort_id: active learners})``, by the matrix's
    rule, without drawing the matrices: the labs past due per cohort, then per learner how
    many of those they handed in, adjusted for their extensions. Five queries at most (labs,
    overrides, learners, extensions and handed-in counts, plus one when an extension moves a
    due time across now)."""
    ids = [c.pk for c in cohorts]
    schedules = cohort_schedules(cohorts=cohorts, now=now)
    released: dict[int, dict[int, dt.datetime]] = {
        cohort_id: {e.lab.pk: e.due_at for e in entries if e.is_released}
        for cohort_id, entries in schedules.items()
    }
    past_due = {
        cohort_id: {lab_id for lab_id, due in labs.items() if now > due}
        for cohort_id, labs in released.items()
    }
    scheduled = Q()
    counted = Q()
    for cohort_id, entries in schedules.items():
        scheduled |= Q(cohort_id=cohort_id, lab_id__in=[e.lab.pk for e in entries])
        counted |= Q(cohort_id=cohort_id, lab_id__in=sorted(past_due[cohort_id]))
    memberships = list(
        Membership.objects.filter(
            cohort_id__in=ids, role=Membership.Role.LEARNER, active=True, user__is_active=True
        ).values_list("cohort_id", "user_id", "joined_at")
    )
    handed_in = Q(state__in=sorted(progress_selectors.HANDED_IN_STATES))
    facts = {
        (cohort_id, learner_id): (done, last)
        for cohort_id, learner_id, done, last in Submission.objects.filter(cohort_id__in=ids)
        .filter(scheduled)
        .values("cohort_id", "learner_id")
        .annotate(done=Count("pk", filter=counted & handed_in), last=Max("last_activity_at"))
        .order_by()
        .values_list("cohort_id", "learner_id", "done", "last")
    }
    # Extensions that move a released lab's due time to the other side of now.
    flips: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for cohort_id, learner_id, lab_id, due_at in Extension.objects.filter(
        cohort_id__in=ids
    ).values_list("cohort_id", "learner_id", "lab_id", "due_at"):
        if lab_id not in released.get(cohort_id, {}):
            continue
        if (lab_id in past_due[cohort_id]) != (now > due_at):
            flips[cohort_id, lab_id].append((learner_id, 1 if now > due_at else -1))
    flipped_done: set[tuple[int, int, int]] = set()
    if flips:
        pairs = Q()
        for (cohort_id, lab_id), changes in flips.items():
            pairs |= Q(cohort_id=cohort_id, lab_id=lab_id, learner_id__in=[c[0] for c in changes])
        flipped_done = set(
            Submission.objects.filter(pairs)
            .filter(handed_in)
            .values_list("cohort_id", "learner_id", "lab_id")
        )
    adjust: dict[tuple[int, int], int] = defaultdict(int)
    for (cohort_id, lab_id), changes in flips.items():
        for learner_id, delta in changes:
            if (cohort_id, learner_id, lab_id) not in flipped_done:
                adjust[cohort_id, learner_id] += delta

    at_risk: dict[int, int] = defaultdict(int)
    learners: dict[int, int] = defaultdict(int)
    for cohort_id, learner_id, joined_at in memberships:
        learners[cohort_id] += 1
        done, last = facts.get((cohort_id, learner_id), (0, None))
        behind = len(past_due[cohort_id]) - done + adjust[cohort_id, learner_id]
        last_activity = max(joined_at, last) if last else joined_at
        if behind >= BEHIND_THRESHOLD or now - last_activity >= INACTIVE_AFTER:
            at_risk[cohort_id] += 1
    return at_risk, learners
