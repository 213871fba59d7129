from dataclasses import dataclass

from .models import Membership


@dataclass(frozen=True)
class UserRoles:
    is_learner: bool
    is_mentor: bool


def user_roles(user) -> UserRoles:
    """Which roles the user holds in any active membership (one query, cached per request)."""
    cached = getattr(user, "_cohort_roles", None)
    if cached is not None:
        return cached
    roles = set(
        Membership.objects.filter(user=user, active=True).values_list("role", flat=True).distinct()
    )
    result = UserRoles(
        is_learner=Membership.Role.LEARNER in roles, is_mentor=Membership.Role.MENTOR in roles
    )
    user._cohort_roles = result
    return result
