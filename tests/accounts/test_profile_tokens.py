import hashlib

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_profile_lists_tokens_without_secrets(client, user):
    token, secret = api_token_create(user=user, name="GitHub Actions")
    client.force_login(user)
    response = client.get(reverse("accounts:profile"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "GitHub Actions" in html and token.prefix in html
    assert secret not in html


def test_profile_shows_an_empty_state(client, user):
    client.force_login(user)
    assert "You have no API tokens yet." in client.get(reverse("accounts:profile")).content.decode()


def test_create_shows_the_secret_once(client, user):
    client.force_login(user)
    response = client.post(reverse("accounts:token-create"), {"name": "ci", "expires": "30"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    row = ApiToken.objects.get(user=user)
    html = response.content.decode()
    secret = html.split('id="new-token" value="')[1].split('"')[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == row.key_hash
    assert row.expires_at is not None
    assert secret not in client.get(reverse("accounts:profile")).content.decode()


def test_create_without_a_name_is_refused_and_creates_nothing(client, user):
    client.force_login(user)
    response = client.post(reverse("accounts:token-create"), {"name": "", "expires": "never"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_from_the_profile(client, user):
    token, _ = api_token_create(user=user, name="old")
    client.force_login(user)
    response = client.post(reverse("accounts:token-revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(client, user):
    token, _ = api_token_create(user=UserFactory())
    client.force_login(user)
    assert client.post(reverse("accounts:token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_needs_post_and_sign_in(client, user):
    token, _ = api_token_create(user=user)
    assert client.post(reverse("accounts:token-revoke", args=[token.pk])).status_code == 302
    client.force_login(user)
    assert client.get(reverse("accounts:token-revoke", args=[token.pk])).status_code == 405
