"""The unsubscribe link of an email, opened in a browser with JavaScript off, signed out."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from notifications import unsubscribe
from notifications.models import Preference
from tests.factories import UserFactory

from .conftest import DESKTOP, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_unsubscribe_without_javascript_or_signing_in(chromium, live_server):
    user = UserFactory()
    path = reverse(
        "notifications:unsubscribe",
        args=[unsubscribe.token(user_id=user.pk, kind="comment.added")],
    )
    context = chromium.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(path)
        expect(page.get_by_role("heading", name="Stop these emails?")).to_be_visible()
        expect(page.locator("main")).to_contain_text("emails about comments")
        screenshot(page, "unsubscribe")
        assert not Preference.objects.filter(user=user).exists()

        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
        screenshot(page, "unsubscribed")
    finally:
        context.close()
    assert Preference.objects.get(user=user, kind="comment.added").channel == "in_app"
