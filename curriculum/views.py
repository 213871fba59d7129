from __future__ import annotations

import datetime as dt
from difflib import unified_diff

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.exceptions import ApplicationError

from . import selectors, services
from .exporter import EXPORTERS, curriculum_data
from .forms import CurriculumUploadForm, LabEditForm
from .impact import affected_cohorts, import_impact
from .models import CurriculumImport
from .permissions import can_manage_curriculum, lab_revision_shown, lab_text_reader

EXPORT_FILES = {
    "yaml": ("curriculum.yaml", "application/yaml"),
    "json": ("curriculum.json", "application/json"),
    "markdown": ("curriculum.md", "text/markdown"),
}

STALE_PENDING = dt.timedelta(seconds=20)


def _require_staff(request: HttpRequest) -> None:
    if not can_manage_curriculum(request.user):
        raise PermissionDenied


@login_required
@require_safe
def browse(request: HttpRequest) -> HttpResponse:
    tracks = selectors.active_tracks().annotate(
        lab_count=Count("labs", filter=Q(labs__active=True))
    )
    return render(
        request,
        "curriculum/browse.html",
        {"tracks": tracks, "can_manage": can_manage_curriculum(request.user)},
    )


@login_required
@require_safe
def track_detail(request: HttpRequest, track_slug: str) -> HttpResponse:
    track = selectors.track_by_slug(track_slug)
    if track is None:
        raise Http404("No such path.")
    labs = list(selectors.track_labs(track))
    readable = lab_text_reader(request.user)
    # (lab, readable, the text shown: a kept cohort's older revision, else the lab itself)
    rows = [
        (lab, can, (lab_revision_shown(readable, lab) if can else None) or lab)
        for lab in labs
        for can in (readable(lab),)
    ]
    return render(request, "curriculum/track.html", {"track": track, "labs": labs, "rows": rows})


@login_required
@require_safe
def lab_detail(request: HttpRequest, track_slug: str, lab_slug: str) -> HttpResponse:
    lab = selectors.lab_by_slugs(track_slug=track_slug, lab_slug=lab_slug)
    if lab is None:
        raise Http404("No such lab.")
    previous, following = selectors.lab_neighbours(lab)
    reader = lab_text_reader(request.user)
    can_read = reader(lab)
    # A learner of a cohort kept on an older revision reads that one (cohorts' rule).
    pinned = lab_revision_shown(reader, lab) if can_read else None
    context = {
        "lab": lab,
        "track": lab.track,
        "previous": previous,
        "following": following,
        "can_manage": can_manage_curriculum(request.user),
        # The text only by the one rule (cohorts.permissions.LabAccess); else the title.
        "can_read": can_read,
        "text": pinned or lab,
        "pinned": pinned,
        "revision_number": pinned.number
        if pinned
        else getattr(lab.current_revision, "number", None),
    }
    return render(request, "curriculum/lab.html", context)


def _staff_lab(request: HttpRequest, track_slug: str, lab_slug: str):
    _require_staff(request)
    lab = selectors.lab_by_slugs(track_slug=track_slug, lab_slug=lab_slug)
    if lab is None:
        raise Http404("No such lab.")
    return lab


@login_required
@require_http_methods(["GET", "POST"])
def lab_edit(request: HttpRequest, track_slug: str, lab_slug: str) -> HttpResponse:
    """Staff correct a lab: Markdown with a preview (htmx live, or the Preview button)."""
    lab = _staff_lab(request, track_slug, lab_slug)
    initial = {"title": lab.title, "body": lab.body}
    previewing = request.method == "POST" and request.POST.get("action") == "preview"
    # Previewing (the no-JS path) re-shows the form as typed, without judging it yet.
    form = LabEditForm(None if previewing else request.POST or None, initial=initial)
    if previewing:
        form.initial.update({key: request.POST.get(key, "") for key in ("title", "body", "note")})
    preview = request.POST.get("body", "") if request.method == "POST" else None
    if request.method == "POST" and not previewing and form.is_valid():
        data = form.cleaned_data
        try:
            revision = services.lab_edit(
                actor=request.user,
                lab=lab,
                title=data["title"],
                body=data["body"],
                note=data["note"],
            )
        except ApplicationError as exc:
            errors = (exc.extra or {}).get("errors") or {None: exc.message}
            for field, message in errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(
                request,
                f"Saved as revision {revision.number}. Learners working on this lab are told.",
            )
            return redirect(lab.get_absolute_url())
    return render(
        request,
        "curriculum/lab_edit.html",
        {
            "lab": lab,
            "track": lab.track,
            "form": form,
            "preview": lab.body if preview is None else preview,
            "revisions": selectors.lab_revisions(lab),
        },
    )


@login_required
@require_POST
def lab_preview(request: HttpRequest, track_slug: str, lab_slug: str) -> HttpResponse:
    """The rendered (sanitized) preview of the edit page's text, for htmx."""
    _staff_lab(request, track_slug, lab_slug)
    body = request.POST.get("body", "")[: services.MAX_BODY_CHARS]
    response = render(request, "curriculum/lab_edit.html#preview", {"preview": body})
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_safe
def export_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current curriculum as a file that the import page takes back unchanged."""
    _require_staff(request)
    if fmt not in EXPORTERS:
        raise Http404("No such format.")
    filename, content_type = EXPORT_FILES[fmt]
    text = EXPORTERS[fmt](curriculum_data(selectors.tracks_with_labs()))
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def import_list(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    page = selectors.import_history(page=request.GET.get("page", 1))
    return render(request, "curriculum/import_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    form = CurriculumUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            record = services.import_upload(
                actor=request.user,
                source=uploaded.read(),
                filename=uploaded.name,
                requested_format=form.cleaned_data["format"],
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("curriculum:import_detail", import_id=record.pk)
    return render(request, "curriculum/import_upload.html", {"form": form, "formats": EXPORT_FILES})


def _text_diff(old: str, new: str) -> list[tuple[str, str]]:
    lines = unified_diff(old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=2)
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = (
            "add"
            if line.startswith("+")
            else "del"
            if line.startswith("-")
            else "hunk"
            if line.startswith("@@")
            else "same"
        )
        out.append((kind, line))
    return out


CHANGE_ORDER = ("changed", "renamed", "moved", "added", "removed")


def _preview_tracks(diff: dict) -> tuple[list[dict], list[dict], list[dict]]:
    """(paths with changes, paths without any, labs edited in the app that conflict).

    Changed paths come first; within a path, changed labs come first and unchanged ones are
    only counted.
    """
    changed_tracks, quiet_tracks, conflicts = [], [], []
    resolution = {item["lab_id"]: item["choice"] for item in diff.get("resolution") or []}
    for track in diff.get("detail", []):
        labs = []
        counts: dict[str, int] = {}
        for lab in track.get("labs", []):
            counts[lab["status"]] = counts.get(lab["status"], 0) + 1
            if lab["status"] == "unchanged" and not lab.get("conflict"):
                continue
            item = dict(lab)
            old, new = lab.get("old"), lab.get("new")
            if old and new:
                item["body_diff"] = _text_diff(old["body"], new["body"])
                item["deliverables_diff"] = _text_diff(
                    "\n".join(old["deliverables"]), "\n".join(new["deliverables"])
                )
                item["module_changed"] = old["module_title"] != new["module_title"]
            if item.get("conflict"):
                item["choice"] = resolution.get(item["lab_id"])
                conflicts.append(item)
            labs.append(item)
        labs.sort(
            key=lambda item: (
                CHANGE_ORDER.index(item["status"]) if item["status"] in CHANGE_ORDER else 9
            )
        )
        unchanged = counts.get("unchanged", 0)
        changes = {status: counts[status] for status in CHANGE_ORDER if counts.get(status)}
        entry = {**track, "labs": labs, "changes": changes, "unchanged": unchanged}
        # The badge speaks of the path itself; "unchanged" would contradict "1 changed" below.
        entry["badge"] = (
            track["status"]
            if track["status"] != "unchanged"
            else ("changed" if changes else "unchanged")
        )
        (changed_tracks if changes or track["status"] != "unchanged" else quiet_tracks).append(
            entry
        )
    return changed_tracks, quiet_tracks, conflicts


def _staff_import(request: HttpRequest, import_id: int):
    """The import a staff action is about; 404 when there is none."""
    _require_staff(request)
    record = selectors.import_for_view(import_id)
    if record is None:
        raise Http404("No such import.")
    return record


@login_required
@require_safe
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _staff_import(request, import_id)
    if record.is_pending and timezone.now() - record.created_at > STALE_PENDING:
        # The worker never picked it up (broker down?): parsing is quick, do it here.
        services.import_parse(import_id=record.pk)
        record = selectors.import_for_view(import_id)
    context = {"record": record}
    if request.htmx:
        response = render(request, "curriculum/import_detail.html#import-status", context)
        if not record.is_pending:
            response["HX-Refresh"] = "true"
    else:
        if record.status != CurriculumImport.Status.FAILED and record.diff:
            tracks, quiet, conflicts = _preview_tracks(record.diff)
            context.update(
                {"tracks": tracks, "quiet_tracks": quiet, "conflicts": conflicts, "shown": True}
            )
            if record.status == CurriculumImport.Status.PREVIEWED:
                # Who the change lands on, now (not stored: it moves until the apply).
                impact = import_impact(record.diff)
                context.update({"impact": impact, "impact_cohorts": affected_cohorts(impact)})
        response = render(request, "curriculum/import_detail.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def import_apply(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _staff_import(request, import_id)
    take_file, keep_cohorts = [], []
    for key, value in request.POST.items():
        if key.startswith("choice-") and value == "file" and key[7:].isdigit():
            take_file.append(int(key[7:]))
        # Per cohort running a changed lab: "apply" (default) or "keep" its current revisions.
        if key.startswith("cohort-") and value == "keep" and key[7:].isdigit():
            keep_cohorts.append(int(key[7:]))
    try:
        services.import_apply(
            actor=request.user,
            curriculum_import=record,
            take_file=take_file,
            keep_cohorts=keep_cohorts,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Import #{record.pk} applied: {record.summary or 'no changes'}.")
    return redirect("curriculum:import_detail", import_id=record.pk)


@login_required
@require_POST
def import_discard(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _staff_import(request, import_id)
    try:
        services.import_discard(actor=request.user, curriculum_import=record)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"Import #{record.pk} discarded; nothing was changed.")
    return redirect("curriculum:import_list")
