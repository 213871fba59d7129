"""In a real browser: the learner sees when the review is expected and links to each
iteration's commit and to the changes since the previous one; staff see the capacity
warning on the cohort overview."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from submissions import services
from submissions.models import Submission
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

REPO = "https://github.com/ada/intro-lab"
SHAS = ["1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"]


def _hand_in(learner, cohort, lab, sha):
    submission = services.submission_get_or_create_draft(learner=learner, cohort=cohort, lab=lab)
    services.submission_save_draft(
        actor=learner, submission=submission, repo_url=REPO, commit_sha=sha, notes="", checklist=[]
    )
    services.submission_submit(actor=learner, submission=submission)
    return Submission.objects.get(pk=submission.pk)


def test_learner_sees_expected_review_and_commit_links(new_page, live_server):
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    lab = LabFactory(track=cohort.track, week=1, title="Intro lab")
    mentor = MentorMembershipFactory(cohort=cohort, capacity=6).user
    learner = MembershipFactory(cohort=cohort).user
    # Someone handed in first: ours is second in line.
    _hand_in(MembershipFactory(cohort=cohort).user, cohort, lab, "abcdef1")
    for number, sha in enumerate(SHAS, start=1):
        submission = _hand_in(learner, cohort, lab, sha)
        if number < len(SHAS):
            services.review_create(
                actor=mentor, submission=submission, verdict="request_changes", body="Add tests."
            )

    page = new_page()
    sign_in(page, learner.email, DEFAULT_PASSWORD)
    page.goto(reverse("submissions:lab", args=[cohort.pk, lab.pk]))
    expected = page.locator("#expected-review")
    expect(expected).to_contain_text("Expected review by")
    expect(expected).to_contain_text("1 hand-in ahead of yours")
    # 6 held reviews in a 48 h SLA: one every 8 h; second in line: 16 h from now (the
    # mentor answered at once, so the recent turnaround is no later).
    shown = dt.datetime.fromisoformat(expected.locator("time").get_attribute("datetime"))
    assert abs(shown - (timezone.now() + dt.timedelta(hours=16))) < dt.timedelta(minutes=5)

    latest = page.locator("details.sub-iteration").first
    commit = latest.get_by_role("link", name=SHAS[2])
    expect(commit).to_have_attribute("href", f"{REPO}/commit/{SHAS[2]}")
    compare = latest.get_by_role("link", name="Changes since iteration 2")
    expect(compare).to_have_attribute("href", f"{REPO}/compare/{SHAS[1]}...{SHAS[2]}")
    first = page.locator("details.sub-iteration").last
    first.locator("summary").click()
    expect(first.get_by_role("link", name=SHAS[0])).to_be_visible()
    expect(first.get_by_role("link", name=re.compile("Changes since"))).to_have_count(0)
    screenshot(page, "lab-expected-review-commit-links")


def test_staff_see_the_capacity_warning(new_page, live_server):
    staff = StaffFactory()
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    LabFactory(track=cohort.track, week=1)  # due in about four days
    MentorMembershipFactory(cohort=cohort, capacity=1)
    cohort.review_sla_hours = 168
    cohort.save()
    for _ in range(3):
        MembershipFactory(cohort=cohort)
    page = new_page()
    sign_in(page, staff.email, DEFAULT_PASSWORD)
    page.goto(reverse("dashboard:staff-cohort", args=[cohort.pk]))
    expect(page.locator("#capacity-warning")).to_have_text(
        re.compile(r"This week needs about 3 reviews; your mentors can do about 1\.")
    )
    screenshot(page, "staff-cohort-capacity-warning")
