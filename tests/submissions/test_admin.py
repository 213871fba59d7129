"""The admin shows submission history but never changes it: the services own every write."""

import pytest
from django.urls import reverse

from submissions import services
from submissions.models import Iteration, Review
from tests.factories import (
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    SubmissionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(db):
    submission = SubmissionFactory(lab__week=1)
    mentor = MentorMembershipFactory(cohort=submission.cohort).user
    MembershipFactory(user=submission.learner, cohort=submission.cohort)
    services.submission_submit(actor=submission.learner, submission=submission)
    review = services.review_create(
        actor=mentor, submission=submission, verdict="comment", body="Nice start.", marks={}
    )
    return submission, review


@pytest.mark.parametrize(
    "model", ["submission", "iteration", "review", "assignment", "comment", "reviewpoint"]
)
def test_admin_pages_show_history(client, reviewed, model):
    client.force_login(StaffFactory())
    assert client.get(reverse(f"admin:submissions_{model}_changelist")).status_code == 200


def test_admin_cannot_delete_or_edit_a_review_or_an_iteration(client, reviewed):
    submission, review = reviewed
    iteration = Iteration.objects.get(submission=submission)
    client.force_login(StaffFactory())
    delete = client.post(
        reverse("admin:submissions_review_delete", args=[review.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    edit = client.post(
        reverse("admin:submissions_iteration_change", args=[iteration.pk]),
        {"notes": "rewritten by staff", "repo_url": "https://example.com/other"},
    )
    assert edit.status_code == 403
    assert Review.objects.filter(pk=review.pk).exists()
    iteration.refresh_from_db()
    assert iteration.notes != "rewritten by staff"
    page = client.get(reverse("admin:submissions_review_change", args=[review.pk]))
    assert page.status_code == 200 and "Nice start." in page.content.decode()
