"""People set their own display name and time zone (issue 15, point 1).

The service decides (one rule for the profile page, the join page and the API); every
date a person reads follows the zone they chose, from the very next request.
"""

import datetime as dt

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import ApiToken, User
from accounts.services import api_token_create, time_zone_clean, user_register, user_update_profile
from accounts.zones import zone_names
from cohorts.services import join_link_create
from core.exceptions import ApplicationError
from tests.factories import CohortFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PROFILE = "accounts:profile"


# --- service ---------------------------------------------------------------------------------


def test_a_person_sets_their_own_name_and_zone(user):
    user_update_profile(actor=user, user=user, name="  Ada Lovelace ", time_zone="Asia/Tokyo")
    user.refresh_from_db()
    assert (user.name, user.time_zone) == ("Ada Lovelace", "Asia/Tokyo")


def test_a_zone_typed_in_another_case_is_stored_in_its_iana_spelling(user):
    user_update_profile(actor=user, user=user, time_zone=" america/argentina/buenos_aires ")
    user.refresh_from_db()
    assert user.time_zone == "America/Argentina/Buenos_Aires"


def test_legacy_names_zoneinfo_knows_are_accepted_though_not_listed(user):
    assert "US/Eastern" not in zone_names() and "Asia/Kolkata" in zone_names()
    user_update_profile(actor=user, user=user, time_zone="US/Eastern")
    user.refresh_from_db()
    assert user.time_zone == "US/Eastern"


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "   ", "Europe/../etc/passwd", "CET\x00", "+09:00", "x" * 500]
)
def test_an_unknown_zone_is_refused_naming_the_field_and_changes_nothing(user, zone):
    before = (user.name, user.time_zone)
    with pytest.raises(ApplicationError) as refused:
        user_update_profile(actor=user, user=user, name="New Name", time_zone=zone)
    assert refused.value.code == "invalid" and refused.value.extra == {"field": "time_zone"}
    assert "time zone" in refused.value.message
    user.refresh_from_db()
    assert (user.name, user.time_zone) == before


def test_a_name_on_two_lines_is_refused_and_the_zone_is_not_changed_either(user):
    with pytest.raises(ApplicationError) as refused:
        user_update_profile(actor=user, user=user, name="Eve\nBcc: x", time_zone="Asia/Tokyo")
    assert refused.value.extra == {"field": "name"}
    user.refresh_from_db()
    assert user.time_zone == "UTC"


def test_nobody_changes_someone_elses_profile(user):
    for actor in (UserFactory(), StaffFactory()):
        with pytest.raises(ApplicationError) as refused:
            user_update_profile(actor=actor, user=user, time_zone="Asia/Tokyo")
        assert refused.value.code == "forbidden"
    user.refresh_from_db()
    assert user.time_zone == "UTC"


def test_none_leaves_a_field_as_it_is(user):
    user_update_profile(actor=user, user=user, name="Kept", time_zone="Europe/Paris")
    user_update_profile(actor=user, user=user, time_zone="Asia/Tokyo")
    user_update_profile(actor=user, user=user, name="Renamed")
    user.refresh_from_db()
    assert (user.name, user.time_zone) == ("Renamed", "Asia/Tokyo")


def test_registration_takes_a_zone_and_refuses_an_unknown_one():
    with pytest.raises(ApplicationError) as refused:
        user_register(
            email="a@example.com", name="A", password="a-long-pass-1234", time_zone="Nowhere"
        )
    assert refused.value.extra == {"field": "time_zone"}
    assert not User.objects.exists()
    user = user_register(
        email="a@example.com", name="A", password="a-long-pass-1234", time_zone="asia/tokyo"
    )
    assert user.time_zone == "Asia/Tokyo"
    assert time_zone_clean("utc") == "UTC"


# --- profile page ----------------------------------------------------------------------------


def _now_shown(html: str) -> str:
    start = html.index('data-testid="local-now">') + len('data-testid="local-now">')
    return html[start : html.index("</time>", start)]


def test_the_profile_page_brings_everything_together(client, user):
    client.force_login(user)
    response = client.get(reverse(PROFILE))
    html = response.content.decode()
    assert response.status_code == 200
    for url in (
        reverse("notifications:preferences"),
        reverse("dashboard:calendar"),
        reverse("password_change"),
        reverse("accounts:token-create"),
    ):
        assert f'"{url}"' in html
    assert 'name="old_password"' in html and 'name="new_password1"' in html
    assert 'list="time-zone-names"' in html and '<option value="Asia/Tokyo">' in html
    assert html.count('id="time-zone-names"') == 1
    assert "js/time_zone.js" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_saving_the_profile_changes_the_times_on_the_next_page(client, user):
    token, _ = api_token_create(user=user, name="ci")
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=dt.datetime(2026, 11, 29, 21, 30, tzinfo=dt.UTC)
    )
    client.force_login(user)
    page = client.get(reverse(PROFILE)).content.decode()
    assert "29 Nov 2026 21:30" in page and _now_shown(page).endswith(" UTC")
    response = client.post(reverse(PROFILE), {"name": "Ada", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == reverse(PROFILE)
    user.refresh_from_db()
    assert (user.name, user.time_zone) == ("Ada", "Asia/Tokyo")
    page = client.get(reverse(PROFILE)).content.decode()
    assert "Profile saved" in page
    assert "30 Nov 2026 06:30" in page and "29 Nov 2026 21:30" not in page
    assert _now_shown(page).endswith(" JST")


def test_an_unknown_zone_on_the_page_is_shown_next_to_the_field(client, user):
    client.force_login(user)
    response = client.post(reverse(PROFILE), {"name": "Ada", "time_zone": "Atlantis/Capital"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="profile-time-zone-error"' in html and "“Atlantis/Capital” is not a known" in html
    assert 'value="Atlantis/Capital"' in html  # what they typed stays in the box
    user.refresh_from_db()
    assert user.time_zone == "UTC" and user.name != "Ada"


def test_with_htmx_errors_come_back_as_the_form_fragment(client, user):
    client.force_login(user)
    response = client.post(
        reverse(PROFILE), {"name": "Ada", "time_zone": "nope"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert html.lstrip().startswith('<section class="card" id="profile"')
    assert "<html" not in html and "API tokens" not in html
    assert "is not a known time zone" in html
    assert "HX-Request" in response["Vary"]


def test_with_htmx_success_reloads_the_page_so_every_date_moves(client, user):
    client.force_login(user)
    response = client.post(
        reverse(PROFILE), {"name": "Ada", "time_zone": "Europe/Paris"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and response["HX-Redirect"] == reverse(PROFILE)
    user.refresh_from_db()
    assert user.time_zone == "Europe/Paris"


def test_the_profile_needs_sign_in(client):
    response = client.post(reverse(PROFILE), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_changing_the_password_keeps_this_session(client, user, password):
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "a-brand-new-pass-9876",
            "new_password2": "a-brand-new-pass-9876",
        },
    )
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.get(reverse(PROFILE)).status_code == 200
    user.refresh_from_db()
    assert user.check_password("a-brand-new-pass-9876")


# --- join page (sign-up) -----------------------------------------------------------------------


@pytest.fixture
def join_url(db):
    link = join_link_create(actor=StaffFactory(), cohort=CohortFactory())
    return reverse("cohorts:join", args=[link.token])


def _signup(client, url, **extra):
    data = {
        "name": "New Person",
        "email": "new.person@example.com",
        "password1": "a-long-pass-1234",
        "password2": "a-long-pass-1234",
        **extra,
    }
    return client.post(url, data)


def test_the_join_page_asks_for_the_zone_and_fills_it_from_the_browser(client, join_url):
    html = client.get(join_url).content.decode()
    assert 'name="time_zone"' in html and 'data-time-zone="fill"' in html
    assert 'id="time-zone-names"' in html and "js/time_zone.js" in html


def test_signing_up_stores_the_chosen_zone(client, join_url):
    assert _signup(client, join_url, time_zone="Asia/Kolkata").status_code == 302
    assert User.objects.get(email="new.person@example.com").time_zone == "Asia/Kolkata"


def test_signing_up_without_a_zone_gives_utc(client, join_url):
    assert _signup(client, join_url, time_zone="").status_code == 302
    assert User.objects.get(email="new.person@example.com").time_zone == "UTC"


def test_signing_up_with_an_unknown_zone_creates_nothing(client, join_url):
    response = _signup(client, join_url, time_zone="Moon/Base")
    assert response.status_code == 400
    assert "“Moon/Base” is not a known time zone" in response.content.decode()
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_an_expired_join_link_says_when_in_the_readers_zone(client):
    link = join_link_create(actor=StaffFactory(), cohort=CohortFactory())
    type(link).objects.filter(pk=link.pk).update(
        expires_at=dt.datetime(2026, 1, 5, 20, 0, tzinfo=dt.UTC)
    )
    client.force_login(UserFactory(time_zone="Asia/Tokyo"))
    response = client.get(reverse("cohorts:join", args=[link.token]))
    assert response.status_code == 410
    assert "expired on 2026-01-06 05:00 JST" in response.content.decode()
