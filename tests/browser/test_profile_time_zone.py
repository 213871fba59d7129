"""In a real browser: a person picks their time zone and every date on the page moves.

The profile's time-zone box offers this device's zone (from Intl, with JavaScript), saves
through htmx or a plain form post (without JavaScript), and the join page fills the zone
in from the browser.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from cohorts.services import join_link_create
from tests.factories import CohortFactory, StaffFactory

from .conftest import DESKTOP, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "zone-person-pass-123"
CREATED = dt.datetime(2026, 11, 29, 21, 30, tzinfo=dt.UTC)


@pytest.fixture
def person(live_server):
    user = User.objects.create_user(
        email="zone.person@example.com", password=PASSWORD, name="Zoe Zone"
    )
    token, _ = api_token_create(user=user, name="CI on GitHub")
    ApiToken.objects.filter(pk=token.pk).update(created_at=CREATED)
    return user


def token_row(page):
    return page.locator("#api-tokens tbody tr", has_text="CI on GitHub")


def in_context(chromium, live_server, **options):
    context = chromium.new_context(viewport=DESKTOP, base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return context, page


def test_choosing_the_device_zone_on_the_profile_shifts_the_dates(chromium, live_server, person):
    context, page = in_context(chromium, live_server, timezone_id="Asia/Tokyo")
    try:
        sign_in(page, person.email, PASSWORD)
        page.goto("/accounts/profile/")
        expect(token_row(page)).to_contain_text("29 Nov 2026 21:30")
        expect(page.get_by_test_id("local-now")).to_have_text(re.compile(r" UTC$"))
        screenshot(page, "profile-before")

        # A zone nobody has: the error shows by the box (htmx fragment), nothing is saved.
        box = page.get_by_role("combobox", name="Time zone")
        box.fill("Mars/Olympus")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#profile-time-zone-error")).to_contain_text(
            "“Mars/Olympus” is not a known time zone"
        )
        screenshot(page, "profile-zone-error")
        person.refresh_from_db()
        assert person.time_zone == "UTC"

        # The page offers this device's zone; taking it and saving moves every date.
        use_device = page.get_by_role("button", name="Use this device’s zone (Asia/Tokyo)")
        expect(use_device).to_be_visible()
        use_device.click()
        expect(box).to_have_value("Asia/Tokyo")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Profile saved.")).to_be_visible()
        expect(token_row(page)).to_contain_text("30 Nov 2026 06:30")
        expect(page.get_by_test_id("local-now")).to_have_text(re.compile(r" JST$"))
        expect(page.get_by_role("button", name=re.compile("Use this device"))).to_be_hidden()
        person.refresh_from_db()
        assert person.time_zone == "Asia/Tokyo"
        screenshot(page, "profile-after")
        assert page.console_errors == []
    finally:
        context.close()


def test_without_javascript_the_profile_still_saves_a_typed_zone(chromium, live_server, person):
    context, page = in_context(chromium, live_server, java_script_enabled=False)
    try:
        sign_in(page, person.email, PASSWORD)
        page.goto("/accounts/profile/")
        page.get_by_role("combobox", name="Time zone").fill("america/new_york")
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        expect(page.get_by_text("Profile saved.")).to_be_visible()
        expect(token_row(page)).to_contain_text("29 Nov 2026 16:30")
        person.refresh_from_db()
        assert person.time_zone == "America/New_York"
    finally:
        context.close()


def test_the_join_page_fills_the_zone_from_the_browser(chromium, live_server):
    cohort = CohortFactory(name="Autumn cohort")
    link = join_link_create(actor=StaffFactory(), cohort=cohort)
    context, page = in_context(chromium, live_server, timezone_id="America/Sao_Paulo")
    try:
        page.goto(f"/cohorts/join/{link.token}/")
        box = page.get_by_role("combobox", name="Time zone")
        expect(box).to_have_value("America/Sao_Paulo")
        page.get_by_label("Name").fill("Paula Nova")
        page.get_by_label("Email").fill("paula@example.com")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        screenshot(page, "join-time-zone")
        page.get_by_role("button", name="Create account and join").click()
        page.wait_for_load_state()
        assert User.objects.get(email="paula@example.com").time_zone == "America/Sao_Paulo"
        assert page.console_errors == []
    finally:
        context.close()
