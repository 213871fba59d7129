"""Issue 18.6: what the learner's home and the queue say.

- "Recent feedback" shows what the mentor wrote, not its Markdown (`**`, backticks).
- Lateness says whose it is: work handed in on time and reviewed after its due time is
  not "Overdue"; a late review reads "Review overdue", late work "Handed in late".
- The calendar link has a Copy button (JavaScript) and still shows without it.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from cohorts import services as cohort_services
from demo.seeding import PASSWORDS
from submissions import services as submission_services
from submissions.models import Submission

from .conftest import screenshot, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "long-name-pass-123"


def hand_in_on_time(*, admin, cohort, learner, lab) -> Submission:
    """Hand `lab` in before its due time, then let the due time pass (an override moves it
    to an hour ago, as the clock would)."""
    now = timezone.now()
    release = now - dt.timedelta(days=3)
    cohort_services.schedule_override_set(
        actor=admin, cohort=cohort, lab=lab, release_at=release, due_at=now + dt.timedelta(hours=1)
    )
    submission = submission_services.submission_get_or_create_draft(
        learner=learner, cohort=cohort, lab=lab
    )
    submission_services.submission_save_and_submit(
        actor=learner,
        submission=submission,
        repo_url="https://git.example.org/on-time/work",
        commit_sha="",
        notes="",
        checklist=[],
    )
    cohort_services.schedule_override_set(
        actor=admin, cohort=cohort, lab=lab, release_at=release, due_at=now - dt.timedelta(hours=1)
    )
    submission.refresh_from_db()
    assert not submission.is_late
    return submission


@pytest.fixture
def reviewed_late(first_use):  # noqa: F811
    cohort, admin, labs = first_use["cohort"], first_use["admin"], first_use["labs"]
    learner = first_use["people"][1]
    sent_back = hand_in_on_time(admin=admin, cohort=cohort, learner=learner, lab=labs[5])
    mentor = sent_back.assigned_to
    submission_services.submission_claim(actor=mentor, submission=sent_back)
    submission_services.review_create(
        actor=mentor,
        submission=sent_back,
        verdict="request_changes",
        body="Nice start. Please add the **measured** figures and run `make bench` again.",
    )
    waiting = hand_in_on_time(admin=admin, cohort=cohort, learner=learner, lab=labs[6])
    # The review's own due time passes (as review_due_at is set when work is handed in).
    Submission.objects.filter(pk=waiting.pk).update(
        review_due_at=timezone.now() - dt.timedelta(hours=2), updated_at=timezone.now()
    )
    return {**first_use, "learner": learner, "sent_back": sent_back, "waiting": waiting}


def week_row(page, lab):
    return page.locator(".week-table tr", has=page.get_by_role("link", name=lab.title, exact=True))


def test_feedback_and_lateness_read_right(new_page, reviewed_late):
    learner, sent_back, waiting = (
        reviewed_late["learner"],
        reviewed_late["sent_back"],
        reviewed_late["waiting"],
    )
    page = new_page()
    sign_in(page, learner.email, PASSWORD)
    page.goto(reverse("dashboard:learner"))
    feedback = page.locator("section", has=page.get_by_role("heading", name="Recent feedback"))
    expect(feedback).to_contain_text("Please add the measured figures and run make bench again.")
    expect(feedback).not_to_contain_text("**")
    expect(feedback).not_to_contain_text("`")

    returned = week_row(page, sent_back.lab)
    expect(returned).to_contain_text("Changes requested")
    expect(returned).not_to_contain_text("Overdue")
    expect(returned).not_to_contain_text("late")
    in_review = week_row(page, waiting.lab)
    expect(in_review).to_contain_text("Review overdue")
    expect(in_review).not_to_contain_text("late")
    handed_late = week_row(page, reviewed_late["labs"][0])
    expect(handed_late).to_contain_text("Handed in late")
    screenshot(page, "learner-home-labels")

    page.goto(reverse("submissions:lab", args=[reviewed_late["cohort"].pk, sent_back.lab.pk]))
    header = page.locator(".page-header")
    expect(header).to_contain_text("Changes requested")
    expect(header).not_to_contain_text(re.compile("Overdue|Late", re.I))

    mentor = new_page()
    sign_in(mentor, waiting.assigned_to.email, PASSWORDS["mentor"])
    mentor.goto(reverse("submissions:queue") + "?tab=all")
    row = mentor.locator("tr", has_text=learner.display_name).filter(has_text=waiting.lab.title)
    expect(row).to_contain_text("Review overdue")
    expect(row).not_to_contain_text("late")
    late_row = mentor.locator("tr", has_text=learner.display_name).filter(
        has_text=reviewed_late["labs"][0].title
    )
    expect(late_row).to_contain_text("Handed in late")
    screenshot(mentor, "queue-labels")

    # The mentors' view of the learner's history reads the same.
    cohort = reviewed_late["cohort"]
    mentor.goto(reverse("dashboard:learner-history", args=[cohort.pk, learner.pk]))
    main = mentor.locator("main")
    expect(main).to_contain_text("Please add the measured figures and run make bench again.")
    expect(main).not_to_contain_text("**")
    history_row = mentor.locator("tr", has_text=waiting.lab.title)
    expect(history_row).to_contain_text("Review overdue")
    expect(history_row).not_to_contain_text("late")

    # Every page that flags a late hand-in says whose lateness it is.
    from submissions.models import Submission

    late_work = Submission.objects.get(learner=learner, lab=reviewed_late["labs"][0])
    mentor.goto(reverse("submissions:review", args=[late_work.pk]))
    expect(mentor.locator(".page-header")).to_contain_text("Handed in late")
    expect(mentor.locator("main")).not_to_contain_text(re.compile(r"\bLate\b"))


def test_calendar_link_has_a_copy_button(new_page, first_use):  # noqa: F811
    learner = first_use["people"][0]
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, learner.email, PASSWORD)
    page.goto(reverse("dashboard:calendar"))
    page.get_by_role("button", name="Create a calendar link").click()
    url = page.get_by_label("Calendar URL").input_value()
    assert url.endswith(".ics")
    copy = page.get_by_role("button", name=re.compile("^Copy"))
    expect(copy).to_be_visible()
    screenshot(page, "calendar-link")
    copy.click()
    expect(page.locator("[data-copy-status=feed-url]")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url

    # Without JavaScript there is no button that does nothing; the link is still there.
    plain = page.context.browser.new_context(
        java_script_enabled=False, base_url=page.url.split("/dashboard")[0]
    )
    try:
        other = plain.new_page()
        sign_in(other, learner.email, PASSWORD)
        other.goto(reverse("dashboard:calendar"))
        other.get_by_role("button", name="Replace with a new link").click()
        expect(other.get_by_label("Calendar URL")).to_have_value(re.compile(r"\.ics$"))
        expect(other.get_by_role("button", name=re.compile("^Copy"))).to_have_count(0)
    finally:
        plain.close()
