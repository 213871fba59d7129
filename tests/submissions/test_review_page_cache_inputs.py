"""The mentor's review page is cached whole (submissions.views._cached_review_page). Each
test reads the page (caching it), changes one input through its service and reads it
again at once; what is one mentor's (a claim, a kept draft) must never reach another."""

import pytest
from django.urls import reverse

from accounts.services import user_update_profile
from submissions import saved_replies, services
from submissions.models import Submission

from .conftest import make_world

pytestmark = pytest.mark.django_db


def review_page(client, user, submission) -> str:
    client.force_login(user)
    response = client.get(reverse("submissions:review", kwargs={"pk": submission.pk}))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def world(db):
    return make_world(mentors=2, capacity=0)  # nobody is assigned on hand-in


def test_a_learners_message_and_new_name_show_at_once(client, world):
    submission = world.submitted()
    review_page(client, world.mentor, submission)
    services.comment_create(actor=world.learner, submission=submission, body="Is this right?")
    assert "Is this right?" in review_page(client, world.mentor, submission)
    user_update_profile(actor=world.learner, user=world.learner, name="Renamed Learner")
    assert "Renamed Learner" in review_page(client, world.mentor, submission)


def test_a_claim_shows_to_each_mentor_as_their_own(client, world):
    submission = world.submitted()
    assert "Claim for review" in review_page(client, world.mentor, submission)
    assert "Claim for review" in review_page(client, world.other_mentor, submission)
    services.submission_claim(actor=world.mentor, submission=submission)
    mine = review_page(client, world.mentor, submission)
    theirs = review_page(client, world.other_mentor, submission)
    assert "Release to queue" in mine
    assert "Release to queue" not in theirs and "Claim for review" not in theirs


def test_a_new_iteration_shows_at_once(client, world):
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Split it."
    )
    review_page(client, world.mentor, submission)
    world.submitted(notes="Second attempt, split into three")
    assert "Second attempt, split into three" in review_page(
        client, world.mentor, Submission.objects.get(pk=submission.pk)
    )


def test_a_new_saved_reply_shows_in_the_menu_at_once(client, world):
    submission = world.submitted()
    review_page(client, world.mentor, submission)
    saved_replies.saved_reply_create(
        actor=world.mentor,
        lab=world.lab,
        cohort=world.cohort,
        title="Tests missing",
        body="Please add tests.",
    )
    assert "Tests missing" in review_page(client, world.mentor, submission)


def test_a_review_kept_while_a_message_is_posted_is_shown_to_its_author_only(client, world):
    submission = world.submitted()
    url = reverse("submissions:review", kwargs={"pk": submission.pk})
    review_page(client, world.mentor, submission)
    review_page(client, world.other_mentor, submission)
    client.force_login(world.mentor)
    response = client.post(
        url,
        {
            "action": "message",
            "message": "One question first.",
            "verdict": "approve",
            "body": "Nearly there, kept for later",
        },
    )
    assert response.status_code == 302
    assert "Nearly there, kept for later" in review_page(client, world.mentor, submission)
    assert "Nearly there, kept for later" not in review_page(client, world.other_mentor, submission)


def test_a_cached_visit_costs_a_fixed_number_of_queries(
    client, world, django_assert_max_num_queries
):
    submission = world.submitted()
    services.comment_create(actor=world.learner, submission=submission, body="One")
    review_page(client, world.mentor, submission)
    url = reverse("submissions:review", kwargs={"pk": submission.pk})
    # Session, user, the submission (with its cohort, lab and people) and the mentor check
    # in one statement (submissions.page_lookups), the stamp.
    with django_assert_max_num_queries(4):
        assert client.get(url).status_code == 200
