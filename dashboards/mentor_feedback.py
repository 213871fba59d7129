"""Feedback that lands: turnaround and helpfulness per mentor of a cohort (the mentor home
and the staff cohort page), and what its cached table is keyed on.

The table is drawn from the cohort's reviews, their acknowledgements and the reviewers'
names. Reviews are never changed or deleted and `review_create` saves the submission it
reviews, so the cohort's reviews are named by how many there are and the newest one
(`CohortReviews`, read once per state of the cohort's submissions and kept in the cache);
acknowledgements and names touch no submission and are digested (`feedback_sources`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Max

from accounts.models import User
from cohorts.models import Cohort
from core.fragments import Rows, change_stamp, fragment_key
from submissions.models import Review, ReviewAcknowledgement, Submission


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which `fraction` of the data falls)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


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


# --- what the cached table is keyed on ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CohortReviews:
    """Who reviewed the cohort's work, and its reviews named by their count and newest id
    (never changed or deleted, so these two name them all)."""

    submissions: tuple  # the cohort's submissions (`matrix_submissions`) when read
    reviewer_ids: tuple[int, ...]
    count: int
    last_id: int | None


def cohort_reviews(cohort: Cohort, *, submissions: tuple) -> CohortReviews:
    """The cohort's `CohortReviews` (one query over its reviews, by index)."""
    rows = sorted(
        _cohort_reviews(cohort)
        .values("reviewer_id")
        .annotate(reviews=Count("pk"), last=Max("pk"))
        .values_list("reviewer_id", "reviews", "last")
    )
    return CohortReviews(
        submissions=submissions,
        reviewer_ids=tuple(reviewer_id for reviewer_id, _, _ in rows),
        count=sum(count for _, count, _ in rows),
        last_id=max((last for _, _, last in rows), default=None),
    )


# Reviews are named by the submissions' state, which every review changes: this only bounds
# how long an entry for a cohort nobody looks at stays.
REVIEWS_MAX_AGE = 600


def _reviews_key(cohort_id: int) -> str:
    return fragment_key(name="mentor-feedback-reviewers", parts=(cohort_id,))


def known_reviews(cohort: Cohort) -> CohortReviews | None:
    """The cohort's `CohortReviews` as last read (one cache read), or None."""
    return cache.get(_reviews_key(cohort.pk))


def current_reviews(
    cohort: Cohort, *, submissions: tuple, known: CohortReviews | None
) -> CohortReviews:
    """`known` while the cohort's submissions are as they were when it was read (a review
    saves its submission, so no review came since), else read again (one query) and kept.
    Read after `submissions`, so a review in between makes it one reviewer long, never
    short."""
    if known is not None and known.submissions == submissions:
        return known
    reviews = cohort_reviews(cohort, submissions=submissions)
    cache.set(_reviews_key(cohort.pk), reviews, REVIEWS_MAX_AGE)
    return reviews


def feedback_sources(cohort: Cohort, reviewer_ids) -> list[Rows]:
    """Stamp sources for what the table shows besides the reviews: the acknowledgements and
    ratings of the cohort's reviews (which touch no submission), and the names and
    addresses of `reviewer_ids` (the `CohortReviews` reviewers)."""
    return [
        Rows(
            ReviewAcknowledgement,
            ("id", "review_id", "helpful"),
            {"review__submission__cohort_id": cohort.pk},
        ),
        Rows(User, ("id", "name", "email"), {"id__in": list(reviewer_ids)}),
    ]


def feedback_stamp(cohort: Cohort, reviewer_ids) -> tuple:
    """`feedback_sources`, answered (one query)."""
    return tuple(change_stamp(*feedback_sources(cohort, reviewer_ids)))
