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


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    from django.core.cache import cache

    cache.get("readyz")


def _check_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@skip_user_timezone
@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Database, cache and broker reachable: 200, else 503 naming the parts that failed.

    Anyone may call this, so the answer names parts only; why a part failed (hosts, users,
    driver messages) goes to the log, never to the caller.
    """
    failing = []
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("readyz: the %s check failed", name)
            failing.append(name)
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(READINESS_CHECKS, "ok")})


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
