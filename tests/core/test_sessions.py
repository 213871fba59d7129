"""core.sessions loads the session with its own SQL: it must keep Django's database
sessions' rules (unknown, expired and signed-out keys carry nothing and are never reused)."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from core.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_saved_session_loads_and_an_expired_one_does_not():
    store = SessionStore()
    store["answer"] = 42
    store.save()
    assert SessionStore(session_key=store.session_key).load() == {"answer": 42}
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    expired = SessionStore(session_key=store.session_key)
    assert expired.load() == {}
    # Never reused: saving it makes a new key.
    expired["answer"] = 1
    expired.save()
    assert expired.session_key != store.session_key


def test_an_unknown_key_carries_nothing_and_is_not_adopted():
    planted = SessionStore(session_key="x" * 32)
    assert planted.load() == {}
    planted["a"] = 1
    planted.save()
    assert planted.session_key != "x" * 32


def test_signing_out_ends_the_session(client):
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:profile")).status_code == 200
    client.post(reverse("logout"))
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
