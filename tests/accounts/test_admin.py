import pytest
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_staff_see_tokens_without_hashes_and_can_revoke(client, staff, user):
    token, secret = api_token_create(user=user, name="ci")
    client.force_login(staff)
    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert token.prefix in html and token.key_hash not in html and secret not in html
    detail = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    assert detail.status_code == 200 and token.key_hash not in detail.content.decode()
    client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403


def test_user_admin_pages(client, staff, user):
    client.force_login(staff)
    assert (
        client.get(reverse("admin:accounts_user_changelist") + "?q=" + user.email).status_code
        == 200
    )
    assert client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200
    created = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new.person@example.com",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    assert created.status_code == 302
    assert ApiToken.objects.count() == 0


def _edit(client, user, **changes):
    from django.utils import timezone as tz

    joined = tz.localtime(user.date_joined)
    data = {
        "email": user.email,
        "name": user.name,
        "time_zone": user.time_zone,
        "is_active": "on",
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        **changes,
    }
    return client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)


def test_staff_set_a_known_zone_in_the_admin_and_an_unknown_one_is_refused(client, staff, user):
    client.force_login(staff)
    refused = _edit(client, user, time_zone="Mars/Olympus")
    assert refused.status_code == 200 and "is not a known time zone" in refused.content.decode()
    user.refresh_from_db()
    assert user.time_zone == "UTC"
    assert _edit(client, user, time_zone="asia/tokyo").status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
