"""One e-mail identity (issue 14, points 1 and 2).

Every door that looks a person up by address (sign-in, API token, member page, API, CSV,
join, registration, password reset, admin, lockout) must agree on who an address is. These
tests go through the real pages and endpoints; run them on PostgreSQL too, where the old
`email__iexact` compared with UPPER() and so matched a dotless ı with an I.
"""

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from cohorts.models import Membership
from cohorts.services import join_link_create
from tests.factories import DEFAULT_PASSWORD, CohortFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

DOTLESS_I = "\u0131"
STRANGER = f"new.mentor@un{DOTLESS_I}versity.test"
REAL = "new.mentor@university.test"
STRANGER_PASSWORD = "the-stranger's-own-long-pass"


# --- The dotless-ı takeover, through every way staff add a mentor ---------------------------


def _stranger_signs_up_with_a_join_link(client) -> User:
    """A stranger with any join link signs up under the look-alike address."""
    link = join_link_create(actor=StaffFactory(), cohort=CohortFactory())
    response = client.post(
        reverse("cohorts:join", args=[link.token]),
        {
            "name": "Stranger",
            "email": STRANGER,
            "password1": STRANGER_PASSWORD,
            "password2": STRANGER_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()
    stranger = User.objects.get(pk=client.session["_auth_user_id"])
    client.post(reverse("logout"))
    return stranger


def _csv(email: str, role: str = "mentor") -> SimpleUploadedFile:
    return SimpleUploadedFile("members.csv", f"email,name,role\n{email},,{role}\n".encode())


def _add_on_member_page(client, staff, cohort):
    client.force_login(staff)
    response = client.post(
        reverse("cohorts:members", args=[cohort.slug]),
        {"email": REAL, "name": "", "role": "mentor"},
    )
    assert response.status_code == 302, response.content.decode()
    client.post(reverse("logout"))


def _add_through_the_api(client, staff, cohort):
    api = APIClient()
    api.force_authenticate(staff)
    response = api.post(
        f"/api/v1/cohorts/{cohort.pk}/members/", {"email": REAL, "role": "mentor"}, format="json"
    )
    assert response.status_code == 201, response.content.decode()


def _add_with_a_csv_on_the_page(client, staff, cohort):
    client.force_login(staff)
    response = client.post(
        reverse("cohorts:enrollment_upload", args=[cohort.slug]), {"file": _csv(REAL)}
    )
    assert response.status_code == 302, response.content.decode()
    response = client.post(response["Location"])  # the preview page: apply
    assert response.status_code == 302, response.content.decode()
    client.post(reverse("logout"))


def _add_with_a_csv_through_the_api(client, staff, cohort):
    api = APIClient()
    api.force_authenticate(staff)
    url = f"/api/v1/cohorts/{cohort.pk}/enrollments/"
    response = api.post(url, {"file": _csv(REAL)}, format="multipart")
    assert response.status_code == 201, response.content.decode()
    response = api.post(f"{url}{response.json()['id']}/apply/")
    assert response.status_code == 200, response.content.decode()


@pytest.mark.parametrize(
    "add_mentor",
    [
        _add_on_member_page,
        _add_through_the_api,
        _add_with_a_csv_on_the_page,
        _add_with_a_csv_through_the_api,
    ],
    ids=["member-page", "api", "csv-page", "csv-api"],
)
def test_adding_the_real_address_never_enrolls_a_look_alike_account(
    client, add_mentor, django_capture_on_commit_callbacks
):
    stranger = _stranger_signs_up_with_a_join_link(client)
    staff = StaffFactory()
    cohort = CohortFactory()

    with django_capture_on_commit_callbacks(execute=True):
        add_mentor(client, staff, cohort)

    mentor = Membership.objects.select_related("user").get(cohort=cohort, role="mentor")
    assert mentor.user_id != stranger.pk
    assert mentor.user.email == REAL
    assert not Membership.objects.filter(user=stranger, cohort=cohort).exists()
    # The real person is invited to set their own password...
    assert [m.to for m in mail.outbox if REAL in m.to] == [[REAL]]
    assert not [m for m in mail.outbox if stranger.email in m.to]
    # ... and the stranger's password does not open the real address.
    client.post(reverse("login"), {"username": REAL, "password": STRANGER_PASSWORD})
    assert "_auth_user_id" not in client.session


# --- Spellings of one address are one account; look-alikes are not --------------------------

SAME_ACCOUNT = [
    "ADA@EXAMPLE.COM",
    "  Ada@Example.com ",
    "\uff41\uff44\uff41@example.com",  # full-width ａｄａ
    "ada@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # full-width ＥＸＡＭＰＬＥ
]


@pytest.mark.parametrize("spelling", SAME_ACCOUNT)
def test_every_spelling_signs_in_to_the_one_account(client, spelling):
    ada = UserFactory(email="ada@example.com")
    response = client.post(reverse("login"), {"username": spelling, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(ada.pk)


@pytest.mark.parametrize("spelling", SAME_ACCOUNT)
def test_every_spelling_gets_an_api_token_for_the_one_account(spelling):
    ada = UserFactory(email="ada@example.com")
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"email": spelling.strip(), "password": DEFAULT_PASSWORD},
        format="json",
    )
    if response.status_code == 400:
        # The API's e-mail field may refuse a spelling outright; it must not pick someone.
        assert "token" not in response.json()
        return
    assert response.status_code == 201, response.content.decode()
    assert ada.api_tokens.count() == 1


@pytest.mark.parametrize("spelling", SAME_ACCOUNT)
def test_a_join_link_refuses_another_spelling_of_an_existing_account(client, spelling):
    UserFactory(email="ada@example.com")
    link = join_link_create(actor=StaffFactory(), cohort=CohortFactory())
    response = client.post(
        reverse("cohorts:join", args=[link.token]),
        {
            "name": "Ada 2",
            "email": spelling,
            "password1": "x-long-pass-99",
            "password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 400
    assert User.objects.count() == 2  # Ada and the staff member who made the link
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("spelling", SAME_ACCOUNT)
def test_staff_adding_another_spelling_find_the_existing_account(
    client, spelling, django_capture_on_commit_callbacks
):
    ada = UserFactory(email="ada@example.com")
    staff = StaffFactory()
    cohort = CohortFactory()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("cohorts:members", args=[cohort.slug]),
            {"email": spelling, "name": "", "role": "learner"},
        )
    if response.status_code == 400:
        # The form may refuse a spelling outright; it must not pick or create someone.
        assert not cohort.memberships.exists()
    else:
        assert response.status_code == 302, response.content.decode()
        assert list(cohort.memberships.values_list("user_id", flat=True)) == [ada.pk]
    assert User.objects.count() == 2


def test_a_csv_listing_two_spellings_of_one_address_is_refused(client):
    staff = StaffFactory()
    cohort = CohortFactory()
    client.force_login(staff)
    source = "email,name,role\nada@example.com,,learner\nADA@\uff25XAMPLE.com,,mentor\n"
    response = client.post(
        reverse("cohorts:enrollment_upload", args=[cohort.slug]),
        {"file": SimpleUploadedFile("m.csv", source.encode())},
    )
    assert response.status_code == 400
    assert "Duplicate of line 2" in response.content.decode()
    assert not User.objects.exclude(pk=staff.pk).exists()


@pytest.mark.parametrize(
    "address",
    [
        f"v{DOTLESS_I}ctim@example.com",  # dotless ı
        f"ad{chr(0x430)}@example.com",  # Cyrillic а
        "ada\u200b@example.com",  # zero-width space
        "\u0430da@example.com",  # Cyrillic а first
        "ad\u00e1@example.com",  # á: not a look-alike, but not plain either
    ],
)
def test_new_addresses_with_other_characters_before_the_at_are_refused_everywhere(
    client, address, django_capture_on_commit_callbacks
):
    staff = StaffFactory()
    cohort = CohortFactory()
    link = join_link_create(actor=staff, cohort=cohort)
    response = client.post(
        reverse("cohorts:join", args=[link.token]),
        {
            "name": "X",
            "email": address,
            "password1": "x-long-pass-99",
            "password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 400
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("cohorts:members", args=[cohort.slug]),
            {"email": address, "name": "", "role": "learner"},
        )
    assert response.status_code == 400
    response = client.post(
        reverse("cohorts:enrollment_upload", args=[cohort.slug]), {"file": _csv(address)}
    )
    assert response.status_code == 400
    api = APIClient()
    api.force_authenticate(staff)
    response = api.post(
        f"/api/v1/cohorts/{cohort.pk}/members/",
        {"email": address, "role": "learner"},
        format="json",
    )
    assert response.status_code == 400
    assert list(User.objects.values_list("pk", flat=True)) == [staff.pk]
    assert not cohort.memberships.exists()
    assert mail.outbox == []


def test_a_look_alike_domain_is_another_account_shown_in_its_ascii_form(client):
    """An internationalised domain is accepted, stored as IDNA (xn--), so it never reads like
    the real one, and it is never the account of the real domain."""
    ada = UserFactory(email="ada@example.com")
    link = join_link_create(actor=StaffFactory(), cohort=CohortFactory())
    look_alike = f"ada@ex{chr(0x430)}mple.com"  # Cyrillic а in the domain
    response = client.post(
        reverse("cohorts:join", args=[link.token]),
        {
            "name": "Eve",
            "email": look_alike,
            "password1": "x-long-pass-99",
            "password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 302
    eve = User.objects.get(pk=client.session["_auth_user_id"])
    assert eve.pk != ada.pk
    assert eve.email.startswith("ada@xn--") and eve.email.isascii()
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": look_alike, "password": DEFAULT_PASSWORD})
    assert "_auth_user_id" not in client.session


# --- Password reset ----------------------------------------------------------------------------


def test_password_reset_reaches_the_account_of_any_spelling_and_no_look_alike(client):
    ada = UserFactory(email="ada@example.com")
    stranger = UserFactory(email=f"ada@ex{chr(0x430)}mple.com")
    client.post(reverse("password_reset"), {"email": "ADA@\uff25XAMPLE.COM"})
    assert [m.to for m in mail.outbox] == [[ada.email]]
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": f"ad{chr(0x430)}@example.com"})
    assert mail.outbox == []
    assert stranger.email not in str([m.to for m in mail.outbox])


# --- Admin --------------------------------------------------------------------------------------


def test_admin_refuses_an_account_that_is_another_spelling_of_an_existing_one(admin_client):
    UserFactory(email="ada@example.com")
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "ADA@\uff25XAMPLE.com",  # full-width Ｅ
            "usable_password": "true",
            "password1": "x-long-pass-99",
            "password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 200
    assert "already has this address" in response.content.decode()
    assert User.objects.filter(email__icontains="da@example.com").count() == 1


def test_admin_change_to_another_spelling_of_an_existing_address_is_refused(admin_client):
    UserFactory(email="ada@example.com")
    grace = UserFactory(email="grace@example.com")
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[grace.pk]),
        {
            "email": "ADA@EXAMPLE.COM",
            "name": grace.name,
            "time_zone": "UTC",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert "already has this address" in response.content.decode()
    grace.refresh_from_db()
    assert grace.email == "grace@example.com"


def test_admin_stores_a_new_address_with_its_key(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Lin@B\u00fccher.de",
            "usable_password": "true",
            "password1": "x-long-pass-99",
            "password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(email="lin@xn--bcher-kva.de")
    assert user.email_key == "lin@xn--bcher-kva.de"


# --- Point 2: the lockout counts every spelling ------------------------------------------------

VICTIM = "victim@example.com"
# Spellings that sign in to the victim's account: they must share its lockout.
VICTIM_SPELLINGS = [
    "VICTIM@EXAMPLE.COM",
    " Victim@Example.com",
    "\uff56ictim@example.com",  # full-width ｖ
    "victim@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # full-width ＥＸＡＭＰＬＥ
]
# Looks like the victim, is not the victim: must never sign in to the victim's account.
VICTIM_LOOK_ALIKES = [f"v{DOTLESS_I}ctim@example.com", f"victim@ex{chr(0x430)}mple.com"]
IP = "203.0.113.77"


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    return settings


def _sign_in(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=IP)


def _token(email, password):
    # The endpoint's own rate limit (10/min per address) lives in the cache; clear it so that
    # every refusal below is the lockout's, not the throttle's.
    cache.clear()
    return APIClient().post(
        "/api/v1/auth/token/",
        {"email": email, "password": password},
        format="json",
        REMOTE_ADDR=IP,
    )


def test_after_the_limit_no_spelling_of_the_address_signs_in(client, axes_on):
    victim = UserFactory(email=VICTIM)
    for _ in range(axes_on.AXES_FAILURE_LIMIT):
        _sign_in(client, VICTIM, "a wrong guess")
    for spelling in VICTIM_SPELLINGS:
        response = _sign_in(client, spelling, DEFAULT_PASSWORD)
        assert response.status_code == 429, spelling
        assert "_auth_user_id" not in client.session
    for look_alike in VICTIM_LOOK_ALIKES:
        _sign_in(client, look_alike, DEFAULT_PASSWORD)
        assert client.session.get("_auth_user_id") != str(victim.pk), look_alike


def test_failures_under_different_spellings_add_up_to_one_lockout(client, axes_on):
    UserFactory(email=VICTIM)
    spellings = [VICTIM, *VICTIM_SPELLINGS]
    for i in range(axes_on.AXES_FAILURE_LIMIT):
        _sign_in(client, spellings[i % len(spellings)], "a wrong guess")
    response = _sign_in(client, VICTIM, DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_after_the_limit_no_spelling_gets_an_api_token(client, axes_on):
    victim = UserFactory(email=VICTIM)
    for _ in range(axes_on.AXES_FAILURE_LIMIT):
        _token(VICTIM, "a wrong guess")
    for spelling in [*VICTIM_SPELLINGS, *VICTIM_LOOK_ALIKES]:
        response = _token(spelling.strip(), DEFAULT_PASSWORD)
        assert response.status_code in (400, 429), (spelling, response.content)
        assert "token" not in response.json()
    assert not victim.api_tokens.exists()
    # The spellings the API accepts as addresses are locked, not merely unknown.
    for spelling in ["VICTIM@EXAMPLE.COM", "victim@\uff25XAMPLE.com"]:
        response = _token(spelling, DEFAULT_PASSWORD)
        assert response.status_code == 429, spelling
        assert response.json()["code"] == "locked_out"


def test_api_failures_under_other_spellings_lock_the_sign_in_form(client, axes_on):
    UserFactory(email=VICTIM)
    spellings = ["VICTIM@EXAMPLE.COM", "victim@\uff25XAMPLE.com", VICTIM]
    for i in range(axes_on.AXES_FAILURE_LIMIT):
        _token(spellings[i % len(spellings)], "a wrong guess")
    assert _sign_in(client, "\uff56ictim@example.com", DEFAULT_PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
