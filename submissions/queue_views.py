"""The mentor review queue: tabs, filters, oldest first, claim/release in place; cached
whole per viewer and validated parameters (core.fragments)."""

import dataclasses
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cohorts.selectors import membership_roles_stamp, user_roles
from core import fragments
from core.converters import parse_id
from notifications.selectors import unread_stamp

from . import selectors
from .views import QUEUE_PAGE_SIZE, _render


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The mentor review queue: tabs, filters, oldest first, claim/release in place."""
    if not (request.user.is_staff or user_roles(request.user).is_mentor):
        raise PermissionDenied("The review queue is for mentors.")
    now = timezone.now()
    user = request.user
    # One query for everything the page shows: the queue, the navigation and the bell.
    asked = _queue_params(request)
    stamp = fragments.change_stamp(
        *selectors.queue_stamp(
            user=user,
            now=now,
            cohort=asked.cohort,
            lab=asked.lab,
            state=asked.state,
            mentor=asked.mentor,
        ),
        *membership_roles_stamp(user),
        unread_stamp(user),
    )
    return fragments.cached_page(
        request,
        name="review-queue",
        parts=(asked, stamp),
        now=now,
        max_age=QUEUE_MAX_AGE,
        build=lambda: _queue_page(request, now=now, asked=asked, stamp=stamp),
    )


QUEUE = "submissions/queue.html"
# "Submitted 5 minutes ago" ages by itself and names can change without touching the
# submissions; a minute bounds both. Everything else is in the key.
QUEUE_MAX_AGE = 60


@dataclasses.dataclass(frozen=True)
class QueueParams:
    """The parameters the queue understands, validated: anything else in the query string
    is ignored, and a value out of range falls back to its default."""

    tab: str = "mine"
    cohort: int | None = None
    lab: int | None = None
    state: str | None = None
    page: int = 1
    mentor: int | None = None  # work assigned to this mentor (the staff home's links)

    def url(self) -> str:
        query = {
            "tab": self.tab,
            "cohort": self.cohort,
            "lab": self.lab,
            "state": self.state,
            "mentor": self.mentor,
        }
        if self.page != 1:
            query["page"] = self.page
        return reverse("submissions:queue") + "?" + urlencode({k: v for k, v in query.items() if v})


def _queue_params(request: HttpRequest) -> QueueParams:
    """What can be checked without a query; cohort and lab ids (which must be among the
    viewer's) and the page number (which must exist) are checked when the page is drawn."""
    tab = request.GET.get("tab")
    state = request.GET.get("state")
    page = parse_id(request.GET.get("page")) or 1
    return QueueParams(
        tab=tab if tab in selectors.QUEUE_TABS else "mine",
        cohort=parse_id(request.GET.get("cohort")),
        lab=parse_id(request.GET.get("lab")),
        state=state if state in selectors.QUEUE_STATES else None,
        page=max(page, 1),
        mentor=parse_id(request.GET.get("mentor")),
    )


def _queue_page(request: HttpRequest, *, now, asked: QueueParams, stamp) -> tuple:
    """Filters, tabs with counts and one page of the queue, with the parameters it drew
    (an unknown cohort or lab dropped, the page number within range)."""
    tab = asked.tab
    cohorts, labs = selectors.queue_filter_choices(user=request.user)
    cohort_id = asked.cohort if asked.cohort in {c.pk for c in cohorts} else None
    lab_id = asked.lab if asked.lab in {lab.pk for lab in labs} else None
    state = asked.state
    # A mentor filter holds only for someone who mentors (or mentored) one of these cohorts.
    mentor = (
        selectors.queue_mentor(mentor_id=asked.mentor, cohorts=cohorts)
        if asked.mentor is not None
        else None
    )
    mentor_id = mentor.pk if mentor is not None else None
    filters = {"cohort": cohort_id, "lab": lab_id, "state": state, "mentor": mentor_id}
    counts = selectors.mentor_queue_counts(user=request.user, now=now, **filters)
    paginator = Paginator(
        selectors.mentor_queue(user=request.user, tab=tab, now=now, **filters), QUEUE_PAGE_SIZE
    )
    # The tab's count, under the same filters: the paginator need not count again.
    paginator.count = counts[tab]
    page = paginator.get_page(asked.page)
    drawn = QueueParams(
        tab=tab, cohort=cohort_id, lab=lab_id, state=state, page=page.number, mentor=mentor_id
    )
    query = {k: v for k, v in filters.items() if v}
    tabs = [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "url": "?" + urlencode({"tab": key, **query}),
        }
        for key, label in (
            ("mine", "Mine"),
            ("unassigned", "Unassigned"),
            ("overdue", "Overdue"),
            ("all", "All"),
        )
    ]
    base_query = urlencode({"tab": tab, **query})
    context = {
        "tab": tab,
        "tabs": tabs,
        "page": page,
        "cohorts": cohorts,
        "labs": labs,
        "states": [(s, selectors.STATE_LABELS[s]) for s in selectors.QUEUE_STATES],
        "selected": {"cohort": cohort_id, "lab": lab_id, "state": state or ""},
        "mentor_filter": mentor,
        "without_mentor": "?"
        + urlencode({"tab": tab, **{k: v for k, v in query.items() if k != "mentor"}}),
        "base_query": base_query,
        "now": now,
        "next": drawn.url(),
        "is_filtered": bool(query),
    }
    return _render(request, QUEUE, context, partial="queue-panel"), None, (drawn, stamp)
