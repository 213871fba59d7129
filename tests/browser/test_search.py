"""The header's search box: a learner finds a lab, a mentor finds a learner and their work."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import (
    DEFAULT_PASSWORD,
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    SubmissionFactory,
    UserFactory,
)

from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_learner_and_mentor_search_from_the_header(new_page, live_server):
    cohort = CohortFactory(
        name="Spring cohort", start_date=(timezone.now() - dt.timedelta(days=10)).date()
    )
    track = cohort.track
    intro = LabFactory(
        track=track, week=1, title="Docker from scratch", body="Write a Dockerfile for a web app."
    )
    LabFactory(track=track, week=2, title="Docker networking", body="Connect two containers.")
    LabFactory(track=track, week=6, title="Kubernetes", body="Secret: run Docker in a pod.")
    learner = MembershipFactory(
        cohort=cohort, user=UserFactory(name="Ada Lovelace", email="ada@example.com")
    ).user
    MembershipFactory(cohort=cohort, user=UserFactory(name="Alan Turing"))
    mentor = MentorMembershipFactory(cohort=cohort, user=UserFactory(name="Grace Hopper")).user
    SubmissionFactory(learner=learner, cohort=cohort, lab=intro)

    page = new_page()
    sign_in(page, learner.email, DEFAULT_PASSWORD)
    box = page.get_by_role("searchbox", name="Search").first
    box.fill("docker")
    box.press("Enter")
    labs = page.get_by_role("region", name="Labs")
    expect(labs.get_by_role("link", name="Docker from scratch")).to_be_visible()
    expect(labs.get_by_role("link", name="Docker networking")).to_be_visible()
    # The week-6 lab mentions Docker only in its text, which is not released yet.
    expect(labs.get_by_role("link", name="Kubernetes")).to_have_count(0)
    expect(page.get_by_role("region", name="People")).to_have_count(0)
    screenshot(page, "search-learner")
    labs.get_by_role("link", name="Docker from scratch").click()
    expect(page.get_by_role("heading", name="Docker from scratch")).to_be_visible()

    page = new_page()
    sign_in(page, mentor.email, DEFAULT_PASSWORD)
    box = page.get_by_role("searchbox", name="Search").first
    box.fill("ada")
    box.press("Enter")
    people = page.get_by_role("region", name="People")
    expect(people.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    work = page.get_by_role("region", name="Submissions")
    expect(work.get_by_role("link", name="Docker from scratch — Ada Lovelace")).to_be_visible()
    screenshot(page, "search-mentor")
    people.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_text("Ada Lovelace").first).to_be_visible()
    assert "/learners/" in page.url
