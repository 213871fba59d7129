"""A lab page for someone the lab is not open to: the title and why, never the text."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from curriculum.models import Lab

from .conftest import CURRICULUM, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_someone_in_no_cohort_sees_the_title_and_an_explanation(new_page, live_server):
    call_command("import_curriculum", str(CURRICULUM), verbosity=0)
    User.objects.create_user(email="visitor@example.com", password="visitor-pass-123", name="Vi")
    lab = Lab.objects.filter(active=True).order_by("track__position", "week").first()
    page = new_page()
    sign_in(page, "visitor@example.com", "visitor-pass-123")
    page.goto(lab.get_absolute_url())
    expect(page.get_by_role("heading", name=lab.title)).to_be_visible()
    expect(page.get_by_text("This lab's text opens to the learners")).to_be_visible()
    assert page.locator("article.lab-body").count() == 0
    first_line = next(line for line in lab.body.splitlines() if len(line.strip()) > 20)
    assert first_line.strip()[:40] not in page.content()
    screenshot(page, "lab-page-titles-only")
