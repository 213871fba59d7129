"""In a real browser: the learner acknowledges a review and rates it, in place with htmx
and without JavaScript; staff then see the mentor's figures on the cohort overview."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from submissions import services
from submissions.models import ReviewAcknowledgement
from tests.factories import (
    DEFAULT_PASSWORD,
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)

from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _reviewed():
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    lab = LabFactory(track=cohort.track, week=1, title="Intro lab")
    mentor = MentorMembershipFactory(cohort=cohort, user__name="Grace Mentor").user
    learner = MembershipFactory(cohort=cohort).user
    submission = services.submission_get_or_create_draft(learner=learner, cohort=cohort, lab=lab)
    services.submission_save_draft(
        actor=learner,
        submission=submission,
        repo_url="https://github.com/ada/intro-lab",
        commit_sha="1a2b3c4",
        notes="",
        checklist=[],
    )
    services.submission_submit(actor=learner, submission=submission)
    review = services.review_create(
        actor=mentor,
        submission=submission,
        verdict="request_changes",
        body="Split `main` into smaller functions and add a test for the empty input.",
    )
    return cohort, lab, learner, review


def test_learner_acknowledges_and_rates_a_review_in_place(new_page, live_server):
    cohort, lab, learner, review = _reviewed()
    page = new_page()
    sign_in(page, learner.email, DEFAULT_PASSWORD)
    page.goto(reverse("submissions:lab", args=[cohort.pk, lab.pk]))
    box = page.locator(f"#review-ack-{review.pk}")
    expect(box.get_by_role("button", name="Got it")).to_be_visible()
    box.scroll_into_view_if_needed()
    screenshot(page, "review-acknowledge-buttons")

    url_before = page.url
    box.get_by_label("Let your mentor know").fill(
        "Clear, thanks: the empty input case is new to me."
    )
    box.get_by_role("button", name="Helpful", exact=True).click()
    box = page.locator(f"#review-ack-{review.pk}")
    expect(box).to_contain_text("you found it helpful")
    assert page.url == url_before  # swapped in place, no navigation
    expect(box.get_by_role("button", name="Got it")).to_have_count(0)
    screenshot(page, "review-acknowledged")
    ack = ReviewAcknowledgement.objects.get(review=review)
    assert ack.helpful is True and ack.note.startswith("Clear")
    assert not page.console_errors

    staff = StaffFactory()
    staff_page = new_page()
    sign_in(staff_page, staff.email, DEFAULT_PASSWORD)
    staff_page.goto(reverse("dashboard:staff-cohort", args=[cohort.pk]))
    table = staff_page.locator("section", has=staff_page.locator("#mentor-feedback-heading"))
    expect(table).to_contain_text("Grace Mentor")
    expect(table.locator("tbody tr").first).to_contain_text("100 %")
    table.scroll_into_view_if_needed()
    screenshot(staff_page, "staff-cohort-mentor-feedback")


def test_acknowledging_works_without_javascript(chromium, live_server):
    cohort, lab, learner, review = _reviewed()
    context = chromium.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        sign_in(page, learner.email, DEFAULT_PASSWORD)
        page.goto(reverse("submissions:lab", args=[cohort.pk, lab.pk]))
        page.locator(f"#review-ack-{review.pk}").get_by_role("button", name="Got it").click()
        page.wait_for_load_state()
        expect(page.locator(f"#review-ack-{review.pk}")).to_contain_text("Seen")
        ack = ReviewAcknowledgement.objects.get(review=review)
        assert ack.helpful is None
    finally:
        context.close()
