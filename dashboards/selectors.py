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

from django.db import connection
from django.db.models import Count, Min, Q
from django.utils import timezone

from cohorts.models import Cohort, Extension, Membership, ScheduleOverride
from cohorts.selectors import (
    CohortTiming,
    ScheduleEntry,
    active_memberships_with_cohorts,
    cohort_timing,
    default_release_at,
)
from core.fragments import (
    Rows,
    digest_sql,
    is_text,
    navigation_sources,
    next_instant_after,
    row_set_digest_sql,
    stamp_query,
)
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab, Track
from submissions import selectors as progress_selectors
from submissions.models import Iteration, Review, Submission

from .mentor_feedback import (  # noqa: F401  (public names of this module)
    MentorFeedback,
    _percentile,
    feedback_sources,
    mentor_feedback,
)

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
    return digest_sql(_x_columns(model, columns), f"x.{quote(model._meta.pk.column)}")


def _x_columns(model, columns: tuple[str, ...]) -> list[tuple[str, bool]]:
    """`columns` of `model` under alias x, as `digest_sql` takes them."""
    quote = connection.ops.quote_name
    return [
        (f"x.{quote(model._meta.get_field(name).column)}", is_text(model, name)) for name in columns
    ]


def cohort_matrix_stamp(cohort: Cohort, *, now: dt.datetime) -> tuple:
    """The facts a cohort's matrix and stats are drawn from (one query): the cohort, its
    submissions (count, change times, what the matrix shows of them, who was active in the
    last `INACTIVE_AFTER`) and `cohort_matrix_sources`. Its last value is the number of
    learners the matrix lists (`matrix_stamp_learners`), which bounds its pages."""
    with connection.cursor() as cursor:
        cursor.execute(*cohort_matrix_stamp_query(cohort, now=now))
        row = cursor.fetchone()
    return matrix_stamp_of(cohort, row)


def matrix_stamp_of(cohort: Cohort, row) -> tuple:
    """`cohort_matrix_stamp` from a row of `cohort_matrix_stamp_query` (its first values)."""
    return (_cohort_facts(cohort), tuple(row[:MATRIX_STAMP_WIDTH]))


def matrix_stamp_learners(stamp: tuple) -> int:
    return stamp[1][-1]


def matrix_submissions(matrix_stamp: tuple) -> tuple:
    """The cohort's submissions (count and change times) in a `cohort_matrix_stamp`: they
    move with every write, a message in a thread included."""
    return matrix_stamp[1][:2]


def matrix_shown(matrix_stamp: tuple) -> tuple:
    """A `cohort_matrix_stamp` without the submissions' change times: what the matrix and
    its at-risk list show, which a message in a thread leaves as it is (the mentor home is
    keyed on this; pages that show more, such as the staff's turnaround, on the whole)."""
    facts, values = matrix_stamp
    return (facts, values[:1] + values[2:])


def cohort_matrix_stamp_query(
    cohort: Cohort, *extra: Rows, now: dt.datetime | None = None
) -> tuple[str, list]:
    """The SQL and parameters of `cohort_matrix_stamp` (tests EXPLAIN it); `extra` stamp
    sources are answered by the same query, after the matrix's MATRIX_STAMP_WIDTH values.

    The cohort's submissions (thousands of rows) are summarised by `_submissions_sql`, the
    rest (tens of rows each) digested row by row (core.fragments.stamp_query)."""
    active_since = (now or timezone.now()) - INACTIVE_AFTER
    sql, params = stamp_query(*cohort_matrix_sources(cohort), *extra)
    # Both parts are built from the models' metadata; every value is a parameter.
    query = f"SELECT sub.*, st.* FROM ({_submissions_sql()}) sub, ({sql}) st"  # noqa: S608
    return query, [cohort.pk, active_since, cohort.track_id, True, cohort.pk, *params]


@dataclasses.dataclass(frozen=True)
class MentorHomeStamp:
    matrix: tuple  # `matrix_shown` of the cohort's `cohort_matrix_stamp`
    submissions: tuple  # `matrix_submissions` of it: a review saves its submission
    feedback: tuple  # `mentor_feedback.feedback_stamp` of the reviewers given
    navigation: tuple  # what every signed-in page shows besides its content (the bell)

    @property
    def shown(self) -> tuple:
        """What the page shows: its key (the change times only tell whether to read the
        reviews again)."""
        return (self.matrix, self.feedback, self.navigation)


def mentor_home_stamp(user, cohort: Cohort, *, reviewer_ids, now: dt.datetime) -> MentorHomeStamp:
    """What the mentor's home shows of `cohort` and around it, in one query: the matrix's
    stamp, the feedback table's acknowledgements and the names of `reviewer_ids`, and the
    navigation's sources (core.fragments.navigation_sources)."""
    extra = [*feedback_sources(cohort, reviewer_ids), *navigation_sources(user)]
    with connection.cursor() as cursor:
        cursor.execute(*cohort_matrix_stamp_query(cohort, *extra, now=now))
        row = tuple(cursor.fetchone())
    width = MATRIX_STAMP_WIDTH
    matrix = matrix_stamp_of(cohort, row)
    return MentorHomeStamp(
        matrix=matrix_shown(matrix),
        submissions=matrix_submissions(matrix),
        feedback=row[width : width + 2],
        navigation=row[width + 2 :],
    )


# The submissions' four values, then one per `cohort_matrix_sources`.
MATRIX_STAMP_WIDTH = 9

# What a matrix cell shows of its submission (`submissions.selectors.cohort_progress_matrix`).
MATRIX_SUBMISSION_COLUMNS = ("id", "learner_id", "lab_id", "state", "is_late", "iteration_count")


@functools.cache
def _submissions_sql() -> str:
    """Four facts about the cohort's submissions, in one pass over them by index:

    - how many there are, and the sum of their change times. Every write of a submission
      saves `updated_at` (iterations, reviews and comments save their submission), and the
      clock only moves it forward: a changed row raises the sum, a row gone lowers the
      count, a row replaced by a newer one raises the sum. Unlike the newest change time,
      the sum also moves when two writes commit out of order. On PostgreSQL it is read
      from the `(cohort, updated_at)` index alone; other databases digest the rows;
    - a digest of what the matrix shows of each (`MATRIX_SUBMISSION_COLUMNS`), which a
      message in a thread, a draft saved or a file attached leaves as it is;
    - a digest of the learners who touched work on a scheduled (active) lab since the
      given instant (`INACTIVE_AFTER` ago), the matrix's last activity: the at-risk list
      changes when one of them comes back, and by the clock alone (`matrix_ends_at`).

    Parameters: the cohort, the instant, the cohort's track, True, the cohort."""
    quote = connection.ops.quote_name
    table = quote(Submission._meta.db_table)
    if connection.vendor == "postgresql":
        changed = f"SUM(x.{quote('updated_at')} - TIMESTAMPTZ '2000-01-01')"
    else:
        changed = digest(Submission, SUBMISSION_COLUMNS)
    shown = row_set_digest_sql(_x_columns(Submission, MATRIX_SUBMISSION_COLUMNS), "x.id")
    learner, lab = quote("learner_id"), quote("lab_id")
    scheduled = (
        f"SELECT l.{quote('id')} FROM {quote(Lab._meta.db_table)} l"  # noqa: S608
        f" WHERE l.{quote('track_id')} = %s AND l.{quote('active')} = %s"
    )
    recent = (
        f"SELECT DISTINCT y.{learner} AS learner FROM {table} y"  # noqa: S608
        f" WHERE y.{quote('cohort_id')} = %s AND y.{quote('last_activity_at')} >= %s"
        f" AND y.{lab} IN ({scheduled})"
    )
    active = f"(SELECT {digest_sql([('a.learner', False)], 'a.learner')} FROM ({recent}) a)"  # noqa: S608
    # Identifiers from the models' metadata; every value is a parameter.
    return (
        f"SELECT COUNT(*) AS submissions, {changed} AS submissions_changed, "  # noqa: S608
        f"{shown} AS submissions_shown, {active} AS active_learners "
        f"FROM {table} x WHERE x.{quote('cohort_id')} = %s"
    )


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
    """A cohort's extensions, overrides, labs, and its active learners with their accounts
    (a deactivated account leaves the matrix; names label its rows). The submissions are
    summarised apart (`_submissions_sql`)."""
    ours = {"cohort_id": cohort.pk}
    learners = {"cohort_id": cohort.pk, "role": Membership.Role.LEARNER.value, "active": True}
    return [
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
    """The next instant the matrix or its at-risk list changes by the clock alone: a
    release or due time (with extensions), a learner going idle or one more idle day."""
    instants = [entry.release_at for entry in matrix.entries]
    instants += [entry.due_at for entry in matrix.entries]
    # A cell's due time is its column's or, with an extension, the extension's.
    instants += matrix.extension_due_times
    instants += [row.idle_changes_at(matrix.now) for row in matrix.rows]
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
    """One learner's row. Its figures are counted from the learner's progress cells; the
    cells with their labels (`cells`) are made only for the rows a page shows or exports."""

    membership: Membership
    progress: progress_selectors.MatrixRow
    entries: list[ScheduleEntry]
    last_activity_at: dt.datetime
    released: int  # labs released in the cohort: the same for every row

    @property
    def learner(self):
        return self.membership.user

    @functools.cached_property
    def cells(self) -> list[MatrixCell]:
        name = self.learner.display_name
        return [
            MatrixCell(
                entry=entry,
                progress=cell,
                status=lab_status(
                    state=cell.state, is_released=cell.is_released, is_overdue=cell.is_overdue
                ),
                learner_name=name,
            )
            for entry, cell in zip(self.entries, self.progress.cells, strict=True)
        ]

    # Cached: sorting, the at-risk list and the page each read these for every row. A
    # cell's status is approved exactly when its state is (`lab_status`).
    @functools.cached_property
    def approved(self) -> int:
        return sum(cell.state == S.APPROVED for cell in self.progress.cells)

    @functools.cached_property
    def percent(self) -> int:
        return round(100 * self.approved / self.released) if self.released else 0

    @functools.cached_property
    def behind(self) -> int:
        return sum(cell.is_overdue for cell in self.progress.cells)

    def idle_days(self, now: dt.datetime) -> int:
        """Whole days without activity, once they reach `INACTIVE_AFTER` (else 0)."""
        idle = now - self.last_activity_at
        return idle.days if idle >= INACTIVE_AFTER else 0

    def risk_reasons(self, now: dt.datetime) -> list[str]:
        reasons = []
        if self.behind >= BEHIND_THRESHOLD:
            reasons.append(f"{self.behind} labs behind the schedule")
        if idle_days := self.idle_days(now):
            reasons.append(f"no activity for {idle_days} days")
        return reasons

    def idle_changes_at(self, now: dt.datetime) -> dt.datetime:
        """When `idle_days` next changes by the clock alone: the learner goes idle, or one
        more idle day passes."""
        idle = now - self.last_activity_at
        if idle < INACTIVE_AFTER:
            return self.last_activity_at + INACTIVE_AFTER
        return self.last_activity_at + dt.timedelta(days=idle.days + 1)


@dataclasses.dataclass
class Matrix:
    cohort: Cohort
    entries: list[ScheduleEntry]
    rows: list[MatrixRow]
    now: dt.datetime
    extension_due_times: tuple = ()  # the due times of the cohort's learners' extensions

    @property
    def at_risk(self) -> list[tuple[MatrixRow, list[str]]]:
        flagged = [(row, row.risk_reasons(self.now)) for row in self.rows]
        flagged = [(row, reasons) for row, reasons in flagged if reasons]
        # Most behind first, then longest idle, by what the list shows: a learner's message
        # in a thread (a newer last activity) must not reorder it (the mentor home is keyed
        # on what it shows, `matrix_shown`).
        return sorted(
            flagged,
            key=lambda item: (
                -item[0].behind,
                -item[0].idle_days(self.now),
                item[0].learner.display_name.lower(),
                item[0].learner.pk,
            ),
        )

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
    released = sum(entry.is_released for entry in source.entries)
    rows = [
        MatrixRow(
            membership=row.membership,
            progress=row,
            entries=source.entries,
            last_activity_at=row.last_activity_at,
            released=released,
        )
        for row in source.rows
    ]
    return Matrix(
        cohort=cohort,
        entries=source.entries,
        rows=rows,
        now=now,
        extension_due_times=source.extension_due_times,
    )


def mentor_cohorts(user) -> list[Cohort]:
    """Cohorts the user mentors (staff: every active cohort), newest first, with their
    tracks. One query, which for a mentor is the user's memberships with their cohorts: it
    also answers the navigation's roles for the rest of the request."""
    if user.is_staff:
        qs = Cohort.objects.select_related("track").exclude(status=Cohort.Status.DRAFT)
        return list(qs.order_by("-start_date", "name"))
    return [
        membership.cohort
        for membership in active_memberships_with_cohorts(user)
        if membership.role == Membership.Role.MENTOR
    ]


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
