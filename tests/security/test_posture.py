"""Security posture: login lockout, session handling, production headers and settings."""

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

BASE_DIR = Path(django_settings.BASE_DIR)
PRODUCTION_SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
]


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    return settings


def _attempt(client, email, password, ip="203.0.113.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


# --- Login lockout -------------------------------------------------------------------------


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_from_that_address_even_with_the_right_password(
    client, axes_on
):
    user = UserFactory(email="ada@example.com")
    limit = axes_on.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _attempt(client, user.email, "wrong password")
        assert response.status_code == 200  # the form, with its error
        assert "_auth_user_id" not in client.session
    response = _attempt(client, user.email, "wrong password")
    assert response.status_code == 429

    response = _attempt(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    body = response.content.decode()
    assert "Sign-in paused" in body
    assert f"{limit} unsuccessful attempts" in body
    assert "15 minutes" in body  # the default cool-off, said in words
    assert reverse("password_reset") in body
    assert int(response["Retry-After"]) == 15 * 60


@pytest.mark.django_db
def test_lockout_counts_one_account_whatever_the_case_of_the_email(client, axes_on):
    user = UserFactory(email="grace@example.com")
    spellings = [
        "grace@example.com",
        "GRACE@example.com",
        "Grace@Example.com",
        " grace@EXAMPLE.com",
    ]
    for i in range(axes_on.AXES_FAILURE_LIMIT):
        _attempt(client, spellings[i % len(spellings)], "nope")
    assert _attempt(client, user.email, DEFAULT_PASSWORD).status_code == 429


@pytest.mark.django_db
def test_lockout_is_per_account_and_address(client, axes_on):
    victim = UserFactory(email="victim@example.com")
    other = UserFactory(email="other@example.com")
    for _ in range(axes_on.AXES_FAILURE_LIMIT):
        _attempt(client, victim.email, "nope", ip="198.51.100.1")
    assert _attempt(client, victim.email, DEFAULT_PASSWORD, ip="198.51.100.1").status_code == 429

    # The same account from another address, and another account from the same address,
    # still sign in: an attacker cannot lock a user out from everywhere.
    response = _attempt(client, victim.email, DEFAULT_PASSWORD, ip="198.51.100.2")
    assert response.status_code == 302
    client.post(reverse("logout"))
    response = _attempt(client, other.email, DEFAULT_PASSWORD, ip="198.51.100.1")
    assert response.status_code == 302


@pytest.mark.django_db
def test_lockout_ends_after_the_cool_off(client, axes_on):
    from axes.models import AccessAttempt

    user = UserFactory(email="turing@example.com")
    for _ in range(axes_on.AXES_FAILURE_LIMIT):
        _attempt(client, user.email, "nope")
    assert _attempt(client, user.email, DEFAULT_PASSWORD).status_code == 429

    # Move the recorded failures past the cool-off instead of sleeping.
    cool_off = dt.timedelta(hours=axes_on.AXES_COOLOFF_TIME)
    AccessAttempt.objects.update(
        attempt_time=django_settings_now() - cool_off - dt.timedelta(seconds=5)
    )
    response = _attempt(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def django_settings_now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
def test_successful_login_resets_the_failure_count(client, axes_on):
    user = UserFactory(email="hopper@example.com")
    for _ in range(axes_on.AXES_FAILURE_LIMIT - 1):
        _attempt(client, user.email, "nope")
    assert _attempt(client, user.email, DEFAULT_PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(axes_on.AXES_FAILURE_LIMIT - 1):
        _attempt(client, user.email, "nope")
    assert _attempt(client, user.email, DEFAULT_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(rf, settings):
    from config.security import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    # A client may prepend anything; only the entry our proxy appended is trusted.
    assert client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_ip(request) == "10.0.0.5"  # fewer hops than proxies: not via our proxies


# --- Sessions --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_issues_a_new_session_id_and_forgets_the_old_one(client):
    user = UserFactory(email="lovelace@example.com")
    session = client.session
    session["before_login"] = "x"
    session.save()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = session.session_key
    old_key = session.session_key
    assert Session.objects.filter(session_key=old_key).exists()

    response = _attempt(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302
    new_key = response.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert new_key and new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()  # fixation is useless


@pytest.mark.django_db
def test_logout_is_post_only_and_ends_the_session(client):
    user = UserFactory()
    client.force_login(user)
    key = client.session.session_key
    assert client.get(reverse("logout")).status_code == 405
    assert Session.objects.filter(session_key=key).exists()
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()


@pytest.mark.django_db
def test_session_expires(client):
    user = UserFactory()
    client.force_login(user)
    key = client.session.session_key
    assert client.get(reverse("accounts:profile")).status_code == 200
    Session.objects.filter(session_key=key).update(
        expire_date=django_settings_now() - dt.timedelta(seconds=1)
    )
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_session_lifetime_is_bounded():
    assert 0 < django_settings.SESSION_COOKIE_AGE <= 30 * 24 * 3600
    assert django_settings.SESSION_COOKIE_HTTPONLY is True
    assert django_settings.SESSION_COOKIE_SAMESITE in ("Lax", "Strict")


# --- Production settings and headers ---------------------------------------------------------


def _production_env():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="labs.example.org",
        DJANGO_SETTINGS_MODULE="config.settings_production",
    )
    env.pop("DATABASE_URL", None)
    # Set by in-process browser tests (Playwright runs an event loop); never in a deployment.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            "--settings=config.settings_production",
        ],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = _production_env()
    env["SECRET_KEY"] = ""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.fixture
def production_security(settings):
    """This process's settings with the production transport-security values applied."""
    import importlib

    production = importlib.import_module("config.settings_production")
    for name in PRODUCTION_SECURITY_SETTINGS:
        setattr(settings, name, getattr(production, name))
    assert production.DEBUG is False
    return settings


@pytest.mark.django_db
def test_production_redirects_plain_http_to_https(client, production_security):
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response.url.startswith("https://")


@pytest.mark.django_db
def test_production_headers(client, production_security):
    response = client.get(reverse("login"), secure=True)
    assert response.status_code == 200
    hsts = response["Strict-Transport-Security"]
    assert (
        re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts)[1]) >= 31536000
    )
    assert "includeSubDomains" in hsts
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"

    csp = _parse_csp(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp.get("style-src", [])
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]


def _parse_csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0]] = tokens[1:]
    return directives


@pytest.mark.django_db
def test_production_cookies_are_secure_httponly_samesite(client, production_security):
    user = UserFactory(email="cookie@example.com")
    page = client.get(reverse("login"), secure=True)
    csrf = page.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"

    response = client.post(
        reverse("login"), {"username": user.email, "password": DEFAULT_PASSWORD}, secure=True
    )
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert int(session["max-age"]) == django_settings.SESSION_COOKIE_AGE


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


def assert_no_inline_code(body: str, where: str) -> None:
    """What the CSP would block: inline <script>, style="" and on*="" handlers."""
    assert not INLINE_SCRIPT.search(body), f"inline <script> in {where}"
    assert not INLINE_STYLE_ATTR.search(body), f'style="" attribute in {where}'
    assert not INLINE_HANDLER.search(body), f"inline event handler in {where}"


@pytest.mark.django_db
def test_signed_in_pages_need_no_inline_code(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    for name in ["dashboard:learner", "accounts:profile", "curriculum:browse", "login"]:
        response = client.get(reverse(name), follow=True)
        assert response.status_code == 200, name
        assert_no_inline_code(response.content.decode(), name)


@pytest.mark.django_db
def test_api_docs_load_their_script_from_a_file(client):
    client.force_login(UserFactory())
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    assert not INLINE_SCRIPT.search(response.content.decode())
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]


@pytest.mark.django_db
def test_api_token_endpoint_shares_the_login_lockout(client, axes_on):
    """Guessing passwords through the API counts against the same account+address."""
    user = UserFactory(email="api@example.com")
    url = "/api/v1/auth/token/"
    for _ in range(axes_on.AXES_FAILURE_LIMIT):
        response = client.post(
            url,
            {"email": user.email, "password": "nope"},
            content_type="application/json",
            REMOTE_ADDR="203.0.113.50",
        )
        assert response.status_code in (400, 429)
    response = client.post(
        url,
        {"email": user.email, "password": DEFAULT_PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.50",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert "token" not in response.json()
    assert not user.api_tokens.exists()
    # The web form from that address is locked too.
    assert _attempt(client, user.email, DEFAULT_PASSWORD, ip="203.0.113.50").status_code == 429
