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
from .forms import CurriculumUploadForm
from .models import CurriculumImport
from .permissions import can_manage_curriculum, lab_text_reader

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
    rows = [(lab, readable(lab)) for lab in labs]
    return render(request, "curriculum/track.html", {"track": track, "labs": labs, "rows": rows})


@login_required
@require_safe
def lab_detail(request: HttpRequest, track_slug: str, lab_slug: str) -> HttpResponse:
    lab = selectors.lab_by_slugs(track_slug=track_slug, lab_slug=lab_slug)
    if lab is None:
        raise Http404("No such lab.")
    previous, following = selectors.lab_neighbours(lab)
    context = {
        "lab": lab,
        "track": lab.track,
        "previous": previous,
        "following": following,
        # The text only by the one rule (cohorts.permissions.LabAccess); else the title.
        "can_read": lab_text_reader(request.user)(lab),
    }
    return render(request, "curriculum/lab.html", context)


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
    return render(request, "curriculum/import_upload.html", {"form": form})


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


def _preview_tracks(diff: dict) -> list[dict]:
    tracks = []
    for track in diff.get("detail", []):
        labs = []
        counts: dict[str, int] = {}
        for lab in track.get("labs", []):
            counts[lab["status"]] = counts.get(lab["status"], 0) + 1
            item = dict(lab)
            old, new = lab.get("old"), lab.get("new")
            if old and new:
                item["body_diff"] = _text_diff(old["body"], new["body"])
                item["deliverables_diff"] = _text_diff(
                    "\n".join(old["deliverables"]), "\n".join(new["deliverables"])
                )
                item["module_changed"] = old["module_title"] != new["module_title"]
            labs.append(item)
        tracks.append({**track, "labs": labs, "counts": counts})
    return tracks


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
            context["tracks"] = _preview_tracks(record.diff)
        response = render(request, "curriculum/import_detail.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def import_apply(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _staff_import(request, import_id)
    try:
        services.import_apply(actor=request.user, curriculum_import=record)
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
