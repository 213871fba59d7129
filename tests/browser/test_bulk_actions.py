"""Issue 15.3 (bulk actions) in Chromium, on the demo cohort with long names:
- staff extend a lab for every learner from the cohort overview (htmx preview, confirm), and
  the learner who already had a later extension keeps it;
- staff move the rest of the schedule by a week with JavaScript off (the plain forms);
- a mentor sends an announcement from the progress matrix (Markdown preview) and a learner
  finds it in their notifications and on the cohort's page.
Screenshots at desktop and phone widths go to artifacts/screenshots/bulk-*.png."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from cohorts.models import Extension, Membership, ScheduleShift
from cohorts.selectors import schedule_entry
from demo.seeding import PASSWORDS
from notifications.models import Notification

from .conftest import DESKTOP, screenshot, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN = "admin@demo.cohortlabs.local"


def test_staff_extend_a_lab_for_everyone_from_the_overview(new_page, first_use):  # noqa: F811
    cohort, labs, people = first_use["cohort"], first_use["labs"], first_use["people"]
    lab = labs[1]  # people[0] already has an extension on it, 30 days from now
    kept = Extension.objects.get(cohort=cohort, lab=lab, learner=people[0])
    due = schedule_entry(cohort=cohort, lab=lab).due_at + dt.timedelta(days=3)
    assert due < kept.due_at
    learners = Membership.objects.filter(cohort=cohort, role="learner", active=True).count()

    page = new_page()
    sign_in(page, ADMIN, PASSWORDS["admin"])
    page.goto(f"/dashboard/staff/cohorts/{cohort.pk}/")
    page.get_by_role("link", name="Extend a lab for everyone").first.click()
    expect(page.get_by_role("heading", name="Extend a lab for everyone")).to_be_visible()
    page.get_by_label("Lab").select_option(str(lab.pk))
    page.get_by_label("New due time").fill(due.strftime("%Y-%m-%dT%H:%M"))  # admin reads UTC
    page.get_by_label("Reason").fill("Public holiday on Monday")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".bulk-preview")
    expect(preview).to_contain_text(f"{learners - 1} learners get this extension")
    expect(preview).to_contain_text("already has a later extension")
    expect(preview).to_contain_text(people[0].display_name)
    assert page.url.endswith("/extensions/all/")  # htmx swapped the preview in place
    assert not Extension.objects.filter(lab=lab, reason="Public holiday on Monday").exists()
    screenshot(page, "bulk-extension-preview")

    page.get_by_role("button", name=re.compile(r"Confirm: extend for")).click()
    page.wait_for_url(re.compile(r"/schedule/"))
    expect(page.locator(".messages")).to_contain_text(
        f"Week {lab.week} extended for {learners - 1} learners."
    )
    expect(page.get_by_text("1 already had a later extension and keep it")).to_be_visible()
    screenshot(page, "bulk-extension-done")
    rows = Extension.objects.filter(cohort=cohort, lab=lab)
    assert rows.count() == learners
    assert rows.filter(due_at=due).count() == learners - 1
    assert rows.get(learner=people[0]).due_at == kept.due_at
    assert page.console_errors == []


def test_staff_shift_the_schedule_without_javascript(chromium, live_server, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    context = chromium.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        sign_in(page, ADMIN, PASSWORDS["admin"])
        page.goto(f"/cohorts/{cohort.slug}/schedule/")
        page.get_by_role("link", name="Shift the schedule").click()
        page.get_by_label("Move by (days)").fill("0")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator(".field-error")).to_contain_text("other than 0")
        page.get_by_label("Move by (days)").fill("7")
        page.get_by_role("button", name="Preview").click()
        preview = page.locator(".bulk-preview")
        expect(preview).to_contain_text("Moving by +7 days")
        moved = preview.locator("tbody tr").count()
        assert moved > 0 and not ScheduleShift.objects.exists()
        screenshot(page, "bulk-shift-preview")
        page.get_by_role("button", name="Confirm: move by +7 days").click()
        expect(
            page.get_by_text(re.compile(r"Schedule moved by \+7 days: \d+ labs"))
        ).to_be_visible()
        shift = ScheduleShift.objects.get()
        assert shift.labs_moved == moved and shift.days == 7
        history = page.get_by_role("region", name="Schedule shifts")
        expect(history).to_contain_text("+7 days by Demo Admin")
        history.scroll_into_view_if_needed()
        screenshot(page, "bulk-shift-done")
    finally:
        context.close()


def test_a_mentor_announces_and_a_learner_reads_it(new_page, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    mentor = Membership.objects.filter(cohort=cohort, role="mentor").select_related("user")[0].user
    page = new_page()
    sign_in(page, mentor.email, PASSWORDS["mentor"])
    page.goto(f"/dashboard/mentor/?cohort={cohort.pk}")
    page.get_by_role("link", name="Send an announcement").click()
    expect(page.get_by_text("No announcements yet.")).to_be_visible()
    page.get_by_label("Title").fill("Holiday week: no labs due")
    page.get_by_label("Message").fill(
        "Enjoy the **break**.\n\n- Week 5 moves a week later\n- Office hours resume on the 12th\n\n"
        "<script>alert(1)</script>"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#id_body-preview strong")).to_have_text("break")
    screenshot(page, "bulk-announce-form")
    page.get_by_role("button", name="Send to the cohort").click()
    article = page.locator("article.announcement").first
    expect(article.get_by_role("heading")).to_have_text("Holiday week: no labs due")
    expect(article.locator("strong")).to_have_text("break")
    expect(article).not_to_contain_text("alert(1)")

    learner = first_use["people"][0]
    assert Notification.objects.filter(recipient=learner, kind="announcement.posted").exists()
    page = new_page()
    sign_in(page, learner.email, "long-name-pass-123")
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("Holiday week: no labs due")).first.click()
    page.wait_for_url(re.compile(r"/announcements/"))
    expect(page.locator("article.announcement").first).to_contain_text("Office hours resume")
    expect(page.get_by_role("button", name="Send to the cohort")).to_have_count(0)
    screenshot(page, "bulk-announce-learner")
    page.goto(f"/cohorts/{cohort.slug}/schedule/")
    latest = page.get_by_role("region", name="Latest announcements")
    expect(latest).to_contain_text("Holiday week: no labs due")
    assert page.console_errors == []
