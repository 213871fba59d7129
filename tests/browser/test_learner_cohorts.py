"""Issue 18.3: a draft cohort starting next year never takes over a learner's home.

The home opens on the cohort with something to do, every cohort is one tab away, the lab
page's breadcrumb returns to the lab's own cohort, and a future cohort never reads
"started" (the same start date on every page)."""

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


@pytest.fixture
def two_cohorts(first_use):  # noqa: F811
    cohort, admin, learner = first_use["cohort"], first_use["admin"], first_use["people"][0]
    submission = Submission.objects.get(learner=learner, cohort=cohort, lab=first_use["labs"][0])
    mentor = submission.assigned_to
    submission_services.submission_claim(actor=mentor, submission=submission)
    submission_services.review_create(
        actor=mentor,
        submission=submission,
        verdict="request_changes",
        body="Add the **measured** figures for `N=4096`.",
    )
    next_year = timezone.localdate().year + 1
    future = cohort_services.cohort_create(
        actor=admin,
        name="Spring intake",
        track=cohort.track,
        start_date=dt.date(next_year, 1, 11),
    )
    cohort_services.membership_add(actor=admin, cohort=future, email=learner.email, role="learner")
    return {**first_use, "learner": learner, "future": future, "submission": submission}


def test_home_opens_on_the_cohort_with_work_to_do(new_page, two_cohorts):
    cohort, future, learner = two_cohorts["cohort"], two_cohorts["future"], two_cohorts["learner"]
    lab = two_cohorts["labs"][0]
    page = new_page()
    sign_in(page, learner.email, "long-name-pass-123")
    page.goto(reverse("dashboard:learner"))
    panel = page.locator("#cohort-panel")
    expect(panel.get_by_role("heading", name=cohort.name, exact=True)).to_be_visible()
    next_up = panel.locator("section", has=page.get_by_role("heading", name="Next up"))
    expect(next_up).to_contain_text("Changes requested")
    expect(next_up).to_contain_text(lab.title)
    expect(panel).to_contain_text(re.compile(r"Started \w{3} \d{1,2} \w{3} \d{4}"))
    screenshot(page, "learner-home-two-cohorts")

    # Every cohort is one click away; the future one says when it starts.
    tabs = page.get_by_role("navigation", name="Your cohorts")
    future_tab = tabs.get_by_role("link", name=re.compile(re.escape(future.name)))
    expect(future_tab).to_contain_text(f"starts {future.start_date:%-d %b %Y}")
    expect(tabs.get_by_role("link", name=re.compile(re.escape(cohort.name)))).to_contain_text("1")
    future_tab.click()
    expect(panel.get_by_role("heading", name=future.name, exact=True)).to_be_visible()
    expect(panel).to_contain_text(f"Starts {future.start_date:%a %-d %b %Y}")
    expect(panel).not_to_contain_text("Started")
    expect(panel).not_to_contain_text("You are up to date")
    # The work waiting elsewhere is still one click away.
    panel.get_by_role("link", name=f"Open {cohort.name}").click()
    expect(panel.get_by_role("heading", name=cohort.name, exact=True)).to_be_visible()
    future_tab.click()
    screenshot(page, "learner-home-future-cohort")

    # The page opened on a cohort stays right after a reload of the plain home.
    page.goto(reverse("dashboard:learner"))
    expect(panel.get_by_role("heading", name=cohort.name, exact=True)).to_be_visible()

    # The lab page's breadcrumb goes back to the lab's cohort, not the newest one.
    next_up.get_by_role("link", name=re.compile(re.escape(lab.title))).click()
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=cohort.name).click()
    expect(panel.get_by_role("heading", name=cohort.name, exact=True)).to_be_visible()

    # The same start date, and never "started", on the learner's cohort list and schedule.
    page.goto(reverse("cohorts:mine"))
    card = page.locator(".cohort-card", has_text=future.name)
    expect(card).to_contain_text(f"Starts {future.start_date:%a %-d %b %Y}")
    expect(card).not_to_contain_text("tarted")
    screenshot(page, "my-cohorts")
    page.goto(reverse("cohorts:schedule", args=[future.slug]))
    expect(page.locator(".page-header")).to_contain_text(f"Starts {future.start_date:%a %-d %b %Y}")


def test_staff_overview_of_a_future_cohort_does_not_say_started(new_page, two_cohorts):
    future = two_cohorts["future"]
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    page.goto(reverse("dashboard:staff-cohort", args=[future.pk]))
    header = page.locator(".page-header")
    expect(header).to_contain_text(f"Starts {future.start_date:%a %-d %b %Y}")
    expect(header).not_to_contain_text("tarted")
