"""Periodic review-scheduling jobs: thin wrappers, each calling one idempotent service.

Beat schedule (wired in config/celery.py by the notifications area):
``submissions.remind_overdue_reviews``, ``submissions.escalate_overdue_reviews`` and
``submissions.release_abandoned_claims``, e.g. every 15 minutes; ``submissions.sweep_assignments``
(away hand-over and overflow safety net) every 5 minutes.
"""

from celery import shared_task
from django.utils import timezone


@shared_task(name="submissions.remind_overdue_reviews")
def remind_overdue_reviews() -> int:
    from .services import assignments_remind_overdue

    return assignments_remind_overdue(now=timezone.now())


@shared_task(name="submissions.escalate_overdue_reviews")
def escalate_overdue_reviews() -> int:
    from .services import assignments_escalate_overdue

    return assignments_escalate_overdue(now=timezone.now())


@shared_task(name="submissions.release_abandoned_claims")
def release_abandoned_claims() -> int:
    from .services import claims_release_abandoned

    return claims_release_abandoned(now=timezone.now())


@shared_task(name="submissions.remind_unacknowledged_reviews")
def remind_unacknowledged_reviews() -> int:
    from .feedback import reviews_remind_unacknowledged

    return reviews_remind_unacknowledged(now=timezone.now())


@shared_task(name="submissions.assign_waiting_work")
def assign_waiting_work(cohort_id: int) -> int:
    """Enqueued after commit when a mentor may have room (a verdict, a release, a capacity
    raise, a mentor joining, away mode ending). Idempotent: only unassigned work moves."""
    from .services import assignments_fill

    return assignments_fill(cohort_id=cohort_id)


@shared_task(name="submissions.sweep_assignments")
def sweep_assignments() -> dict:
    from .services import assignments_sweep

    return assignments_sweep(now=timezone.now())
