"""Reads behind the learner, mentor and staff home pages.

Every function here runs a fixed number of queries whatever the number of learners, labs or
submissions (the pages assert it at 5 and 200 learners). Where a learner stands on a lab
(state, late, overdue) is derived once, by `submissions.selectors` (`learner_progress`,
`cohort_progress_matrix`), which the API's progress endpoint reads too; this module only
turns those facts into the pages' view models (chips, burn-up, at-risk list).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections import defaultdict

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Min, Q
from django.utils import timezone

from accounts.models import User
from cohorts.models import Cohort, Extension, Membership, ScheduleOverride
from cohorts.selectors import (
    CohortTiming,
    ScheduleEntry,
    active_memberships_with_cohorts,
    cohort_timing,
    default_release_at,
)
from core.fragments import Rows, change_stamp, digest_sql, is_text, next_instant_after
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab, Track
from submissions import selectors as progress_selectors
from submissions.models import Iteration, Review, ReviewAcknowledgement, Submission

S = Submission.State
INACTIVE_AFTER = dt.timedelta(days=7)
BEHIND_THRESHOLD = 2

# key -> (label, symbol). The symbol tells the state without colour (matrix cells, charts).
STATUS = {
    "locked": ("Not released", "·"),
    "not_started": ("Not started", "○"),
    "late": ("Overdue", "!"),
    S.DRAFT: ("Draft", "✎"),
    S.SUBMITTED: ("Submitted", "↑"),
    S.IN_REVIEW: ("In review", "◐"),
    S.CHANGES_REQUESTED: ("Changes requested", "↺"),
    S.APPROVED: ("Approved", "✓"),
}
LEGEND_ORDER = [
    S.APPROVED,
    S.IN_REVIEW,
    S.SUBMITTED,
    S.CHANGES_REQUESTED,
    S.DRAFT,
    "not_started",
    "late",
    "locked",
]

NOT_YET_HANDED_IN = {progress_selectors.NOT_STARTED, S.DRAFT}


def lab_status(*, state: str, is_released: bool, is_overdue: bool) -> str:
    """The chip for one lab: its state, or locked / overdue while nothing is handed in.

    Presentation only: the state and the overdue flag come from `submissions.selectors`.
    """
    if state in NOT_YET_HANDED_IN:
        if not is_released:
            return "locked"
        if is_overdue:
            return "late"
    return state


@dataclasses.dataclass
class LabRow:
    entry: ScheduleEntry
    submission: Submission | None
    status: str
    overdue: bool
    review_overdue: bool = False  # handed in, and the mentors' review is past its due time

    @property
    def lab(self):
        return self.entry.lab

    @property
    def lateness(self) -> list[tuple[str, str]]:
        """Whose lateness, in words, as (label, chip kind): the learner's ("Handed in
        late"; "Overdue" is already the status of work not handed in) or the reviewers'
        ("Review overdue"). Work handed in on time and sent back after its due time is
        not late."""
        labels = []
        if self.submitted_late:
            labels.append(("Handed in late", "late"))
        if self.review_overdue:
            labels.append(("Review overdue", "review-overdue"))
        return labels

    @property
    def status_label(self) -> str:
        return STATUS[self.status][0]

    @property
    def symbol(self) -> str:
        return STATUS[self.status][1]

    @property
    def submitted_late(self) -> bool:
        return bool(self.submission and self.submission.is_late)


# --- charts -------------------------------------------------------------------------------


@dataclasses.dataclass
class BurnUp:
    """Labs approved by the end of each week against the labs due by then."""

    weeks: int
    current_week: int
    planned: list[int]  # index w-1: labs due by the end of week w
    approved: list[int]  # up to the current week only
    total: int

    @property
    def expected_now(self) -> int:
        return self.planned[self.current_week - 1] if self.current_week and self.planned else 0


def burn_up(cohort: Cohort, rows: list[LabRow], now: dt.datetime) -> BurnUp:
    entries = [row.entry for row in rows]
    if not entries:
        return BurnUp(weeks=0, current_week=0, planned=[], approved=[], total=0)
    start = min(entry.release_at for entry in entries)
    pace = dt.timedelta(days=cohort.pace_days)
    weeks = max(entry.week for entry in entries)
    # A lab is due on the first day of the following week (seven days after release, 23:59),
    # so "by the end of week w" allows that extra day.
    ends = [start + pace * w + dt.timedelta(days=1) for w in range(1, weeks + 1)]
    current_week = min(weeks, max(0, math.ceil((now - start) / pace)))
    planned = [sum(1 for e in entries if e.effective_due_at <= end) for end in ends]
    approved_times = sorted(
        row.submission.approved_at
        for row in rows
        if row.submission and row.submission.state == S.APPROVED and row.submission.approved_at
    )
    approved = [sum(1 for t in approved_times if t <= min(end, now)) for end in ends[:current_week]]
    return BurnUp(
        weeks=weeks,
        current_week=current_week,
        planned=planned,
        approved=approved,
        total=len(entries),
    )


# --- learner home -------------------------------------------------------------------------


@dataclasses.dataclass
class LearnerCohort:
    membership: Membership
    rows: list[LabRow]
    burn_up: BurnUp

    @property
    def cohort(self) -> Cohort:
        return self.membership.cohort

    @property
    def released(self) -> list[LabRow]:
        return [row for row in self.rows if row.entry.is_released]

    @property
    def approved_count(self) -> int:
        return sum(1 for row in self.rows if row.status == S.APPROVED)

    @property
    def percent(self) -> int:
        released = len(self.released)
        return round(100 * self.approved_count / released) if released else 0

    @property
    def changes_requested(self) -> list[LabRow]:
        return [row for row in self.rows if row.status == S.CHANGES_REQUESTED]

    @property
    def next_due(self) -> LabRow | None:
        """The released lab still to hand in with the earliest due time (overdue ones first)."""
        todo = [row for row in self.released if row.status in ("not_started", S.DRAFT, "late")]
        return min(todo, key=lambda row: row.entry.effective_due_at, default=None)

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows if row.overdue)

    @property
    def next_release(self) -> LabRow | None:
        return next((row for row in self.rows if not row.entry.is_released), None)


def learner_memberships(user) -> list[Membership]:
    """The user's active learner memberships, newest cohort first (one query, shared with
    the navigation's role lookup)."""
    return [
        membership
        for membership in active_memberships_with_cohorts(user)
        if membership.role == Membership.Role.LEARNER
    ]


def learner_cohort(*, membership: Membership, now: dt.datetime | None = None) -> LearnerCohort:
    """One cohort of a learner: schedule, states and burn-up. Four queries."""
    now = now or timezone.now()
    cohort = membership.cohort
    labs = progress_selectors.learner_progress(cohort=cohort, learner=membership.user, now=now)
    rows = [
        LabRow(
            entry=lab.entry,
            submission=lab.submission,
            status=lab_status(
                state=lab.state, is_released=lab.is_released, is_overdue=lab.is_overdue
            ),
            overdue=lab.is_overdue,
            review_overdue=_review_overdue(lab.submission, now),
        )
        for lab in labs.values()
    ]
    return LearnerCohort(membership=membership, rows=rows, burn_up=burn_up(cohort, rows, now))


def _review_overdue(submission: Submission | None, now: dt.datetime) -> bool:
    return bool(
        submission
        and submission.state in (S.SUBMITTED, S.IN_REVIEW)
        and submission.review_due_at
        and submission.review_due_at < now
    )


def learner_home_stamp(user) -> tuple | None:
    """Everything the learner's whole home page shows, as facts that change with it, in
    one query; None for someone in no cohort (that page is cheap to draw).

    Per active membership (any role, so the navigation's links are covered): the cohort's
    and track's change times and digests (core.fragments.digest_sql) of the learner's
    submissions in that cohort over the columns the page shows (`HOME_SUBMISSION_COLUMNS`,
    not their change time: a comment or a draft saved leaves the page as it was), the
    reviews of those submissions, the learner's extensions, the cohort's overrides and the
    track's labs (the same columns as the matrix); and the user's unread notifications (the
    bell shows their count). The page cache (`core.fragments`) is keyed by this.
    Last, the facts that choose the cohort the page opens on (`learner_home_cohorts`): the
    cohort's status, start, time zone and pace, and the learner's labs there with changes
    requested.
    """
    with connection.cursor() as cursor:
        cursor.execute(*learner_home_stamp_query(user))
        rows = tuple(cursor.fetchall())
    return rows or None


def learner_home_stamp_query(user) -> tuple[str, list]:
    """The SQL and parameters `learner_home_stamp` runs (tests EXPLAIN it)."""
    return _learner_home_sql(), [S.CHANGES_REQUESTED, user.pk, True]


@dataclasses.dataclass(frozen=True)
class HomeCohort:
    """One of a learner's cohorts as the home page's tabs show it."""

    cohort_id: int
    timing: CohortTiming
    finished: bool
    to_fix: int  # labs with changes requested

    @classmethod
    def of(cls, cohort: Cohort, now: dt.datetime, *, to_fix: int = 0) -> HomeCohort:
        return cls(
            cohort_id=cohort.pk,
            timing=cohort_timing(cohort, now),
            finished=cohort.status == Cohort.Status.FINISHED,
            to_fix=to_fix,
        )

    @property
    def rank(self) -> int:
        """Where there is something to do comes first; a draft or future cohort never hides
        current work, and a finished one with nothing left comes last."""
        if self.timing.started and not self.finished:
            return 0 if self.to_fix else 1
        if self.to_fix:
            return 2
        return 3 if not self.finished else 4


def learner_home_cohorts(stamp: tuple, now: dt.datetime) -> list[HomeCohort]:
    """The learner's cohorts, from their home page's stamp (no query), best first: the
    first is the one the home opens on. Part of the page's cache key, with `now` folded
    into each cohort's timing, so the choice moves when a cohort starts."""
    cohorts = []
    for row in stamp:
        _, cohort_id, role, *_, status, start_date, time_zone, pace_days, to_fix = row
        if role != Membership.Role.LEARNER:
            continue
        cohort = Cohort(
            pk=cohort_id,
            status=status,
            start_date=dt.date.fromisoformat(str(start_date)),
            time_zone=time_zone,
            pace_days=pace_days,
        )
        cohorts.append(HomeCohort.of(cohort, now, to_fix=to_fix))

    # Ties: of cohorts under way the newest start wins; of those to come, the soonest.
    def tie(c: HomeCohort) -> float:
        when = c.timing.starts_at.timestamp()
        return when if c.timing.upcoming else -when

    cohorts.sort(key=lambda c: (c.rank, tie(c), c.cohort_id))
    return cohorts


@functools.cache
def _learner_home_sql() -> str:
    from notifications.models import Notification

    quote = connection.ops.quote_name

    def table(model) -> str:
        return quote(model._meta.db_table)

    mine = "x.cohort_id = m.cohort_id AND x.learner_id = m.user_id"
    per_cohort = "x.cohort_id = m.cohort_id"
    per_track = "x.track_id = c.track_id"
    my_submission_ids = (
        f"SELECT s.id FROM {table(Submission)} s"  # noqa: S608
        " WHERE s.cohort_id = m.cohort_id AND s.learner_id = m.user_id"
    )
    reviews_of_mine = f"x.submission_id IN ({my_submission_ids})"
    parts = [
        (Submission, HOME_SUBMISSION_COLUMNS, mine),
        (Review, HOME_REVIEW_COLUMNS, reviews_of_mine),
        (Extension, EXTENSION_COLUMNS, mine),
        (ScheduleOverride, OVERRIDE_COLUMNS, per_cohort),
        (Lab, LAB_COLUMNS, per_track),
    ]
    stamps = ",\n".join(
        f"(SELECT {digest(model, columns)} FROM {table(model)} x WHERE {where})"  # noqa: S608
        for model, columns, where in parts
    )
    # Table names come from the models' metadata; the only values are parameters.
    return f"""
        SELECT m.id, m.cohort_id, m.role, c.updated_at, c.track_id, t.updated_at,
        {stamps},
        (SELECT COUNT(*) FROM {table(Notification)} x
          WHERE x.recipient_id = m.user_id AND x.read_at IS NULL),
        c.status, c.start_date, c.time_zone, c.pace_days,
        (SELECT COUNT(*) FROM {table(Submission)} x WHERE {mine} AND x.state = %s)
        FROM {table(Membership)} m
        JOIN {table(Cohort)} c ON c.id = m.cohort_id
        JOIN {table(Track)} t ON t.id = c.track_id
        WHERE m.user_id = %s AND m.active = %s
        ORDER BY m.id
    """  # noqa: S608


# What the learner's home shows of their submissions (states, chips, "late", the burn-up's
# approval times, "Review overdue") and of the reviews of them ("Recent feedback"; reviews
# are never changed). Named column by column rather than by `updated_at`, which every write
# to a submission bumps: a message in the thread, a draft saved or a file attached changes
# nothing on this page and must not make every one of those visits draw it again.
HOME_SUBMISSION_COLUMNS = (
    "id",
    "lab_id",
    "state",
    "is_late",
    "iteration_count",
    "approved_at",
    "review_due_at",
)
HOME_REVIEW_COLUMNS = ("id", "submission_id", "verdict", "reviewer_id", "created_at")


def digest(model, columns: tuple[str, ...]) -> str:
    """`digest_sql` over `columns` of `model` under alias x (no joins)."""
    quote = connection.ops.quote_name
    names = [
        (f"x.{quote(model._meta.get_field(name).column)}", is_text(model, name)) for name in columns
    ]
    return digest_sql(names, f"x.{quote(model._meta.pk.column)}")


def cohort_matrix_stamp(cohort: Cohort) -> tuple:
    """The same for a whole cohort's matrix and stats (one query). Its last value is the
    number of learners the matrix lists (`matrix_stamp_learners`), which bounds its pages."""
    return (_cohort_facts(cohort), change_stamp(*cohort_matrix_sources(cohort)))


def matrix_stamp_learners(stamp: tuple) -> int:
    return stamp[1][-1]


# What the matrix and the staff overview draw from each table, digested row by row
# (core.fragments.Rows): a change to any of these columns, or a row coming or going, changes
# the stamp. Submissions: every write saves `updated_at` (iterations, reviews and comments
# save their submission). Labs: `active` too, because an import parks labs without touching
# `updated_at`. The rest have no change time, so the digest names what the pages show.
SUBMISSION_COLUMNS = ("id", "updated_at")
EXTENSION_COLUMNS = ("id", "lab_id", "learner_id", "due_at")
OVERRIDE_COLUMNS = ("id", "lab_id", "release_at", "due_at")
LAB_COLUMNS = ("id", "updated_at", "active", "week", "title")
LEARNER_COLUMNS = ("id", "user_id", "joined_at", "user__is_active", "user__name", "user__email")


def cohort_matrix_sources(cohort: Cohort) -> list[Rows]:
    """A cohort's submissions, extensions, overrides, labs, and its active learners with
    their accounts (a deactivated account leaves the matrix; names label its rows)."""
    ours = {"cohort_id": cohort.pk}
    learners = {"cohort_id": cohort.pk, "role": Membership.Role.LEARNER.value, "active": True}
    return [
        Rows(Submission, SUBMISSION_COLUMNS, ours),
        Rows(Extension, EXTENSION_COLUMNS, ours),
        Rows(ScheduleOverride, OVERRIDE_COLUMNS, ours),
        Rows(Lab, LAB_COLUMNS, {"track_id": cohort.track_id}),
        Rows(Membership, LEARNER_COLUMNS, learners),
        # Last: how many rows the matrix has (active accounts only), for its page count.
        Rows(Membership, (), {**learners, "user__is_active": True}, "COUNT"),
    ]


def _cohort_facts(cohort: Cohort) -> tuple:
    """The cohort and its track as loaded for this request: every save bumps updated_at."""
    return (cohort.pk, cohort.updated_at, cohort.track_id, cohort.track.updated_at)


def learner_panel_ends_at(overview: LearnerCohort, now: dt.datetime) -> dt.datetime | None:
    """The next instant the panel changes by itself: a release, a due time, a new week."""
    instants = []
    for row in overview.rows:
        instants += [row.entry.release_at, row.entry.effective_due_at]
        if row.submission is not None and row.submission.state in (S.SUBMITTED, S.IN_REVIEW):
            instants.append(row.submission.review_due_at)  # "Review overdue" appears
    starts = [row.entry.release_at for row in overview.rows]
    if starts:
        start = min(starts)
        pace = dt.timedelta(days=overview.cohort.pace_days)
        instants += [start + pace * week for week in range(overview.burn_up.weeks + 1)]
    return next_instant_after(now, instants)


def matrix_ends_at(matrix: Matrix) -> dt.datetime | None:
    """The next release or due time (with extensions) after the matrix was drawn."""
    instants = [entry.release_at for entry in matrix.entries]
    instants += [entry.due_at for entry in matrix.entries]
    instants += [cell.progress.due_at for row in matrix.rows for cell in row.cells]
    return next_instant_after(matrix.now, instants)


RECENT_FEEDBACK = 5


def _latest_feedback(**cohort):
    return (
        Review.objects.filter(submission__learner_id=Param("learner"), **cohort)
        .exclude(body="")
        .select_related("reviewer", "submission__lab", "submission__cohort")
        .order_by("-created_at", "-pk")[:RECENT_FEEDBACK]
    )


# The learner home's "Recent feedback", compiled once per process (drawn on each change).
_LATEST_FEEDBACK_IN_COHORT = PreparedQuery(
    lambda: _latest_feedback(submission__cohort_id=Param("cohort"))
)


def recent_feedback(
    *, learner, cohort: Cohort | None = None, limit: int = RECENT_FEEDBACK
) -> list[Review]:
    """The latest reviews of the learner's work (one query)."""
    if cohort is not None and limit == RECENT_FEEDBACK:
        return _LATEST_FEEDBACK_IN_COHORT.models(learner=learner.pk, cohort=cohort.pk)
    qs = Review.objects.filter(submission__learner=learner).exclude(body="")
    if cohort is not None:
        qs = qs.filter(submission__cohort=cohort)
    return list(
        qs.select_related("reviewer", "submission__lab", "submission__cohort").order_by(
            "-created_at", "-pk"
        )[:limit]
    )


# --- mentor matrix ------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class MatrixCell:
    entry: ScheduleEntry  # the lab's column: cohort dates, without the learner's extension
    progress: progress_selectors.MatrixCell
    status: str
    learner_name: str

    @property
    def overdue(self) -> bool:
        return self.progress.is_overdue

    @property
    def submission_id(self) -> int | None:
        return self.progress.submission_id

    @property
    def label(self) -> str:
        return STATUS[self.status][0]

    @property
    def symbol(self) -> str:
        return STATUS[self.status][1]

    @property
    def title(self) -> str:
        lab = self.entry.lab
        text = f"{self.learner_name} · Week {self.entry.week} · {lab.title}: {self.label}"
        if self.overdue and self.status != "late":
            text += " (overdue)"
        if self.progress.handed_in_late:
            text += " (handed in late)"
        return text

    @property
    def reviewable(self) -> bool:
        return bool(self.progress.iteration_count)


@dataclasses.dataclass
class MatrixRow:
    membership: Membership
    cells: list[MatrixCell]
    last_activity_at: dt.datetime

    @property
    def learner(self):
        return self.membership.user

    # Cached: sorting, the at-risk list and the page each read these for every row.
    @functools.cached_property
    def approved(self) -> int:
        return sum(1 for cell in self.cells if cell.status == S.APPROVED)

    @functools.cached_property
    def released(self) -> int:
        return sum(1 for cell in self.cells if cell.entry.is_released)

    @functools.cached_property
    def percent(self) -> int:
        return round(100 * self.approved / self.released) if self.released else 0

    @functools.cached_property
    def behind(self) -> int:
        return sum(1 for cell in self.cells if cell.overdue)

    def risk_reasons(self, now: dt.datetime) -> list[str]:
        reasons = []
        if self.behind >= BEHIND_THRESHOLD:
            reasons.append(f"{self.behind} labs behind the schedule")
        idle = now - self.last_activity_at
        if idle >= INACTIVE_AFTER:
            reasons.append(f"no activity for {idle.days} days")
        return reasons


@dataclasses.dataclass
class Matrix:
    cohort: Cohort
    entries: list[ScheduleEntry]
    rows: list[MatrixRow]
    now: dt.datetime

    @property
    def at_risk(self) -> list[tuple[MatrixRow, list[str]]]:
        flagged = [(row, row.risk_reasons(self.now)) for row in self.rows]
        flagged = [(row, reasons) for row, reasons in flagged if reasons]
        return sorted(flagged, key=lambda item: (-item[0].behind, item[0].last_activity_at))

    def distribution(self, buckets: int = 5) -> list[int]:
        """How many learners have approved 0-20 %, 20-40 %, ... of their released labs."""
        counts = [0] * buckets
        for row in self.rows:
            counts[min(buckets - 1, row.percent * buckets // 100)] += 1
        return counts


def cohort_matrix(*, cohort: Cohort, now: dt.datetime | None = None) -> Matrix:
    """Learners x labs with each cell's state. Five queries whatever the cohort's size."""
    now = now or timezone.now()
    source = progress_selectors.cohort_progress_matrix(cohort=cohort, now=now, order="display_name")
    rows = []
    for row in source.rows:
        name = row.learner.display_name
        cells = [
            MatrixCell(
                entry=entry,
                progress=cell,
                status=lab_status(
                    state=cell.state, is_released=cell.is_released, is_overdue=cell.is_overdue
                ),
                learner_name=name,
            )
            for entry, cell in zip(source.entries, row.cells, strict=True)
        ]
        rows.append(
            MatrixRow(membership=row.membership, cells=cells, last_activity_at=row.last_activity_at)
        )
    return Matrix(cohort=cohort, entries=source.entries, rows=rows, now=now)


def mentor_cohorts(user) -> list[Cohort]:
    """Cohorts the user mentors (staff: every active cohort), newest first. One query."""
    qs = Cohort.objects.select_related("track")
    if not user.is_staff:
        qs = qs.filter(
            memberships__user=user,
            memberships__role=Membership.Role.MENTOR,
            memberships__active=True,
        )
    else:
        qs = qs.exclude(status=Cohort.Status.DRAFT)
    return list(qs.order_by("-start_date", "name").distinct())


# --- learner history (for mentors) --------------------------------------------------------


def learner_history(*, cohort: Cohort, learner) -> list[Review]:
    """Every review of the learner's work in the cohort, newest first (one query)."""
    return list(
        Review.objects.filter(submission__cohort=cohort, submission__learner=learner)
        .select_related("reviewer", "submission__lab", "iteration")
        .order_by("-created_at", "-pk")
    )


def learner_iterations(*, cohort: Cohort, learner) -> list[Iteration]:
    return list(
        Iteration.objects.filter(submission__cohort=cohort, submission__learner=learner)
        .select_related("submission__lab")
        .order_by("-submitted_at", "-pk")
    )


# --- staff overview -----------------------------------------------------------------------


@dataclasses.dataclass
class Turnaround:
    reviewed: int
    waiting: int
    median_hours: float | None
    p90_hours: float | None
    within_sla: int
    breached: int  # reviewed late, or still waiting past the SLA

    @property
    def sla_percent(self) -> int | None:
        total = self.within_sla + self.breached
        return round(100 * self.within_sla / total) if total else None


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which `fraction` of the data falls)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclasses.dataclass
class CohortStats:
    turnaround: Turnaround
    per_week: list[int]  # hand-ins (iterations) in each week since the cohort started
    open_reviews: int
    overdue_reviews: int
    # The next instant a figure changes by the clock alone: open work passing its review
    # due time, a hand-in still waiting passing the SLA (None: nothing pending).
    next_change_at: dt.datetime | None = None


def cohort_stats(*, cohort: Cohort, now: dt.datetime | None = None) -> CohortStats:
    """Review turnaround, SLA compliance and hand-ins per week. Two queries."""
    now = now or timezone.now()
    sla = dt.timedelta(hours=cohort.review_sla_hours)
    rows = (
        Iteration.objects.filter(submission__cohort=cohort)
        .annotate(first_review_at=Min("reviews__created_at"))
        .values_list("submitted_at", "first_review_at")
    )
    hours = []
    within = breached = waiting = 0
    start = default_release_at(cohort, 1)
    week_counts: dict[int, int] = defaultdict(int)
    sla_ends: list[dt.datetime] = []
    for submitted_at, first_review_at in rows:
        week_counts[max(0, (submitted_at - start).days // cohort.pace_days)] += 1
        if first_review_at is None:
            waiting += 1
            if now - submitted_at > sla:
                breached += 1
            else:
                sla_ends.append(submitted_at + sla)
            continue
        delay = first_review_at - submitted_at
        hours.append(delay.total_seconds() / 3600)
        if delay <= sla:
            within += 1
        else:
            breached += 1
    hours.sort()
    weeks = max([*week_counts, max(0, (now - start).days // cohort.pace_days)]) + 1
    open_counts = Submission.objects.filter(
        cohort=cohort, state__in=[S.SUBMITTED, S.IN_REVIEW]
    ).aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(review_due_at__lt=now)),
        next_due=Min("review_due_at", filter=Q(review_due_at__gte=now)),
    )
    return CohortStats(
        turnaround=Turnaround(
            reviewed=len(hours),
            waiting=waiting,
            median_hours=_percentile(hours, 0.5),
            p90_hours=_percentile(hours, 0.9),
            within_sla=within,
            breached=breached,
        ),
        per_week=[week_counts.get(w, 0) for w in range(min(weeks, 104))],
        open_reviews=open_counts["open"] or 0,
        overdue_reviews=open_counts["overdue"] or 0,
        next_change_at=next_instant_after(now, [*sla_ends, open_counts["next_due"]]),
    )


# --- feedback that lands: turnaround and helpfulness per mentor ---------------------------


@dataclasses.dataclass
class MentorFeedback:
    mentor_id: int
    name: str
    reviews: int
    median_turnaround_hours: float | None  # nearest-rank median, hand-in -> this review
    acknowledged: int
    rated: int
    helpful: int

    @property
    def acknowledged_percent(self) -> int | None:
        return round(100 * self.acknowledged / self.reviews) if self.reviews else None

    @property
    def helpful_percent(self) -> int | None:
        """Of the reviews the learner rated (helpful or not), the share rated helpful."""
        return round(100 * self.helpful / self.rated) if self.rated else None


def mentor_feedback_stamp(cohort: Cohort, *, matrix_stamp: tuple, reviewer_ids: list) -> tuple:
    """What the feedback table is computed from, without reading the cohort's reviews: the
    reviews are named by the cohort's submissions' digest, which the matrix stamp already
    holds (`review_create` saves the submission it reviews, and reviews are never changed
    or deleted); the acknowledgements and ratings (which touch no submission) and the
    reviewers' names and addresses are digested (one query). `reviewer_ids`: the
    `cohort_reviewer_ids` of that submissions' digest (the view keeps them cached)."""
    return (
        matrix_submissions_digest(matrix_stamp),
        change_stamp(
            Rows(
                ReviewAcknowledgement,
                ("id", "review_id", "helpful"),
                {"review__submission__cohort_id": cohort.pk},
            ),
            Rows(User, ("id", "name", "email"), {"id__in": reviewer_ids}),
        ),
    )


def matrix_submissions_digest(matrix_stamp: tuple):
    """The digest of the cohort's submissions (id, updated_at) in a `cohort_matrix_stamp`."""
    return matrix_stamp[1][0]


class _EqualsAny(Func):
    """`<value> = ANY(<array>)`, a condition: see `_cohort_reviews`."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = BooleanField()


def _cohort_reviews(cohort: Cohort):
    """The reviews of `cohort`'s submissions, reached through the index on
    `review.submission_id`: `submission_id = ANY(ARRAY(<the cohort's submission ids>))`.
    A join on the submission (or `IN (subquery)`) lets the planner hash-join a sequential
    scan of every review of every cohort (60,000 rows at the large bench size, 28 ms, and
    growing with the whole table), which it does on a table it has not `ANALYZE`d; the
    array is an init plan, so the reviews are always read by index (2,700 rows, 3 ms)."""
    if connection.vendor != "postgresql":  # SQLite (development): a plain join
        return Review.objects.filter(submission__cohort_id=cohort.pk).order_by()
    ids = ArraySubquery(Submission.objects.filter(cohort_id=cohort.pk).order_by().values("pk"))
    return Review.objects.filter(_EqualsAny(F("submission_id"), ids)).order_by()


def cohort_reviewer_ids(cohort: Cohort) -> list[int]:
    """Everyone who reviewed work of the cohort (one query over its reviews)."""
    # order_by(): Review's default ordering would make DISTINCT per row.
    return sorted(_cohort_reviews(cohort).values_list("reviewer_id", flat=True).distinct())


# Literal table names: ruff (S608) refuses SQL built with f-strings.
_MENTOR_FEEDBACK_SQL = """
SELECT f.reviewer_id, u.name, u.email, f.reviews, f.median, f.acknowledged, f.rated, f.helpful
FROM (
    SELECT r.reviewer_id,
           count(*) AS reviews,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY r.created_at - i.submitted_at) AS median,
           count(a.review_id) AS acknowledged,
           count(a.helpful) AS rated,
           count(*) FILTER (WHERE a.helpful) AS helpful
    FROM submissions_review r
    CROSS JOIN LATERAL (
        SELECT submitted_at FROM submissions_iteration WHERE id = r.iteration_id OFFSET 0
    ) i
    LEFT JOIN LATERAL (
        SELECT review_id, helpful FROM submissions_reviewacknowledgement
        WHERE review_id = r.id OFFSET 0
    ) a ON true
    WHERE r.submission_id = ANY(ARRAY(
        SELECT id FROM submissions_submission WHERE cohort_id = %s
    ))
    GROUP BY r.reviewer_id
) f
CROSS JOIN LATERAL (
    SELECT name, email FROM accounts_user WHERE id = f.reviewer_id OFFSET 0
) u
"""


def mentor_feedback(*, cohort: Cohort) -> list[MentorFeedback]:
    """Per mentor who reviewed in ``cohort``: reviews given, the median time from hand-in to
    their review, the share the learner acknowledged and the share rated helpful of those
    rated. One query, busiest first.

    Aggregated in PostgreSQL, a row per mentor (a row per review cost ~30 ms of Python at
    2,700 reviews: the rows and their 5,500 datetimes). `percentile_disc(0.5)` is the
    nearest-rank median of `_percentile` (rank ceil(n / 2)); it is taken over the intervals
    and turned into hours here, as before (clamping at zero is monotonic, so the median of
    the clamped values is the clamped median). Every row is reached by index whatever the
    planner's statistics say: the reviews through `= ANY(ARRAY(...))` (see
    `_cohort_reviews`), the iteration, acknowledgement and reviewer of each through a
    LATERAL subquery that `OFFSET 0` keeps from being flattened into a join, which on a
    table not `ANALYZE`d became a hash of every iteration (60,000 rows, 50 ms) or of
    every user. Other databases (SQLite in development) get the same figures from a row
    per review (`_mentor_feedback_rows`)."""
    if connection.vendor != "postgresql":
        return _mentor_feedback_rows(cohort)
    with connection.cursor() as cursor:
        cursor.execute(_MENTOR_FEEDBACK_SQL, [cohort.pk])
        rows = cursor.fetchall()
    table = [
        MentorFeedback(
            mentor_id=mentor_id,
            name=name or email.split("@")[0],
            reviews=reviews,
            median_turnaround_hours=max(0.0, median.total_seconds() / 3600),
            acknowledged=acknowledged,
            rated=rated,
            helpful=helpful,
        )
        for mentor_id, name, email, reviews, median, acknowledged, rated, helpful in rows
    ]
    return sorted(table, key=lambda row: (-row.reviews, row.name.lower(), row.mentor_id))


def _mentor_feedback_rows(cohort: Cohort) -> list[MentorFeedback]:
    """`mentor_feedback` from a row per review, for databases without `percentile_disc`."""
    rows = Review.objects.filter(submission__cohort=cohort).values_list(
        "reviewer_id",
        "reviewer__name",
        "reviewer__email",
        "created_at",
        "iteration__submitted_at",
        "acknowledgement__pk",
        "acknowledgement__helpful",
    )
    names: dict[int, str] = {}
    hours: dict[int, list[float]] = defaultdict(list)
    acknowledged: dict[int, int] = defaultdict(int)
    rated: dict[int, int] = defaultdict(int)
    helpful: dict[int, int] = defaultdict(int)
    for mentor_id, name, email, reviewed_at, handed_in_at, ack_id, is_helpful in rows:
        names[mentor_id] = name or email.split("@")[0]
        hours[mentor_id].append(max(0.0, (reviewed_at - handed_in_at).total_seconds() / 3600))
        acknowledged[mentor_id] += ack_id is not None
        rated[mentor_id] += is_helpful is not None
        helpful[mentor_id] += is_helpful is True
    table = [
        MentorFeedback(
            mentor_id=mentor_id,
            name=names[mentor_id],
            reviews=len(values),
            median_turnaround_hours=_percentile(sorted(values), 0.5),
            acknowledged=acknowledged[mentor_id],
            rated=rated[mentor_id],
            helpful=helpful[mentor_id],
        )
        for mentor_id, values in hours.items()
    ]
    return sorted(table, key=lambda row: (-row.reviews, row.name.lower(), row.mentor_id))
