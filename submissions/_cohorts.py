"""What submissions reads from cohorts, in one place.

Membership checks here query the database directly (no per-request cache) because services
decide under row locks and must see the current memberships, not a cached copy.
"""

from cohorts.models import Cohort, Membership
from cohorts.selectors import (
    ScheduleEntry,
    active_mentor_memberships,
    cohort_schedule,
    schedule_entry,
)

__all__ = [
    "ScheduleEntry",
    "active_mentor_memberships",
    "cohort_schedule",
    "schedule_entry",
    "has_active_membership",
    "mentor_cohort_ids",
]


def has_active_membership(user, cohort: Cohort | int, role: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cohort_id = cohort if isinstance(cohort, int) else cohort.pk
    return Membership.objects.filter(
        user=user, cohort_id=cohort_id, role=role, active=True
    ).exists()


def mentor_cohort_ids(user):
    """A subquery of the cohorts where ``user`` is an active mentor."""
    return Membership.objects.filter(user=user, role=Membership.Role.MENTOR, active=True).values(
        "cohort_id"
    )
