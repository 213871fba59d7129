"""Learner, mentor and staff home pages. Read-only: every write is a link to its own page.

htmx: tab switches, sorting and pagination swap a named partial (`page.html#partial`) when
the request comes from htmx; the same URLs render the whole page without JavaScript. Each
such view varies on HX-Request so caches keep the two apart.
"""

import dataclasses
import datetime as dt
import functools
import math
from html import escape as html_escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from cohorts.models import Cohort, Membership
from cohorts.permissions import can_view_cohort, can_view_cohort_members
from cohorts.selectors import active_membership_roles, cohort_list, cohort_timing, user_roles
from core import fragments
from core.converters import parse_id
from core.exceptions import ApplicationError
from submissions.away_views import away_context
from submissions.forms import AwayForm
from submissions.services import mentor_loads
from submissions.wait import capacity_forecast

from . import charts, exports, links, mentor_feedback, selectors, staff_overview
from .calendar import feed_ical
from .models import CalendarFeed
from .services import calendar_feed_create, calendar_feed_revoke, feed_token_hash

MATRIX_PAGE_SIZE = 50
STAFF_PAGE_SIZE = 20


def _user_zone(user) -> ZoneInfo:
    """The reader's time zone for dates on the page (UTC when unset or unknown)."""
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _render(request: HttpRequest, template: str, context: dict, partial: str) -> HttpResponse:
    context.setdefault("user_zone", _user_zone(request.user))
    name = f"{template}#{partial}" if request.htmx else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- learner ------------------------------------------------------------------------------


# The learner's page changes when their work, their cohorts' schedules, the curriculum or
# their notifications change (all in its key) or when a date passes (its end of
# validity); this bounds the rest (a reviewer renaming themselves).
LEARNER_HOME_MAX_AGE = 600


@login_required
@require_GET
def learner_home(request: HttpRequest) -> HttpResponse:
    """The learner's home. The whole page is cached per learner under `learner_home_stamp`
    (one query), so a repeat visit costs the session, the user and that query."""
    now = timezone.now()
    stamp = selectors.learner_home_stamp(request.user)
    if stamp is None:  # in no cohort: a cheap page
        return _learner_home(request, now=now, cohorts=[])[0]
    # The cohort the page opens on, and every tab's label, depend on the stamp and the
    # clock (a cohort starting): both are in the key.
    cohorts = selectors.learner_home_cohorts(stamp, now)
    return fragments.cached_page(
        request,
        name="learner-home",
        parts=(_chosen_cohort(request, cohorts), cohorts, stamp),
        now=now,
        max_age=LEARNER_HOME_MAX_AGE,
        build=lambda: _learner_home(request, now=now, cohorts=cohorts),
    )


def _chosen_cohort(request: HttpRequest, cohorts: list) -> int | None:
    """The cohort asked for (?cohort=), else the one with something to do."""
    wanted = parse_id(request.GET.get("cohort"))
    if any(c.cohort_id == wanted for c in cohorts):
        return wanted
    return cohorts[0].cohort_id if cohorts else None


def _learner_home(
    request: HttpRequest, *, now, cohorts: list
) -> tuple[HttpResponse, dt.datetime | None]:
    """The page and the next instant it changes by itself (a release, a due time)."""
    memberships = selectors.learner_memberships(request.user)  # tabs: newest cohort first
    facts = {c.cohort_id: c for c in cohorts}
    for membership in memberships:
        # The stamp's facts, which keyed this page; a membership it has not seen yet (a
        # join between the two queries) gets its timing only.
        membership.home = facts.get(membership.cohort_id) or selectors.HomeCohort.of(
            membership.cohort, now
        )
    chosen = _chosen_cohort(request, cohorts)
    current = next((m for m in memberships if m.cohort_id == chosen), None)
    if current is None and memberships:
        current = memberships[0]
    zone = _user_zone(request.user)
    context = {"memberships": memberships, "current": None, "user_zone": zone}
    ends_at = None
    if current is not None:
        current.user = request.user
        overview = selectors.learner_cohort(membership=current, now=now)
        language = get_language()
        for row in overview.rows:
            row.url = (
                links.lab_url(cohort=current.cohort, lab=row.lab) if row.entry.is_released else ""
            )
            # As `|date:'c'`, `|date:"D j M, H:i e"` and `|date:"j M"` under the page's
            # {% timezone %} would write them, once per row rather than per filter.
            row.due_iso, row.due_shown = _local_time(
                row.entry.effective_due_at, zone, language, "D j M, H:i e"
            )
            row.opens_shown = _local_time(row.entry.release_at, zone, language, "j M")[1]
        feedback = selectors.recent_feedback(learner=request.user, cohort=current.cohort)
        for review in feedback:
            review.url = links.lab_url(cohort=current.cohort, lab=review.submission.lab)
        context.update(
            current=overview,
            feedback=feedback,
            burn_up_svg=charts.burn_up_svg(
                overview.burn_up, chart_id=f"burnup-{current.cohort_id}"
            ),
            now=now,
        )
        ends_at = selectors.learner_panel_ends_at(overview, now)
    return _render(request, LEARNER_HOME, context, "cohort-panel"), ends_at


LEARNER_HOME = "dashboards/learner_home.html"


@functools.lru_cache(maxsize=8192)
def _local_time(value: dt.datetime, zone: ZoneInfo, language: str | None, shown: str) -> tuple:
    """`value` in `zone` as ISO 8601 and in the `shown` date format. Memoized: a cohort's
    learners share its due and release times (`language` is in the key because day and
    month names are translated)."""
    local = value.astimezone(zone)
    return local.isoformat(), dateformat.format(local, shown)


# --- mentor -------------------------------------------------------------------------------

SORTS = {
    "name": (lambda row: (row.learner.display_name.lower(), row.learner.email), False),
    "progress": (lambda row: (row.percent, row.approved, row.learner.email), True),
    "behind": (lambda row: (row.behind, row.learner.email), True),
}


def _matrix_cells_html(row, columns: list[str], review_url) -> SafeString:
    """One row's heading, figures and cells. Built here rather than in the template: a 100-learner cohort has
    thousands of cells, and the template engine (or format_html) costs ~10x more per cell.
    Safe by construction: every text is escaped (the standard library's `html.escape`,
    which Django's `escape` wraps, without its lazy-string wrapper per call; escaping parts
    apart is escaping them joined), the class and symbol come from a fixed table, and
    `review_url` (`links.review_url_filler`) puts an integer id into an escaped pattern.
    `columns`: `_matrix_columns`. The title reads as `selectors.MatrixCell.title`."""
    name = html_escape(row.learner.display_name)
    # As the template wrote them: figures are small integers (no thousands separator).
    parts = [
        f'<th scope="row"><a href="{html_escape(row.history_url)}">{name}</a></th>\n'
        f'            <td class="num">{row.approved}/{row.released}</td>\n'
        f'            <td class="num">{row.behind}</td>\n            '
    ]
    for column, cell in zip(columns, row.progress.cells, strict=True):
        status = selectors.lab_status(
            state=cell.state, is_released=cell.is_released, is_overdue=cell.is_overdue
        )
        label, symbol = _CELL_TEXTS[status]
        title = f"{name}{column}{label}"
        if cell.is_overdue and status != "late":
            title += " (overdue)"
        if cell.handed_in_late:
            title += " (handed in late)"
        shown = f'{symbol}<span class="visually-hidden"> {title}</span>'
        url = review_url(cell.submission_id) if cell.iteration_count else ""
        if url:
            inner = f'<a href="{url}" title="{title}">{shown}</a>'
        else:
            inner = f'<span title="{title}">{shown}</span>'
        parts.append(f'<td class="cell cell-{status}">{inner}</td>')
    return SafeString("".join(parts))


# Each status's label and symbol, escaped once (the status keys are plain words).
_CELL_TEXTS = {
    key: (html_escape(label), html_escape(symbol))
    for key, (label, symbol) in selectors.STATUS.items()
}


def _matrix_columns(entries) -> list[str]:
    """The middle of each column's cell titles: " · Week <n> · <lab title>: ", escaped."""
    return [html_escape(f" · Week {entry.week} · {entry.lab.title}: ") for entry in entries]


@login_required
@require_GET
def mentor_home(request: HttpRequest) -> HttpResponse:
    """The mentor's home: the chosen cohort's matrix, its feedback table and one's own away
    mode. Cached whole per viewer: a repeat visit costs the session, the user, the cohorts
    (which also answer the navigation's roles), one stamp query and the cache reads."""
    user = request.user
    cohorts = selectors.mentor_cohorts(user)
    if not cohorts and not user.is_staff:
        # Learners and others: nothing to mentor here.
        return render(request, MENTOR_HOME, {"cohorts": [], "current": None})
    wanted = parse_id(request.GET.get("cohort"))
    current = next((c for c in cohorts if c.pk == wanted), cohorts[0] if cohorts else None)
    is_mentor = user_roles(user).is_mentor
    now = timezone.now()
    if current is None:  # staff, and no cohort under way: a cheap page
        return _mentor_home(request, cohorts=cohorts, is_mentor=is_mentor, now=now)[0]
    sort = request.GET.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    known = mentor_feedback.known_reviews(current)
    stamp = selectors.mentor_home_stamp(
        user, current, reviewer_ids=known.reviewer_ids if known else (), now=now
    )
    reviews = mentor_feedback.current_reviews(current, submissions=stamp.submissions, known=known)
    if known is None or reviews.reviewer_ids != known.reviewer_ids:
        # Someone reviewed for the first time: their name joins the stamp.
        stamp = dataclasses.replace(
            stamp, feedback=mentor_feedback.feedback_stamp(current, reviews.reviewer_ids)
        )
    # A page number past either end is the first or last page, under that page's key.
    pages = max(1, math.ceil(selectors.matrix_stamp_learners(stamp.matrix) / MATRIX_PAGE_SIZE))
    page_number = min(max(parse_id(request.GET.get("page")) or 1, 1), pages)
    zone = _user_zone(user)
    # Away mode: one's own, loaded with the user; the date field's earliest day is today.
    away = (user.away_until, user.away_note, timezone.localdate()) if is_mentor else None
    matrix = MatrixChoice(cohort=current, sort=sort, page_number=page_number, zone=zone)
    return fragments.cached_page(
        request,
        name="mentor-home",
        parts=(
            # The tabs, the chosen cohort and its track: every save sets their change times.
            tuple((c.pk, c.updated_at, c.track_id, c.track.updated_at) for c in cohorts),
            tuple(sorted(active_membership_roles(user).items())),
            current.pk,
            sort,
            page_number,
            str(zone),
            away,
            stamp.shown,
            reviews.count,
            reviews.last_id,
        ),
        now=now,
        max_age=MATRIX_MAX_AGE,
        build=lambda: _mentor_home(
            request,
            cohorts=cohorts,
            is_mentor=is_mentor,
            now=now,
            matrix=matrix,
            stamp=stamp,
            reviews=reviews,
        ),
    )


@dataclasses.dataclass(frozen=True)
class MatrixChoice:
    """The cohort, sort order, page and time zone of a matrix as asked for, validated."""

    cohort: Cohort
    sort: str
    page_number: int
    zone: ZoneInfo


def _mentor_home(
    request: HttpRequest, *, cohorts, is_mentor, now, matrix=None, stamp=None, reviews=None
) -> tuple[HttpResponse, dt.datetime | None]:
    """The page and the next instant it changes by itself (a release or due time, the end
    of one's away mode)."""
    user = request.user
    context: dict = {
        "cohorts": cohorts,
        "current": matrix.cohort if matrix else None,
        "queue_url": links.queue_url(),
        "export_kinds": exports.LINKS,
    }
    instants = []
    if is_mentor:
        # Away mode for oneself (submissions/away.html#away-card).
        context.update(away_context(viewer=user, mentor=user, next_url=reverse("dashboard:mentor")))
        instants.append(user.away_until)
    if matrix is not None:
        # Shared by the cohort's mentors: after a write the first one draws it.
        context["matrix_html"], matrix_ends_at = _shared_fragment(
            name="mentor-matrix",
            parts=(matrix.sort, matrix.page_number, str(matrix.zone), stamp.matrix),
            now=now,
            max_age=MATRIX_MAX_AGE,
            build=lambda: _mentor_matrix(request, choice=matrix, now=now),
        )
        instants.append(matrix_ends_at)
        context["mentor_feedback_html"] = _mentor_feedback_html(
            cohort=matrix.cohort, now=now, reviews=reviews, stamp=stamp.feedback
        )
    response = _render(request, MENTOR_HOME, context, "matrix-panel")
    return response, fragments.next_instant_after(now, instants)


def _shared_fragment(*, name, parts, now, max_age, build) -> tuple[SafeString, dt.datetime | None]:
    """A fragment without forms kept in the cache with its end of validity, which a page
    cached around it needs for its own (`fragments.cached_fragment` keeps it to itself).
    Keyed like a fragment (`fragments.fragment_key`: the templates are in the key)."""
    key = fragments.fragment_key(name=name, parts=parts)
    # The fragments' cache (a Redis outage is a miss there: core/cache.py).
    hit = fragments.cache.get(key)
    if hit is not None and now < hit[2]:
        return SafeString(hit[0]), hit[1]
    html, ends_at = build()
    valid_until = now + dt.timedelta(seconds=max_age)
    if ends_at is not None and ends_at < valid_until:
        valid_until = ends_at
    timeout = math.ceil((valid_until - now).total_seconds())
    if timeout > 0:
        fragments.cache.set(key, (str(html), ends_at, valid_until), timeout)
    return SafeString(html), ends_at


# The feedback table changes only with the reviews and acknowledgements its key names.
FEEDBACK_MAX_AGE = 600


def _mentor_feedback_html(
    *, cohort: Cohort, now, reviews: mentor_feedback.CohortReviews, stamp: tuple
) -> SafeString:
    """The per-mentor feedback table of `cohort`, cached under its reviews (count and
    newest, `CohortReviews`) and `stamp` (`mentor_feedback.feedback_stamp` of their
    reviewers): a comment, which saves its submission, leaves it as it is."""
    return fragments.cached_fragment(
        name="mentor-feedback",
        parts=(cohort.pk, reviews.count, reviews.last_id, stamp),
        now=now,
        max_age=FEEDBACK_MAX_AGE,
        build=lambda: (
            render_to_string(
                "dashboards/_mentor_feedback.html",
                {"mentor_feedback": selectors.mentor_feedback(cohort=cohort)},
            ),
            None,
        ),
    )


MENTOR_HOME = "dashboards/mentor_home.html"
# Everything the matrix shows is in its key (`selectors.matrix_shown`) or has an instant
# at which it changes (`selectors.matrix_ends_at`, "no activity for N days" included); this
# only bounds what neither names (Python-side labels changed by a deploy).
MATRIX_MAX_AGE = 600


def _mentor_matrix(request, *, choice: MatrixChoice, now):
    """One page of the cohort's matrix and its at-risk list, rendered."""
    cohort, sort, page_number, zone = choice.cohort, choice.sort, choice.page_number, choice.zone
    matrix = selectors.cohort_matrix(cohort=cohort, now=now)
    key, descending = SORTS[sort]
    rows = sorted(matrix.rows, key=key, reverse=descending)
    page = Paginator(rows, MATRIX_PAGE_SIZE).get_page(page_number)
    review_url = links.review_url_filler()
    history_url = links.url_filler("dashboard:learner-history", [("cohort_id", "user_id")])
    at_risk = matrix.at_risk
    columns = _matrix_columns(matrix.entries)
    for row in page.object_list:
        row.history_url = history_url(cohort.pk, row.learner.pk)
        row.cells_html = _matrix_cells_html(row, columns, review_url)
    for row, _reasons in at_risk:
        row.history_url = history_url(cohort.pk, row.learner.pk)
    context = {
        "current": cohort,
        "matrix": matrix,
        "page": page,
        "sort": sort,
        "sort_choices": [("name", "Name"), ("progress", "Progress"), ("behind", "Labs behind")],
        "at_risk": at_risk,
        "legend": [(key, *selectors.STATUS[key]) for key in selectors.LEGEND_ORDER],
        "user_zone": zone,
    }
    html = render_to_string(f"{MENTOR_HOME}#matrix-body", context, request=request)
    return html, selectors.matrix_ends_at(matrix)


@login_required
@require_GET
def learner_history(request: HttpRequest, cohort_id: int, user_id: int) -> HttpResponse:
    cohort = get_object_or_404(Cohort.objects.select_related("track"), pk=cohort_id)
    if not can_view_cohort_members(request.user, cohort):
        raise Http404
    membership = get_object_or_404(
        Membership.objects.select_related("user"),
        cohort=cohort,
        user_id=user_id,
        role=Membership.Role.LEARNER,
    )
    now = timezone.now()
    overview = selectors.learner_cohort(membership=membership, now=now)
    for row in overview.rows:
        row.url = (
            links.review_url(row.submission.pk)
            if row.submission and row.submission.iteration_count
            else ""
        )
    context = {
        "cohort": cohort,
        "learner": membership.user,
        "membership": membership,
        "overview": overview,
        "reviews": selectors.learner_history(cohort=cohort, learner=membership.user),
        "iterations": selectors.learner_iterations(cohort=cohort, learner=membership.user),
        "burn_up_svg": charts.burn_up_svg(overview.burn_up, chart_id="burnup-history"),
        "now": now,
        "user_zone": _user_zone(request.user),
    }
    return render(request, "dashboards/learner_history.html", context)


# --- exports ------------------------------------------------------------------------------


@login_required
@require_GET
def cohort_export(request: HttpRequest, cohort_id: int, kind: str) -> HttpResponse:
    """A cohort's progress, marks or turnaround as ?format=csv (default) or xlsx: staff and
    the cohort's mentors. Its learners are refused (403); anyone else finds nothing (404)."""
    if kind not in exports.KINDS:
        raise Http404
    cohort = get_object_or_404(Cohort, pk=cohort_id)
    if not can_view_cohort_members(request.user, cohort):
        if can_view_cohort(request.user, cohort):
            raise PermissionDenied
        raise Http404
    fmt = request.GET.get("format", "csv")
    if fmt not in exports.FORMATS:
        return HttpResponse(
            "Unknown format: use csv or xlsx.", status=400, content_type="text/plain"
        )
    return exports.export_response(cohort=cohort, kind=kind, fmt=fmt, zone=_user_zone(request.user))


# --- staff --------------------------------------------------------------------------------


@staff_member_required
@require_GET
def staff_home(request: HttpRequest) -> HttpResponse:
    """Every cohort (a page of STAFF_PAGE_SIZE) with its review figures, its mentors' and
    its learners at risk (`dashboards.staff_overview`); each figure links to the queue or
    the cohort page that lists the rows behind it. Not cached: a fixed number of queries."""
    now = timezone.now()
    page = Paginator(cohort_list(), STAFF_PAGE_SIZE).get_page(parse_id(request.GET.get("page")))
    rows = staff_overview.staff_overview(cohorts=list(page.object_list), now=now)
    for row in rows:
        _overview_links(row)
    context = {
        "page": page,
        "rows": rows,
        "now": now,
        "since": now - staff_overview.WINDOW,
        "window_days": staff_overview.WINDOW.days,
        "has_mentors": any(row.mentors for row in rows),
    }
    return _render(request, "dashboards/staff_home.html", context, "cohort-table")


def _overview_links(row) -> None:
    """The URL behind each figure: the review queue filtered to exactly the rows counted
    (all open work of the cohort, its overdue work, one mentor's open work), and the cohort
    page's turnaround and at-risk lists."""
    cohort_id = row.cohort.pk
    cohort_page = reverse("dashboard:staff-cohort", args=[cohort_id])
    row.links = {
        "open": links.queue_url(tab="all", cohort=cohort_id),
        "overdue": links.queue_url(tab="overdue", cohort=cohort_id),
        "turnaround": cohort_page + "#turnaround-heading",
        "at_risk": cohort_page + "#risk-heading",
    }
    for mentor_row in row.mentors:
        mentor_row.links = {
            "open": links.queue_url(tab="all", cohort=cohort_id, mentor=mentor_row.mentor.pk),
            "overdue": links.queue_url(
                tab="overdue", cohort=cohort_id, mentor=mentor_row.mentor.pk
            ),
            "turnaround": cohort_page + "#mentor-feedback-heading",
        }


@staff_member_required
@require_GET
def staff_cohort(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = get_object_or_404(cohort_list(), pk=cohort_id)
    zone = _user_zone(request.user)
    now = timezone.now()
    matrix_stamp = selectors.cohort_matrix_stamp(cohort, now=now)
    overview_html = fragments.cached_fragment(
        name="staff-cohort",
        parts=(cohort.learner_count, cohort.mentor_count, str(zone), matrix_stamp),
        now=now,
        max_age=MATRIX_MAX_AGE,
        build=lambda: _staff_cohort_overview(request, cohort=cohort, zone=zone, now=now),
    )
    context = {
        "cohort": cohort,
        "timing": cohort_timing(cohort, now),
        "overview_html": overview_html,
        "user_zone": zone,
        # Not in the cached fragment: mentor capacities and dates change without submissions.
        "capacity": capacity_forecast(cohort=cohort, now=now),
        "export_kinds": exports.LINKS,
        # Its own fragment: an acknowledgement changes it without touching a submission.
        "mentor_feedback_html": _staff_feedback_html(cohort, now=now, matrix_stamp=matrix_stamp),
        # Not cached: away mode and open reviews per mentor, with the away form of each.
        "mentor_rows": _mentor_rows(request, cohort),
    }
    return render(request, STAFF_COHORT, context)


def _staff_feedback_html(cohort: Cohort, *, now, matrix_stamp: tuple) -> SafeString:
    """The feedback table as on the mentor home (the cached reviews, then one query)."""
    reviews = mentor_feedback.current_reviews(
        cohort,
        submissions=selectors.matrix_submissions(matrix_stamp),
        known=mentor_feedback.known_reviews(cohort),
    )
    stamp = mentor_feedback.feedback_stamp(cohort, reviews.reviewer_ids)
    return _mentor_feedback_html(cohort=cohort, now=now, reviews=reviews, stamp=stamp)


def _mentor_rows(request, cohort) -> list[dict]:
    """Each active mentor's open reviews, capacity and away mode (two queries)."""
    back = reverse("dashboard:staff-cohort", kwargs={"cohort_id": cohort.pk}) + "#mentors"
    return [
        {
            "load": load,
            **away_context(
                viewer=request.user, mentor=load.membership.user, form=AwayForm(), next_url=back
            ),
        }
        for load in mentor_loads(cohort)
    ]


STAFF_COHORT = "dashboards/staff_cohort.html"


def _staff_cohort_overview(request, *, cohort, zone, now):
    """Key figures, charts, turnaround and the at-risk list of one cohort, rendered."""
    matrix = selectors.cohort_matrix(cohort=cohort, now=now)
    stats = selectors.cohort_stats(cohort=cohort, now=now)
    distribution = matrix.distribution()
    bucket_labels = ["0–19 %", "20–39 %", "40–59 %", "60–79 %", "80–100 %"]
    context = {
        "cohort": cohort,
        "matrix": matrix,
        "stats": stats,
        "distribution": list(zip(bucket_labels, distribution, strict=True)),
        "distribution_svg": charts.bar_chart_svg(
            chart_id="progress-distribution",
            title="Learners by share of released labs approved",
            labels=bucket_labels,
            values=distribution,
            unit="learners",
        ),
        "per_week": [(f"W{i + 1}", n) for i, n in enumerate(stats.per_week)],
        "per_week_svg": charts.bar_chart_svg(
            chart_id="per-week",
            title="Hand-ins (iterations submitted) per week",
            labels=[f"W{i + 1}" for i in range(len(stats.per_week))],
            values=stats.per_week,
            unit="hand-ins",
            colour=charts.BAR_ALT,
        ),
        "at_risk": matrix.at_risk,
        "user_zone": zone,
    }
    html = render_to_string(f"{STAFF_COHORT}#overview", context, request=request)
    ends_at = fragments.next_instant_after(
        now, [selectors.matrix_ends_at(matrix), stats.next_change_at]
    )
    return html, ends_at


# --- calendar feed ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    feed = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).first()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create":
                feed, token = calendar_feed_create(user=request.user)
                url = request.build_absolute_uri(reverse("dashboard:calendar-feed", args=[token]))
                # The secret is shown once: kept in the session only until the next page.
                request.session["calendar_feed_url"] = url
                messages.success(
                    request, "Your calendar link is ready. Copy it now: it is shown only once."
                )
            elif action == "revoke" and feed is not None:
                calendar_feed_revoke(actor=request.user, feed=feed)
                messages.success(
                    request, "Calendar link revoked. Calendars using it stop updating."
                )
            else:
                messages.error(request, "Nothing to do.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("dashboard:calendar")
    new_url = request.session.pop("calendar_feed_url", None)
    return render(request, "dashboards/calendar.html", {"feed": feed, "new_url": new_url})


@never_cache
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCal file. The token in the URL is the only credential, so it is checked by hash."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=feed_token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if feed is None:
        raise Http404("Unknown or revoked calendar link.")
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=5):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    body = feed_ical(user=feed.user, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cohort-labs.ics"'
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
