"""Who is in a cohort: add, deactivate, reactivate, change role, and the role-ended hooks."""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_get_or_create
from core.exceptions import ApplicationError

from ..models import Cohort, Invitation, Membership
from ..selectors import clear_role_cache
from ._common import _enqueue_invitation, _mentor_room, _require_staff, _validate_role


def _invite(*, actor, cohort: Cohort, user: User) -> Invitation | None:
    """Create the invitation row and enqueue its email after commit (once per user+cohort)."""
    invitation, created = Invitation.objects.get_or_create(
        user=user, cohort=cohort, defaults={"invited_by": actor if actor and actor.pk else None}
    )
    if not created:
        return None
    transaction.on_commit(lambda: _enqueue_invitation(invitation.pk))
    return invitation


@transaction.atomic
def membership_add(*, actor, cohort: Cohort, email: str, name: str = "", role: str) -> Membership:
    """Add a person to a cohort by email (staff only).

    Side effects: may create the account (it then gets an invitation email after commit);
    inserts or reactivates the Membership. Refuses when the person is already an active
    member (change their role instead).
    """
    _require_staff(actor)
    role = _validate_role(role)
    user, created = user_get_or_create(email=email, name=name or "")
    membership = Membership.objects.select_for_update().filter(user=user, cohort=cohort).first()
    if membership is not None and membership.active:
        raise ApplicationError(
            f"{user.email} is already a {membership.get_role_display().lower()} in this cohort.",
            code="conflict",
            extra={"field": "email"},
        )
    if membership is None:
        membership = Membership.objects.create(user=user, cohort=cohort, role=role)
    else:
        membership.active = True
        membership.role = role
        membership.joined_at = timezone.now()
        membership.save(update_fields=["active", "role", "joined_at"])
    if created:
        _invite(actor=actor, cohort=cohort, user=user)
    clear_role_cache(user)
    if role == Membership.Role.MENTOR:
        _mentor_room(cohort)
    return membership


# What other apps must do, in the same transaction, when someone stops holding a role in a
# cohort (submissions moves a leaving mentor's open reviews). Those apps sit above cohorts,
# which may not import them: they register here from their AppConfig.ready
# (docs/architecture.md, "When a membership ends").
RoleEndedHook = Callable[..., None]
_role_ended_hooks: list[RoleEndedHook] = []


def on_role_ended(hook: RoleEndedHook) -> RoleEndedHook:
    """Register `hook(*, actor, membership, role)`: called inside the transaction that ends
    `membership`'s `role` (membership ended, or its role changed); an error rolls it back."""
    if hook not in _role_ended_hooks:
        _role_ended_hooks.append(hook)
    return hook


def _role_ended(*, actor, membership: Membership, role: str) -> None:
    clear_role_cache(membership.user)
    for hook in _role_ended_hooks:
        hook(actor=actor, membership=membership, role=role)


@transaction.atomic
def membership_deactivate(*, actor, membership: Membership) -> Membership:
    """End a membership (staff only). Their submissions and reviews stay.

    Side effects, in the same transaction: the registered role-ended hooks run (a mentor's
    open reviews move to another mentor or back to the queue). From then on the person has
    no access to the cohort by any path and hears nothing more about it.
    """
    _require_staff(actor)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.active:
        membership.active = False
        membership.save(update_fields=["active"])
        _role_ended(actor=actor, membership=membership, role=membership.role)
    clear_role_cache(membership.user)
    return membership


@transaction.atomic
def membership_reactivate(*, actor, membership: Membership) -> Membership:
    """Restore an ended membership (staff only)."""
    _require_staff(actor)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not membership.active:
        membership.active = True
        membership.save(update_fields=["active"])
        if membership.role == Membership.Role.MENTOR:
            _mentor_room(membership.cohort)
    return membership


@transaction.atomic
def membership_change_role(*, actor, membership: Membership, role: str) -> Membership:
    """Make a member a learner or a mentor (staff only). The role given up ends as in
    `membership_deactivate` (a mentor made a learner hands over their open reviews)."""
    _require_staff(actor)
    role = _validate_role(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role != role:
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        if membership.active:
            _role_ended(actor=actor, membership=membership, role=previous)
            if role == Membership.Role.MENTOR:
                _mentor_room(membership.cohort)
    return membership


@transaction.atomic
def membership_set_capacity(*, actor, membership: Membership, capacity: int | None) -> Membership:
    """Set how many open reviews a mentor holds at once in this cohort (staff only; None:
    the cohort's `mentor_capacity`). Side effects: updates the Membership; a raise lets the
    registered mentor-room hooks assign waiting work after commit."""
    _require_staff(actor)
    if capacity is not None and (not isinstance(capacity, int) or capacity < 0):
        raise ApplicationError(
            "Capacity is a whole number of reviews, 0 or more.",
            code="invalid",
            extra={"field": "capacity"},
        )
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.capacity != capacity:
        membership.capacity = capacity
        membership.save(update_fields=["capacity"])
        if membership.active and membership.role == Membership.Role.MENTOR:
            _mentor_room(membership.cohort)
    return membership
