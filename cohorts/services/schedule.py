"""A cohort's schedule: per-lab overrides and per-learner extensions."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from curriculum.models import Lab
from notifications.events import record

from ..models import Cohort, Extension, Membership, ScheduleOverride
from ..permissions import can_grant_extension
from ..selectors import schedule_entry
from ._common import _require_aware, _require_staff


def _require_lab_of_cohort(cohort: Cohort, lab: Lab) -> None:
    if lab.track_id != cohort.track_id:
        raise ApplicationError("That lab is not part of this cohort's track.", code="invalid")


@transaction.atomic
def schedule_override_set(
    *,
    actor,
    cohort: Cohort,
    lab: Lab,
    release_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
) -> ScheduleOverride:
    """Set one lab's release and/or due time for the whole cohort (staff only).

    A value left empty keeps the default (a due time then follows the release). Refuses a
    due time at or before the release time.
    """
    _require_staff(actor)
    _require_lab_of_cohort(cohort, lab)
    _require_aware(release_at, "The release time")
    _require_aware(due_at, "The due time")
    if release_at is None and due_at is None:
        raise ApplicationError("Give a release time, a due time, or both.", code="invalid")
    override, _ = ScheduleOverride.objects.select_for_update().get_or_create(
        cohort=cohort, lab=lab, defaults={"updated_by": actor}
    )
    override.release_at = release_at
    override.due_at = due_at
    # Check the dates as the schedule will compute them, defaults included.
    from ..selectors import _entry

    entry = _entry(cohort=cohort, lab=lab, override=override, extension=None, now=timezone.now())
    if entry.due_at <= entry.release_at:
        raise ApplicationError(
            "The due time must be after the release time.",
            code="invalid",
            extra={"field": "due_at"},
        )
    override.updated_by = actor
    override.save()
    return override


@transaction.atomic
def schedule_override_clear(*, actor, cohort: Cohort, lab: Lab) -> bool:
    """Return a lab to its default dates (staff only). Returns whether there was an override."""
    _require_staff(actor)
    deleted, _ = ScheduleOverride.objects.filter(cohort=cohort, lab=lab).delete()
    return bool(deleted)


@transaction.atomic
def _clean_extension_terms(*, cohort: Cohort, lab: Lab, due_at, reason) -> str:
    """The checks every extension passes (one learner's or the whole cohort's): a due time
    (aware) after the lab's own, and a reason of at most 500 characters. Returns the reason
    stripped; raises ``invalid`` naming the field."""
    if due_at is None:
        raise ApplicationError("Give the new due time.", code="invalid", extra={"field": "due_at"})
    _require_aware(due_at, "The new due time")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the extension is granted.", code="invalid", extra={"field": "reason"}
        )
    if len(reason) > 500:
        raise ApplicationError(
            "The reason is longer than 500 characters.", code="invalid", extra={"field": "reason"}
        )
    entry = schedule_entry(cohort=cohort, lab=lab)
    if due_at <= entry.due_at:
        raise ApplicationError(
            "An extension must be later than the lab's due time.",
            code="invalid",
            extra={"field": "due_at"},
        )
    return reason


def extension_grant(
    *, actor, cohort: Cohort, lab: Lab, learner: User, due_at: dt.datetime, reason: str
) -> Extension:
    """Give one learner a later due time on one lab (a mentor of the cohort or staff).

    Replaces any earlier extension for that learner and lab. Side effects: the Extension
    row, event ``extension.granted``.
    """
    if not can_grant_extension(actor, cohort):
        raise ApplicationError(
            "Only this cohort's mentors and staff can grant extensions.", code="forbidden"
        )
    _require_lab_of_cohort(cohort, lab)
    if not lab.active:
        raise ApplicationError("That lab has been archived.", code="invalid")
    # Read the membership afresh: a per-request cache may predate a removal.
    if not Membership.objects.filter(
        user=learner, cohort=cohort, role=Membership.Role.LEARNER, active=True
    ).exists():
        raise ApplicationError(
            f"{learner.email} is not a learner in this cohort.",
            code="invalid",
            extra={"field": "learner"},
        )
    reason = _clean_extension_terms(cohort=cohort, lab=lab, due_at=due_at, reason=reason)
    extension, _ = Extension.objects.update_or_create(
        cohort=cohort,
        lab=lab,
        learner=learner,
        defaults={
            "due_at": due_at,
            "reason": reason,
            "granted_by": actor,
            "created_at": timezone.now(),
        },
    )
    _record_granted(actor=actor, extension=extension)
    return extension


def _record_granted(*, actor, extension: Extension) -> None:
    """Event ``extension.granted`` for one learner's extension (the learner is told)."""
    record(
        "extension.granted",
        actor=actor,
        target=extension,
        data={
            "cohort_id": extension.cohort_id,
            "lab_id": extension.lab_id,
            "learner_id": extension.learner_id,
            "due_at": extension.due_at.astimezone(dt.UTC).isoformat(),
            "reason": extension.reason,
        },
    )


@transaction.atomic
def extension_revoke(*, actor, extension: Extension) -> None:
    """Remove an extension (a mentor of the cohort or staff)."""
    if not can_grant_extension(actor, extension.cohort_id):
        raise ApplicationError(
            "Only this cohort's mentors and staff can change extensions.", code="forbidden"
        )
    Extension.objects.filter(pk=extension.pk).delete()
