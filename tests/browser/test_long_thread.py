"""A long discussion in a real browser: the lab page shows the newest messages with a link
to the earlier ones above them; the link opens the whole thread where it was, and a new
message posted with htmx keeps the thread as long as it was."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from submissions.selectors import THREAD_LATEST
from tests.factories import DEFAULT_PASSWORD
from tests.submissions.conftest import add_messages, make_world

from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_learner_opens_the_earlier_messages_and_writes_back(new_page):
    world = make_world(mentors=1)
    submission = world.submitted()
    add_messages(
        submission,
        THREAD_LATEST + 5,
        mentor=world.mentor,
        body="Message number {n}: what about the edge case?",
    )
    page = new_page()
    sign_in(page, world.learner.email, DEFAULT_PASSWORD)
    page.goto(reverse("submissions:lab", args=[world.cohort.pk, world.lab.pk]))
    thread = page.locator("#thread")
    expect(thread.locator(".sub-comment")).to_have_count(THREAD_LATEST)
    expect(thread.get_by_text("Message number 6:")).to_be_visible()
    expect(thread.get_by_text("Message number 5:")).to_have_count(0)
    earlier = thread.get_by_role("link", name="Show 5 earlier messages")
    expect(earlier).to_be_visible()
    screenshot(page, "long-thread")

    earlier.click()
    expect(page).to_have_url(re.compile(r"\?thread=all#thread$"))
    expect(page.locator("#thread .sub-comment")).to_have_count(THREAD_LATEST + 5)
    expect(page.get_by_text("Message number 1:")).to_be_visible()

    page.go_back()
    thread = page.locator("#thread")
    thread.get_by_label("Message").fill("Message number 99: done, thanks.")
    thread.get_by_role("button", name="Post message").click()
    expect(page.locator("#thread").get_by_text("Message number 99:")).to_be_visible()
    expect(page.locator("#thread .sub-comment")).to_have_count(THREAD_LATEST)
    expect(
        page.locator("#thread").get_by_role("link", name="Show 6 earlier messages")
    ).to_be_visible()
