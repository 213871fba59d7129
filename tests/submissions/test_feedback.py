"""Feedback that lands: the learner acknowledges each review; one reminder after 3 days."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cohorts.models import Membership
from core.exceptions import ApplicationError
from notifications.models import Event, Notification, Preference
from notifications.services import event_process
from submissions import feedback, services
from submissions.models import Review, ReviewAcknowledgement
from tests.factories import StaffFactory, UserFactory
from tests.submissions.conftest import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def reviewed(world, verdict="request_changes"):
    submission = world.submitted()
    return services.review_create(
        actor=world.mentor, submission=submission, verdict=verdict, body="Split the function."
    )


@pytest.fixture
def world(db):
    return make_world(mentors=1)


# --- the service ------------------------------------------------------------------------


def test_learner_acknowledges_and_a_second_call_updates_the_rating_but_keeps_the_first_time(
    world,
):
    review = reviewed(world)
    first = feedback.review_acknowledge(actor=world.learner, review=review)
    assert (first.helpful, first.note) == (None, "")
    seen_at = first.acknowledged_at

    again = feedback.review_acknowledge(
        actor=world.learner, review=review, helpful=False, note="  Too terse.  "
    )
    assert ReviewAcknowledgement.objects.filter(review=review).count() == 1
    again.refresh_from_db()
    assert again.acknowledged_at == seen_at
    assert (again.helpful, again.note) == (False, "Too terse.")
    assert again.updated_at >= seen_at


@pytest.mark.parametrize("who", ["mentor", "staff", "other_learner", "anonymous"])
def test_only_the_reviewed_learner_may_acknowledge(world, who):
    from django.contrib.auth.models import AnonymousUser

    review = reviewed(world)
    actor = {
        "mentor": world.mentor,
        "staff": StaffFactory(),
        "other_learner": world.add_learner(),
        "anonymous": AnonymousUser(),
    }[who]
    with pytest.raises(ApplicationError) as error:
        feedback.review_acknowledge(actor=actor, review=review, helpful=True)
    assert error.value.code == "forbidden"
    assert not ReviewAcknowledgement.objects.exists()


def test_a_learner_whose_membership_ended_cannot_acknowledge(world):
    review = reviewed(world)
    Membership.objects.filter(user=world.learner, cohort=world.cohort).update(active=False)
    with pytest.raises(ApplicationError):
        feedback.review_acknowledge(actor=world.learner, review=review)
    assert not ReviewAcknowledgement.objects.exists()


def test_a_note_past_the_cap_is_refused_and_changes_nothing(world):
    review = reviewed(world)
    feedback.review_acknowledge(actor=world.learner, review=review, helpful=True, note="Clear.")
    limit = ReviewAcknowledgement.NOTE_MAX_LENGTH
    with pytest.raises(ApplicationError) as error:
        feedback.review_acknowledge(
            actor=world.learner, review=review, helpful=False, note="x" * (limit + 1)
        )
    assert error.value.code == "invalid"
    assert str(limit) in error.value.message
    ack = ReviewAcknowledgement.objects.get(review=review)
    assert (ack.helpful, ack.note) == (True, "Clear.")
    # Exactly at the cap is fine.
    feedback.review_acknowledge(actor=world.learner, review=review, note="y" * limit)


def test_helpful_must_be_a_boolean_or_none(world):
    review = reviewed(world)
    with pytest.raises(ApplicationError):
        feedback.review_acknowledge(actor=world.learner, review=review, helpful="yes")
    assert not ReviewAcknowledgement.objects.exists()


# --- the reminder ---------------------------------------------------------------------------


def _age(review, days, hours=0):
    posted = timezone.now() - dt.timedelta(days=days, hours=hours)
    Review.objects.filter(pk=review.pk).update(created_at=posted)


def _reminders(user):
    return Notification.objects.filter(recipient=user, kind="review.unacknowledged")


def _process_all():
    for pk in Event.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
        event_process(event_id=pk)


def test_an_unacknowledged_review_gets_exactly_one_reminder_after_three_days(
    world, django_capture_on_commit_callbacks
):
    review = reviewed(world)
    _process_all()
    _age(review, days=2, hours=23)
    assert feedback.reviews_remind_unacknowledged() == 0

    _age(review, days=3, hours=1)
    with django_capture_on_commit_callbacks():
        assert feedback.reviews_remind_unacknowledged() == 1
        assert feedback.reviews_remind_unacknowledged() == 0
    _process_all()
    later = timezone.now() + dt.timedelta(days=2)
    assert feedback.reviews_remind_unacknowledged(now=later) == 0

    [reminder] = _reminders(world.learner)
    assert "waiting for you" in reminder.text
    assert reminder.link.endswith(f"#review-{review.pk}")
    assert not _reminders(world.mentor).exists()


def test_an_acknowledged_review_gets_no_reminder(world):
    review = reviewed(world)
    feedback.review_acknowledge(actor=world.learner, review=review)
    _age(review, days=4)
    assert feedback.reviews_remind_unacknowledged() == 0


def test_a_learner_who_left_the_cohort_gets_no_reminder(world):
    review = reviewed(world)
    _age(review, days=4)
    Membership.objects.filter(user=world.learner, cohort=world.cohort).update(active=False)
    assert feedback.reviews_remind_unacknowledged() == 0
    assert not _reminders(world.learner).exists()


def test_a_membership_ended_after_the_reminder_was_recorded_hears_nothing(world):
    review = reviewed(world)
    _process_all()
    _age(review, days=4)
    assert feedback.reviews_remind_unacknowledged() == 1
    Membership.objects.filter(user=world.learner, cohort=world.cohort).update(active=False)
    _process_all()
    assert not _reminders(world.learner).exists()


def test_the_reminder_respects_the_learners_preference(world):
    review = reviewed(world)
    _process_all()
    Preference.objects.create(
        user=world.learner, kind="review.unacknowledged", channel=Preference.Channel.OFF
    )
    _age(review, days=4)
    assert feedback.reviews_remind_unacknowledged() == 1
    _process_all()
    assert not _reminders(world.learner).exists()


def test_old_reviews_past_the_window_are_not_reminded(world):
    review = reviewed(world)
    _age(review, days=3 + 8)
    assert feedback.reviews_remind_unacknowledged() == 0


def test_the_beat_schedule_runs_the_reminder():
    from config.celery import BEAT_SCHEDULE

    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert "submissions.remind_unacknowledged_reviews" in tasks


# --- the page -------------------------------------------------------------------------------


def _lab_url(world):
    return reverse("submissions:lab", args=[world.cohort.pk, world.lab.pk])


def test_the_learner_sees_the_buttons_and_viewing_is_not_acknowledging(client, world):
    review = reviewed(world)
    client.force_login(world.learner)
    html = client.get(_lab_url(world)).content.decode()
    assert f'action="{reverse("submissions:acknowledge", args=[review.pk])}"' in html
    assert "Got it" in html and "Not helpful" in html
    assert not ReviewAcknowledgement.objects.exists()


def test_the_form_works_without_javascript(client, world):
    review = reviewed(world)
    client.force_login(world.learner)
    url = reverse("submissions:acknowledge", args=[review.pk])
    response = client.post(url, {"helpful": "yes", "note": "Spot on"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#review-{review.pk}")
    ack = ReviewAcknowledgement.objects.get(review=review)
    assert (ack.helpful, ack.note) == (True, "Spot on")
    html = client.get(_lab_url(world)).content.decode()
    assert "you found it helpful" in html


def test_htmx_swaps_the_box_in_place_with_errors_kept(client, world):
    review = reviewed(world)
    client.force_login(world.learner)
    url = reverse("submissions:acknowledge", args=[review.pk])
    response = client.post(url, {"helpful": "", "note": "z" * 501}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<div") or f'id="review-ack-{review.pk}"' in html
    assert "500 characters" in html and 'role="alert"' in html
    assert "HX-Request" in response["Vary"]
    assert not ReviewAcknowledgement.objects.exists()

    response = client.post(url, {"helpful": "no"}, HTTP_HX_REQUEST="true")
    assert "you found it not helpful" in response.content.decode()
    assert ReviewAcknowledgement.objects.get(review=review).helpful is False


def test_the_mentor_sees_whether_the_review_landed_but_cannot_acknowledge(client, world):
    review = reviewed(world)
    feedback.review_acknowledge(actor=world.learner, review=review, helpful=True)
    client.force_login(world.mentor)
    url = reverse("submissions:acknowledge", args=[review.pk])
    assert client.post(url, {"helpful": "no"}).status_code == 403
    assert ReviewAcknowledgement.objects.get(review=review).helpful is True
    html = client.get(reverse("submissions:review", args=[review.submission_id])).content
    assert b"Seen by the learner" in html and b"rated helpful" in html


# --- the API --------------------------------------------------------------------------------


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ack_url(review):
    return f"/api/v1/reviews/{review.pk}/acknowledge/"


def test_api_acknowledge_then_rerate(world):
    review = reviewed(world)
    client = _api(world.learner)
    first = client.post(_ack_url(review), {"helpful": None, "note": ""}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["helpful"] is None
    second = client.post(_ack_url(review), {"helpful": True, "note": "Thanks"}, format="json")
    body = second.json()
    assert (body["review"], body["helpful"], body["note"]) == (review.pk, True, "Thanks")
    assert body["acknowledged_at"] == first.json()["acknowledged_at"]
    listed = client.get(f"/api/v1/submissions/{review.submission_id}/reviews/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["acknowledgement"]["helpful"] is True


def test_api_refuses_everyone_but_the_learner(world):
    review = reviewed(world)
    assert _api(world.mentor).post(_ack_url(review), {}, format="json").status_code == 403
    assert _api(StaffFactory()).post(_ack_url(review), {}, format="json").status_code == 403
    # Another learner of the cohort, and a stranger, cannot see the review at all.
    assert _api(world.add_learner()).post(_ack_url(review), {}, format="json").status_code == 404
    assert _api(UserFactory()).post(_ack_url(review), {}, format="json").status_code == 404
    assert APIClient().post(_ack_url(review), {}, format="json").status_code in (401, 403)
    assert not ReviewAcknowledgement.objects.exists()


def test_api_rejects_a_long_note_and_a_bad_helpful(world):
    review = reviewed(world)
    client = _api(world.learner)
    long_note = client.post(_ack_url(review), {"note": "n" * 501}, format="json")
    assert long_note.status_code == 400
    assert "500" in long_note.content.decode()
    bad = client.post(_ack_url(review), {"helpful": "maybe"}, format="json")
    assert bad.status_code == 400
    assert not ReviewAcknowledgement.objects.exists()


def test_the_schema_describes_the_endpoint_and_the_new_field(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reviews/{id}/acknowledge/"]["post"]
    assert operation["summary"].startswith("Acknowledge a review")
    components = schema["components"]["schemas"]
    assert set(components["ReviewAcknowledgement"]["properties"]) >= {
        "acknowledged_at",
        "helpful",
        "note",
    }
    assert "acknowledgement" in components["Review"]["properties"]


def test_a_former_learner_is_refused_by_the_page_form_and_writes_nothing(client, world):
    review = reviewed(world)
    Membership.objects.filter(user=world.learner, cohort=world.cohort).update(active=False)
    client.force_login(world.learner)
    url = reverse("submissions:acknowledge", args=[review.pk])
    assert client.post(url, {"helpful": "yes"}).status_code == 403
    assert not ReviewAcknowledgement.objects.exists()
