"""Nobody reviews their own work, not even staff enrolled as a learner (issue 14, point 8).

A staff member may join a cohort as a learner (to try the course). Staff may review any
work, but never their own: every path (the service, the review page, the API, claiming,
reassigning to oneself) must refuse and change nothing.
"""

import pytest
from django.test import Client

from core.exceptions import ApplicationError
from submissions import services
from submissions.models import Review, Submission
from tests.api.conftest import token_client
from tests.factories import MembershipFactory, StaffFactory

from .conftest import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_work(db):
    world = make_world(mentors=1)
    staff = StaffFactory()
    MembershipFactory(user=staff, cohort=world.cohort)
    submission = world.submitted(learner=staff)
    return staff, submission


def _unchanged(submission, state) -> bool:
    submission.refresh_from_db()
    return submission.state == state and not Review.objects.filter(submission=submission).exists()


@pytest.mark.parametrize("verdict", ["approve", "request_changes", "comment"])
def test_the_service_refuses_a_staff_learner_reviewing_their_own_work(own_work, verdict):
    staff, submission = own_work
    state = submission.state
    with pytest.raises(ApplicationError) as refused:
        services.review_create(actor=staff, submission=submission, verdict=verdict, body="Mine")
    assert refused.value.code == "forbidden"
    assert _unchanged(submission, state)


def test_the_review_page_refuses_it(own_work):
    staff, submission = own_work
    client = Client()
    client.force_login(staff)
    response = client.post(
        f"/submissions/{submission.pk}/review/", {"verdict": "approve", "body": "Mine"}
    )
    # Refused, or sent to their own lab page as the learner they are here.
    assert response.status_code in (302, 400, 403, 404)
    assert "/review/" not in response.get("Location", "")
    assert _unchanged(submission, Submission.State.SUBMITTED)


def test_the_api_refuses_it(own_work):
    staff, submission = own_work
    response = token_client(staff).post(
        f"/api/v1/submissions/{submission.pk}/reviews/",
        {"verdict": "approve", "body": "Mine"},
        format="json",
    )
    assert response.status_code in (403, 404)
    assert _unchanged(submission, Submission.State.SUBMITTED)


def test_claiming_or_taking_over_ones_own_work_is_refused(own_work):
    staff, submission = own_work
    with pytest.raises(ApplicationError):
        services.submission_claim(actor=staff, submission=submission)
    with pytest.raises(ApplicationError):
        services.submission_reassign(actor=staff, submission=submission, mentor=staff)
    submission.refresh_from_db()
    assert submission.assigned_to_id != staff.pk
