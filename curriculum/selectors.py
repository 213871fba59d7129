"""Reads of the curriculum shared by pages, the API, tasks and other apps."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Prefetch, QuerySet

from .differ import LabSnapshot, TrackSnapshot
from .models import CurriculumImport, Lab, LabRevision, Track

CURRICULUM_LOCK_KEY = 0x43_55_52_52  # "CURR": one curriculum import applies at a time


def track_labs(track: Track, *, active_only: bool = True) -> QuerySet[Lab]:
    """The labs of a track ordered by week (the contract other apps build on)."""
    labs = Lab.objects.filter(track=track).select_related("track", "current_revision")
    if active_only:
        labs = labs.filter(active=True)
    return labs.order_by("week", "position", "id")


def active_tracks() -> QuerySet[Track]:
    return Track.objects.filter(active=True).order_by("position", "name")


def tracks_with_labs() -> QuerySet[Track]:
    """Active tracks, each with `active_labs` (ordered by week) prefetched: two queries."""
    return active_tracks().prefetch_related(
        Prefetch(
            "labs",
            queryset=Lab.objects.filter(active=True).order_by("week", "id"),
            to_attr="active_labs",
        )
    )


def track_by_slug(slug: str) -> Track | None:
    return Track.objects.filter(slug=slug, active=True).first()


def lab_by_slugs(*, track_slug: str, lab_slug: str) -> Lab | None:
    return (
        Lab.objects.select_related("track", "current_revision")
        .filter(track__slug=track_slug, slug=lab_slug, track__active=True, active=True)
        .first()
    )


def lab_neighbours(lab: Lab) -> tuple[Lab | None, Lab | None]:
    siblings = Lab.objects.filter(track_id=lab.track_id, active=True).only(
        "id", "week", "title", "slug"
    )
    previous = siblings.filter(week__lt=lab.week).order_by("-week").first()
    following = siblings.filter(week__gt=lab.week).order_by("week").first()
    return previous, following


def curriculum_snapshot(*, lock: bool = False) -> tuple[list[TrackSnapshot], list[LabSnapshot]]:
    """Every track and lab (archived too) as plain snapshots for the differ: two queries."""
    track_rows = Track.objects.order_by("id")
    if lock:
        track_rows = track_rows.select_for_update()
        if connection.vendor == "postgresql":
            # Row locks cannot serialize two first imports into an empty curriculum.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CURRICULUM_LOCK_KEY])
    tracks = [
        TrackSnapshot(id=t.id, name=t.name, slug=t.slug, position=t.position, active=t.active)
        for t in track_rows
    ]
    rows = Lab.objects.order_by("id").values(
        "id",
        "track_id",
        "week",
        "module_title",
        "title",
        "slug",
        "body",
        "deliverables",
        "position",
        "active",
        "current_revision__origin",
        "current_revision__number",
        "current_revision__created_at",
        "current_revision__note",
        "current_revision__edited_by__name",
        "current_revision__edited_by__email",
    )
    labs = []
    for row in rows:
        origin = row.pop("current_revision__origin")
        number = row.pop("current_revision__number")
        at = row.pop("current_revision__created_at")
        note = row.pop("current_revision__note")
        name = row.pop("current_revision__edited_by__name")
        email = row.pop("current_revision__edited_by__email")
        if origin == LabRevision.Origin.EDIT:
            row["edit"] = {
                "revision": number,
                "by": name or (email or "").split("@")[0] or "a former user",
                "at": at.isoformat(),
                "note": note,
            }
        labs.append(LabSnapshot(**row))
    return tracks, labs


def import_history(*, page: int | str = 1, per_page: int = 25) -> Page:
    imports = (
        CurriculumImport.objects.select_related("created_by", "applied_by")
        .defer("source", "diff")
        .order_by("-created_at", "-id")
    )
    return Paginator(imports, per_page).get_page(page)


def import_for_view(import_id: int) -> CurriculumImport | None:
    return (
        CurriculumImport.objects.select_related("created_by", "applied_by")
        .defer("source")
        .filter(pk=import_id)
        .first()
    )


def lab_revisions(lab: Lab) -> QuerySet[LabRevision]:
    """A lab's revisions, newest first, with their editor."""
    return (
        LabRevision.objects.filter(lab=lab)
        .select_related("edited_by")
        .defer("body", "deliverables")
        .order_by("-number")
    )
