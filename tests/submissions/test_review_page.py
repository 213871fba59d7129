"""The mentor's review page: nothing typed is lost, and a verdict is given once.

Posts go through the Django test client as a browser without JavaScript sends them.
"""

import re

import pytest
from django.urls import reverse

from submissions import services
from submissions.models import Comment, Review

from .conftest import make_world

pytestmark = pytest.mark.django_db


def review_url(submission):
    return reverse("submissions:review", kwargs={"pk": submission.pk})


@pytest.fixture
def setup(client):
    world = make_world(mentors=1)
    submission = world.submitted()
    client.force_login(world.mentor)
    return world, submission


def test_post_review_refuses_while_the_discussion_box_holds_a_message(client, setup):
    world, submission = setup
    response = client.post(
        review_url(submission),
        {
            "action": "review",
            "verdict": "request_changes",
            "mark_0": "not_met",
            "message": "Please add the N=4096 figures.",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Your review was not posted" in html
    assert "This message is not sent yet" in html
    # What was typed comes back in place.
    assert "Please add the N=4096 figures.</textarea>" in html
    assert re.search(r'value="request_changes"[^>]*checked', html)
    assert not Review.objects.exists() and not Comment.objects.exists()


def test_post_message_keeps_the_review_typed_so_far(client, setup):
    world, submission = setup
    response = client.post(
        review_url(submission),
        {
            "action": "message",
            "verdict": "approve",
            "body": "Half-written review",
            "message": "Quick question about N.",
        },
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert Comment.objects.get().body == "Quick question about N."
    assert not Review.objects.exists()
    assert "Your review is not posted yet" in html
    assert "Half-written review</textarea>" in html
    assert re.search(r'value="approve"[^>]*checked', html)
    # Posting the review clears what was kept.
    response = client.post(
        review_url(submission),
        {"action": "review", "verdict": "approve", "body": "Half-written review", "message": ""},
        follow=True,
    )
    assert Review.objects.get().body == "Half-written review"
    assert "Half-written review</textarea>" not in response.content.decode()


def test_after_a_verdict_the_page_says_what_happened_and_what_next(client, setup):
    world, submission = setup
    waiting = world.submitted(learner=world.add_learner())
    response = client.post(
        review_url(submission),
        {"action": "review", "verdict": "request_changes", "body": "Add tests", "message": ""},
        follow=True,
    )
    html = response.content.decode()
    assert "You requested changes on iteration 1" in html
    assert "can hand in a new iteration" in html
    assert f'href="{review_url(waiting)}"' in html and "Next submission" in html
    assert "Back to queue" in html
    assert "Revise my verdict" in html
    assert '<details class="sub-revise">' in html  # closed until asked for


def test_a_second_verdict_needs_revise_on_the_page_too(client, setup):
    world, submission = setup
    data = {"action": "review", "verdict": "request_changes", "body": "Add tests", "message": ""}
    assert client.post(review_url(submission), data).status_code == 302
    # The same form posted again (a stale page or a second click) is refused and says why.
    response = client.post(review_url(submission), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Iteration 1 already has a verdict: you requested changes on" in html
    assert '<details class="sub-revise" open>' in html
    assert Review.objects.count() == 1
    revised = client.post(
        review_url(submission),
        {"action": "review", "verdict": "approve", "body": "", "message": "", "revise": "1"},
    )
    assert revised.status_code == 302
    submission.refresh_from_db()
    assert submission.state == "approved" and Review.objects.count() == 2


def test_breadcrumb_and_lab_brief_are_links(client, setup):
    world, submission = setup
    html = client.get(review_url(submission)).content.decode()
    brief = world.lab.get_absolute_url()
    assert f'<a href="{brief}">Week {world.lab.week} · {world.lab.title}</a>' in html
    assert "Read the lab brief" in html
    queue = reverse("submissions:queue")
    assert f'<a href="{queue}?tab=all&amp;cohort={world.cohort.pk}">{world.cohort.name}</a>' in html


def test_queue_names_the_action_for_work_assigned_to_you(client, setup):
    world, submission = setup
    assert submission.assigned_to_id == world.mentor.pk
    html = client.get(reverse("submissions:queue")).content.decode()
    assert "Assigned to you" in html and ">Start review<" in html
    assert ">You<" not in html and ">Claim<" not in html
    services.submission_claim(actor=world.mentor, submission=submission)
    html = client.get(reverse("submissions:queue")).content.decode()
    assert "You are reviewing" in html and ">Release<" in html
