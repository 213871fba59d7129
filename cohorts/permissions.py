"""Who may see or do what with cohorts: the one policy views, the API and tasks use.

Staff (``is_staff``) administer every cohort. Anyone else reaches a cohort only through an
active membership; the learner/mentor lookups share one query per request (the membership
map cached on the user object by ``selectors.active_membership_roles``).
"""

from django.db.models import Q

from .models import Cohort, Membership
from .selectors import active_membership_roles


def _cohort_id(cohort: Cohort | int) -> int | None:
    return cohort if isinstance(cohort, int) else getattr(cohort, "pk", None)


def _is_signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _is_staff(user) -> bool:
    return _is_signed_in(user) and bool(user.is_staff)


def _role_in(user, cohort: Cohort | int) -> str | None:
    if not _is_signed_in(user):
        return None
    return active_membership_roles(user).get(_cohort_id(cohort))


def is_learner_of(user, cohort: Cohort | int) -> bool:
    """The user holds an active learner membership in the cohort."""
    return _role_in(user, cohort) == Membership.Role.LEARNER


def is_mentor_of(user, cohort: Cohort | int) -> bool:
    """The user holds an active mentor membership in the cohort."""
    return _role_in(user, cohort) == Membership.Role.MENTOR


def is_member_of(user, cohort: Cohort | int) -> bool:
    return _role_in(user, cohort) is not None


def can_view_cohort(user, cohort: Cohort | int) -> bool:
    """Staff, or an active member (learner or mentor) of the cohort."""
    return _is_staff(user) or is_member_of(user, cohort)


def can_manage_cohort(user, cohort: Cohort | int | None = None) -> bool:
    """Create, edit, enroll, override the schedule, manage join links: staff only."""
    return _is_staff(user)


def can_grant_extension(user, cohort: Cohort | int) -> bool:
    """A mentor of the cohort or staff."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def can_view_cohort_members(user, cohort: Cohort | int) -> bool:
    """The member list (names and emails) is for staff and the cohort's mentors."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def can_view_full_schedule(user, cohort: Cohort | int) -> bool:
    """Future labs in full (not only their titles): staff and the cohort's mentors."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def cohorts_visible_to(user) -> Q:
    """A filter on ``Cohort``: staff see all; others the cohorts of their active memberships."""
    if _is_staff(user):
        return Q()
    if not _is_signed_in(user):
        return Q(pk__in=[])
    return Q(pk__in=list(active_membership_roles(user)))
