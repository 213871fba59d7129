"""Reads for review points and the review page's "Since your last review".

Writes are in ``submissions.services.points``. Points are read with their submission, so
whoever may see the submission (``permissions.submissions_visible_to``: the learner, the
cohort's active mentors, staff) sees its points, and nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from .models import Iteration, Review, ReviewPoint, Submission
from .selectors import IterationDiff, iteration_diff


def points_of(submission: Submission) -> QuerySet[ReviewPoint]:
    """Every point raised on ``submission``, oldest first, with who raised, answered in
    which iteration, and who waived it (one query)."""
    return (
        ReviewPoint.objects.filter(submission=submission)
        .select_related("review__reviewer", "review__iteration", "addressed_in", "waived_by")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class SinceLastReview:
    """What the mentor has not seen yet: the iteration last reviewed (``reviewed``, with its
    latest review ``review``), the latest iteration, and the diff between them."""

    reviewed: Iteration
    review: Review
    latest: Iteration
    diff: IterationDiff | None


def since_last_review(*, iterations: list[Iteration], reviews: list[Review]):
    """From ``submission_history``'s iterations (newest first, attachments prefetched) and
    reviews: None while the latest iteration has a review already, or none before it has.
    No queries."""
    if not iterations:
        return None
    latest = iterations[0]
    by_iteration: dict[int, Review] = {}
    for review in reviews:  # oldest first: the last one of each iteration wins
        by_iteration[review.iteration_id] = review
    if latest.pk in by_iteration:
        return None
    reviewed = next((i for i in iterations[1:] if i.pk in by_iteration), None)
    if reviewed is None:
        return None
    return SinceLastReview(
        reviewed=reviewed,
        review=by_iteration[reviewed.pk],
        latest=latest,
        diff=iteration_diff(reviewed, latest),
    )


def points_context(submission: Submission | None, history: dict) -> dict:
    """What the review page and the lab page show about points (one query)."""
    if submission is None or not submission.iteration_count:
        return {"points": [], "open_points": [], "since": None}
    points = list(points_of(submission))
    return {
        "points": points,
        "open_points": [p for p in points if p.state == ReviewPoint.State.OPEN],
        # Answered since the last hand-in: they go in with the next iteration.
        "answered_points": [
            p for p in points if p.state == ReviewPoint.State.ADDRESSED and not p.addressed_in_id
        ],
        "since": since_last_review(
            iterations=history.get("iterations", []), reviews=history.get("reviews", [])
        ),
    }
