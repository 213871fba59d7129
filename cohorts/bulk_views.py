"""Bulk actions on a cohort (pages): an extension for every learner, a schedule shift, and
announcements. Thin views: each checks the policy and calls the same services as the API.

The two bulk forms are preview-then-confirm: a first POST (`action=preview`) shows what would
change, with a Confirm button that posts the same values plus the preview's fingerprint
(`action=apply`); the service refuses a confirm whose preview no longer holds. With htmx the
preview is swapped into the page (`#bulk-preview`); without JavaScript the whole page comes
back with it. After applying, the browser is redirected (post/redirect/get) with a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.exceptions import ApplicationError

from . import selectors, services
from .forms import AnnouncementForm, BulkExtensionForm, ScheduleShiftForm
from .permissions import can_announce, can_grant_extension_to_all, can_shift_schedule
from .views import _form_error, _htmx_vary, _visible_cohort, viewer_zone

ANNOUNCEMENTS_PER_PAGE = 20
NAMES_IN_MESSAGE = 10


def _names(people) -> str:
    people = list(people)
    shown = ", ".join(p.display_name for p in people[:NAMES_IN_MESSAGE])
    more = len(people) - NAMES_IN_MESSAGE
    return shown + (f" and {more} more" if more > 0 else "")


def _status(request: HttpRequest, ok: bool) -> int:
    # htmx swaps only 2xx answers: a fragment with errors comes back as 200.
    return 200 if ok or request.htmx else 400


def _try(form, make):
    """`make()`, or None with its refusal on the form (a re-preview after a conflict may be
    refused in its turn, e.g. the last learner left)."""
    try:
        return make()
    except ApplicationError as error:
        _form_error(form, error)
        return None


def _render_bulk(request, template: str, context: dict, *, ok: bool) -> HttpResponse:
    if request.htmx and request.method == "POST":
        template += "#bulk-preview"
    return _htmx_vary(render(request, template, context, status=_status(request, ok)))


# --- One extension for every learner --------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def extension_all(request: HttpRequest, slug: str) -> HttpResponse:
    """The cohort's mentors and staff: one lab's new due time for every learner."""
    cohort = _visible_cohort(request, slug)
    if not can_grant_extension_to_all(request.user, cohort):
        raise PermissionDenied
    labs = selectors.cohort_labs(cohort)
    with timezone.override(viewer_zone(request.user)):
        form = BulkExtensionForm(request.POST if request.method == "POST" else None, labs=labs)
        valid = request.method == "POST" and form.is_valid()
    preview = notice = None
    if valid:
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "apply":
                done = services.extension_grant_all(
                    actor=request.user,
                    cohort=cohort,
                    fingerprint=request.POST.get("fingerprint") or None,
                    **data,
                )
                text = (
                    f"Week {data['lab'].week} extended for {len(done.grant)} "
                    f"learner{'s' if len(done.grant) != 1 else ''}."
                )
                if done.keep:
                    text += (
                        f" {len(done.keep)} already had a later extension and keep it: "
                        f"{_names(e.learner for e in done.keep)}."
                    )
                messages.success(request, text)
                return redirect(
                    reverse("cohorts:schedule", kwargs={"slug": cohort.slug}) + "#extensions"
                )
            preview = services.extension_grant_all_preview(
                actor=request.user, cohort=cohort, **data
            )
        except ApplicationError as error:
            if error.code == "conflict":
                notice = error.message
                preview = _try(
                    form,
                    lambda: services.extension_grant_all_preview(
                        actor=request.user, cohort=cohort, **data
                    ),
                )
            else:
                _form_error(form, error)
    context = {
        "cohort": cohort,
        "form": form,
        "preview": preview,
        "notice": notice,
        "viewer_tz": viewer_zone(request.user),
    }
    ok = request.method == "GET" or preview is not None
    return _render_bulk(request, "cohorts/extension_all.html", context, ok=ok)


# --- Moving the rest of the schedule --------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def schedule_shift(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff: move every date still ahead by N days (a holiday week), after a preview."""
    cohort = _visible_cohort(request, slug)
    if not can_shift_schedule(request.user, cohort):
        raise PermissionDenied
    form = ScheduleShiftForm(request.POST if request.method == "POST" else None)
    preview = notice = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["days"]
        try:
            if request.POST.get("action") == "apply":
                shift = services.schedule_shift(
                    actor=request.user,
                    cohort=cohort,
                    days=days,
                    fingerprint=request.POST.get("fingerprint") or None,
                )
                messages.success(
                    request,
                    f"Schedule moved by {shift.days:+d} day{'s' if abs(shift.days) != 1 else ''}:"
                    f" {shift.labs_moved} lab{'s' if shift.labs_moved != 1 else ''} and"
                    f" {shift.extensions_moved} extension"
                    f"{'s' if shift.extensions_moved != 1 else ''}.",
                )
                return redirect(reverse("cohorts:schedule", kwargs={"slug": cohort.slug}))
            preview = services.schedule_shift_preview(actor=request.user, cohort=cohort, days=days)
        except ApplicationError as error:
            if error.code == "conflict":
                notice = error.message
                preview = _try(
                    form,
                    lambda: services.schedule_shift_preview(
                        actor=request.user, cohort=cohort, days=days
                    ),
                )
            else:
                _form_error(form, error)
    context = {
        "cohort": cohort,
        "form": form,
        "preview": preview,
        "notice": notice,
        "shifts": list(selectors.cohort_schedule_shifts(cohort)[:10]),
        "viewer_tz": viewer_zone(request.user),
        "cohort_tz": selectors.cohort_zone(cohort),
        "max_days": services.MAX_SHIFT_DAYS,
    }
    ok = request.method == "GET" or preview is not None
    return _render_bulk(request, "cohorts/schedule_shift.html", context, ok=ok)


# --- Announcements --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def announcements(request: HttpRequest, slug: str) -> HttpResponse:
    """Members read the cohort's announcements; its mentors and staff also send one."""
    cohort = _visible_cohort(request, slug)
    may_announce = can_announce(request.user, cohort)
    if request.method == "POST" and not may_announce:
        raise PermissionDenied
    form = AnnouncementForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            announcement = services.announcement_send(
                actor=request.user, cohort=cohort, **form.cleaned_data
            )
        except ApplicationError as error:
            for field, message in (error.extra.get("errors") or {}).items():
                form.add_error(field if field in form.fields else None, message)
            if not error.extra.get("errors"):
                _form_error(form, error)
        else:
            messages.success(request, f"Announcement “{announcement.title}” sent to the cohort.")
            return redirect(
                reverse("cohorts:announcements", kwargs={"slug": cohort.slug})
                + f"#announcement-{announcement.pk}"
            )
    page = Paginator(selectors.cohort_announcements(cohort), ANNOUNCEMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "cohort": cohort,
        "page": page,
        "form": form if may_announce else None,
        "may_announce": may_announce,
        "viewer_tz": viewer_zone(request.user),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "cohorts/announcements.html", context, status=status)
