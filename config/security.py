"""Login-lockout hooks for django-axes (named in settings as AXES_* callables).

Kept out of settings.py so settings stay declarations; nothing else imports this module.
"""

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as our own proxies.

    Behind N reverse proxies (TRUSTED_PROXY_COUNT=N), the proxy nearest to us appends the
    address it saw, so the Nth entry from the right is the one a client cannot forge.
    With no trusted proxy, REMOTE_ADDR is the truth and the header is ignored, because
    anyone can send it.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The page shown while an account+address pair is locked: says why and for how long."""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cooloff_minutes": minutes,
    }
    if request.path.startswith("/api/"):
        # API clients get the API's one error body, not a page.
        detail = "Too many failed sign-in attempts for this account; try again later."
        response = JsonResponse({"detail": detail, "code": "locked_out", "errors": {}}, status=429)
    else:
        response = render(request, "axes/lockout.html", context, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The submitted login as its canonical e-mail key, the one sign-in looks accounts up by:
    every spelling of one account (case, full-width letters, Unicode domain) is one bucket."""
    from accounts.identity import email_key

    username = (credentials or {}).get("username")
    if username is None:
        data = getattr(request, "data", None) or request.POST
        username = data.get(settings.AXES_USERNAME_FORM_FIELD)
    return email_key(username) if isinstance(username, str) else username
