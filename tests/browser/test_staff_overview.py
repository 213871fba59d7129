"""Issue 15.5: the staff home across cohorts. Staff read each cohort's and each mentor's
review figures and learners at risk, and every figure opens the rows behind it."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cohorts.models import Cohort
from demo.seeding import PASSWORDS
from submissions.models import Submission

from .conftest import DESKTOP, PHONE, screenshot, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_follow_a_mentors_open_reviews_and_the_at_risk_figure(new_page, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    page.goto(reverse("dashboard:staff"))
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Cohorts at a glance")).to_be_visible()
    expect(main.get_by_role("heading", name="Mentors")).to_be_visible()
    expect(main.locator("#overview-window")).to_contain_text("last 30 days")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        # Nothing sticks out of the page sideways (tables scroll inside their card).
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    screenshot(page, "staff-home-overview")

    # The cohort's open-reviews figure opens the queue with exactly that many rows.
    page.set_viewport_size(DESKTOP)
    row = main.locator(f"#cohort-{cohort.pk}")
    open_link = row.locator('[data-figure="open"]')
    shown = int(re.match(r"\d+", open_link.inner_text()).group())
    expected = Submission.objects.filter(
        cohort=cohort, state__in=["submitted", "in_review"]
    ).count()
    assert shown == expected > 0
    open_link.click()
    expect(page).to_have_url(re.compile(r"/submissions/queue/\?tab=all&cohort=\d+"))
    expect(page.locator("tr[id^=queue-row-]")).to_have_count(min(expected, 25))

    # A mentor's figure: the queue shows who it is filtered on, and only their work.
    page.goto(reverse("dashboard:staff"))
    mentor_row = page.locator("tr[id^=mentor-]").first
    mentor_name = mentor_row.locator("th").inner_text()
    mentor_link = mentor_row.locator('[data-figure="open"]')
    count = int(re.match(r"\d+", mentor_link.inner_text()).group())
    mentor_link.click()
    expect(page.locator("#mentor-filter")).to_contain_text(f"Assigned to {mentor_name}")
    rows = page.locator("tr[id^=queue-row-]")
    expect(rows).to_have_count(min(count, 25))
    screenshot(page, "staff-home-mentor-queue")
    page.get_by_role("link", name="Any reviewer").click()
    expect(page.locator("#mentor-filter")).to_have_count(0)

    # At risk: the cohort page's list of those learners.
    page.goto(reverse("dashboard:staff"))
    risk_link = page.locator(f"#cohort-{cohort.pk}").locator('[data-figure="at-risk"]')
    at_risk = int(re.match(r"\d+", risk_link.inner_text()).group())
    risk_link.click()
    expect(page.get_by_role("heading", name="At risk")).to_be_visible()
    section = page.locator("section", has=page.get_by_role("heading", name="At risk"))
    expect(section.locator("li")).to_have_count(at_risk)
    assert Cohort.objects.count() >= 1
    assert page.console_errors == []
