"""Review scheduling run by periodic tasks: overdue reminders, escalation, abandoned claims,
and the safety net of away mode and overflow (`assignments_sweep`)."""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.events import record

from .. import state as sm
from ..models import Assignment, Review, Submission
from ._common import S, _locked
from .assignments import _reassign, _release, assignments_fill, enqueue_fill, pick_mentor


def _open_review_filter() -> Q:
    return Q(ended_at__isnull=True, submission__state__in=list(sm.OPEN_STATES))


def assignments_remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Record ``review.overdue`` once per overdue assignment (and once per overdue review
    still waiting in a cohort's unassigned queue). Safe to run twice: the conditional update
    of ``reminded_at`` (and the event's dedupe key) decides, not the caller."""
    now = now or timezone.now()
    count = 0
    overdue = Assignment.objects.filter(
        _open_review_filter(), reminded_at__isnull=True, due_at__lte=now
    ).values_list("pk", "submission_id", "mentor_id", "due_at")
    for assignment_id, submission_id, mentor_id, due_at in list(overdue):
        with transaction.atomic():
            won = Assignment.objects.filter(pk=assignment_id, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not won:
                continue
            submission = Submission.objects.get(pk=submission_id)
            record(
                "review.overdue",
                target=submission,
                data={
                    "assignment_id": assignment_id,
                    "mentor_id": mentor_id,
                    "due_at": due_at.isoformat(),
                    "cohort_id": submission.cohort_id,
                    "lab_id": submission.lab_id,
                },
                dedupe_key=f"review.overdue:assignment:{assignment_id}",
            )
            count += 1
    unassigned = Submission.objects.filter(
        state__in=list(sm.OPEN_STATES), assigned_to__isnull=True, review_due_at__lte=now
    )
    for submission in list(unassigned):
        with transaction.atomic():
            event = record(
                "review.overdue",
                target=submission,
                data={
                    "assignment_id": None,
                    "mentor_id": None,
                    "due_at": submission.review_due_at.isoformat(),
                    "cohort_id": submission.cohort_id,
                    "lab_id": submission.lab_id,
                },
                dedupe_key=(
                    f"review.overdue:unassigned:{submission.pk}:{submission.iteration_count}"
                ),
            )
            count += event is not None
    return count


def assignments_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Reassign reviews overdue by more than half the cohort's SLA to another mentor with
    room, and tell staff (``review.escalated``; ``assignment.reassigned`` when moved).

    Each assignment is escalated once (conditional update of ``escalated_at``), so running
    twice has the effect of once. Returns the number of escalations.
    """
    now = now or timezone.now()
    candidates = Assignment.objects.filter(
        _open_review_filter(), escalated_at__isnull=True, due_at__lte=now
    ).values_list("pk", "submission_id", "due_at", "submission__cohort__review_sla_hours")
    count = 0
    for assignment_id, submission_id, due_at, sla_hours in list(candidates):
        if due_at + dt.timedelta(hours=sla_hours / 2) > now:
            continue
        with transaction.atomic():
            locked = _locked(Submission(pk=submission_id))
            won = Assignment.objects.filter(
                pk=assignment_id, ended_at__isnull=True, escalated_at__isnull=True
            ).update(escalated_at=now)
            if not won or locked.state not in sm.OPEN_STATES:
                continue
            previous = Assignment.objects.get(pk=assignment_id)
            mentor = pick_mentor(
                locked.cohort, exclude_user_ids={previous.mentor_id, locked.learner_id}
            )
            new_assignment = None
            if mentor is not None:
                new_assignment = _reassign(
                    locked,
                    mentor=mentor,
                    actor=None,
                    reason="The review was overdue.",
                    kind=Assignment.Reason.ESCALATION,
                    now=now,
                )
            record(
                "review.escalated",
                target=locked,
                data={
                    "assignment_id": assignment_id,
                    "previous_mentor_id": previous.mentor_id,
                    "mentor_id": mentor.pk if mentor else None,
                    "new_assignment_id": new_assignment.pk if new_assignment else None,
                    "due_at": due_at.isoformat(),
                    "cohort_id": locked.cohort_id,
                    "lab_id": locked.lab_id,
                },
                dedupe_key=f"review.escalated:{assignment_id}",
            )
            count += 1
    return count


def claims_release_abandoned(*, now: dt.datetime | None = None) -> int:
    """Release claims with no review within the cohort's SLA after the claim, so the work
    goes back to the unassigned queue. Records ``assignment.released``. Idempotent: a
    released submission is no longer in review."""
    now = now or timezone.now()
    candidates = Submission.objects.filter(
        state=S.IN_REVIEW, claimed_at__isnull=False, claimed_at__lte=now
    ).values_list("pk", "claimed_at", "cohort__review_sla_hours")
    count = 0
    for submission_id, claimed_at, sla_hours in list(candidates):
        if claimed_at + dt.timedelta(hours=sla_hours) > now:
            continue
        with transaction.atomic():
            locked = _locked(Submission(pk=submission_id))
            if locked.state != S.IN_REVIEW or locked.claimed_at != claimed_at:
                continue
            if Review.objects.filter(submission=locked, created_at__gte=claimed_at).exists():
                continue
            mentor_id = locked.assigned_to_id
            _release(locked, now=now)
            enqueue_fill(locked.cohort_id)
            record(
                "assignment.released",
                target=locked,
                data={
                    "mentor_id": mentor_id,
                    "claimed_at": claimed_at.isoformat(),
                    "cohort_id": locked.cohort_id,
                    "lab_id": locked.lab_id,
                },
                dedupe_key=f"assignment.released:{locked.pk}:{claimed_at.isoformat()}",
            )
            count += 1
    return count


def assignments_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The safety net behind the on-commit tasks: hand over the open reviews still held by
    mentors who are away (`away.away_hand_over_pending`), then assign every cohort's waiting
    unassigned work to mentors with room (`assignments_fill`; this is also how an away
    period that ends by itself, or a capacity edit no service saw, frees room). Idempotent.
    Returns {"handed_over": n, "assigned": m}."""
    from .away import away_hand_over_pending

    now = now or timezone.now()
    handed_over = away_hand_over_pending(now=now)
    cohort_ids = (
        Submission.objects.filter(state=S.SUBMITTED, assigned_to__isnull=True)
        .values_list("cohort_id", flat=True)
        .distinct()
        .order_by("cohort_id")
    )
    assigned = sum(assignments_fill(cohort_id=pk, now=now) for pk in list(cohort_ids))
    return {"handed_over": handed_over, "assigned": assigned}
