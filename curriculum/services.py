"""Writes of the curriculum: import (preview, apply, discard) and the bundled seed.

An import is previewed first (parse + diff, nothing but the import record written), then
applied in one transaction with bulk writes: new and updated tracks, labs moved, renamed,
changed or archived (never deleted), one new `LabRevision` per lab whose content changed,
and one `lab.updated` event per changed lab that already existed. Applying re-plans against
the database under a lock and refuses if the result differs from what the preview showed.

Staff may also correct a lab in the app (`lab_edit`): a new revision that records the
editor and a note. A later import whose text for that lab differs lists it as a conflict;
the apply keeps the app edit unless staff chose the file's text for that lab.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import broker
from core.exceptions import ApplicationError

from . import selectors
from .cleaner import markdown_deliverables
from .differ import ImportPlan, LabPlan, content_hash, plan_import, resolve_conflicts
from .models import CurriculumImport, Lab, LabRevision, Track
from .parsers import FORMATS, CurriculumParseError, ParsedCurriculum, parse_curriculum
from .search import lab_search_refresh

DEFAULT_CURRICULUM = Path(__file__).resolve().parent / "data" / "000_534dd0f80d9aa631.txt"
ACTIVE_STATUSES = (CurriculumImport.Status.PENDING, CurriculumImport.Status.PARSING)


def _parse(source: bytes, requested_format: str) -> ParsedCurriculum:
    return parse_curriculum(source, requested_format=requested_format)


def _plan(parsed: ParsedCurriculum, *, lock: bool = False) -> ImportPlan:
    tracks, labs = selectors.curriculum_snapshot(lock=lock)
    return plan_import(parsed, tracks, labs)


def _diff_payload(plan: ImportPlan, fmt: str) -> dict:
    payload = plan.summary()
    payload["format"] = fmt
    payload["detail"] = plan.detail()
    return payload


def summarize(diff: dict) -> str:
    """One line for the history page: what an import changes."""
    labs, tracks = diff.get("labs") or {}, diff.get("tracks") or {}
    keys = ("added", "changed", "renamed", "moved", "removed")
    lab_parts = [f"{len(labs[key])} {key}" for key in keys if labs.get(key)]
    track_parts = [f"{len(tracks[key])} {key}" for key in keys if tracks.get(key)]
    sections = []
    if track_parts:
        sections.append("paths " + ", ".join(track_parts))
    if lab_parts:
        sections.append("labs " + ", ".join(lab_parts))
    text = "; ".join(sections) or "no changes"
    resolution = diff.get("resolution") or []
    kept = sum(1 for item in resolution if item["choice"] == "edit")
    if kept:
        text += f"; {kept} app edit{'s' if kept != 1 else ''} kept"
    elif labs.get("conflicts"):
        text += f"; {len(labs['conflicts'])} edited in the app"
    totals = diff.get("totals") or {}
    if totals:
        text += f" ({totals.get('tracks', 0)} paths, {totals.get('labs', 0)} labs)"
    return text[:300]


def _validate_request(source: bytes, filename: str, requested_format: str) -> None:
    if requested_format not in ("auto", *FORMATS):
        raise ApplicationError(f"Unknown format {requested_format!r}.", code="invalid")


def import_preview(
    *, actor, source: bytes, filename: str, requested_format: str = "auto", persist: bool = True
) -> CurriculumImport:
    """Parse and diff `source` against the current curriculum; record a previewed import.

    Side effects: one `CurriculumImport` row (status previewed) when `persist`. Raises
    `CurriculumParseError` (nothing written) when the file cannot be imported.
    """
    _validate_request(source, filename, requested_format)
    parsed = _parse(source, requested_format)
    plan = _plan(parsed)
    record = _previewed_record(actor, source, filename, requested_format, parsed.format, plan)
    if persist:
        record.save()
    return record


def _previewed_record(actor, source, filename, requested_format, fmt, plan) -> CurriculumImport:
    diff = _diff_payload(plan, fmt)
    return CurriculumImport(
        created_by=actor if getattr(actor, "pk", None) else None,
        filename=(filename or "")[:255],
        source=source,
        source_hash=hashlib.sha256(source).hexdigest(),
        requested_format=requested_format,
        detected_format=fmt,
        status=CurriculumImport.Status.PREVIEWED,
        progress=100,
        diff=diff,
        summary=summarize(diff),
    )


def import_upload(
    *, actor, source: bytes, filename: str, requested_format: str = "auto"
) -> CurriculumImport:
    """Store an uploaded file for background parsing; the task is enqueued after commit.

    The size limit is checked here too (the form checks it before reading the upload).
    """
    _validate_request(source, filename, requested_format)
    limit = getattr(settings, "CURRICULUM_MAX_BYTES", 5 * 1024 * 1024)
    if len(source) > limit:
        raise ApplicationError(
            f"The file is larger than {limit // (1024 * 1024)} MB.", code="invalid"
        )
    with transaction.atomic():
        record = CurriculumImport.objects.create(
            created_by=actor,
            filename=(filename or "")[:255],
            source=source,
            source_hash=hashlib.sha256(source).hexdigest(),
            requested_format=requested_format,
            status=CurriculumImport.Status.PENDING,
        )
        transaction.on_commit(lambda: _enqueue_parse(record.pk))
    return record


def _enqueue_parse(import_id: int) -> None:
    """Never raises nor waits long: with the broker down the progress page parses a stale
    upload itself."""
    from .tasks import import_parse as import_parse_task

    broker.publish(import_parse_task, import_id)


def import_parse(*, import_id: int) -> CurriculumImport | None:
    """Parse a stored upload and record its diff (or its errors). Idempotent.

    Side effects: updates the import's status/progress/diff/errors.
    """
    with transaction.atomic():
        record = CurriculumImport.objects.select_for_update().filter(pk=import_id).first()
        if record is None or record.status not in ACTIVE_STATUSES:
            return record
        record.status, record.progress = CurriculumImport.Status.PARSING, 10
        record.save(update_fields=["status", "progress"])
    source = bytes(record.source)
    try:
        parsed = _parse(source, record.requested_format)
        record.progress = 60
        CurriculumImport.objects.filter(pk=record.pk).update(progress=60)
        plan = _plan(parsed)
    except CurriculumParseError as exc:
        record.status = CurriculumImport.Status.FAILED
        record.errors = [{"line": p.line, "message": p.message} for p in exc.problems]
        record.summary = f"{len(exc.problems)} problem(s): {exc.problems[0].message}"[:300]
        record.progress = 100
        record.save(update_fields=["status", "errors", "summary", "progress"])
        return record
    record.diff = _diff_payload(plan, parsed.format)
    record.detected_format = parsed.format
    record.summary = summarize(record.diff)
    record.status = CurriculumImport.Status.PREVIEWED
    record.progress = 100
    record.save(update_fields=["diff", "detected_format", "summary", "status", "progress"])
    return record


def _comparable(diff: dict) -> dict:
    return {key: diff.get(key) for key in ("totals", "tracks", "labs")}


@transaction.atomic
def import_apply(
    *,
    actor,
    curriculum_import: CurriculumImport,
    take_file: Collection[int] = (),
    keep_cohorts: Collection[int] = (),
) -> CurriculumImport:
    """Apply a previewed import in one transaction.

    `take_file`: ids of labs edited in the app (conflicts of the preview) whose text the
    file replaces; every other conflicting lab keeps its app edit (the default).
    `keep_cohorts`: ids of cohorts running a changed lab that stay on their current
    revisions until they end (the registered apply hooks pin them; `curriculum.impact`);
    every other cohort gets the new text now. An unknown cohort refuses the whole import.

    Side effects: creates/updates tracks and labs (bulk), archives removed ones, creates a
    `LabRevision` per lab whose content changed (and per new lab), records `lab.updated`
    (target: the lab; data: revision_id, import_id) for each existing lab whose content
    changed, and marks the import applied with the per-lab choices in `diff["resolution"]`.
    Refuses (code "conflict") when the curriculum changed since the preview, and when the
    import is not in the previewed state; (code "invalid") when `take_file` names a lab that
    is not a conflict of this import.
    """
    locked = CurriculumImport.objects.select_for_update().filter(pk=curriculum_import.pk).first()
    if locked is None:
        raise ApplicationError("This import no longer exists.", code="invalid")
    if locked.status != CurriculumImport.Status.PREVIEWED:
        raise ApplicationError(
            f"This import is {locked.get_status_display().lower()}; only a previewed import can be applied.",
            code="conflict",
        )
    try:
        parsed = _parse(bytes(locked.source), locked.requested_format)
    except CurriculumParseError as exc:  # only if the parser changed since the preview
        raise ApplicationError("The file no longer parses: " + str(exc), code="invalid") from None
    plan = _plan(parsed, lock=True)
    fresh = _diff_payload(plan, parsed.format)
    if _comparable(fresh) != _comparable(locked.diff):
        raise ApplicationError(
            "The curriculum changed since this preview was made. Discard it and upload the file again.",
            code="conflict",
        )
    return _apply_plan(
        actor=actor,
        record=locked,
        plan=plan,
        diff=fresh,
        take_file=take_file,
        keep_cohorts=keep_cohorts,
        original=curriculum_import,
    )


def _apply_plan(
    *,
    actor,
    record: CurriculumImport,
    plan: ImportPlan,
    diff: dict,
    take_file: Collection[int] = (),
    keep_cohorts: Collection[int] = (),
    original=None,
):
    from notifications.events import record as record_event

    from .impact import run_apply_hooks

    take_file = set(take_file)
    conflict_ids = {lab.old.id for lab in plan.lab_plans if lab.conflict}
    if take_file - conflict_ids:
        raise ApplicationError(
            "Only labs edited in the app that this import would change can take the file's text.",
            code="invalid",
        )
    diff = {**diff, "resolution": resolve_conflicts(plan, take_file=take_file)}
    # The revisions the changed labs had before: what a kept cohort stays on.
    changed_ids = [
        lab.old.id for lab in plan.lab_plans if lab.old and lab.new and lab.content_changed
    ]
    previous = dict(Lab.objects.filter(pk__in=changed_ids).values_list("pk", "current_revision_id"))
    keep_cohorts = set(keep_cohorts)
    written = _write_plan(plan, record) if plan.has_changes else []
    if keep_cohorts or previous:
        # Inside this transaction: a refused choice rolls the labs back too.
        run_apply_hooks(
            actor=actor,
            curriculum_import=record,
            previous_revisions=previous,
            keep_cohorts=keep_cohorts,
        )
    if written:
        for lab, revision in written:
            record_event(
                "lab.updated",
                actor=actor,
                target=lab,
                data={"revision_id": revision.pk, "import_id": record.pk},
            )
    record.status = CurriculumImport.Status.APPLIED
    record.applied_at = timezone.now()
    record.applied_by = actor if getattr(actor, "pk", None) else None
    record.diff = diff
    record.summary = summarize(diff)
    record.save(update_fields=["status", "applied_at", "applied_by", "diff", "summary"])
    if original is not None:
        original.status, original.applied_at = record.status, record.applied_at
    return record


def import_discard(*, actor, curriculum_import: CurriculumImport) -> CurriculumImport:
    """Discard a preview (or a failed/pending upload). Side effects: the import's status."""
    with transaction.atomic():
        locked = (
            CurriculumImport.objects.select_for_update().filter(pk=curriculum_import.pk).first()
        )
        if locked is None:
            raise ApplicationError("This import no longer exists.", code="invalid")
        if locked.status in (CurriculumImport.Status.APPLIED, CurriculumImport.Status.DISCARDED):
            raise ApplicationError(
                f"This import is already {locked.get_status_display().lower()}.", code="conflict"
            )
        locked.status = CurriculumImport.Status.DISCARDED
        locked.save(update_fields=["status"])
    curriculum_import.status = locked.status
    return locked


def import_curriculum_file(
    *,
    actor,
    source: bytes,
    filename: str,
    requested_format: str = "auto",
    dry_run: bool = False,
    take_file: Collection[int] = (),
    keep_cohorts: Collection[int] = (),
) -> CurriculumImport:
    """Preview and apply in one transaction (the management command): parse and plan once.

    Labs edited in the app keep their edit unless their id is in `take_file`; cohorts in
    `keep_cohorts` stay on their current revisions (`import_apply`).
    Side effects: as `import_apply`, plus the import record; with `dry_run`, none.
    Raises `CurriculumParseError` (nothing written) when the file cannot be imported.
    """
    _validate_request(source, filename, requested_format)
    parsed = _parse(source, requested_format)
    if dry_run:
        return _previewed_record(
            actor, source, filename, requested_format, parsed.format, _plan(parsed)
        )
    with transaction.atomic():
        plan = _plan(parsed, lock=True)
        record = _previewed_record(actor, source, filename, requested_format, parsed.format, plan)
        record.save()
        return _apply_plan(
            actor=actor,
            record=record,
            plan=plan,
            diff=record.diff,
            take_file=take_file,
            keep_cohorts=keep_cohorts,
        )


def import_default_curriculum(*, actor=None) -> CurriculumImport:
    """Import the bundled seed curriculum (idempotent: a re-import writes only its record)."""
    return import_curriculum_file(
        actor=actor, source=DEFAULT_CURRICULUM.read_bytes(), filename=DEFAULT_CURRICULUM.name
    )


def _write_plan(
    plan: ImportPlan, curriculum_import: CurriculumImport
) -> list[tuple[Lab, LabRevision]]:
    now = timezone.now()
    # Tracks: create new ones, update renamed/moved/restored/archived ones.
    new_tracks: list[Track] = []
    track_updates: list[Track] = []
    taken_slugs = set(Track.objects.values_list("slug", flat=True))
    track_for_plan: dict[int, Track] = {}
    for track_plan in plan.tracks:
        if track_plan.old is None:
            slug = _free_slug(track_plan.new.slug, taken_slugs)
            track = Track(
                name=track_plan.new.name,
                slug=slug,
                position=track_plan.position,
                active=True,
                created_at=now,
            )
            new_tracks.append(track)
        else:
            track = Track(
                id=track_plan.old.id,
                name=track_plan.new.name if track_plan.new else track_plan.old.name,
                slug=track_plan.old.slug,
                position=track_plan.position,
                active=track_plan.new is not None,
                updated_at=now,
            )
            if track_plan.needs_write:
                track_updates.append(track)
        track_for_plan[id(track_plan)] = track
    if new_tracks:
        Track.objects.bulk_create(new_tracks)
    if track_updates:
        Track.objects.bulk_update(track_updates, ["name", "position", "active", "updated_at"])

    # Labs: park the ones that change week (or go away) so the unique active-week
    # constraint never sees two labs in one week mid-statement, then write final values.
    parked: list[Lab] = []
    updates: list[Lab] = []
    creates: list[tuple[LabPlan, Lab]] = []
    revisions_for: list[tuple[Lab, LabPlan]] = []
    slugs_by_track: dict[int, set[str]] = {}
    existing_labs = Lab.objects.values_list("track_id", "slug")
    for track_id, slug in existing_labs:
        slugs_by_track.setdefault(track_id, set()).add(slug)
    for track_plan in plan.tracks:
        track = track_for_plan[id(track_plan)]
        for lab_plan in track_plan.labs:
            old, new = lab_plan.old, lab_plan.new
            if old is None:
                slug = _free_slug(new.slug, slugs_by_track.setdefault(track.pk, set()))
                lab = Lab(
                    track=track, week=new.week, module_title=new.module_title, title=new.title, slug=slug,
                    body=new.body, deliverables=list(new.deliverables), position=lab_plan.position,
                    active=True, created_at=now,
                )  # fmt: skip
                creates.append((lab_plan, lab))
                revisions_for.append((lab, lab_plan))
                continue
            if not lab_plan.needs_write:
                continue
            if new is None:
                updates.append(Lab(id=old.id, track_id=old.track_id, week=old.week, module_title=old.module_title,
                                   title=old.title, body=old.body, deliverables=old.deliverables,
                                   position=old.position, active=False, updated_at=now))  # fmt: skip
                continue
            lab = Lab(
                id=old.id, track_id=old.track_id, week=new.week, module_title=new.module_title, title=new.title,
                body=new.body, deliverables=list(new.deliverables), position=lab_plan.position, active=True,
                updated_at=now,
            )  # fmt: skip
            if old.active and old.week != new.week:
                parked.append(Lab(id=old.id, active=False))
            updates.append(lab)
            if lab_plan.content_changed:
                revisions_for.append((lab, lab_plan))
    fields = [
        "week",
        "module_title",
        "title",
        "body",
        "deliverables",
        "position",
        "active",
        "updated_at",
    ]
    archived = [lab for lab in updates if not lab.active]
    if archived:
        Lab.objects.bulk_update(archived, fields, batch_size=500)
    if parked:
        Lab.objects.bulk_update(parked, ["active"], batch_size=500)
    live = [lab for lab in updates if lab.active]
    if live:
        Lab.objects.bulk_update(live, fields, batch_size=500)
    if creates:
        Lab.objects.bulk_create([lab for _, lab in creates], batch_size=500)
    # The stored search vectors follow the title and text just written (one UPDATE).
    lab_search_refresh([lab.pk for lab in updates] + [lab.pk for _, lab in creates])

    # Revisions: one per new lab and per lab whose content changed.
    if not revisions_for:
        return []
    lab_ids = [lab.pk for lab, _ in revisions_for]
    last_numbers = dict(
        LabRevision.objects.filter(lab_id__in=lab_ids)
        .values("lab_id")
        .annotate(last=Max("number"))
        .values_list("lab_id", "last")
    )
    revisions = [
        LabRevision(
            lab_id=lab.pk,
            number=last_numbers.get(lab.pk, 0) + 1,
            module_title=lab.module_title,
            title=lab.title,
            body=lab.body,
            deliverables=lab.deliverables,
            content_hash=content_hash(
                module_title=lab.module_title,
                title=lab.title,
                body=lab.body,
                deliverables=lab.deliverables,
            ),
            source_import=curriculum_import,
            created_at=now,
        )  # fmt: skip
        for lab, _ in revisions_for
    ]
    LabRevision.objects.bulk_create(revisions, batch_size=500)
    pointers = []
    for (lab, _), revision in zip(revisions_for, revisions, strict=True):
        lab.current_revision_id = revision.pk
        pointers.append(Lab(id=lab.pk, current_revision_id=revision.pk))
    Lab.objects.bulk_update(pointers, ["current_revision"], batch_size=500)
    return [
        (lab, revision)
        for (lab, lab_plan), revision in zip(revisions_for, revisions, strict=True)
        if lab_plan.old is not None
    ]


def _free_slug(slug: str, taken: set[str]) -> str:
    candidate, counter = slug[:200], 2
    while candidate in taken:
        suffix = f"-{counter}"
        candidate = slug[: 200 - len(suffix)] + suffix
        counter += 1
    taken.add(candidate)
    return candidate


MAX_BODY_CHARS = 100_000
MAX_NOTE_CHARS = 500


def normalize_body(body: str) -> str:
    """The stored form of an edited body: Unix line ends, no trailing spaces, one final newline."""
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


@transaction.atomic
def lab_edit(*, actor, lab: Lab, title: str, body: str, note: str) -> LabRevision:
    """Correct a lab in the app: a new `LabRevision` (origin edit) with the editor and a note.

    The deliverables are the body's top-level steps, as an import derives them. Side effects:
    updates the lab's title, body, deliverables and current revision, and records
    `lab.updated` (target: the lab; data: revision_id, edited: true), so learners with open
    work on the lab are told after commit. A later import whose text for this lab differs
    shows it as a conflict. Refuses (code "forbidden") for non-staff, (code "invalid") for
    an empty title or body, a missing note, or a text identical to the current one.
    """
    from notifications.events import record as record_event

    from .permissions import can_manage_curriculum

    if not can_manage_curriculum(actor):
        raise ApplicationError("Only staff can edit labs.", code="forbidden")
    title, note = (title or "").strip(), (note or "").strip()
    body = normalize_body(body or "")
    errors = {}
    if not title:
        errors["title"] = "Give the lab a title."
    elif len(title) > 300:
        errors["title"] = "The title is longer than 300 characters."
    if not body.strip():
        errors["body"] = "The lab needs its text."
    elif len(body) > MAX_BODY_CHARS:
        errors["body"] = f"The text is longer than {MAX_BODY_CHARS:,} characters."
    if not note:
        errors["note"] = "Say in a few words what you corrected; learners see it."
    elif len(note) > MAX_NOTE_CHARS:
        errors["note"] = f"The note is longer than {MAX_NOTE_CHARS} characters."
    if errors:
        raise ApplicationError(" ".join(errors.values()), code="invalid", extra={"errors": errors})
    # The track row first, as an import apply locks every track before reading the labs:
    # an edit and an import never interleave, so an import cannot write over an edit it
    # did not see as a conflict.
    Track.objects.select_for_update().filter(pk=lab.track_id).first()
    locked = Lab.objects.select_for_update().get(pk=lab.pk)
    if not locked.active:
        raise ApplicationError("This lab is archived; import it again first.", code="invalid")
    deliverables = markdown_deliverables(body, fallback=title)
    new_hash = content_hash(
        module_title=locked.module_title, title=title, body=body, deliverables=deliverables
    )
    old_hash = content_hash(
        module_title=locked.module_title,
        title=locked.title,
        body=locked.body,
        deliverables=locked.deliverables,
    )
    if new_hash == old_hash:
        raise ApplicationError(
            "Nothing changed: the text is the same as the current revision.",
            code="invalid",
            extra={"errors": {"body": "Nothing changed: the text is the same as now."}},
        )
    last = LabRevision.objects.filter(lab=locked).aggregate(last=Max("number"))["last"] or 0
    revision = LabRevision.objects.create(
        lab=locked,
        number=last + 1,
        module_title=locked.module_title,
        title=title,
        body=body,
        deliverables=deliverables,
        content_hash=new_hash,
        origin=LabRevision.Origin.EDIT,
        edited_by=actor,
        note=note,
    )
    locked.title, locked.body, locked.deliverables = title, body, deliverables
    locked.current_revision = revision
    locked.save(update_fields=["title", "body", "deliverables", "current_revision", "updated_at"])
    lab_search_refresh([locked.pk])
    record_event(
        "lab.updated",
        actor=actor,
        target=locked,
        data={"revision_id": revision.pk, "edited": True},
    )
    lab.title, lab.body, lab.deliverables = title, body, deliverables
    lab.current_revision = revision
    return revision
