"""Keeping a cohort on its current lab revisions until it ends (pins), and ending that.

A pin (`CohortLabPin`) holds one lab of one cohort at one revision; every reader of lab text
for the cohort goes through `cohorts.selectors.lab_revision_for`. Pins are made by an import
(staff chose "keep this cohort on its current revisions" in the preview: the hook
`pins_for_import`, registered with curriculum in `cohorts.apps`) or on the cohort page
(`cohort_keep_current`); staff end them (`cohort_pins_end`), and they stop counting when the
cohort is marked finished.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from curriculum.models import Lab

from ..models import Cohort, CohortLabPin
from ..selectors import cohort_has_ended
from ._common import _require_staff

KEEP = "keep"
APPLY = "apply"


def _require_running(cohort: Cohort) -> None:
    if cohort_has_ended(cohort):
        raise ApplicationError(
            "This cohort has ended; it follows the latest revisions.", code="invalid"
        )


def _touch(cohort_ids) -> None:
    # Cached pages key on the cohort's updated_at (docs/architecture.md "Cached pages").
    Cohort.objects.filter(pk__in=list(cohort_ids)).update(updated_at=timezone.now())


@transaction.atomic
def cohort_keep_current(*, actor, cohort: Cohort) -> list[CohortLabPin]:
    """Keep the cohort on the revisions current now, for every active lab of its track not
    already kept (an existing pin stays on its older revision), until the cohort ends.

    Side effects: one `CohortLabPin` per lab newly kept. Refuses (forbidden) for non-staff,
    (invalid) for a finished cohort.
    """
    _require_staff(actor)
    locked = Cohort.objects.select_for_update().get(pk=cohort.pk)
    _require_running(locked)
    held = set(
        CohortLabPin.objects.filter(cohort=locked, ended_at__isnull=True).values_list(
            "lab_id", flat=True
        )
    )
    labs = Lab.objects.filter(
        track_id=locked.track_id, active=True, current_revision__isnull=False
    ).exclude(pk__in=held)
    pins = CohortLabPin.objects.bulk_create(
        [
            CohortLabPin(
                cohort=locked, lab_id=lab.pk, revision_id=lab.current_revision_id, created_by=actor
            )
            for lab in labs
        ]
    )
    _touch([locked.pk])
    return pins


@transaction.atomic
def cohort_pins_end(*, actor, cohort: Cohort, lab: Lab | None = None) -> int:
    """End the cohort's pins (all, or the one on `lab`): its learners read the latest text
    at once, and their lab page shows what changed since the revision they answered.

    Side effects: sets `ended_at`/`ended_by` on the pins. Returns how many ended.
    Refuses (forbidden) for non-staff.
    """
    _require_staff(actor)
    pins = CohortLabPin.objects.select_for_update().filter(cohort=cohort, ended_at__isnull=True)
    if lab is not None:
        pins = pins.filter(lab=lab)
    ended = pins.update(ended_at=timezone.now(), ended_by=actor)
    if ended:
        _touch([cohort.pk])
    return ended


def cohort_set_pinning(*, actor, cohort: Cohort, choice: str) -> int:
    """The cohort page's and the API's choice: "keep" (stay on the current revisions until
    the cohort ends) or "apply" (end every pin: the latest text now). Returns the number of
    pins made or ended. Refuses (invalid) any other choice."""
    if choice == KEEP:
        return len(cohort_keep_current(actor=actor, cohort=cohort))
    if choice == APPLY:
        return cohort_pins_end(actor=actor, cohort=cohort)
    raise ApplicationError(
        "Choose “keep” (stay on the current revisions) or “apply” (the latest now).",
        code="invalid",
        extra={"errors": {"choice": "Choose keep or apply."}},
    )


def pins_for_import(
    *, actor, curriculum_import, previous_revisions: dict[int, int | None], keep_cohorts
) -> list[CohortLabPin]:
    """The curriculum apply hook (runs inside the import's transaction): keep each cohort
    in `keep_cohorts` on the revision each changed lab of its track had before the import.
    A lab the cohort already keeps stays on its older revision.

    Refuses (invalid, rolling the import back) a cohort that does not run a changed lab or
    has ended, and (forbidden) non-staff actors other than the command line (actor None).
    """
    keep_cohorts = set(keep_cohorts)
    if not keep_cohorts:
        return []
    if actor is not None and getattr(actor, "pk", None):
        _require_staff(actor)
    tracks = dict(Lab.objects.filter(pk__in=list(previous_revisions)).values_list("pk", "track_id"))
    cohorts = {
        cohort.pk: cohort
        for cohort in Cohort.objects.select_for_update().filter(
            pk__in=keep_cohorts, track_id__in=set(tracks.values())
        )
    }
    unknown = sorted(
        pk for pk in keep_cohorts if pk not in cohorts or cohort_has_ended(cohorts[pk])
    )
    if unknown:
        raise ApplicationError(
            "These cohorts do not run a lab this import changes (or have ended): "
            + ", ".join(str(pk) for pk in unknown)
            + ". Nothing was imported.",
            code="invalid",
            extra={"errors": {"keep_cohorts": f"Unknown cohorts: {unknown}"}},
        )
    held = set(
        CohortLabPin.objects.filter(cohort_id__in=cohorts, ended_at__isnull=True).values_list(
            "cohort_id", "lab_id"
        )
    )
    pins = [
        CohortLabPin(
            cohort_id=cohort.pk,
            lab_id=lab_id,
            revision_id=revision_id,
            source_import=curriculum_import,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        for cohort in cohorts.values()
        for lab_id, revision_id in previous_revisions.items()
        if revision_id is not None
        and tracks.get(lab_id) == cohort.track_id
        and (cohort.pk, lab_id) not in held
    ]
    CohortLabPin.objects.bulk_create(pins)
    _touch(cohorts)
    return pins
