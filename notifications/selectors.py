"""Reads of notifications and preferences, shared by pages, the API and tasks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from .handlers import KINDS, KindInfo
from .models import Notification, Preference


def unread_count(user) -> int:
    """Unread notifications of the user: one indexed COUNT, run on every page."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def unread_stamp(user):
    """Stamp source (core.fragments.Rows) for the bell: a cached page keys on the unread
    count, which is what the bell shows."""
    from core.fragments import Rows

    return Rows(Notification, (), {"recipient_id": user.pk, "read_at__isnull": True}, "COUNT")


def notifications_for(user) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each group."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("actor")
        .annotate(is_unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField()))
        .order_by("-is_unread", "-created_at", "-pk")
    )


def notification_for(user, notification_id: int) -> Notification | None:
    return Notification.objects.filter(recipient=user, pk=notification_id).first()


def channels_for(user_ids, kind: str) -> dict[int, str]:
    """The channel each user chose for `kind`, the kind's default where they chose none."""
    info = KINDS.get(kind)
    default = info.default if info else Preference.Channel.IN_APP
    chosen = dict(
        Preference.objects.filter(user_id__in=list(user_ids), kind=kind).values_list(
            "user_id", "channel"
        )
    )
    return {pk: chosen.get(pk, default) for pk in user_ids}


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    info: KindInfo
    channel: str
    is_default: bool


def _audiences(user) -> set[str]:
    from cohorts.selectors import user_roles

    roles = user_roles(user)
    audiences = {"anyone"}
    if roles.is_learner:
        audiences.add("learner")
    if roles.is_mentor:
        audiences.add("mentor")
    if user.is_staff:
        audiences.update({"learner", "mentor", "staff"})
    return audiences


def preferences_for(user) -> list[PreferenceRow]:
    """The kinds that can concern the user (by their roles) with their channel for each.

    A kind outside the user's roles keeps its default; it is not shown, and a choice for it
    submitted anyway is still validated and stored by `preferences_update`.
    """
    audiences = _audiences(user)
    chosen = dict(Preference.objects.filter(user=user).values_list("kind", "channel"))
    return [
        PreferenceRow(kind, info, chosen.get(kind, info.default), kind not in chosen)
        for kind, info in KINDS.items()
        if info.audience in audiences
    ]
