"""The learner's home is cached whole under `learner_home_stamp`, which names the learner's
submissions by the columns the page shows rather than by their change time: a message in
the thread (5 % of what people do) must not make the home be drawn again, and everything
the home does show must still redraw it at once. One test per input: leaving a column out
of `HOME_SUBMISSION_COLUMNS` or `HOME_REVIEW_COLUMNS` makes its test fail."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards import selectors
from submissions import services
from submissions.models import Review, Submission
from tests.dashboards.conftest import without_csrf

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(two_lab_world):
    return two_lab_world


def home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("dashboard:learner"))
    assert response.status_code == 200
    return response.content.decode()


def later(value):
    return (value or timezone.now()) + dt.timedelta(hours=5)


# Each shown column, changed alone (a queryset update, which leaves `updated_at` as it was).
SUBMISSION_CHANGES = {
    "id": None,  # a row coming or going: covered by the hand-in test below
    "lab_id": lambda s, world: {"lab_id": world.second_lab.pk},
    "state": lambda s, world: {"state": Submission.State.APPROVED},
    "is_late": lambda s, world: {"is_late": not s.is_late},
    "iteration_count": lambda s, world: {"iteration_count": s.iteration_count + 1},
    "approved_at": lambda s, world: {"approved_at": later(s.approved_at)},
    "review_due_at": lambda s, world: {"review_due_at": later(s.review_due_at)},
}


def test_every_shown_submission_column_has_a_change_test():
    assert set(SUBMISSION_CHANGES) == set(selectors.HOME_SUBMISSION_COLUMNS)


@pytest.mark.parametrize("column", [c for c, change in SUBMISSION_CHANGES.items() if change])
def test_a_change_to_a_shown_submission_column_changes_the_stamp(world, column):
    submission = world.submitted()
    before = selectors.learner_home_stamp(world.learner)
    changes = SUBMISSION_CHANGES[column](submission, world)
    assert Submission.objects.filter(pk=submission.pk).update(**changes) == 1
    assert selectors.learner_home_stamp(world.learner) != before


def test_every_review_column_has_a_change_test():
    assert set(REVIEW_CHANGES) == set(selectors.HOME_REVIEW_COLUMNS)


REVIEW_CHANGES = {
    "id": None,  # a new review: covered by the "comment" verdict test below
    "submission_id": lambda review, world: {"submission_id": world.other_submission.pk},
    "verdict": lambda review, world: {"verdict": Review.Verdict.APPROVE},
    "reviewer_id": lambda review, world: {"reviewer_id": world.learner.pk},
    "created_at": lambda review, world: {"created_at": later(review.created_at)},
}


@pytest.mark.parametrize("column", [c for c, change in REVIEW_CHANGES.items() if change])
def test_a_change_to_a_shown_review_column_changes_the_stamp(world, column):
    submission = world.submitted()
    world.other_submission = world.submitted(lab=world.second_lab)
    review = services.review_create(
        actor=world.mentor, submission=submission, verdict="comment", body="Looks fine."
    )
    before = selectors.learner_home_stamp(world.learner)
    changes = REVIEW_CHANGES[column](review, world)
    assert Review.objects.filter(pk=review.pk).update(**changes) == 1
    assert selectors.learner_home_stamp(world.learner) != before


def test_a_hand_in_shows_at_once(client, world):
    assert "Submitted" not in home(client, world.learner)
    world.submitted()
    assert "Submitted" in home(client, world.learner)


def test_a_review_that_changes_no_state_shows_in_recent_feedback_at_once(client, world):
    submission = world.submitted()
    assert "No feedback yet" in home(client, world.learner)
    services.review_create(
        actor=world.mentor, submission=submission, verdict="comment", body="Nice naming here."
    )
    assert "Nice naming here." in home(client, world.learner)


def test_an_approval_shows_at_once(client, world):
    submission = world.submitted()
    assert "Approved" not in home(client, world.learner).split("Weeks")[-1]
    services.review_create(
        actor=world.mentor, submission=submission, verdict="approve", body="Well done."
    )
    assert "Approved" in home(client, world.learner).split("Weeks")[-1]


def test_messages_in_the_thread_leave_the_cached_home_as_it_was(client, world, recording):
    """A comment (the learner's or a mentor's) shows on the lab and review pages only: the
    learner's home keeps its entry instead of being drawn again."""
    submission = world.submitted()
    page = home(client, world.learner)
    drawn = len(recording.stored)
    services.comment_create(actor=world.learner, submission=submission, body="Is this right?")
    services.comment_create(actor=world.mentor, submission=submission, body="Yes, go on.")
    assert without_csrf(home(client, world.learner)) == without_csrf(page)
    assert len(recording.stored) == drawn
