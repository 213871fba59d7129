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
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@skip_user_timezone
@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Database and broker reachable: 200, else 503 naming what failed."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failing = {name: error for name, error in checks.items() if error}
    if failing:
        logger.warning("readyz failing: %s", failing)
        return JsonResponse(
            {"status": "unavailable", "failing": sorted(failing), "errors": failing}, status=503
        )
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(checks, "ok")})


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
