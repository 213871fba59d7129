"""Helpers shared by the cohort services: staff check, aware datetimes, roles, invitation enqueue."""

import datetime as dt

from django.utils import timezone

from core import broker
from core.exceptions import ApplicationError

from ..models import Membership
from ..permissions import can_manage_cohort

ROLE_VALUES = {choice.value for choice in Membership.Role}


def _require_staff(actor) -> None:
    if not can_manage_cohort(actor):
        raise ApplicationError("Only staff can do this.", code="forbidden")


def _require_aware(value: dt.datetime | None, label: str) -> None:
    if value is not None and timezone.is_naive(value):
        raise ApplicationError(f"{label} needs a time zone.", code="invalid")


def _validate_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLE_VALUES:
        raise ApplicationError(
            f"“{role}” is not a role (use learner or mentor).",
            code="invalid",
            extra={"field": "role"},
        )
    return role


def _enqueue_invitation(invitation_id: int) -> None:
    """Never raises nor waits long: with the broker down the periodic sweep
    (`cohorts.send_pending_invitations`) sends pending invitations later."""
    from ..tasks import send_invitation

    broker.publish(send_invitation, invitation_id)


# What other apps do when a cohort's mentors may have more room (a mentor joined or came
# back, a capacity was raised): submissions assigns the waiting work after commit. Those
# apps sit above cohorts; they register from their AppConfig.ready (docs/architecture.md).
_mentor_room_hooks: list = []


def on_mentor_room(hook):
    """Register `hook(*, cohort)`: called inside the transaction of every cohorts service
    that may give a cohort's mentors more room (it should act after commit)."""
    if hook not in _mentor_room_hooks:
        _mentor_room_hooks.append(hook)
    return hook


def _mentor_room(cohort) -> None:
    for hook in _mentor_room_hooks:
        hook(cohort=cohort)
