"""Every route that takes an object refuses everyone but those it belongs to.

The test walks Django's URL resolver and the OpenAPI schema. Each route must appear in
PAGE_ROUTES / API_ROUTES (how to build its arguments from the fixture world) or in
ALLOWED_* with the reason it needs no such check; a new route with neither FAILS
`test_every_route_is_classified`, so nobody can add a page or endpoint without deciding
who may reach it.

For each object route, four people try it: anonymous, another learner of the owner's
cohort, a learner of another cohort, a mentor of another cohort. Each request must be
refused (a redirect to login, 401, 403, 404 or 405), must not contain the owner's private
marker, and must change nothing. Every unsafe request without a CSRF token, even from the
owner, is refused.
"""

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.world import MARKER, build_world, snapshot

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ATTACKERS = ("anonymous", "peer", "outsider", "other_mentor")
NOT_PEER = ("anonymous", "outsider", "other_mentor")


@dataclass(frozen=True)
class Case:
    """How to reach one route with the owner's objects, and who must be refused."""

    kwargs: Callable  # world -> dict of URL kwargs
    methods: tuple = ("GET", "POST")
    refused: tuple = ATTACKERS  # who must be refused a GET; all must never see the marker
    unsafe_refused: tuple | None = None  # who must be refused POST/PUT/PATCH/DELETE
    why: str = ""

    def must_refuse(self, who: str, method: str) -> bool:
        if method == "GET":
            return who in self.refused
        return who in (self.unsafe_refused if self.unsafe_refused is not None else ATTACKERS)


READ_ONLY = (
    "A read-only view that answers POST like GET for those who may read it; the snapshot "
    "proves it writes nothing (@require_safe would make it a 405)."
)
READ_ONLY_PUBLISHED = (
    "Titles of the published curriculum are for everyone signed in; a lab's text follows "
    "cohorts.permissions.LabAccess (tests/cohorts/test_lab_access.py). " + READ_ONLY
)


def _sub(attr):
    return lambda w: {"pk": getattr(w, attr).pk}


# --- HTML pages, fragments and downloads, by URL name --------------------------------------
PAGE_ROUTES: dict[str, Case] = {
    # accounts
    "accounts:token-revoke": Case(kwargs=lambda w: {"pk": w.api_token.pk}),
    # notifications
    "notifications:mark_read": Case(kwargs=lambda w: {"notification_id": w.notifications[0].pk}),
    "notifications:open": Case(kwargs=lambda w: {"notification_id": w.notifications[0].pk}),
    "notifications:unsubscribe": Case(
        kwargs=lambda w: {"token": "forged-" + "x" * 30},
        why="no sign-in: the signed token names the person and the kind; a forged one finds "
        "nothing (tests/notifications/test_unsubscribe.py covers real and tampered tokens)",
    ),
    # dashboards
    "dashboard:learner-history": Case(
        kwargs=lambda w: {"cohort_id": w.cohort.pk, "user_id": w.owner.pk}
    ),
    "dashboard:staff-cohort": Case(kwargs=lambda w: {"cohort_id": w.cohort.pk}),
    # away mode: the mentor themself and staff; learners and other mentors get a 404
    "submissions:away": Case(
        kwargs=lambda w: {"user_id": w.mentor.pk},
        why="a mentor's away mode: the mentor and staff only (mentor_set_away)",
    ),
    "submissions:away-end": Case(kwargs=lambda w: {"user_id": w.mentor.pk}),
    "dashboard:cohort-export": Case(
        kwargs=lambda w: {"cohort_id": w.cohort.pk, "kind": "marks"},
        why="a cohort's names and marks as a file: staff and the cohort's mentors only. "
        + READ_ONLY,
    ),
    "dashboard:calendar-feed": Case(
        kwargs=lambda w: {"token": "forged-" + "x" * 30},
        why="the feed is keyed by a secret token; a guessed one must find nothing",
    ),
    # curriculum (staff-only imports; published labs are for everyone signed in)
    "curriculum:import_detail": Case(
        kwargs=lambda w: {"import_id": w.extra["curriculum_import"].pk}
    ),
    "curriculum:import_apply": Case(
        kwargs=lambda w: {"import_id": w.extra["curriculum_import"].pk}
    ),
    "curriculum:import_discard": Case(
        kwargs=lambda w: {"import_id": w.extra["curriculum_import"].pk}
    ),
    "curriculum:lab_edit": Case(
        kwargs=lambda w: {"track_slug": w.track.slug, "lab_slug": w.labs[0].slug},
        why="staff correct a lab in the app; everyone else is refused",
    ),
    "curriculum:lab_preview": Case(
        kwargs=lambda w: {"track_slug": w.track.slug, "lab_slug": w.labs[0].slug},
        why="the edit page's preview: staff only, even though it writes nothing",
    ),
    "curriculum:export": Case(
        kwargs=lambda w: {"fmt": "yaml"},
        why="the whole curriculum as a file, for staff who re-import it",
    ),
    "curriculum:track": Case(
        kwargs=lambda w: {"track_slug": w.track.slug},
        refused=("anonymous",),
        unsafe_refused=("anonymous",),
        why=READ_ONLY_PUBLISHED,
    ),
    "curriculum:lab": Case(
        kwargs=lambda w: {"track_slug": w.track.slug, "lab_slug": w.labs[0].slug},
        refused=("anonymous",),
        unsafe_refused=("anonymous",),
        why=READ_ONLY_PUBLISHED,
    ),
    # cohorts: the owner's cohort. Its peers may see the cohort and its schedule.
    "cohorts:join": Case(
        kwargs=lambda w: {"token": "forged-" + "x" * 30},
        why="a join link is a capability; a guessed token must find nothing",
    ),
    "cohorts:detail": Case(
        kwargs=lambda w: {"slug": w.cohort.slug},
        refused=NOT_PEER,
        unsafe_refused=NOT_PEER,
        why="members see their own cohort. " + READ_ONLY,
    ),
    "cohorts:schedule": Case(
        kwargs=lambda w: {"slug": w.cohort.slug},
        refused=NOT_PEER,
        unsafe_refused=NOT_PEER,
        why="members see their cohort's dates (never another's extension). " + READ_ONLY,
    ),
    "cohorts:edit": Case(kwargs=lambda w: {"slug": w.cohort.slug}),
    "cohorts:members": Case(kwargs=lambda w: {"slug": w.cohort.slug}),
    "cohorts:enrollment_upload": Case(kwargs=lambda w: {"slug": w.cohort.slug}),
    "cohorts:enrollment": Case(
        kwargs=lambda w: {"slug": w.cohort.slug, "upload_id": w.extra["enrollment"].pk}
    ),
    "cohorts:member_deactivate": Case(
        kwargs=lambda w: {"slug": w.cohort.slug, "membership_id": w.extra["membership"].pk}
    ),
    "cohorts:member_reactivate": Case(
        kwargs=lambda w: {"slug": w.cohort.slug, "membership_id": w.extra["membership"].pk}
    ),
    "cohorts:member_role": Case(
        kwargs=lambda w: {"slug": w.cohort.slug, "membership_id": w.extra["membership"].pk}
    ),
    "cohorts:override": Case(kwargs=lambda w: {"slug": w.cohort.slug, "lab_id": w.labs[0].pk}),
    # Keep the cohort on its current lab revisions / end the pins: staff only (POST).
    "cohorts:pinning": Case(kwargs=lambda w: {"slug": w.cohort.slug}),
    "cohorts:extension_grant": Case(kwargs=lambda w: {"slug": w.cohort.slug}),
    "cohorts:extension_revoke": Case(
        kwargs=lambda w: {"slug": w.cohort.slug, "extension_id": w.extension.pk}
    ),
    "cohorts:links": Case(kwargs=lambda w: {"slug": w.cohort.slug}),
    "cohorts:extension_all": Case(
        kwargs=lambda w: {"slug": w.cohort.slug},
        why="one lab's extension for every learner: the cohort's mentors and staff",
    ),
    "cohorts:schedule_shift": Case(
        kwargs=lambda w: {"slug": w.cohort.slug},
        why="moving the rest of the schedule: staff only (the cohort's mentors get a 403)",
    ),
    "cohorts:announcements": Case(
        kwargs=lambda w: {"slug": w.cohort.slug},
        refused=NOT_PEER,
        why="members read their cohort's announcements; only its mentors and staff send one "
        "(a learner's POST is a 403)",
    ),
    "cohorts:link_toggle": Case(
        kwargs=lambda w: {"slug": w.cohort.slug, "link_id": w.extra["join_link"].pk}
    ),
    # submissions
    "submissions:lab": Case(
        kwargs=lambda w: {"cohort_id": w.cohort.pk, "lab_id": w.labs[0].pk},
        refused=NOT_PEER,
        unsafe_refused=NOT_PEER,
        why="a peer reaches their OWN work on that lab here (never the owner's)",
    ),
    "submissions:validate": Case(
        kwargs=lambda w: {"cohort_id": w.cohort.pk, "lab_id": w.labs[0].pk},
        refused=NOT_PEER,
        unsafe_refused=NOT_PEER,
        why="a peer validates their OWN draft for that lab",
    ),
    "submissions:detail": Case(kwargs=_sub("reviewed")),
    "submissions:review": Case(kwargs=_sub("submitted")),
    "submissions:claim": Case(kwargs=_sub("submitted")),
    "submissions:release": Case(kwargs=_sub("reviewed")),
    "submissions:reassign": Case(kwargs=_sub("submitted")),
    "submissions:comment": Case(kwargs=_sub("reviewed")),
    "submissions:comment-edit": Case(
        kwargs=lambda w: {"pk": w.reviewed.pk, "comment_id": w.comment.pk},
        why="only the author, within 15 minutes (tests/submissions/test_comment_edit.py)",
    ),
    "submissions:comment-delete": Case(
        kwargs=lambda w: {"pk": w.reviewed.pk, "comment_id": w.comment.pk},
        why="only the author, within 15 minutes (tests/submissions/test_comment_edit.py)",
    ),
    "submissions:attachment": Case(kwargs=lambda w: {"pk": w.attachment.pk}),
    "submissions:acknowledge": Case(
        kwargs=lambda w: {"pk": w.review.pk},
        why="only the reviewed learner acknowledges; another's review is a 404, a GET a 405",
    ),
    "submissions:saved-reply-insert": Case(
        kwargs=_sub("submitted"),
        why="the review page's Insert: only those who review the submission (a 404 else)",
    ),
    "submissions:saved-reply-edit": Case(
        kwargs=lambda w: {"pk": w.extra["saved_reply"].pk},
        why="a cohort's saved reply: its mentors see it, its author and staff change it; "
        "learners get a 403, a mentor of another cohort a 404 (tests/submissions/"
        "test_saved_replies.py)",
    ),
    "submissions:saved-reply-delete": Case(
        kwargs=lambda w: {"pk": w.extra["saved_reply"].pk},
        why="its author or staff only (tests/submissions/test_saved_replies.py)",
    ),
}

# --- Routes that take no object of a learner's, each with the reason ------------------------
ALLOWED_PAGES: dict[str, str] = {
    "home": "redirects a signed-in person to their own dashboard; no object",
    "healthz": "liveness probe, public by design, touches nothing",
    "readyz": "readiness probe, public by design, reports only ok/failing parts",
    "metrics": "operator's Prometheus page: a 404 without the METRICS_TOKEN bearer token "
    "(tests/core/test_metrics.py), counts only",
    "login": "public sign-in form",
    "logout": "ends one's own session (POST only)",
    "password_change": "one's own password; no object",
    "password_change_done": "static confirmation",
    "password_reset": "public; answers the same whether or not the address exists",
    "password_reset_done": "static confirmation",
    "password_reset_confirm": "guarded by Django's signed, expiring token",
    "password_reset_complete": "static confirmation",
    "api-schema": "the API's public description, no data",
    "api-docs": "the API's human docs, no data",
    "dashboard:learner": "the signed-in learner's own home; no object in the URL",
    "dashboard:mentor": "the signed-in mentor's own home; no object in the URL",
    "dashboard:staff": "staff only; no object in the URL (marker checked below)",
    "dashboard:calendar": "one's own calendar-feed settings; no object in the URL",
    "dashboard:search": "results limited to what the caller may open; no object in the URL "
    "(tests/dashboards/test_search.py; marker checked below)",
    "curriculum:import_list": "staff only; no object in the URL",
    "curriculum:import_upload": "staff only; no object in the URL",
    "cohorts:list": "cohorts visible to the caller; no object in the URL",
    "cohorts:mine": "one's own cohorts; no object in the URL",
    "cohorts:create": "staff only; no object in the URL",
    "submissions:queue": "the caller's own review queue; no object in the URL",
    "accounts:profile": "one's own profile; POST changes one's own name and zone; no object",
    "curriculum:browse": "published curriculum, the same for everyone signed in",
    "notifications:list": "one's own notifications; no object in the URL",
    "notifications:bell": "one's own unread count; no object in the URL",
    "notifications:mark_all_read": "marks one's own notifications; no object in the URL",
    "notifications:preferences": "one's own preferences; no object in the URL",
    "accounts:token-create": "creates a token for oneself; no object in the URL",
    "submissions:saved-replies": "the saved replies the caller may use (mentors and staff; 403 "
    "for others); no object in the URL (marker checked below)",
    "submissions:saved-reply-new": "saves a reply for a cohort the caller mentors (staff: any, "
    "or every cohort); 403 for others; no object in the URL",
    "submissions:saved-reply-usage": "staff only: labs ranked by saved-reply use; no object",
    "markdown-preview": "renders the posted text through the sanitizer and returns it to the "
    "sender; reads and writes nothing (tests/core/test_markdown_preview.py)",
}
# Whole namespaces with their reason.
ALLOWED_NAMESPACES: dict[str, str] = {
    "admin": "Django admin: staff only, checked by test_admin_refuses_non_staff",
}


# --- API operations, by schema path ----------------------------------------------------------
def _api_sub(attr):
    return lambda w: {"id": getattr(w, attr).pk}


def _api_nested(attr):
    return lambda w: {"submission_pk": getattr(w, attr).pk}


ALL_METHODS = ("GET", *UNSAFE)
API_ROUTES: dict[str, Case] = {
    "/api/v1/auth/tokens/{id}/": Case(kwargs=lambda w: {"id": w.api_token.pk}, methods=ALL_METHODS),
    "/api/v1/cohorts/{id}/": Case(
        kwargs=lambda w: {"id": w.cohort.pk},
        methods=ALL_METHODS,
        refused=NOT_PEER,
        why="members see their own cohort; only staff change it",
    ),
    "/api/v1/cohorts/{cohort_pk}/members/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/progress/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/export/progress/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/export/marks/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/schedule/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk},
        methods=ALL_METHODS,
        refused=NOT_PEER,
        why="members see their cohort's dates (never another learner's extension)",
    ),
    "/api/v1/cohorts/{cohort_pk}/extensions/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/extensions/{id}/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk, "id": w.extension.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/extensions/bulk/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk},
        methods=ALL_METHODS,
        why="one lab's extension for every learner: the cohort's mentors and staff",
    ),
    "/api/v1/cohorts/{cohort_pk}/schedule/shifts/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk},
        methods=ALL_METHODS,
        why="the record is for the cohort's mentors and staff; shifting is staff only",
    ),
    "/api/v1/cohorts/{cohort_pk}/announcements/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk},
        methods=ALL_METHODS,
        refused=NOT_PEER,
        why="members read their cohort's announcements; only its mentors and staff send one",
    ),
    "/api/v1/cohorts/{cohort_pk}/enrollments/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/enrollments/{id}/apply/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk, "id": w.extra["enrollment"].pk},
        methods=ALL_METHODS,
    ),
    "/api/v1/cohorts/{cohort_pk}/join-links/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/join-links/{id}/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk, "id": w.extra["join_link"].pk},
        methods=ALL_METHODS,
    ),
    "/api/v1/cohorts/{cohort_pk}/members/{id}/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk, "id": w.extra["membership"].pk},
        methods=ALL_METHODS,
    ),
    "/api/v1/cohorts/{cohort_pk}/overrides/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    # The cohort's pinning (labs kept on older revisions): its mentors and staff read it,
    # only staff set it; none of the attackers is either.
    "/api/v1/cohorts/{cohort_pk}/pinning/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk}, methods=ALL_METHODS
    ),
    "/api/v1/cohorts/{cohort_pk}/overrides/{id}/": Case(
        kwargs=lambda w: {"cohort_pk": w.cohort.pk, "id": w.extra["override"].pk},
        methods=ALL_METHODS,
    ),
    "/api/v1/curriculum/imports/{id}/": Case(
        kwargs=lambda w: {"id": w.extra["curriculum_import"].pk}, methods=ALL_METHODS
    ),
    "/api/v1/curriculum/imports/{id}/apply/": Case(
        kwargs=lambda w: {"id": w.extra["curriculum_import"].pk}, methods=ALL_METHODS
    ),
    "/api/v1/curriculum/imports/{id}/discard/": Case(
        kwargs=lambda w: {"id": w.extra["curriculum_import"].pk}, methods=ALL_METHODS
    ),
    "/api/v1/labs/{id}/": Case(
        kwargs=lambda w: {"id": w.labs[0].pk},
        methods=ALL_METHODS,
        refused=("anonymous",),
        why="the labs of one's own tracks; text by LabAccess (tests/cohorts/test_lab_access.py)",
    ),
    "/api/v1/tracks/{slug}/": Case(
        kwargs=lambda w: {"slug": w.track.slug},
        methods=ALL_METHODS,
        refused=("anonymous",),
        why="published curriculum: every signed-in person may read it",
    ),
    "/api/v1/notifications/{id}/": Case(
        kwargs=lambda w: {"id": w.notifications[0].pk}, methods=ALL_METHODS
    ),
    "/api/v1/notifications/{id}/read/": Case(
        kwargs=lambda w: {"id": w.notifications[0].pk}, methods=ALL_METHODS
    ),
    "/api/v1/submissions/{id}/": Case(kwargs=_api_sub("reviewed"), methods=ALL_METHODS),
    "/api/v1/submissions/{id}/claim/": Case(kwargs=_api_sub("submitted"), methods=ALL_METHODS),
    "/api/v1/submissions/{id}/release/": Case(kwargs=_api_sub("reviewed"), methods=ALL_METHODS),
    "/api/v1/submissions/{id}/reassign/": Case(kwargs=_api_sub("submitted"), methods=ALL_METHODS),
    "/api/v1/submissions/{id}/submit/": Case(kwargs=_api_sub("reviewed"), methods=ALL_METHODS),
    "/api/v1/submissions/{submission_pk}/attachments/": Case(
        kwargs=_api_nested("reviewed"), methods=ALL_METHODS
    ),
    "/api/v1/submissions/{submission_pk}/attachments/{id}/": Case(
        kwargs=lambda w: {"submission_pk": w.reviewed.pk, "id": w.attachment.pk},
        methods=ALL_METHODS,
    ),
    "/api/v1/submissions/{submission_pk}/attachments/{id}/download/": Case(
        kwargs=lambda w: {"submission_pk": w.reviewed.pk, "id": w.attachment.pk},
        methods=ALL_METHODS,
    ),
    "/api/v1/submissions/{submission_pk}/comments/{id}/": Case(
        kwargs=lambda w: {"submission_pk": w.reviewed.pk, "id": w.comment.pk},
        methods=ALL_METHODS,
        why="only the author PATCHes or DELETEs, within 15 minutes",
    ),
    "/api/v1/submissions/{submission_pk}/comments/": Case(
        kwargs=_api_nested("reviewed"), methods=ALL_METHODS
    ),
    "/api/v1/submissions/{submission_pk}/iterations/": Case(
        kwargs=_api_nested("reviewed"), methods=ALL_METHODS
    ),
    "/api/v1/submissions/{submission_pk}/reviews/": Case(
        kwargs=_api_nested("submitted"), methods=ALL_METHODS
    ),
    "/api/v1/saved-replies/{id}/": Case(
        kwargs=lambda w: {"id": w.extra["saved_reply"].pk},
        methods=ALL_METHODS,
        why="a cohort's saved reply: 403 for learners, 404 for mentors of other cohorts",
    ),
    "/api/v1/saved-replies/{id}/use/": Case(
        kwargs=lambda w: {"id": w.extra["saved_reply"].pk},
        methods=ALL_METHODS,
        why="counting a use needs the reply to be visible (the cohort's mentors, staff)",
    ),
    "/api/v1/mentors/{user_id}/away/": Case(
        kwargs=lambda w: {"user_id": w.mentor.pk},
        methods=ALL_METHODS,
        why="a mentor's away mode: the mentor and staff only; a learner or another mentor "
        "gets a 404",
    ),
    "/api/v1/submissions/{submission_pk}/points/": Case(
        kwargs=_api_nested("reviewed"),
        methods=ALL_METHODS,
        why="the points are visible with their submission (learner, cohort mentors, staff)",
    ),
    "/api/v1/submissions/{submission_pk}/points/{id}/address/": Case(
        kwargs=lambda w: {"submission_pk": w.reviewed.pk, "id": w.extra["point"].pk},
        methods=ALL_METHODS,
        why="only the submission's learner answers its open points (403 for its mentors, 404 "
        "for work one cannot see; tests/api/test_review_points_api.py)",
    ),
    "/api/v1/reviews/{id}/acknowledge/": Case(
        kwargs=lambda w: {"id": w.review.pk},
        methods=ALL_METHODS,
        why="only the reviewed learner acknowledges (403 for the cohort's mentors, 404 for "
        "reviews of work one cannot see)",
    ),
}
ALLOWED_API: dict[str, str] = {
    "/api/v1/auth/token/": "exchanges credentials for a token; no object (lockout: test_posture)",
    "/api/v1/auth/tokens/": "one's own tokens; no object in the URL",
    "/api/v1/me/": "oneself; PATCH changes one's own name and time zone; no object in the URL",
    "/api/v1/me/away/": "one's own away mode (mentors; a learner gets a 404); no object in the "
    "URL (tests/submissions/test_away.py)",
    "/api/v1/search/": "results limited to what the caller may open; no object in the URL "
    "(tests/dashboards/test_search.py)",
    "/api/v1/cohorts/": "cohorts visible to the caller; creating one is staff-only",
    "/api/v1/cohorts/join/": "joins the caller with a join-link token from the body; no object",
    "/api/v1/curriculum/imports/": "staff only; no object in the URL",
    "/api/v1/labs/": "published curriculum",
    "/api/v1/tracks/": "published curriculum",
    "/api/v1/notifications/": "one's own notifications",
    "/api/v1/notifications/read-all/": "marks one's own notifications",
    "/api/v1/notifications/preferences/": "one's own preferences; no object in the URL",
    "/api/v1/submissions/": "work visible to the caller; POST starts one's own draft",
    "/api/v1/saved-replies/": "the saved replies the caller may use (403 for learners); POST "
    "saves one for a cohort the caller mentors",
    "/api/v1/staff/overview/": "staff only (403 for everyone else); no object in the URL "
    "(tests/dashboards/test_staff_overview.py)",
}
# Unsafe routes that need no CSRF token, with the reason.
CSRF_EXEMPT_API = {
    "/api/v1/auth/token/": "authenticates by the credentials in the body, never by a cookie",
}
CSRF_EXEMPT_PAGES = {
    "notifications:unsubscribe": "RFC 8058 one-click unsubscribe: mail clients POST without "
    "a CSRF token; the signed token in the URL is the only credential, never a cookie",
}


def _reverse_kwargs_names(pattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex)


def walk_urls(patterns=None, namespace=None, prefix=""):
    """Yield (qualified name or None, route text, kwarg names) for every URL in the tree."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            qualified = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from walk_urls(entry.url_patterns, qualified, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = entry.name
            if name is not None and namespace:
                name = f"{namespace}:{name}"
            yield name, prefix + str(entry.pattern), _reverse_kwargs_names(entry)


def api_operations() -> dict[str, list[str]]:
    """{schema path: [methods]} for every operation the API documents."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: sorted(m.upper() for m in ops if m.upper() in {"GET", *UNSAFE})
        for path, ops in schema.get("paths", {}).items()
    }


def _is_api(name: str | None, route: str) -> bool:
    return (name or "").startswith("api:") or route.startswith("api/v1/")


def _namespace_allowed(name: str | None, route: str = "") -> bool:
    if not name:
        return route.split("/")[0] in ALLOWED_NAMESPACES
    return name.split(":")[0] in ALLOWED_NAMESPACES


def test_every_route_is_classified():
    missing = []
    for name, route, kwargs in walk_urls():
        if _is_api(name, route) or _namespace_allowed(name, route):
            continue  # API routes are checked through the schema below
        if name is None:
            missing.append(f"unnamed route {route!r}: give it a name")
        elif name not in PAGE_ROUTES and name not in ALLOWED_PAGES:
            missing.append(f"{name} ({route}, kwargs {sorted(kwargs)})")
    for path, methods in api_operations().items():
        if path not in API_ROUTES and path not in ALLOWED_API:
            missing.append(f"API {path} {methods}")
    stale = [n for n in [*PAGE_ROUTES, *ALLOWED_PAGES] if n not in {n for n, _, _ in walk_urls()}]
    stale += [p for p in [*API_ROUTES, *ALLOWED_API] if p not in api_operations()]
    assert not missing, (
        "Routes with no access case: add each to PAGE_ROUTES/API_ROUTES (or, with a reason, "
        "to ALLOWED_*) in tests/security/test_url_access.py:\n  " + "\n  ".join(missing)
    )
    assert not stale, f"Entries for routes that no longer exist: {stale}"


def test_api_routes_in_the_resolver_are_in_the_schema():
    """An API route hidden from the schema would escape the schema walk: name it instead."""
    documented = [
        re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$")
        for p in api_operations()
    ]
    undocumented = []
    for name, route, kwargs in walk_urls():
        if not _is_api(name, route) or "format" in kwargs or name in PAGE_ROUTES:
            continue
        try:
            url = reverse(name, kwargs=dict.fromkeys(kwargs, "1"))
        except Exception:
            undocumented.append(f"{name} ({route}): cannot reverse")
            continue
        if url != "/api/v1/" and not any(r.match(url) for r in documented):
            undocumented.append(f"{name} ({route})")
    assert not undocumented, f"API routes missing from the schema: {undocumented}"


# --- The checks ------------------------------------------------------------------------------


@pytest.fixture
def world(db, settings, django_capture_on_commit_callbacks):
    settings.AXES_ENABLED = False
    with django_capture_on_commit_callbacks(execute=True):
        built = build_world()
    # Notifications are made by the event handlers, which run after commit.
    built.notifications = list(built.owner.notifications.order_by("pk"))
    assert built.notifications, "the owner should have been notified of the review"
    return built


def _client_for(who: str, world, **client_kwargs) -> Client:
    client = Client(**client_kwargs)
    if who != "anonymous":
        client.force_login(getattr(world, who))
    return client


def _request(client: Client, method: str, url: str, api: bool = False):
    kwargs = {"content_type": "application/json", "data": "{}"} if api else {}
    if method == "GET":
        return client.get(url)
    if method == "POST" and not api:
        return client.post(url, {"body": f"attack {MARKER}x", "notes": "attack"})
    return getattr(client, method.lower())(url, **kwargs)


def _refused(response, who: str, api: bool) -> bool:
    status = response.status_code
    if status in (403, 404, 405):
        return True
    if api and status == 401:
        return who == "anonymous"
    if status in (301, 302):
        # Sent to a sign-in page (staff-only views send non-staff to the admin's).
        location = response.url.split("?")[0]
        return location in (reverse(settings.LOGIN_URL), reverse("admin:login"))
    return False


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _check_case(world, label: str, url: str, case: Case, api: bool) -> list[str]:
    problems = []
    before = snapshot(world)
    for who in ATTACKERS:
        client = _client_for(who, world)
        for method in case.methods:
            response = _request(client, method, url, api=api)
            if MARKER in _body(response):
                problems.append(f"{label} {method} as {who}: owner's data in the response")
            if case.must_refuse(who, method) and not _refused(response, who, api):
                problems.append(f"{label} {method} {url} as {who}: got {response.status_code}")
    if snapshot(world) != before:
        problems.append(f"{label}: an attacker's request changed data")
    return problems


def _reverse_case(name: str, case: Case, world) -> str:
    return reverse(name, kwargs=case.kwargs(world))


@pytest.mark.django_db
def test_object_pages_refuse_everyone_but_the_owner(world):
    problems = []
    for name, case in PAGE_ROUTES.items():
        problems += _check_case(world, name, _reverse_case(name, case, world), case, api=False)
    assert not problems, "\n".join(problems)


def _api_url(path: str, case: Case, world) -> str:
    url = path
    for key, value in case.kwargs(world).items():
        url = url.replace("{" + key + "}", str(value))
    assert "{" not in url, f"unfilled parameter in {url}"
    return url


@pytest.mark.django_db
def test_api_objects_refuse_everyone_but_the_owner(world):
    problems = []
    operations = api_operations()
    for path, case in API_ROUTES.items():
        methods = tuple(m for m in case.methods if m in operations.get(path, []))
        case = dataclasses.replace(case, methods=methods)
        problems += _check_case(world, path, _api_url(path, case, world), case, api=True)
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_pages_without_objects_never_show_the_owners_data(world):
    """Lists, dashboards and feeds: attackers may load them, never with the owner's data."""
    problems = []
    for name, route, kwargs in walk_urls():
        if kwargs or not name or _namespace_allowed(name, route) or name in ("logout",):
            continue
        url = reverse(name)
        for who in ATTACKERS:
            response = _client_for(who, world).get(url, follow=True)
            if MARKER in _body(response):
                problems.append(f"{name} as {who}: owner's data in the response")
    for path, methods in api_operations().items():
        if "{" in path or "GET" not in methods:
            continue
        for who in ATTACKERS:
            response = _client_for(who, world).get(path)
            if MARKER in _body(response):
                problems.append(f"API {path} as {who}: owner's data in the response")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_unsafe_requests_without_csrf_token_are_refused_even_for_the_owner(world):
    """A signed-in browser session can never be driven by another site."""
    problems = []
    before = snapshot(world)
    targets = []
    for name, route, kwargs in walk_urls():
        if _is_api(name, route) or not name or _namespace_allowed(name, route):
            continue
        if name in CSRF_EXEMPT_PAGES:
            continue
        case = PAGE_ROUTES.get(name)
        if kwargs and case is None:
            continue  # allow-listed routes with tokens in the URL
        targets.append((name, _reverse_case(name, case, world) if case else reverse(name)))
    for path, methods in api_operations().items():
        case = API_ROUTES.get(path)
        if ("{" in path and case is None) or path in CSRF_EXEMPT_API:
            continue
        url = _api_url(path, case, world) if case else path
        targets += [(f"API {path}", url)] if any(m in UNSAFE for m in methods) else []
    client = _client_for("owner", world, enforce_csrf_checks=True)
    for label, url in targets:
        for method in UNSAFE:
            response = _request(client, method, url, api=label.startswith("API"))
            if response.status_code not in (403, 405):
                problems.append(f"{label} {method} without CSRF: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert snapshot(world) == before


@pytest.mark.django_db
def test_login_and_logout_need_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("login"),
        {"username": world.owner.email, "password": "correct-horse-battery-staple"},
    )
    assert response.status_code == 403
    client.force_login(world.owner)
    assert client.post(reverse("logout")).status_code == 403
    assert client.get(reverse("accounts:profile")).status_code == 200  # still signed in


@pytest.mark.django_db
def test_admin_refuses_non_staff(world):
    from django.contrib import admin

    from submissions.models import Submission

    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        label = f"{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"admin:{label}_changelist"))
        if model is Submission:
            urls.append(reverse(f"admin:{label}_change", args=[world.reviewed.pk]))
    for who in ATTACKERS:
        client = _client_for(who, world)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302, (who, url)
            assert reverse("admin:login") in response.url


@pytest.mark.django_db
def test_search_never_finds_the_owners_work_for_attackers(world):
    """The search page and API, asked for the owner by name and e-mail and for their labs,
    lead an attacker to none of the owner's submissions or pages about the owner."""
    owner_urls = [
        reverse("submissions:detail", kwargs={"pk": world.reviewed.pk}),
        reverse("submissions:detail", kwargs={"pk": world.submitted.pk}),
        reverse(
            "dashboard:learner-history",
            kwargs={"cohort_id": world.cohort.pk, "user_id": world.owner.pk},
        ),
    ]
    queries = ["Owner", world.owner.email, world.reviewed.lab.title, world.submitted.lab.title]
    problems = []
    for who in ATTACKERS:
        client = _client_for(who, world)
        for query in queries:
            for url in (reverse("dashboard:search"), "/api/v1/search/"):
                body = _body(client.get(url, {"q": query}))
                problems += [f"{url}?q={query} as {who}: {u}" for u in owner_urls if u in body]
                if MARKER in body:
                    problems.append(f"{url}?q={query} as {who}: owner's data")
    assert not problems, "\n".join(problems)
