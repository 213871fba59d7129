"""A mentor's review of a submission: checklist marks and verdicts."""

from django.db import transaction
from django.utils import dateformat, timezone

from core.exceptions import ApplicationError
from notifications.events import record

from .. import state as sm
from ..models import Iteration, Review, Submission
from ..permissions import can_review_submission
from ..validation import MAX_BODY_CHARS
from . import points as review_points
from ._common import (
    S,
    _end_open_assignment,
    _forbidden,
    _invalid,
    _locked,
    _refresh_caller,
    deliverables_of,
)
from .assignments import enqueue_fill

MARK_VALUES = ("met", "not_met", "na")


def clean_marks(marks, deliverable_count: int) -> dict[str, str]:
    if not marks:
        return {}
    if not isinstance(marks, dict):
        raise ValueError("Marks must map deliverable numbers to met, not_met or na.")
    cleaned: dict[str, str] = {}
    for key, value in marks.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"{key!r} is not a deliverable of this lab.") from None
        if not 0 <= index < deliverable_count:
            raise ValueError(f"{key!r} is not a deliverable of this lab.")
        if value in ("", None):
            continue
        if value not in MARK_VALUES:
            raise ValueError(f"A mark is one of {', '.join(MARK_VALUES)}.")
        cleaned[str(index)] = value
    return cleaned


VERDICTS = (Review.Verdict.APPROVE, Review.Verdict.REQUEST_CHANGES)


def _verdict_phrase(review: Review, *, actor) -> str:
    who = "you" if review.reviewer_id == actor.pk else review.reviewer.display_name
    what = "approved it" if review.verdict == Review.Verdict.APPROVE else "requested changes"
    when = dateformat.format(timezone.localtime(review.created_at), "j M Y, H:i")
    return f"{who} {what} on {when}"


@transaction.atomic
def review_create(
    *,
    actor,
    submission: Submission,
    verdict: str,
    body: str = "",
    marks: dict | None = None,
    revise: bool = False,
    points: list | None = None,
    waive_reason: str = "",
) -> Review:
    """A mentor's review of the latest iteration.

    ``approve`` moves the work to approved, ``request_changes`` to changes_requested (the
    learner edits and resubmits), ``comment`` changes nothing. An iteration gets one
    verdict: a second one (a double click, a stale page, another mentor at the same time)
    is refused with code ``conflict`` saying who gave the first, unless ``revise`` says the
    mentor means to change it; then both reviews are kept and the state follows the later
    one (see ``state.py``). Ends the open assignment on a verdict.

    Review points (``services/points.py``): ``request_changes`` raises one per item of
    ``points`` (``{"text", "deliverable"}``) and per deliverable marked ``not_met``;
    ``approve`` while points are open is refused unless ``waive_reason`` says why, and then
    waives them. Records ``review.posted`` (data: verdict, points raised, points open).
    """
    locked = _locked(submission)
    if not can_review_submission(actor, locked):
        raise _forbidden("Only mentors of this cohort can review this work.")
    if locked.state == S.DRAFT or locked.iteration_count == 0:
        raise ApplicationError(
            "This work has not been submitted yet, so it cannot be reviewed.",
            code="invalid_transition",
        )
    errors: dict[str, str] = {}
    if verdict not in Review.Verdict.values:
        errors["verdict"] = "Choose approve, request changes or comment."
    body = (body or "").strip()
    if len(body) > MAX_BODY_CHARS:
        errors["body"] = f"A review is limited to {MAX_BODY_CHARS:,} characters."
    iteration = (
        Iteration.objects.select_related("lab_revision")
        .filter(submission=locked)
        .order_by("-number")
        .first()
    )
    deliverables = (
        iteration.lab_revision.deliverables
        if iteration.lab_revision_id
        else deliverables_of(locked.lab, cohort=locked.cohort)
    )
    try:
        cleaned_marks = clean_marks(marks, len(deliverables))
    except ValueError as exc:
        errors["marks"] = str(exc)
        cleaned_marks = {}
    try:
        cleaned_points = review_points.clean_points(points, len(deliverables))
    except ValueError as exc:
        errors["points"] = str(exc)
        cleaned_points = []
    if cleaned_points and verdict in Review.Verdict.values and verdict != "request_changes":
        errors["points"] = "Points are raised when you request changes."
    try:
        waive_reason = review_points.clean_waive_reason(waive_reason)
    except ValueError as exc:
        errors["waive_reason"] = str(exc)
    open_count = 0
    if verdict == Review.Verdict.APPROVE:
        open_count = review_points.open_points_count(locked)
        if open_count and not waive_reason and "waive_reason" not in errors:
            errors["waive_reason"] = review_points.approve_refusal(open_count)
    if verdict == Review.Verdict.COMMENT and not body and "body" not in errors:
        errors["body"] = "Write the comment."
    if (
        verdict == Review.Verdict.REQUEST_CHANGES
        and not body
        and "not_met" not in cleaned_marks.values()
        and not cleaned_points
        and "points" not in errors
    ):
        errors["body"] = (
            "Say what needs to change (raise a point, or mark a deliverable as not met)."
        )
    if errors:
        raise _invalid(errors)
    if verdict in VERDICTS and not revise:
        earlier = (
            Review.objects.filter(iteration=iteration, verdict__in=VERDICTS)
            .select_related("reviewer")
            .order_by("-created_at", "-pk")
            .first()
        )
        if earlier is not None:
            raise ApplicationError(
                f"Iteration {iteration.number} already has a verdict: "
                f"{_verdict_phrase(earlier, actor=actor)}. "
                "To change it, revise the verdict.",
                code="conflict",
                extra={"review_id": earlier.pk, "verdict": earlier.verdict},
            )

    now = timezone.now()
    action = sm.verdict_action(locked.state, verdict)
    if action is not None:
        sm.apply(locked, action)
    review = Review.objects.create(
        submission=locked,
        iteration=iteration,
        reviewer=actor,
        verdict=verdict,
        body=body,
        marks=cleaned_marks,
        created_at=now,
    )
    raised = []
    if verdict == Review.Verdict.REQUEST_CHANGES:
        raised = review_points.raise_points(
            review=review, points=cleaned_points, marks=cleaned_marks, deliverables=deliverables
        )
    elif verdict == Review.Verdict.APPROVE and open_count:
        review_points.waive_open_points(
            submission=locked, actor=actor, reason=waive_reason, now=now
        )
    locked.first_reviewed_at = locked.first_reviewed_at or now
    locked.last_activity_at = now
    if verdict != Review.Verdict.COMMENT:
        _end_open_assignment(locked, now=now)
        locked.assigned_to = actor
        locked.review_due_at = None
        locked.claimed_at = None
        locked.approved_at = now if locked.state == S.APPROVED else None
        enqueue_fill(locked.cohort_id)  # the reviewer has room again: waiting work moves
    locked.save()
    record(
        "review.posted",
        actor=actor,
        target=locked,
        data={
            "verdict": verdict,
            "review_id": review.pk,
            "iteration": iteration.number,
            "state": locked.state,
            "cohort_id": locked.cohort_id,
            "lab_id": locked.lab_id,
            "learner_id": locked.learner_id,
            "points": len(raised),
            "open_points": review_points.open_points_count(locked),
        },
    )
    _refresh_caller(submission, locked)
    return review
