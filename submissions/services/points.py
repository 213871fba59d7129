"""Review points: what a mentor asked to change, and the learner's answer to each.

The rules, in one place:

- A review that **requests changes** raises a point for each requested change the mentor
  writes (``text``, optionally about a deliverable) and for each deliverable marked
  ``not_met`` that no point of this review names and that has no open point already.
  Other verdicts raise none (points given with them are refused).
- While changes are requested, the **learner** answers an open point with a short reply
  (``point_address``); the point is then ``addressed``, for good, and the iteration handed
  in next is recorded as the one that addressed it.
- **Hand-in rule**: re-submitting while points are still open is refused unless the learner
  says they leave them open (``leave_points_open``: the page's "Hand in with the
  unanswered points left open" box, the API's ``"leave_points_open": true``). So every point
  is either answered or knowingly left open; nothing is dropped silently.
- A mentor **cannot approve** while points are open without a reason: with
  ``waive_reason`` every open point becomes ``waived`` (who, when, why); without it the
  approval is refused and nothing changes. Addressed points need nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError

from .. import state as sm
from ..models import Iteration, Review, ReviewPoint, Submission
from ..permissions import can_edit_submission
from ..validation import deliverable_text
from ._common import _forbidden, _invalid, _locked, _refresh_caller

P = ReviewPoint.State
MAX_POINTS_PER_REVIEW = 20


def clean_points(points, deliverable_count: int) -> list[dict]:
    """``[{"text": str, "deliverable": int | None}]``, stripped; rows with neither text nor a
    deliverable are dropped only when entirely empty (a blank page row). Raises ValueError
    naming the row (1-based) that is wrong."""
    if not points:
        return []
    if not isinstance(points, list | tuple):
        raise ValueError("Points must be a list of {text, deliverable}.")
    cleaned: list[dict] = []
    for number, raw in enumerate(points, start=1):
        if not isinstance(raw, Mapping):
            raise ValueError(f"Point {number} must be an object with text and deliverable.")
        text = raw.get("text") or ""
        if not isinstance(text, str):
            raise ValueError(f"Point {number}: the text must be a string.")
        text = text.strip()
        deliverable = raw.get("deliverable")
        if deliverable in ("", None):
            deliverable = None
        else:
            if isinstance(deliverable, bool):
                raise ValueError(f"Point {number}: the deliverable must be a number.")
            try:
                deliverable = int(deliverable)
            except (TypeError, ValueError):
                raise ValueError(f"Point {number}: the deliverable must be a number.") from None
            if not 0 <= deliverable < deliverable_count:
                raise ValueError(f"Point {number}: the lab has no deliverable {deliverable}.")
        if not text and deliverable is None:
            raise ValueError(f"Point {number}: say what to change, or choose a deliverable.")
        if len(text) > ReviewPoint.TEXT_MAX_LENGTH:
            raise ValueError(
                f"Point {number} is limited to {ReviewPoint.TEXT_MAX_LENGTH:,} characters "
                f"(it has {len(text):,})."
            )
        cleaned.append({"text": text, "deliverable": deliverable})
    if len(cleaned) > MAX_POINTS_PER_REVIEW:
        raise ValueError(f"At most {MAX_POINTS_PER_REVIEW} points per review.")
    return cleaned


def clean_waive_reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) > ReviewPoint.WAIVE_REASON_MAX_LENGTH:
        raise ValueError(
            f"Keep the reason to {ReviewPoint.WAIVE_REASON_MAX_LENGTH} characters "
            f"(it has {len(reason)})."
        )
    return reason


def open_points_count(submission: Submission) -> int:
    return ReviewPoint.objects.filter(submission=submission, state=P.OPEN).count()


def approve_refusal(count: int) -> str:
    noun = "point is" if count == 1 else "points are"
    return (
        f"Not approved: {count} {noun} still open. Say in a line why you approve anyway "
        "(the open points are then marked waived), or request changes."
    )


def _deliverable_texts(iteration: Iteration, deliverables: list) -> dict[int, str]:
    texts = {i: deliverable_text(item) for i, item in enumerate(deliverables)}
    for item in iteration.checklist or []:
        if isinstance(item, dict) and isinstance(item.get("index"), int):
            texts[item["index"]] = str(item.get("text") or texts.get(item["index"], ""))
    return texts


def raise_points(
    *,
    review: Review,
    points: list[dict],
    marks: dict[str, str],
    deliverables: list,
) -> list[ReviewPoint]:
    """Inside ``review_create`` (request changes): the points of ``review`` (see module)."""
    texts = _deliverable_texts(review.iteration, deliverables)
    named = {p["deliverable"] for p in points if p["deliverable"] is not None}
    already_open = set(
        ReviewPoint.objects.filter(
            submission_id=review.submission_id, state=P.OPEN, deliverable__isnull=False
        ).values_list("deliverable", flat=True)
    )
    rows = [
        ReviewPoint(
            submission_id=review.submission_id,
            review=review,
            text=p["text"],
            deliverable=p["deliverable"],
            deliverable_text=texts.get(p["deliverable"], "")
            if p["deliverable"] is not None
            else "",
            created_at=review.created_at,
        )
        for p in points
    ]
    for key, mark in sorted(marks.items(), key=lambda kv: int(kv[0])):
        index = int(key)
        if mark == "not_met" and index not in named and index not in already_open:
            rows.append(
                ReviewPoint(
                    submission_id=review.submission_id,
                    review=review,
                    deliverable=index,
                    deliverable_text=texts.get(index, ""),
                    created_at=review.created_at,
                )
            )
    return ReviewPoint.objects.bulk_create(rows)


def waive_open_points(*, submission: Submission, actor, reason: str, now) -> int:
    """Inside ``review_create`` (approve with a reason): every open point is waived."""
    return ReviewPoint.objects.filter(submission=submission, state=P.OPEN).update(
        state=P.WAIVED, waived_by=actor, waived_at=now, waive_reason=reason
    )


def check_points_before_submit(submission: Submission, *, leave_points_open: bool) -> None:
    """Inside ``submission_submit``: the hand-in rule (see module). Raises ``invalid``."""
    count = open_points_count(submission)
    if count and not leave_points_open:
        noun = "point is" if count == 1 else "points are"
        raise _invalid(
            {
                "points": f"{count} {noun} not answered yet. Answer each one with a short "
                "reply, or say you hand in with them left open."
            }
        )


def hand_in_answers(submission: Submission, iteration: Iteration) -> int:
    """Inside ``submission_submit``: answers given since the last hand-in go in with it."""
    return ReviewPoint.objects.filter(
        submission=submission, state=P.ADDRESSED, addressed_in__isnull=True
    ).update(addressed_in=iteration)


def _address_locked(*, actor, locked: Submission, point: ReviewPoint, reply) -> ReviewPoint:
    if point.submission_id != locked.pk:
        raise ApplicationError("This point is not about this work.", code="invalid")
    if not can_edit_submission(actor, locked):
        raise _forbidden("Only the learner can answer the points raised on this work.")
    if locked.state != Submission.State.CHANGES_REQUESTED:
        raise ApplicationError(
            sm.refusal_naming_state(
                locked.state, "points are answered while changes are requested."
            ),
            code="invalid_transition",
            extra={"state": str(locked.state)},
        )
    if point.state != P.OPEN:
        raise ApplicationError(
            f"This point is already {point.get_state_display().lower()}.",
            code="invalid_transition",
            extra={"state": point.state},
        )
    reply = reply.strip() if isinstance(reply, str) else ""
    if not reply:
        raise _invalid({"reply": "Say in a few words what you changed."})
    if len(reply) > ReviewPoint.REPLY_MAX_LENGTH:
        raise _invalid(
            {
                "reply": f"Keep the reply to {ReviewPoint.REPLY_MAX_LENGTH} characters "
                f"(it has {len(reply)})."
            }
        )
    point.state = P.ADDRESSED
    point.reply = reply
    point.addressed_at = timezone.now()
    point.save(update_fields=["state", "reply", "addressed_at"])
    return point


@transaction.atomic
def point_address(*, actor, point: ReviewPoint, reply: str) -> ReviewPoint:
    """The learner answers one open point with a short ``reply`` (at most
    ``ReviewPoint.REPLY_MAX_LENGTH`` characters). Only the submission's learner, only while
    changes are requested, only an open point (else ``invalid_transition``). Writes the
    point; tells nobody (the mentor reads the answers with the next iteration)."""
    locked = _locked(point.submission)
    point = ReviewPoint.objects.select_for_update().get(pk=point.pk)
    _address_locked(actor=actor, locked=locked, point=point, reply=reply)
    _refresh_caller(point.submission, locked)
    return point


@transaction.atomic
def points_address(*, actor, submission: Submission, replies: Mapping[int, str]) -> int:
    """The lab page's answers: ``{point id: reply}``, blank replies skipped. All or nothing:
    any refused answer stores none (errors per point in ``extra["errors"]``, keyed
    ``reply_<id>``). Returns how many points were answered."""
    replies = {pk: text for pk, text in replies.items() if isinstance(text, str) and text.strip()}
    if not replies:
        return 0
    locked = _locked(submission)
    points = {
        p.pk: p
        for p in ReviewPoint.objects.select_for_update().filter(
            submission=locked, pk__in=list(replies)
        )
    }
    errors: dict[str, str] = {}
    for pk, reply in replies.items():
        point = points.get(pk)
        if point is None:
            errors[f"reply_{pk}"] = "This point is not about this work."
            continue
        try:
            with transaction.atomic():
                _address_locked(actor=actor, locked=locked, point=point, reply=reply)
        except ApplicationError as exc:
            if exc.code == "forbidden":
                raise
            errors[f"reply_{pk}"] = " ".join((exc.extra or {}).get("errors", {}).values()) or (
                exc.message
            )
    if errors:
        raise _invalid(errors)
    return len(replies)
