"""In a real browser: a mentor and a learner go through three iterations of one lab with review
points: points raised (rows added in place with htmx), answered on the lab page, shown on
"Since your last review", one left open and waived with a reason to approve."""

import re

import pytest
from playwright.sync_api import expect

from submissions.models import ReviewPoint, Submission
from tests.factories import DEFAULT_PASSWORD
from tests.submissions.conftest import make_world

from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _lab_path(world) -> str:
    return f"/submissions/cohort/{world.cohort.pk}/lab/{world.lab.pk}/"


def _review_path(submission) -> str:
    return f"/submissions/{submission.pk}/review/"


def test_three_iterations_with_review_points(new_page, live_server):
    world = make_world(mentors=1)
    submission = world.submitted(notes="First try.", checklist=[0])

    mentor = new_page()
    sign_in(mentor, world.mentor.email, DEFAULT_PASSWORD)
    learner = new_page()
    sign_in(learner, world.learner.email, DEFAULT_PASSWORD)

    # Iteration 1: the mentor raises two points, adding the second row in place.
    mentor.goto(_review_path(submission))
    expect(mentor.locator("#since-last-review")).to_have_count(0)
    form = mentor.locator("#review-form")
    form.get_by_label("Request changes").check()
    form.get_by_label("Review", exact=True).fill("Good start; two things to change.")
    form.get_by_label("Point 1", exact=True).fill("Add a test for the empty input.")
    url_before = mentor.url
    form.get_by_role("button", name="Add a point").click()
    expect(form.get_by_label("Point 2", exact=True)).to_be_visible()
    assert mentor.url == url_before  # swapped in place, nothing posted
    expect(form.get_by_label("Point 1", exact=True)).to_have_value(
        "Add a test for the empty input."
    )
    form.get_by_label("Point 2", exact=True).fill("Show the output of this step.")
    form.get_by_label("Deliverable of point 2").select_option("1")
    form.locator("#point-rows").scroll_into_view_if_needed()
    screenshot(mentor, "points-review-form")
    form.get_by_role("button", name="Post review").click()
    expect(mentor.locator("li.message-success")).to_contain_text("Review posted")
    assert ReviewPoint.objects.filter(submission=submission, state="open").count() == 2

    # Iteration 2: the learner answers both on the lab page and hands in.
    learner.goto(_lab_path(world))
    answers = learner.locator("#point-answers")
    expect(answers).to_contain_text("Add a test for the empty input.")
    answers.get_by_label(re.compile("Add a test for the empty input")).fill("Added test_empty.")
    answers.get_by_label(re.compile("Show the output of this step")).fill(
        "The notes show the output."
    )
    learner.get_by_label("Notes for your mentor").fill("First try.\nNow with a test.")
    answers.scroll_into_view_if_needed()
    screenshot(learner, "points-learner-answers")
    learner.get_by_role("button", name="Submit for review").click()
    expect(learner.locator("li.message-success")).to_contain_text("Iteration 2 handed in")

    # The mentor's page opens on "Since your last review".
    mentor.goto(_review_path(submission))
    since = mentor.locator("#since-last-review")
    expect(since).to_contain_text("Changes since iteration 1")
    expect(since).to_contain_text("+ Now with a test.")
    expect(since).to_contain_text("Added test_empty.")
    expect(since.locator(".pt-addressed")).to_have_count(2)
    assert since.bounding_box()["y"] < mentor.locator("#iteration-heading").bounding_box()["y"]
    screenshot(mentor, "points-since-last-review")
    form = mentor.locator("#review-form")
    form.get_by_label("Request changes").check()
    form.get_by_label("Point 1", exact=True).fill("Name the test after the case.")
    form.get_by_role("button", name="Post review").click()
    expect(mentor.locator("li.message-success")).to_contain_text("Review posted")

    # Iteration 3: the learner hands in with the point knowingly left open.
    learner.goto(_lab_path(world))
    learner.get_by_role("button", name="Submit for review").click()
    expect(learner.locator("#point-answers")).to_contain_text("1 point is not answered yet")
    assert Submission.objects.get(pk=submission.pk).iteration_count == 2
    learner.get_by_label("Hand in with the points I did not answer left open").check()
    learner.get_by_role("button", name="Submit for review").click()
    expect(learner.locator("li.message-success")).to_contain_text("Iteration 3 handed in")

    # Approving with the open point: refused without a reason, then waived with one.
    mentor.goto(_review_path(submission))
    expect(mentor.locator("#since-last-review")).to_contain_text("Not answered by the learner.")
    form = mentor.locator("#review-form")
    form.get_by_label("Approve", exact=True).check()
    form.get_by_role("button", name="Post review").click()
    expect(mentor.locator("#waive-error")).to_contain_text("Not approved: 1 point is still open")
    assert Submission.objects.get(pk=submission.pk).state == "submitted"
    mentor.locator("#waive-error").scroll_into_view_if_needed()
    screenshot(mentor, "points-approve-refused")
    mentor.get_by_label(re.compile("To approve anyway, say why")).fill(
        "Naming is a style choice here."
    )
    mentor.locator("#review-form").get_by_label("Approve", exact=True).check()
    mentor.locator("#review-form").get_by_role("button", name="Post review").click()
    expect(mentor.locator("li.message-success")).to_contain_text("Review posted: approve")
    assert Submission.objects.get(pk=submission.pk).state == "approved"

    learner.goto(_lab_path(world))
    points = learner.locator("#review-points")
    expect(points).to_contain_text("Waived by")
    expect(points).to_contain_text("Naming is a style choice here.")
    points.scroll_into_view_if_needed()
    screenshot(learner, "points-learner-final")
    errors = [e for e in mentor.console_errors + learner.console_errors if "status of 400" not in e]
    assert errors == []
