import datetime as dt
import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def _obtain(client, email, password=DEFAULT_PASSWORD, **extra):
    return client.post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json")


def test_token_create_returns_a_secret_that_is_stored_only_hashed(anon, plain_user):
    response = _obtain(anon, plain_user.email, name="ci")
    assert response.status_code == 201, response.content
    secret = response.json()["token"]
    row = ApiToken.objects.get(user=plain_user)
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.key_hash, row.prefix, row.name}
    assert secret.startswith(row.prefix) and len(row.prefix) < len(secret) // 3
    assert row.name == "ci" and row.expires_at is None

    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    body = me.get("/api/v1/me/").json()
    assert body["email"] == plain_user.email
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_email_is_case_insensitive(anon, plain_user):
    assert _obtain(anon, plain_user.email.upper()).status_code == 201


@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_bad_password_is_400_and_creates_nothing(anon, plain_user, password):
    response = _obtain(anon, plain_user.email, password=password)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    assert body["code"] == "invalid"
    assert not ApiToken.objects.exists()


def test_unknown_and_inactive_users_get_the_same_answer(anon, plain_user):
    inactive = UserFactory(is_active=False)
    unknown = _obtain(anon, "nobody@example.com").json()
    disabled = _obtain(anon, inactive.email).json()
    assert unknown == disabled
    assert unknown["detail"] == "Unable to sign in with that email and password."


def test_missing_fields_name_each_field(anon):
    body = anon.post(TOKEN_URL, {}, format="json").json()
    assert set(body["errors"]) == {"email", "password"}


def test_expiry_is_optional_and_enforced(anon, plain_user):
    response = _obtain(anon, plain_user.email, expires_in_days=7)
    assert response.status_code == 201
    expires = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - timezone.now() <= dt.timedelta(days=7)

    row = ApiToken.objects.get()
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    expired = client.get("/api/v1/me/")
    assert expired.status_code == 401
    assert expired.json()["detail"] == "Invalid, expired or revoked token."
    assert expired["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("days", [0, -1, 1000, "soon"])
def test_bad_expiry_is_400(anon, plain_user, days):
    response = _obtain(anon, plain_user.email, expires_in_days=days)
    assert response.status_code == 400
    assert "expires_in_days" in response.json()["errors"]


def test_revoke_stops_the_token_at_once(plain_user):
    token, secret = api_token_create(user=plain_user, name="laptop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    listed = client.get("/api/v1/auth/tokens/").json()
    assert [t["id"] for t in listed["results"]] == [token.pk]
    assert "token" not in listed["results"][0] and "key_hash" not in listed["results"][0]

    assert client.delete(f"/api/v1/auth/tokens/{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/me/").status_code == 401


def test_cannot_see_or_revoke_someone_elses_token(plain_user):
    other_token, _ = api_token_create(user=UserFactory())
    _, secret = api_token_create(user=plain_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get(f"/api/v1/auth/tokens/{other_token.pk}/").status_code == 404
    response = client.delete(f"/api/v1/auth/tokens/{other_token.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}
    other_token.refresh_from_db()
    assert other_token.revoked_at is None


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token cl_not-a-real-token", "Token nonsense", "Token cl_\u00e9"],
)
def test_malformed_or_unknown_tokens_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code", "errors"}


def test_no_credentials_is_401_with_the_error_body(anon):
    response = anon.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_disabled_users_tokens_stop_working(plain_user):
    _, secret = api_token_create(user=plain_user)
    plain_user.is_active = False
    plain_user.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get("/api/v1/me/").status_code == 401


def test_session_auth_needs_csrf_for_writes(plain_user):
    token, _ = api_token_create(user=plain_user)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(plain_user)
    assert client.get("/api/v1/me/").status_code == 200
    refused = client.delete(f"/api/v1/auth/tokens/{token.pk}/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_endpoint_is_throttled_per_address(anon, plain_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "1000/min", "ip": "1000/min", "auth_token": "3/min"},
    }
    codes = [_obtain(anon, plain_user.email, password="nope").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    limited = _obtain(anon, plain_user.email)
    assert limited.status_code == 429
    assert limited.json()["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    # Another address still gets through.
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    assert _obtain(other, plain_user.email).status_code == 201


def test_spoofed_forwarded_for_does_not_dodge_the_throttle(anon, plain_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "1000/min", "ip": "1000/min", "auth_token": "2/min"},
    }
    codes = [
        anon.post(
            TOKEN_URL,
            {"email": plain_user.email, "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(3)
    ]
    assert codes == [400, 400, 429]


def test_other_endpoints_are_throttled_per_user(plain_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min", "ip": "1000/min", "auth_token": "10/min"},
    }
    _, secret = api_token_create(user=plain_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
    # A different user from the same address is not held back by the first one's count.
    _, other_secret = api_token_create(user=UserFactory())
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {other_secret}")
    assert other.get("/api/v1/me/").status_code == 200


def test_token_list_query_count_does_not_grow(plain_user, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(plain_user)
    for _ in range(3):
        api_token_create(user=plain_user)
    with django_assert_num_queries(2):
        assert client.get("/api/v1/auth/tokens/?page_size=2").status_code == 200
    for _ in range(20):
        api_token_create(user=plain_user)
    with django_assert_num_queries(2):
        response = client.get("/api/v1/auth/tokens/?page_size=20")
    assert len(response.json()["results"]) == 20
    assert reverse("api:token-list") == "/api/v1/auth/tokens/"


def test_repeated_bad_passwords_lock_the_account_out(anon, plain_user, settings):
    settings.AXES_ENABLED = True
    codes = [_obtain(anon, plain_user.email, password="nope").status_code for _ in range(6)]
    assert codes[:4] == [400, 400, 400, 400] and codes[-1] == 429
    locked = _obtain(anon, plain_user.email)
    assert locked.status_code == 429
    assert set(locked.json()) >= {"detail", "code", "errors"}
    assert not ApiToken.objects.exists()
