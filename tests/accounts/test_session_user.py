"""The signed-in user is read with a prepared statement (accounts.session_user): signing
out an account must still take effect on its very next request, as with Django's get_user."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROFILE = "accounts:profile"


def _is_signed_in(client) -> bool:
    response = client.get(reverse(PROFILE))
    return response.status_code == 200


def test_a_signed_in_person_is_themselves_on_every_request(client):
    user = UserFactory(name="Ada Example")
    client.force_login(user)
    response = client.get(reverse(PROFILE))
    assert response.status_code == 200
    assert response.wsgi_request.user.pk == user.pk
    assert response.wsgi_request.user.email == user.email


def test_a_deactivated_account_is_signed_out_at_once(client):
    user = UserFactory()
    client.force_login(user)
    assert _is_signed_in(client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not _is_signed_in(client)


def test_a_changed_password_ends_other_sessions_at_once(client):
    user = UserFactory()
    client.force_login(user)
    assert _is_signed_in(client)
    user.set_password("a-new-long-passphrase-42")
    user.save()
    assert not _is_signed_in(client)
    # The stale session is flushed (as Django does), not kept for later.
    user.refresh_from_db()
    assert HASH_SESSION_KEY not in client.session


def test_a_deleted_account_is_signed_out(client):
    user = UserFactory()
    client.force_login(user)
    user.delete()
    assert not _is_signed_in(client)


def test_a_session_naming_a_backend_no_longer_configured_is_signed_out(client):
    client.force_login(UserFactory())
    session = client.session
    session[BACKEND_SESSION_KEY] = "accounts.tests.NoSuchBackend"
    session.save()
    assert not _is_signed_in(client)


def test_a_session_without_its_auth_hash_is_signed_out(client):
    client.force_login(UserFactory())
    session = client.session
    del session[HASH_SESSION_KEY]
    session.save()
    assert not _is_signed_in(client)


def test_a_session_signed_with_an_older_secret_is_kept_and_rotated(client, settings):
    user = UserFactory()
    settings.SECRET_KEY = "old-secret-" + "x" * 40
    client.force_login(user)
    old_hash = client.session[HASH_SESSION_KEY]
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = (
        "new-secret-" + "y" * 40,
        [settings.SECRET_KEY],
    )
    assert _is_signed_in(client)
    assert client.session[HASH_SESSION_KEY] != old_hash
