"""The learner's lab page is cached whole (submissions.views._cached_lab_page). Every piece
of data it shows must be in its stamp, or a learner reads yesterday's page: each test here
reads the page (caching it), changes one input through its service, and reads it again at
once. Per-user parts must never travel between learners or visits."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_update_profile
from cohorts import services as cohort_services
from curriculum.services import lab_edit
from submissions import feedback, services
from submissions.comments import comment_delete, comment_update
from submissions.models import Comment, Submission
from tests.factories import StaffFactory

from .conftest import make_world

pytestmark = pytest.mark.django_db


def lab_page(client, user, world) -> str:
    client.force_login(user)
    response = client.get(
        reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def world(db):
    return make_world(mentors=2)


def test_a_mentors_message_its_edit_and_its_deletion_show_at_once(client, world):
    submission = world.submitted()
    lab_page(client, world.learner, world)
    comment = services.comment_create(
        actor=world.mentor, submission=submission, body="Have a look at the tests."
    )
    assert "Have a look at the tests." in lab_page(client, world.learner, world)
    comment_update(actor=world.mentor, comment=comment, body="Have a look at the README.")
    assert "Have a look at the README." in lab_page(client, world.learner, world)
    comment_delete(actor=world.mentor, comment=Comment.objects.get(pk=comment.pk))
    assert "Have a look at the README." not in lab_page(client, world.learner, world)


def test_a_review_and_its_reviewers_new_name_show_at_once(client, world):
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    assert world.mentor.display_name in lab_page(client, world.learner, world)
    services.review_create(
        actor=world.mentor,
        submission=Submission.objects.get(pk=submission.pk),
        verdict="request_changes",
        body="Please split the function.",
    )
    html = lab_page(client, world.learner, world)
    assert "Please split the function." in html
    user_update_profile(actor=world.mentor, user=world.mentor, name="Renamed Reviewer")
    assert "Renamed Reviewer" in lab_page(client, world.learner, world)


def test_a_claim_by_a_mentor_shows_at_once(client):
    world = make_world(mentors=2, capacity=0)  # nobody is assigned on hand-in
    submission = world.submitted()
    assert "is reviewing" not in lab_page(client, world.learner, world)
    services.submission_claim(actor=world.other_mentor, submission=submission)
    assert f"{world.other_mentor.display_name} is reviewing" in lab_page(
        client, world.learner, world
    )


def test_an_extension_and_an_override_move_the_due_date_at_once(client, world):
    world.draft()
    staff = StaffFactory()
    due = timezone.now().replace(microsecond=0) + dt.timedelta(days=30)
    lab_page(client, world.learner, world)
    cohort_services.schedule_override_set(
        actor=staff, cohort=world.cohort, lab=world.lab, due_at=due
    )
    assert f'datetime="{timezone.localtime(due).isoformat()}"' in lab_page(
        client, world.learner, world
    )
    later = due + dt.timedelta(days=5)
    cohort_services.extension_grant(
        actor=world.mentor,
        cohort=world.cohort,
        lab=world.lab,
        learner=world.learner,
        due_at=later,
        reason="Ill",
    )
    html = lab_page(client, world.learner, world)
    assert f'datetime="{timezone.localtime(later).isoformat()}"' in html
    assert "(extended)" in html


def test_an_edit_of_the_lab_text_shows_at_once(client, world):
    world.draft()
    staff = StaffFactory()
    lab_edit(actor=staff, lab=world.lab, title=world.lab.title, body="Version one.", note="a")
    assert "Version one." in lab_page(client, world.learner, world)
    lab_edit(actor=staff, lab=world.lab, title=world.lab.title, body="Version two.", note="b")
    assert "Version two." in lab_page(client, world.learner, world)


def test_the_draft_is_each_learners_own(client, world):
    world.draft(notes="Notes of the first learner")
    other = world.add_learner()
    world.draft(learner=other, notes="Notes of the second learner")
    first = lab_page(client, world.learner, world)
    second = lab_page(client, other, world)
    assert "Notes of the first learner" in first and "Notes of the second learner" not in first
    assert "Notes of the second learner" in second and "Notes of the first learner" not in second
    # And a saved draft shows at once.
    world.draft(notes="Rewritten notes")
    assert "Rewritten notes" in lab_page(client, world.learner, world)


IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]*)"')


def test_each_visit_gets_its_own_idempotency_key(client, world):
    world.draft()
    keys = {IDEMPOTENCY.search(lab_page(client, world.learner, world)).group(1) for _ in range(3)}
    assert len(keys) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)


def test_the_queue_position_is_live(client, world):
    ahead = world.submitted(learner=world.add_learner())
    world.submitted()
    assert "1 hand-in ahead of yours" in lab_page(client, world.learner, world)
    services.review_create(actor=world.mentor, submission=ahead, verdict="approve")
    assert "yours is next in the queue" in lab_page(client, world.learner, world)


def test_work_turns_overdue_at_its_due_time(client, world, monkeypatch):
    world.draft()
    staff = StaffFactory()
    due = timezone.now() + dt.timedelta(hours=1)
    cohort_services.schedule_override_set(
        actor=staff, cohort=world.cohort, lab=world.lab, due_at=due
    )
    assert "Overdue" not in lab_page(client, world.learner, world)
    monkeypatch.setattr(timezone, "now", lambda: due + dt.timedelta(seconds=1))
    assert "Overdue" in lab_page(client, world.learner, world)


def test_a_cached_visit_costs_a_fixed_number_of_queries(
    client, world, django_assert_max_num_queries
):
    submission = world.submitted()
    services.comment_create(actor=world.mentor, submission=submission, body="One")
    lab_page(client, world.learner, world)
    url = reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})
    # Session, user, one statement for the cohort, membership, lab, override, extension and
    # submission (submissions.page_lookups), the stamp; the live expected review time adds
    # its three.
    with django_assert_max_num_queries(7):
        assert client.get(url).status_code == 200


def test_the_learners_own_rating_of_a_review_shows_at_once(client, world):
    # An acknowledgement touches no submission: only its own rows name it.
    submission = world.submitted()
    review = services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Split it."
    )
    assert "you found it helpful" not in lab_page(client, world.learner, world)
    feedback.review_acknowledge(actor=world.learner, review=review, helpful=True)
    assert "you found it helpful" in lab_page(client, world.learner, world)
