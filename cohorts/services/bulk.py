"""Bulk actions on a whole cohort: an extension for every learner, and a schedule shift.

Each has a preview (a read that says exactly what applying would do) and an apply that
recomputes the same thing inside one transaction. A caller that showed a preview passes its
`fingerprint`; when the cohort changed in between (a learner joined, a date moved, the clock
passed a due time) the apply is refused with code ``conflict`` and changes nothing, so what
was confirmed is what happens.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from curriculum.models import Lab

from ..models import Cohort, Extension, Membership, ScheduleOverride, ScheduleShift
from ..permissions import can_grant_extension_to_all, can_shift_schedule
from ..selectors import cohort_labs, cohort_schedule, cohort_zone
from .schedule import _clean_extension_terms, _record_granted, _require_lab_of_cohort

MAX_SHIFT_DAYS = 60


def _fingerprint(parts) -> str:
    text = "\n".join("|".join("" if p is None else str(p) for p in row) for row in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_fingerprint(expected: str | None, actual: str) -> None:
    if expected and expected != actual:
        raise ApplicationError(
            "The cohort changed since the preview (members, dates or the time). "
            "Check the new preview and confirm again.",
            code="conflict",
        )


# --- One extension for every learner -------------------------------------------------------


@dataclass(frozen=True)
class BulkExtensionPreview:
    """What `extension_grant_all` would do: `grant` get the new due time (replacing an
    earlier extension of theirs, listed in `replaces`); `keep` already have an extension at
    or after it and keep theirs."""

    cohort: Cohort
    lab: Lab
    due_at: dt.datetime
    reason: str
    grant: list[User]
    keep: list[Extension]
    replaces: dict[int, dt.datetime] = field(default_factory=dict)  # learner id -> old due

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [(self.lab.pk, self.due_at.isoformat())]
            + [(u.pk,) for u in self.grant]
            + [(e.learner_id, e.due_at.isoformat()) for e in self.keep]
            + sorted((pk, due.isoformat()) for pk, due in self.replaces.items())
        )


def extension_grant_all_preview(
    *, actor, cohort: Cohort, lab: Lab, due_at: dt.datetime, reason: str
) -> BulkExtensionPreview:
    """Check a cohort-wide extension and say who would get it (reads only).

    The same refusals as `extension_grant` (a mentor of the cohort or staff; a lab of the
    cohort's active track; a reason; a due time after the lab's), plus: a cohort with no
    active learners has nobody to extend. Three queries.
    """
    if not can_grant_extension_to_all(actor, cohort):
        raise ApplicationError(
            "Only this cohort's mentors and staff can grant extensions.", code="forbidden"
        )
    if lab is None:
        raise ApplicationError("Choose a lab.", code="invalid", extra={"field": "lab"})
    _require_lab_of_cohort(cohort, lab)
    if not lab.active:
        raise ApplicationError(
            "That lab has been archived.", code="invalid", extra={"field": "lab"}
        )
    reason = _clean_extension_terms(cohort=cohort, lab=lab, due_at=due_at, reason=reason)
    learners = list(
        User.objects.filter(
            memberships__cohort=cohort,
            memberships__role=Membership.Role.LEARNER,
            memberships__active=True,
            is_active=True,
        ).order_by("email", "pk")
    )
    if not learners:
        raise ApplicationError("This cohort has no active learners to extend.", code="invalid")
    existing = {
        e.learner_id: e
        for e in Extension.objects.filter(
            cohort=cohort, lab=lab, learner__in=learners
        ).select_related("learner")
    }
    grant, keep, replaces = [], [], {}
    for learner in learners:
        current = existing.get(learner.pk)
        if current is not None and current.due_at >= due_at:
            keep.append(current)
            continue
        grant.append(learner)
        if current is not None:
            replaces[learner.pk] = current.due_at
    return BulkExtensionPreview(
        cohort=cohort,
        lab=lab,
        due_at=due_at,
        reason=reason,
        grant=grant,
        keep=keep,
        replaces=replaces,
    )


@transaction.atomic
def extension_grant_all(
    *,
    actor,
    cohort: Cohort,
    lab: Lab,
    due_at: dt.datetime,
    reason: str,
    fingerprint: str | None = None,
) -> BulkExtensionPreview:
    """Give every active learner of the cohort the same later due time on one lab.

    Each learner gets their own `Extension`, written as `extension_grant` writes one (so
    each is recorded and each learner is told: event ``extension.granted`` per learner). A learner whose
    extension on the lab is already at or after `due_at` keeps it (listed in `keep`). One
    transaction: a refusal for any learner grants nobody anything. Returns what was done.
    """
    # Lock the cohort's memberships: nobody joins or leaves half-way through.
    list(
        Membership.objects.select_for_update()
        .filter(cohort=cohort, role=Membership.Role.LEARNER, active=True)
        .values_list("pk", flat=True)
    )
    preview = extension_grant_all_preview(
        actor=actor, cohort=cohort, lab=lab, due_at=due_at, reason=reason
    )
    _check_fingerprint(fingerprint, preview.fingerprint)
    # The checks of `extension_grant` were made once for all by the preview; the rows are
    # written as it writes them (replacing an earlier extension), in a few statements.
    granted_at = timezone.now()
    values = {"due_at": due_at, "reason": preview.reason, "granted_by": actor}
    replaced = Extension.objects.filter(
        cohort=cohort, lab=lab, learner_id__in=list(preview.replaces)
    )
    replaced.update(**values, created_at=granted_at)
    Extension.objects.bulk_create(
        [
            Extension(cohort=cohort, lab=lab, learner=learner, created_at=granted_at, **values)
            for learner in preview.grant
            if learner.pk not in preview.replaces
        ]
    )
    granted_ids = [learner.pk for learner in preview.grant]
    for extension in Extension.objects.filter(
        cohort=cohort, lab=lab, learner_id__in=granted_ids
    ).order_by("learner_id"):
        _record_granted(actor=actor, extension=extension)
    return preview


# --- Moving the rest of the schedule ------------------------------------------------------


@dataclass(frozen=True)
class LabMove:
    lab: Lab
    release_from: dt.datetime
    release_to: dt.datetime | None  # None: already released, keeps its release time
    due_from: dt.datetime
    due_to: dt.datetime

    @property
    def week(self) -> int:
        return self.lab.week


@dataclass(frozen=True)
class ExtensionMove:
    extension: Extension
    due_from: dt.datetime
    due_to: dt.datetime


@dataclass(frozen=True)
class ShiftPreview:
    """What `schedule_shift` would move: every release and due time still ahead of `now`
    (labs of the cohort's active track, learners' extensions included) by `days` days on the
    cohort's wall clock. Times already passed stay."""

    cohort: Cohort
    days: int
    now: dt.datetime
    labs: list[LabMove]
    extensions: list[ExtensionMove]

    @property
    def fingerprint(self) -> str:
        return _fingerprint(
            [(self.days,)]
            + [
                (m.lab.pk, m.release_from.isoformat(), m.release_to is not None, m.due_from)
                for m in self.labs
            ]
            + [(m.extension.pk, m.due_from.isoformat()) for m in self.extensions]
        )


def shift_instant(cohort: Cohort, instant: dt.datetime, days: int) -> dt.datetime:
    """`instant` moved by `days` calendar days on the cohort's wall clock (so a shift across a
    daylight-saving change keeps 00:00 and 23:59 local), in UTC."""
    zone = cohort_zone(cohort)
    local = instant.astimezone(zone)
    moved = dt.datetime.combine(local.date() + dt.timedelta(days=days), local.time(), tzinfo=zone)
    return moved.astimezone(dt.UTC)


def _validate_days(days) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        try:
            days = int(str(days).strip())
        except (TypeError, ValueError):
            raise ApplicationError(
                "Give a whole number of days.", code="invalid", extra={"field": "days"}
            ) from None
    if days == 0:
        raise ApplicationError(
            "Give a number of days other than 0.", code="invalid", extra={"field": "days"}
        )
    if abs(days) > MAX_SHIFT_DAYS:
        raise ApplicationError(
            f"Shift by at most {MAX_SHIFT_DAYS} days either way.",
            code="invalid",
            extra={"field": "days"},
        )
    return days


def schedule_shift_preview(
    *, actor, cohort: Cohort, days: int, now: dt.datetime | None = None
) -> ShiftPreview:
    """Check a shift and list what it would move (reads only; four queries).

    Refusals (code ``invalid``): not staff (``forbidden``); `days` 0 or beyond
    ±MAX_SHIFT_DAYS; a finished cohort; nothing left ahead to move; a shift back that would
    put a moved time at or before `now`.
    """
    if not can_shift_schedule(actor, cohort):
        raise ApplicationError("Only staff can move a cohort's schedule.", code="forbidden")
    days = _validate_days(days)
    if cohort.status == Cohort.Status.FINISHED:
        raise ApplicationError(
            "This cohort has ended; its schedule can no longer move.", code="invalid"
        )
    now = now or timezone.now()
    labs: list[LabMove] = []
    for entry in cohort_schedule(cohort=cohort, now=now):
        if entry.due_at <= now:
            continue
        release_to = (
            shift_instant(cohort, entry.release_at, days) if entry.release_at > now else None
        )
        labs.append(
            LabMove(
                lab=entry.lab,
                release_from=entry.release_at,
                release_to=release_to,
                due_from=entry.due_at,
                due_to=shift_instant(cohort, entry.due_at, days),
            )
        )
    extensions = [
        ExtensionMove(
            extension=extension,
            due_from=extension.due_at,
            due_to=shift_instant(cohort, extension.due_at, days),
        )
        for extension in Extension.objects.filter(
            cohort=cohort, lab__in=cohort_labs(cohort), due_at__gt=now
        )
        .select_related("lab", "learner")
        .order_by("lab__week", "learner__email", "pk")
    ]
    if not labs and not extensions:
        raise ApplicationError(
            "Nothing is left to move: every lab of this cohort is already due.", code="invalid"
        )
    if days < 0:
        for move in labs:
            for moved in (move.release_to, move.due_to):
                if moved is not None and moved <= now:
                    raise ApplicationError(
                        f"Moving back {-days} day{'s' if days != -1 else ''} would put week "
                        f"{move.week}'s dates in the past.",
                        code="invalid",
                        extra={"field": "days"},
                    )
        for move in extensions:
            if move.due_to <= now:
                raise ApplicationError(
                    f"Moving back {-days} day{'s' if days != -1 else ''} would put an "
                    f"extension on week {move.extension.lab.week} in the past.",
                    code="invalid",
                    extra={"field": "days"},
                )
    return ShiftPreview(cohort=cohort, days=days, now=now, labs=labs, extensions=extensions)


@transaction.atomic
def schedule_shift(
    *,
    actor,
    cohort: Cohort,
    days: int,
    fingerprint: str | None = None,
    now: dt.datetime | None = None,
) -> ScheduleShift:
    """Move the rest of the cohort's schedule by `days` days (staff; a holiday week).

    Every lab not yet due gets an override with its moved due time (and its moved release
    time when it is not released yet; a released lab stays released). Every extension not
    yet due moves by the same days, so it stays as far after the lab's due time as before.
    Side effects: `ScheduleOverride` and `Extension` rows, one `ScheduleShift` record (who,
    when, how many days, what moved). No notification: staff tell the cohort with an
    announcement. One transaction; the cohort row is locked so two shifts never interleave.
    """
    Cohort.objects.select_for_update().filter(pk=cohort.pk).first()
    preview = schedule_shift_preview(actor=actor, cohort=cohort, days=days, now=now)
    _check_fingerprint(fingerprint, preview.fingerprint)
    overrides = {
        o.lab_id: o
        for o in ScheduleOverride.objects.select_for_update().filter(
            cohort=cohort, lab__in=[m.lab for m in preview.labs]
        )
    }
    for move in preview.labs:
        override = overrides.get(move.lab.pk) or ScheduleOverride(cohort=cohort, lab=move.lab)
        if move.release_to is not None:
            override.release_at = move.release_to
        override.due_at = move.due_to
        override.updated_by = actor
        override.save()
    for move in preview.extensions:
        Extension.objects.filter(pk=move.extension.pk).update(due_at=move.due_to)
    return ScheduleShift.objects.create(
        cohort=cohort,
        days=preview.days,
        shifted_by=actor,
        created_at=preview.now,
        labs_moved=len(preview.labs),
        extensions_moved=len(preview.extensions),
        detail=[
            {
                "lab_id": m.lab.pk,
                "week": m.week,
                "title": m.lab.title,
                "release_from": m.release_from.isoformat(),
                "release_to": m.release_to.isoformat() if m.release_to else None,
                "due_from": m.due_from.isoformat(),
                "due_to": m.due_to.isoformat(),
            }
            for m in preview.labs
        ],
    )
