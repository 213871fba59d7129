import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.markdown import render_markdown
from core.middleware import skip_user_timezone

logger = logging.getLogger(__name__)


@skip_user_timezone
@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    from django.core.cache import cache

    # django-redis swallows errors (the cache fails open), so ask its client directly;
    # the local-memory cache of a Redis-less setup is always there.
    client = getattr(cache, "client", None)
    if client is not None:
        client.get_client(write=False).ping()


def _check_broker() -> None:
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=settings.REDIS_SOCKET_TIMEOUT)


READINESS_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@skip_user_timezone
@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: 200 while the database answers, else 503; the answer names the
    parts that failed.

    The cache and the broker are reported, not required: while Redis is down every page and
    API call still answers (cached pages are drawn, hand-ins wait in the outbox, see
    docs/deploy.md), so a load balancer must keep sending traffic here; the answer says
    "degraded" and names them. Anyone may call this, so the answer names parts only; why a
    part failed (hosts, users, driver messages) goes to the log, never to the caller.
    """
    failing = []
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("readyz: the %s check failed", name)
            failing.append(name)
    report = {
        "failing": failing,
        "checks": {name: "failing" if name in failing else "ok" for name in READINESS_CHECKS},
    }
    if "database" in failing:
        return JsonResponse({"status": "unavailable", **report}, status=503)
    return JsonResponse({"status": "degraded" if failing else "ok", **report})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to the page that fits their role."""
    from cohorts.selectors import user_roles

    roles = user_roles(request.user)
    if roles.is_learner:
        return redirect("dashboard:learner")
    if roles.is_mentor:
        return redirect("dashboard:mentor")
    if request.user.is_staff:
        return redirect("dashboard:staff")
    return redirect("dashboard:learner")


PREVIEW_MAX_CHARS = 50_000  # the longest notes or message a form accepts
PREVIEW_FIELDS = ("body", "notes", "message")  # the Markdown boxes' names


@login_required
@require_POST
@never_cache
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The Preview button under a Markdown box: the box's text rendered exactly as it will
    show once saved (the shared sanitizer), as an HTML fragment. Writes nothing."""
    text = next((request.POST[name] for name in PREVIEW_FIELDS if name in request.POST), "")
    context = {"html": "", "error": ""}
    status = 200
    if len(text) > PREVIEW_MAX_CHARS:
        context["error"] = f"Too long to preview: the limit is {PREVIEW_MAX_CHARS:,} characters."
        # htmx swaps only 2xx answers; a plain POST still learns it was refused.
        status = 200 if request.htmx else 400
    else:
        context["html"] = render_markdown(text)
    response = render(request, "core/markdown_preview.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
