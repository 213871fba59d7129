"""Cohort pages: thin views that check the policy, call services and render templates."""

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import dateformat, timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.converters import parse_id
from core.exceptions import ApplicationError
from core.fragments import cached_page, change_stamp, navigation_sources, next_instant_after
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab

from . import selectors, services
from .forms import (
    CohortForm,
    EnrollmentUploadForm,
    ExtensionForm,
    JoinLinkForm,
    JoinSignupForm,
    MemberAddForm,
    OverrideForm,
    RoleForm,
)
from .models import Cohort, EnrollmentUpload, Extension, JoinLink, Membership
from .permissions import (
    can_grant_extension,
    can_manage_cohort,
    can_view_cohort,
    can_view_full_schedule,
    cohorts_visible_to,
    is_learner_of,
)

MEMBERS_PER_PAGE = 50
COHORTS_PER_PAGE = 30


def viewer_zone(user) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# Every cohort page (the learner's schedule on each visit, cached or not) starts here:
# compiled once, as the ORM spent about as long composing it as PostgreSQL answering.
_COHORT_BY_SLUG = PreparedQuery(
    lambda: Cohort.objects.select_related("track").filter(slug=Param("slug"))
)


def _visible_cohort(request: HttpRequest, slug: str) -> Cohort:
    """The cohort if the user may see it (`cohorts_visible_to`: staff, or an active
    member); a 404 otherwise, the same for a cohort hidden and one that does not exist."""
    cohort = _COHORT_BY_SLUG.first(slug=slug)
    if cohort is None or not can_view_cohort(request.user, cohort):
        raise Http404("No Cohort matches the given query.")
    return cohort


def _managed_cohort(request: HttpRequest, slug: str) -> Cohort:
    """For staff pages: 404 to outsiders, 403 to members who are not staff."""
    cohort = _visible_cohort(request, slug)
    if not can_manage_cohort(request.user, cohort):
        raise PermissionDenied
    return cohort


def _require_staff(request: HttpRequest) -> None:
    if not can_manage_cohort(request.user):
        raise PermissionDenied


def _form_error(form, error: ApplicationError) -> None:
    field = error.extra.get("field")
    form.add_error(field if field in form.fields else None, error.message)


def _htmx_vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Lists -------------------------------------------------------------------------------


@login_required
def cohort_list(request: HttpRequest) -> HttpResponse:
    """Staff: every cohort with its member counts."""
    _require_staff(request)
    status = request.GET.get("status", "")
    cohorts = selectors.cohort_list(visible=cohorts_visible_to(request.user))
    if status in Cohort.Status.values:
        cohorts = cohorts.filter(status=status)
    page = Paginator(cohorts, COHORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "cohorts/list.html",
        {"page": page, "status": status, "statuses": Cohort.Status.choices},
    )


@login_required
def my_cohorts(request: HttpRequest) -> HttpResponse:
    """The cohorts the user belongs to, with their role and this week's number."""
    now = timezone.now()
    items = [
        {
            "membership": membership,
            "cohort": membership.cohort,
            "timing": selectors.cohort_timing(membership.cohort, now),
        }
        for membership in selectors.memberships_of_user(request.user)
    ]
    return render(
        request,
        "cohorts/mine.html",
        {"items": items, "is_staff": can_manage_cohort(request.user)},
    )


# --- Create and edit ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def cohort_create(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    form = CohortForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.cohort_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Cohort “{cohort.name}” created. Now add its members.")
            return redirect("cohorts:members", slug=cohort.slug)
    return render(request, "cohorts/form.html", {"form": form, "cohort": None})


@login_required
@require_http_methods(["GET", "POST"])
def cohort_edit(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    form = CohortForm(
        request.POST if request.method == "POST" else None, initial=CohortForm.initial_from(cohort)
    )
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.cohort_update(actor=request.user, cohort=cohort, **form.cleaned_data)
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Cohort saved.")
            return redirect("cohorts:edit", slug=cohort.slug)
    return render(request, "cohorts/form.html", {"form": form, "cohort": cohort})


@login_required
@require_safe
def cohort_detail(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = _visible_cohort(request, slug)
    return redirect("cohorts:schedule", slug=cohort.slug)


# --- Members -----------------------------------------------------------------------------


MEMBER_FILTERS = {
    "all": Q(),
    "learners": Q(role=Membership.Role.LEARNER, active=True),
    "mentors": Q(role=Membership.Role.MENTOR, active=True),
    "removed": Q(active=False),
}


def _members_context(request: HttpRequest, cohort: Cohort) -> dict:
    show = request.GET.get("show", "all")
    if show not in MEMBER_FILTERS:
        show = "all"
    query = (request.GET.get("q") or "").strip()[:100]
    memberships = selectors.cohort_members(cohort).filter(MEMBER_FILTERS[show])
    if query:
        memberships = memberships.filter(
            Q(user__email__icontains=query) | Q(user__name__icontains=query)
        )
    page = Paginator(memberships, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "cohort": cohort,
        "page": page,
        "show": show,
        "query": query,
        "filters": [
            ("all", "All"),
            ("learners", "Learners"),
            ("mentors", "Mentors"),
            ("removed", "Removed"),
        ],
        "roles": Membership.Role.choices,
    }


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff: the member list, add-by-email and the CSV upload."""
    cohort = _managed_cohort(request, slug)
    add_form = MemberAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and add_form.is_valid():
        try:
            membership = services.membership_add(
                actor=request.user, cohort=cohort, **add_form.cleaned_data
            )
        except ApplicationError as error:
            _form_error(add_form, error)
        else:
            messages.success(
                request,
                f"{membership.user.email} added as {membership.get_role_display().lower()}.",
            )
            return redirect("cohorts:members", slug=cohort.slug)
    context = _members_context(request, cohort)
    context.update({"add_form": add_form, "upload_form": EnrollmentUploadForm()})
    template = "cohorts/members.html"
    if request.htmx and request.method == "GET":
        template += "#members-table"
    status = 400 if request.method == "POST" else 200
    return _htmx_vary(render(request, template, context, status=status))


def _membership(cohort: Cohort, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, cohort=cohort
    )


@login_required
@require_POST
def member_deactivate(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    membership = _membership(cohort, membership_id)
    services.membership_deactivate(actor=request.user, membership=membership)
    messages.success(request, f"{membership.user.email} removed from the cohort. Their work stays.")
    return redirect(_back_to_members(request, cohort))


@login_required
@require_POST
def member_reactivate(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    membership = _membership(cohort, membership_id)
    services.membership_reactivate(actor=request.user, membership=membership)
    messages.success(request, f"{membership.user.email} is a member again.")
    return redirect(_back_to_members(request, cohort))


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    membership = _membership(cohort, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose learner or mentor.")
    else:
        services.membership_change_role(
            actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
        messages.success(request, f"{membership.user.email} is now a {form.cleaned_data['role']}.")
    return redirect(_back_to_members(request, cohort))


def _back_to_members(request: HttpRequest, cohort: Cohort) -> str:
    url = reverse("cohorts:members", kwargs={"slug": cohort.slug})
    query = request.POST.get("return_query", "")
    # Only our own filter parameters go back into the address.
    if query and all(part.split("=")[0] in {"show", "q", "page"} for part in query.split("&")):
        url += "?" + query
    return url


@login_required
@require_POST
def enrollment_upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff: parse an uploaded CSV and show what applying it would do."""
    cohort = _managed_cohort(request, slug)
    form = EnrollmentUploadForm(request.POST, request.FILES)
    preview = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # The size is checked before a single byte is read.
            services.enrollment_check_size(upload.size)
            preview = services.enrollment_preview(
                actor=request.user, cohort=cohort, file=upload.read(), filename=upload.name
            )
        except ApplicationError as error:
            _form_error(form, error)
    if preview is not None and preview.upload is not None:
        return redirect("cohorts:enrollment", slug=cohort.slug, upload_id=preview.upload.pk)
    context = _members_context(request, cohort)
    context.update({"add_form": MemberAddForm(), "upload_form": form, "preview": preview})
    return render(request, "cohorts/members.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def enrollment(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    """Staff: the preview of an uploaded CSV (GET) and applying it (POST)."""
    cohort = _managed_cohort(request, slug)
    upload = get_object_or_404(EnrollmentUpload, pk=upload_id, cohort=cohort)
    if request.method == "POST":
        if upload.applied_at is not None:
            messages.info(request, "This file was already applied.")
            return redirect("cohorts:members", slug=cohort.slug)
        try:
            result = services.enrollment_apply(actor=request.user, upload=upload)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"Enrollment applied: {result['added']} added ({result['created_accounts']} new "
                f"accounts invited), {result['reactivated']} restored, {result['role_changed']} "
                f"changed role, {result['unchanged']} unchanged.",
            )
            return redirect("cohorts:members", slug=cohort.slug)
    preview = services.enrollment_preview_of(upload)
    return render(request, "cohorts/enrollment.html", {"cohort": cohort, "preview": preview})


# --- Schedule ----------------------------------------------------------------------------


@login_required
@require_safe
def schedule(request: HttpRequest, slug: str) -> HttpResponse:
    """The cohort's weekly schedule. Learners see their own extensions and future labs by
    title only; mentors can grant extensions; staff can override dates.

    A learner's view (most visits, with nothing to manage) is cached whole under
    `learner_schedule_stamp`, the viewer's memberships and the bell, until the next release
    or due time changes what it shows."""
    cohort = _visible_cohort(request, slug)
    user = request.user
    now = timezone.now()
    if (
        is_learner_of(user, cohort)
        and not can_grant_extension(user, cohort)
        and not can_manage_cohort(user, cohort)
    ):
        stamp = change_stamp(
            *selectors.learner_schedule_stamp(cohort=cohort, learner=user),
            *selectors.membership_roles_stamp(user),
            *navigation_sources(user),
        )
        facts = (cohort.pk, cohort.updated_at, cohort.track_id, cohort.track.updated_at)
        return cached_page(
            request,
            name="cohort-schedule",
            parts=(facts, stamp),
            now=now,
            max_age=SCHEDULE_MAX_AGE,
            build=lambda: _schedule_page(request, cohort, now=now),
        )
    return _schedule_page(request, cohort, now=now)[0]


# Everything the learner's schedule shows is in its key or its end of validity; this bounds
# what neither can name (a deploy changing Python-side labels).
SCHEDULE_MAX_AGE = 3600


def _schedule_page(request: HttpRequest, cohort: Cohort, *, now) -> tuple:
    """The page and the next instant it changes by itself (a release, a due time, the start)."""
    user = request.user
    is_learner = is_learner_of(user, cohort)
    entries = selectors.cohort_schedule(
        cohort=cohort, learner=user if is_learner else None, now=now
    )
    may_grant = can_grant_extension(user, cohort)
    timing = selectors.cohort_timing(cohort, now)
    context = {
        "cohort": cohort,
        "entries": entries,
        "viewer_tz": viewer_zone(user),
        "cohort_tz": selectors.cohort_zone(cohort),
        "timing": timing,
        "is_learner": is_learner,
        "may_manage": can_manage_cohort(user, cohort),
        "may_grant": may_grant,
        "full": can_view_full_schedule(user, cohort),
        "now": now,
        "announcements": selectors.latest_announcements(cohort),
    }
    # Labs kept on an older revision until the cohort ends (curriculum updates held back).
    pins = selectors.cohort_pins(cohort)
    context["pins"] = pins
    pin_by_lab = {row.lab.pk: row for row in pins}
    context["schedule_rows"] = _schedule_rows(
        cohort, entries, pin_by_lab, context["viewer_tz"], link_all=context["full"]
    )
    context["ended"] = selectors.cohort_has_ended(cohort)
    if may_grant:
        context["extensions"] = list(selectors.cohort_extensions(cohort))
        context["extension_form"] = _extension_form(cohort)
        context["shifts"] = list(selectors.cohort_schedule_shifts(cohort)[:5])
    instants = [timing.starts_at]
    for entry in entries:
        instants += [entry.release_at, entry.due_at, entry.extension_due_at]
    response = render(request, "cohorts/schedule.html", context)
    return response, next_instant_after(now, instants)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One line of the schedule with its times and link written out, as the template's
    `date` filters and `{% url %}` would write them: a track has a few dozen labs and each
    line had four dates and a link to compose, which was most of drawing the page."""

    entry: selectors.ScheduleEntry
    pin: selectors.PinRow | None
    lab_url: str  # "" while the lab is shown by title only
    release: tuple[str, str]  # (ISO 8601, as shown) in the viewer's zone
    due: tuple[str, str]
    extension_due: tuple[str, str] | None


SHOWN_TIME_FORMAT = "D j M Y, H:i"


@functools.lru_cache(maxsize=8192)
def _shown_time(value: dt.datetime, zone: ZoneInfo, language: str | None) -> tuple[str, str]:
    """`value|date:'c'` and `value|date:SHOWN_TIME_FORMAT` under `{% timezone zone %}`.
    Memoized: a cohort's learners share its dates (`language` is in the key because
    day and month names are translated)."""
    local = value.astimezone(zone)
    return local.isoformat(), dateformat.format(local, SHOWN_TIME_FORMAT)


@functools.lru_cache(maxsize=8192)
def _lab_page_url(script_prefix: str, track_slug: str, lab_slug: str) -> str:
    return reverse("curriculum:lab", args=[track_slug, lab_slug])


def _schedule_rows(
    cohort: Cohort, entries: list, pin_by_lab: dict, zone: ZoneInfo, *, link_all: bool
) -> list[ScheduleRow]:
    language = get_language()
    prefix = get_script_prefix()
    rows = []
    for entry in entries:
        extension_due = entry.extension_due_at
        rows.append(
            ScheduleRow(
                entry=entry,
                pin=pin_by_lab.get(entry.lab.pk),
                lab_url=(
                    _lab_page_url(prefix, cohort.track.slug, entry.lab.slug)
                    if entry.is_released or link_all
                    else ""
                ),
                release=_shown_time(entry.release_at, zone, language),
                due=_shown_time(entry.due_at, zone, language),
                extension_due=(
                    _shown_time(extension_due, zone, language) if extension_due else None
                ),
            )
        )
    return rows


@login_required
@require_POST
def pinning(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff: keep the cohort on its current lab revisions until it ends ("keep"), or end
    the pins ("apply": all, or one lab's with `lab`)."""
    cohort = _managed_cohort(request, slug)
    url = reverse("cohorts:schedule", kwargs={"slug": cohort.slug}) + "#pinning"
    choice = request.POST.get("choice", "")
    lab_id = parse_id(request.POST.get("lab"))
    try:
        if lab_id is not None and choice == services.APPLY:
            lab = get_object_or_404(Lab, pk=lab_id, track_id=cohort.track_id)
            ended = services.cohort_pins_end(actor=request.user, cohort=cohort, lab=lab)
            messages.success(
                request,
                f"Week {lab.week} now follows the latest revision."
                if ended
                else f"Week {lab.week} was not kept on an older revision.",
            )
        else:
            count = services.cohort_set_pinning(actor=request.user, cohort=cohort, choice=choice)
            if choice == services.KEEP:
                messages.success(
                    request,
                    f"{cohort.name} stays on its current revisions until it ends"
                    f" ({count} more lab{'s' if count != 1 else ''} kept).",
                )
            else:
                messages.success(
                    request, f"{cohort.name} now follows the latest revisions of every lab."
                )
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(url)


def _extension_form(cohort: Cohort, data=None) -> ExtensionForm:
    from accounts.models import User

    learners = User.objects.filter(
        memberships__cohort=cohort,
        memberships__role=Membership.Role.LEARNER,
        memberships__active=True,
    ).order_by("email")
    return ExtensionForm(data, learners=learners, labs=selectors.cohort_labs(cohort))


@login_required
@require_POST
def override_set(request: HttpRequest, slug: str, lab_id: int) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    lab = get_object_or_404(Lab, pk=lab_id, track_id=cohort.track_id)
    url = reverse("cohorts:schedule", kwargs={"slug": cohort.slug}) + f"#lab-{lab.pk}"
    if request.POST.get("action") == "clear":
        services.schedule_override_clear(actor=request.user, cohort=cohort, lab=lab)
        messages.success(request, f"Week {lab.week} is back on its default dates.")
        return redirect(url)
    # Times typed in the form are in the viewer's time zone, as the page shows them.
    with timezone.override(viewer_zone(request.user)):
        form = OverrideForm(request.POST)
        valid = form.is_valid()
    if not valid:
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"Week {lab.week}: {errors}")
        return redirect(url)
    try:
        services.schedule_override_set(
            actor=request.user, cohort=cohort, lab=lab, **form.cleaned_data
        )
    except ApplicationError as error:
        messages.error(request, f"Week {lab.week}: {error.message}")
    else:
        messages.success(request, f"Week {lab.week} dates saved.")
    return redirect(url)


@login_required
@require_POST
def extension_grant(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = _visible_cohort(request, slug)
    if not can_grant_extension(request.user, cohort):
        raise PermissionDenied
    with timezone.override(viewer_zone(request.user)):
        form = _extension_form(cohort, request.POST)
        valid = form.is_valid()
    if valid:
        try:
            services.extension_grant(actor=request.user, cohort=cohort, **form.cleaned_data)
        except ApplicationError as error:
            _form_error(form, error)
        else:
            data = form.cleaned_data
            messages.success(
                request,
                f"Extension granted to {data['learner'].email} for Week {data['lab'].week}.",
            )
            return redirect(
                reverse("cohorts:schedule", kwargs={"slug": cohort.slug}) + "#extensions"
            )
    user = request.user
    context = {
        "cohort": cohort,
        "entries": selectors.cohort_schedule(cohort=cohort),
        "viewer_tz": viewer_zone(user),
        "cohort_tz": selectors.cohort_zone(cohort),
        "timing": selectors.cohort_timing(cohort),
        "is_learner": False,
        "may_manage": can_manage_cohort(user, cohort),
        "may_grant": True,
        "full": True,
        "now": timezone.now(),
        "extensions": list(selectors.cohort_extensions(cohort)),
        "extension_form": form,
    }
    return render(request, "cohorts/schedule.html", context, status=400)


@login_required
@require_POST
def extension_revoke(request: HttpRequest, slug: str, extension_id: int) -> HttpResponse:
    cohort = _visible_cohort(request, slug)
    if not can_grant_extension(request.user, cohort):
        raise PermissionDenied
    extension = get_object_or_404(Extension, pk=extension_id, cohort=cohort)
    services.extension_revoke(actor=request.user, extension=extension)
    messages.success(request, "Extension removed.")
    return redirect(reverse("cohorts:schedule", kwargs={"slug": cohort.slug}) + "#extensions")


# --- Join links --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def join_links(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    with timezone.override(viewer_zone(request.user)):
        form = JoinLinkForm(request.POST if request.method == "POST" else None)
        valid = request.method == "POST" and form.is_valid()
    if valid:
        try:
            services.join_link_create(
                actor=request.user, cohort=cohort, expires_at=form.cleaned_data["expires_at"]
            )
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Join link created. Copy it from the list below.")
            return redirect("cohorts:links", slug=cohort.slug)
    links = [
        {
            "link": link,
            "url": settings.SITE_URL + reverse("cohorts:join", args=[link.token]),
            "usable": link.is_usable(),
            "expired": link.expires_at is not None and link.expires_at <= timezone.now(),
        }
        for link in selectors.cohort_join_links(cohort)
    ]
    return render(
        request,
        "cohorts/links.html",
        {"cohort": cohort, "links": links, "form": form, "viewer_tz": viewer_zone(request.user)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def join_link_toggle(request: HttpRequest, slug: str, link_id: int) -> HttpResponse:
    cohort = _managed_cohort(request, slug)
    link = get_object_or_404(JoinLink, pk=link_id, cohort=cohort)
    try:
        if request.POST.get("action") == "enable":
            services.join_link_enable(actor=request.user, link=link)
            messages.success(request, "Join link turned on.")
        else:
            services.join_link_disable(actor=request.user, link=link)
            messages.success(request, "Join link turned off. Nobody can join with it now.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("cohorts:links", slug=cohort.slug)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """Join landing: signed-in users join with one click; others sign in or sign up here."""
    link = selectors.join_link_by_token(token)
    problem = None
    try:
        services.join_link_check(link)
    except ApplicationError as error:
        problem = error
    user = request.user
    membership = None
    if link is not None and user.is_authenticated:
        membership = Membership.objects.filter(user=user, cohort=link.cohort).first()
    signup_form = JoinSignupForm(
        request.POST if request.method == "POST" and not user.is_authenticated else None
    )
    if request.method == "POST" and problem is None:
        if user.is_authenticated:
            try:
                result = services.join_cohort_via_link(user=user, token=token)
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect("cohorts:join", token=token)
            if result.joined:
                messages.success(request, f"Welcome to {link.cohort.name}!")
            else:
                messages.info(request, f"You are already a member of {link.cohort.name}.")
            return redirect("cohorts:schedule", slug=link.cohort.slug)
        if signup_form.is_valid():
            data = signup_form.cleaned_data
            try:
                new_user, _ = services.join_signup(
                    token=token,
                    email=data["email"],
                    name=data["name"],
                    password=data["password1"],
                    time_zone=data["time_zone"] or "UTC",
                )
            except ApplicationError as error:
                field = error.extra.get("field")
                signup_form.add_error(
                    "password1"
                    if field == "password"
                    else field
                    if field in signup_form.fields
                    else None,
                    error.message,
                )
            else:
                login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome to {link.cohort.name}!")
                return redirect("cohorts:schedule", slug=link.cohort.slug)
    status = 200
    if problem is not None:
        status = 404 if link is None else 410
    elif request.method == "POST":
        status = 400
    cohort = link.cohort if link is not None and problem is None else None
    return render(
        request,
        "cohorts/join.html",
        {
            "link": link,
            "cohort": cohort,
            "timing": selectors.cohort_timing(cohort) if cohort is not None else None,
            "problem": problem,
            "membership": membership,
            "signup_form": signup_form,
            "login_url": f"{reverse('login')}?next={reverse('cohorts:join', args=[token])}",
        },
        status=status,
    )
