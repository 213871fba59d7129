"""In a real browser: a mentor inserts saved replies into a review from the menu and with
the `/` picker (keyboard only), without JavaScript too; the management page and staff's
usage ranking show the counts."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from submissions import saved_replies, services
from submissions.models import Review, SavedReply
from tests.factories import (
    DEFAULT_PASSWORD,
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)

from .conftest import DESKTOP, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _world():
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    lab = LabFactory(
        track=cohort.track,
        week=1,
        title="Intro lab",
        deliverables=["Write the parser.", "Test the empty input."],
    )
    mentor = MentorMembershipFactory(cohort=cohort, user__name="Grace Mentor").user
    learner = MembershipFactory(cohort=cohort, user__name="Ada Learner").user
    staff = StaffFactory()
    submission = services.submission_get_or_create_draft(learner=learner, cohort=cohort, lab=lab)
    services.submission_save_draft(
        actor=learner,
        submission=submission,
        repo_url="https://github.com/ada/intro-lab",
        commit_sha="1a2b3c4",
        notes="Done, I think.",
        checklist=[0],
    )
    services.submission_submit(actor=learner, submission=submission)
    tests_reply = saved_replies.saved_reply_create(
        actor=mentor,
        lab=lab,
        cohort=cohort,
        deliverable=1,
        title="Empty input test",
        body="Add a test that feeds the parser an empty string.",
    )
    split = saved_replies.saved_reply_create(
        actor=mentor,
        lab=lab,
        cohort=cohort,
        title="Split main",
        body="Split `main` into smaller functions.",
    )
    brief = saved_replies.saved_reply_create(
        actor=staff,
        lab=lab,
        shared_with_all=True,
        title="Re-read the brief",
        body="The brief's second section explains the expected output format.",
    )
    return cohort, lab, mentor, staff, submission, tests_reply, split, brief


def _recorded(page):
    """Waits for the insert's request that counts a use. The test reads the count only
    once it is answered: on SQLite the live server's thread shares the database, and a
    read while it writes would make either side fail with "table is locked"."""
    return page.expect_response(
        lambda response: (
            "/saved-replies/insert/" in response.url and response.request.method == "POST"
        )
    )


def _count(reply) -> int:
    reply.refresh_from_db()
    return reply.usage_count


def test_mentor_inserts_from_the_menu_and_the_slash_picker(new_page, live_server):
    cohort, lab, mentor, staff, submission, tests_reply, split, brief = _world()
    page = new_page()
    sign_in(page, mentor.email, DEFAULT_PASSWORD)
    page.goto(reverse("submissions:review", args=[submission.pk]))
    box = page.get_by_label("Review", exact=True)
    menu = page.locator("#saved-reply-menu")
    expect(menu.get_by_label("Insert a saved reply")).to_be_visible()
    expect(menu.get_by_text("Or type / at the start of a line")).to_be_visible()

    # The menu: inserted at the cursor, in place (no page load), counted once.
    box.fill("Good start.")
    box.press("End")
    menu.get_by_label("Insert a saved reply").select_option(label="Split main")
    url_before = page.url
    with _recorded(page) as used:
        menu.get_by_role("button", name="Insert").click()
    assert used.value.ok
    expect(box).to_have_value("Good start.\nSplit `main` into smaller functions.")
    assert page.url == url_before
    assert _count(split) == 1
    expect(box).to_be_focused()

    # The "/" picker, by keyboard only: Enter, "/", filter, arrows, Enter.
    box.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("/")
    search = page.get_by_role("combobox", name="Find a saved reply")
    expect(search).to_be_focused()
    options = page.get_by_role("listbox", name="Saved replies").get_by_role("option")
    expect(options).to_have_count(3)
    page.keyboard.type("input")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Empty input test")
    expect(options.first).to_contain_text("Deliverable 2: Test the empty input.")
    screenshot(page, "saved-replies-slash-picker")
    with _recorded(page) as used:
        page.keyboard.press("Enter")
    assert used.value.ok
    expect(search).to_be_hidden()
    expect(box).to_have_value(
        "Good start.\nSplit `main` into smaller functions.\n"
        "Add a test that feeds the parser an empty string."
    )
    expect(box).to_be_focused()
    assert _count(tests_reply) == 1

    # Escape keeps the "/" as typed; a filter that matches nothing says so.
    page.keyboard.press("Enter")
    page.keyboard.type("/")
    expect(search).to_be_focused()
    page.keyboard.type("zzz")
    expect(page.get_by_text("No saved reply matches “zzz”.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(search).to_be_hidden()
    expect(box).to_be_focused()
    page.keyboard.type("brief")
    assert box.input_value().endswith("\n/brief")
    # A "/" inside a line opens nothing.
    page.keyboard.type(" and/or")
    expect(search).to_be_hidden()
    brief.refresh_from_db()
    assert brief.usage_count == 0

    # Arrow keys move through the list; the staff-wide reply is offered too.
    box.fill("")
    page.keyboard.type("/")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(options.nth(2)).to_have_attribute("aria-selected", "true")
    chosen = options.nth(2).locator(".saved-reply-option-title").inner_text()
    with _recorded(page) as used:
        page.keyboard.press("Enter")
    assert used.value.ok
    expected = SavedReply.objects.get(title=chosen)
    expect(box).to_have_value(expected.body)

    page.get_by_label("Request changes").check()
    page.get_by_role("button", name="Post review").click()
    expect(page.locator("#verdict-outcome")).to_be_visible()
    assert Review.objects.get(submission=submission).body == expected.body
    assert not page.console_errors

    # The management page shows the counts; staff rank the labs.
    page.goto(reverse("submissions:saved-replies"))
    table = page.locator("table.saved-reply-table")
    expect(table).to_contain_text("Split main")
    expect(table.locator("tr", has_text="Split main")).to_contain_text("1")
    screenshot(page, "saved-replies-list")
    staff_page = new_page()
    sign_in(staff_page, staff.email, DEFAULT_PASSWORD)
    staff_page.goto(reverse("submissions:saved-reply-usage"))
    expect(staff_page.locator("table.saved-reply-usage")).to_contain_text("Intro lab")
    screenshot(staff_page, "saved-replies-usage")


def test_menu_inserts_without_javascript(chromium, live_server):
    cohort, lab, mentor, staff, submission, tests_reply, split, brief = _world()
    context = chromium.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        sign_in(page, mentor.email, DEFAULT_PASSWORD)
        page.goto(reverse("submissions:review", args=[submission.pk]))
        expect(page.get_by_text("Or type / at the start of a line")).to_be_hidden()
        page.get_by_label("Review", exact=True).fill("Good start.")
        page.get_by_label("Request changes").check()
        page.get_by_label("Insert a saved reply").select_option(label="Re-read the brief")
        page.get_by_role("button", name="Insert").click()
        page.wait_for_load_state()
        expect(page.get_by_label("Review", exact=True)).to_have_value(
            "Good start.\n\nThe brief's second section explains the expected output format."
        )
        expect(page.get_by_label("Request changes")).to_be_checked()
        expect(
            page.get_by_text("Inserted “Re-read the brief” at the end of your review.")
        ).to_be_visible()
        screenshot(page, "saved-replies-no-js-insert")
        brief.refresh_from_db()
        assert brief.usage_count == 1
        page.get_by_role("button", name="Post review").click()
        page.wait_for_load_state()
        assert Review.objects.get(submission=submission).body.endswith("output format.")
    finally:
        context.close()


def test_management_page_creates_a_reply_and_shows_empty_states(new_page, live_server):
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    lab = LabFactory(track=cohort.track, week=1, title="Intro lab")
    mentor = MentorMembershipFactory(cohort=cohort).user
    page = new_page()
    sign_in(page, mentor.email, DEFAULT_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Saved replies").click()
    expect(page.get_by_text("No saved replies yet.")).to_be_visible()
    screenshot(page, "saved-replies-empty")
    page.locator("main").get_by_role("link", name="New saved reply").first.click()
    page.get_by_label("Lab").select_option(label=f"{lab.track.name} · Week 1 · Intro lab")
    # htmx redraws the deliverables for the chosen lab.
    expect(page.get_by_label("Deliverable")).to_contain_text("2. Do the second thing.")
    page.get_by_label("Deliverable").select_option(label="2. Do the second thing.")
    page.get_by_label("Title").fill("Second step")
    page.get_by_label("Text").fill("Look again at **step two**.")
    screenshot(page, "saved-replies-new")
    page.get_by_role("button", name="Save reply").click()
    expect(page.get_by_text("Saved reply “Second step” saved.")).to_be_visible()
    reply = SavedReply.objects.get()
    assert (reply.lab, reply.deliverable, reply.cohort) == (lab, 1, cohort)
    assert not page.console_errors
