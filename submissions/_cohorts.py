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
from core.prepared import Param, PreparedQuery

__all__ = [
    "ScheduleEntry",
    "active_mentor_memberships",
    "cohort_schedule",
    "schedule_entry",
    "has_active_membership",
    "mentor_cohort_ids",
]


# Asked by every permission check of a write (a message, a verdict, a claim): compiled once.
_ACTIVE_MEMBERSHIP = PreparedQuery(
    lambda: Membership.objects.filter(
        user_id=Param("user"), cohort_id=Param("cohort"), role=Param("role"), active=True
    ).values_list("pk")[:1]
)


def has_active_membership(user, cohort: Cohort | int, role: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cohort_id = cohort if isinstance(cohort, int) else cohort.pk
    return _ACTIVE_MEMBERSHIP.scalar(user=user.pk, cohort=cohort_id, role=role) is not None


def mentor_cohort_ids(user):
    """A subquery of the cohorts where ``user`` is an active mentor."""
    return Membership.objects.filter(user=user, role=Membership.Role.MENTOR, active=True).values(
        "cohort_id"
    )
