"""Cohorts themselves: create and update (fields, slug, track, time zone, pace)."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db import transaction
from django.utils.text import slugify

from core.exceptions import ApplicationError
from curriculum.models import Track

from ..models import Cohort
from ._common import _mentor_room, _require_staff

MAX_PACE_DAYS = 365


# Slugs that would shadow the cohort pages' own addresses (cohorts/urls.py).
RESERVED_SLUGS = {"new", "mine", "join"}


def validate_time_zone(name: str) -> str:
    name = (name or "").strip()
    if not name or name not in available_timezones():
        raise ApplicationError(
            f"“{name}” is not a known time zone (use an IANA name such as Europe/Paris).",
            code="invalid",
            extra={"field": "time_zone"},
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError(
            f"“{name}” is not a known time zone.", code="invalid", extra={"field": "time_zone"}
        ) from exc
    return name


def _resolve_track(track: Track | int | None) -> Track:
    track_id = getattr(track, "pk", track)
    found = Track.objects.filter(pk=track_id).first() if track_id else None
    if found is None:
        raise ApplicationError(
            "That track does not exist.", code="invalid", extra={"field": "track"}
        )
    if not found.active:
        raise ApplicationError(
            f"The track “{found.name}” is archived; choose an active track.",
            code="invalid",
            extra={"field": "track"},
        )
    return found


def _unique_slug(base: str, *, exclude_pk: int | None = None) -> str:
    base = (slugify(base) or "cohort")[:180]
    if base in RESERVED_SLUGS:
        base = f"{base}-cohort"
    slug, n = base, 2
    taken = Cohort.objects.exclude(pk=exclude_pk) if exclude_pk else Cohort.objects.all()
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _validate_cohort_fields(data: dict) -> dict:
    name = (data.get("name") or "").strip()
    if not name:
        raise ApplicationError("A cohort needs a name.", code="invalid", extra={"field": "name"})
    if len(name) > 200:
        raise ApplicationError(
            "The name is longer than 200 characters.", code="invalid", extra={"field": "name"}
        )
    data["name"] = name
    if not isinstance(data.get("start_date"), dt.date) or isinstance(
        data.get("start_date"), dt.datetime
    ):
        raise ApplicationError(
            "A cohort needs a start date.", code="invalid", extra={"field": "start_date"}
        )
    data["time_zone"] = validate_time_zone(data.get("time_zone", "UTC"))
    pace = data.get("pace_days")
    if not isinstance(pace, int) or not 1 <= pace <= MAX_PACE_DAYS:
        raise ApplicationError(
            f"Pace must be a whole number of days between 1 and {MAX_PACE_DAYS}.",
            code="invalid",
            extra={"field": "pace_days"},
        )
    for name_, label in (
        ("review_sla_hours", "Review SLA"),
        ("mentor_capacity", "Mentor capacity"),
    ):
        value = data.get(name_)
        if not isinstance(value, int) or value < 1:
            raise ApplicationError(
                f"{label} must be at least 1.", code="invalid", extra={"field": name_}
            )
    if data.get("status") not in Cohort.Status.values:
        raise ApplicationError("Unknown status.", code="invalid", extra={"field": "status"})
    slug = (data.get("slug") or "").strip()
    if slug and slug != slugify(slug):
        raise ApplicationError(
            "The slug may contain only lowercase letters, digits and hyphens.",
            code="invalid",
            extra={"field": "slug"},
        )
    if slug in RESERVED_SLUGS:
        raise ApplicationError(
            f"“{slug}” is reserved; choose another slug.", code="invalid", extra={"field": "slug"}
        )
    data["slug"] = slug
    data["description"] = (data.get("description") or "").strip()
    return data


@transaction.atomic
def cohort_create(
    *,
    actor,
    name: str,
    track: Track | int,
    start_date: dt.date,
    time_zone: str = "UTC",
    pace_days: int = 7,
    status: str = Cohort.Status.DRAFT,
    review_sla_hours: int = 48,
    mentor_capacity: int = 10,
    description: str = "",
    slug: str = "",
) -> Cohort:
    """Create a cohort (staff only). Side effects: inserts a Cohort."""
    _require_staff(actor)
    data = _validate_cohort_fields(
        {
            "name": name,
            "slug": slug,
            "start_date": start_date,
            "time_zone": time_zone,
            "pace_days": pace_days,
            "status": status,
            "review_sla_hours": review_sla_hours,
            "mentor_capacity": mentor_capacity,
            "description": description,
        }
    )
    data["track"] = _resolve_track(track)
    if data["slug"]:
        if Cohort.objects.filter(slug=data["slug"]).exists():
            raise ApplicationError(
                f"The slug “{data['slug']}” is taken.", code="conflict", extra={"field": "slug"}
            )
    else:
        data["slug"] = _unique_slug(data["name"])
    return Cohort.objects.create(**data)


COHORT_EDITABLE_FIELDS = (
    "name",
    "slug",
    "track",
    "start_date",
    "time_zone",
    "pace_days",
    "status",
    "review_sla_hours",
    "mentor_capacity",
    "description",
)


@transaction.atomic
def cohort_update(*, actor, cohort: Cohort, **changes) -> Cohort:
    """Change a cohort's settings (staff only). Side effects: updates the Cohort row.

    The track can change only while no work has been submitted in the cohort, since
    submissions point at the labs of the current track.
    """
    _require_staff(actor)
    unknown = set(changes) - set(COHORT_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
    current = {name: getattr(cohort, name) for name in COHORT_EDITABLE_FIELDS if name != "track"}
    data = _validate_cohort_fields(
        {**current, **{k: v for k, v in changes.items() if k != "track"}}
    )
    if "track" in changes:
        track = changes["track"]
        if getattr(track, "pk", track) != cohort.track_id:
            track = _resolve_track(track)
            if cohort.submissions.exists():
                raise ApplicationError(
                    "Learners have already submitted work in this cohort; its track can no "
                    "longer change.",
                    code="conflict",
                    extra={"field": "track"},
                )
            cohort.track = track
            # Dates set for the old track's labs mean nothing for the new one.
            cohort.overrides.all().delete()
            cohort.extensions.all().delete()
    if not data["slug"]:
        data["slug"] = cohort.slug or _unique_slug(data["name"], exclude_pk=cohort.pk)
    elif Cohort.objects.filter(slug=data["slug"]).exclude(pk=cohort.pk).exists():
        raise ApplicationError(
            f"The slug “{data['slug']}” is taken.", code="conflict", extra={"field": "slug"}
        )
    raised = data.get("mentor_capacity", cohort.mentor_capacity) > cohort.mentor_capacity
    for name, value in data.items():
        setattr(cohort, name, value)
    cohort.save()
    if raised:
        _mentor_room(cohort)
    return cohort
