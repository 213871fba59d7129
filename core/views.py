import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.middleware import skip_user_timezone

logger = logging.getLogger(__name__)


@skip_user_timezone
@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    from django.conf import settings

    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=settings.REDIS_SOCKET_TIMEOUT)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@skip_user_timezone
@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: 200 while the database answers, else 503 naming what failed.

    The broker is reported, not required: while it is down every page and API call still
    answers (hand-ins wait in the outbox, see docs/deploy.md), so a load balancer must keep
    sending traffic here; the answer says "degraded" and names it."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failing = {name: error for name, error in checks.items() if error}
    if failing:
        logger.warning("readyz failing: %s", failing)
    report = {
        "failing": sorted(failing),
        "checks": {name: error or "ok" for name, error in checks.items()},
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
