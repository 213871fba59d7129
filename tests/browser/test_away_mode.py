"""In a real browser: a mentor goes away for a week from their home page (htmx, in place),
their open review goes to the other mentor with the note, the other mentor sees why it came,
and staff see "away until" in the cohort's mentor list."""

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


def _cohort_with_work():
    cohort = CohortFactory(
        name="Spring cohort", start_date=timezone.localdate() - dt.timedelta(days=3)
    )
    lab = LabFactory(track=cohort.track, week=1, title="Intro lab")
    grace = MentorMembershipFactory(cohort=cohort, user__name="Grace Mentor").user
    alan = MentorMembershipFactory(cohort=cohort, user__name="Alan Mentor").user
    learner = MembershipFactory(cohort=cohort, user__name="Ada Learner").user
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
    submission.refresh_from_db()
    assert submission.assigned_to_id == grace.pk
    return cohort, grace, alan, submission


def test_a_mentor_goes_away_for_a_week(new_page, live_server):
    cohort, grace, alan, submission = _cohort_with_work()
    page = new_page()
    sign_in(page, grace.email, DEFAULT_PASSWORD)
    page.goto(reverse("dashboard:mentor"))
    card = page.locator(f"#away-{grace.pk}")
    expect(card).to_contain_text("You are available for new reviews.")
    screenshot(page, "away-mentor-home-before")

    # A past day: the error shows by the field, in place; nothing changes.
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    card.get_by_label("Last day away").fill(yesterday.isoformat())
    card.get_by_role("button", name="Go away").click()
    card = page.locator(f"#away-{grace.pk}")
    expect(card.locator(f"#away-until-error-{grace.pk}")).to_contain_text("is in the past")
    screenshot(page, "away-past-day-error")
    grace.refresh_from_db()
    assert grace.away_until is None

    week = timezone.localdate() + dt.timedelta(days=7)
    url_before = page.url
    card.get_by_label("Last day away").fill(week.isoformat())
    card.get_by_label("Note for the mentors who take over").fill(
        "At a conference; Alan knows the intro lab well."
    )
    card.get_by_role("button", name="Go away").click()
    card = page.locator(f"#away-{grace.pk}")
    expect(card).to_contain_text(f"Away until {week:%a %-d %b %Y}")
    expect(card).to_contain_text("1 open review handed over")
    expect(card.get_by_role("button", name=re.compile("end away mode"))).to_be_visible()
    assert page.url == url_before  # swapped in place
    screenshot(page, "away-mentor-home-away")

    submission.refresh_from_db()
    assert submission.assigned_to_id == alan.pk

    # Alan sees why the review came to him.
    alan_page = new_page()
    sign_in(alan_page, alan.email, DEFAULT_PASSWORD)
    alan_page.goto(reverse("submissions:review", kwargs={"pk": submission.pk}))
    expect(alan_page.get_by_test_id("assignment-note")).to_contain_text(
        "Grace Mentor is away: At a conference; Alan knows the intro lab well."
    )
    screenshot(alan_page, "away-review-handed-over")

    # Staff see it in the cohort's mentor list.
    staff = StaffFactory()
    staff_page = new_page()
    sign_in(staff_page, staff.email, DEFAULT_PASSWORD)
    staff_page.goto(reverse("dashboard:staff-cohort", kwargs={"cohort_id": cohort.pk}))
    mentors = staff_page.locator("#mentors")
    expect(mentors.locator(f"#away-{grace.pk}")).to_contain_text("Away until")
    expect(mentors.locator(f"#away-{alan.pk}")).to_contain_text("is available for new reviews")
    mentors.scroll_into_view_if_needed()
    screenshot(staff_page, "away-staff-cohort")

    # Work handed in now skips Grace; back early, she can take reviews again.
    assert Submission.objects.get(pk=submission.pk).assigned_to_id == alan.pk
    card.get_by_role("button", name="I'm back: end away mode").click()
    card = page.locator(f"#away-{grace.pk}")
    expect(card).to_contain_text("You are back")
    expect(card).to_contain_text("You are available for new reviews.")
    grace.refresh_from_db()
    assert not grace.is_away()
    assert page.console_errors == []
