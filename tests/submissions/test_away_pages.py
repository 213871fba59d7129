"""Away mode on pages and in the API: a mentor sets it on their home (with or without
htmx), staff per mentor on the cohort overview, and nobody else reaches it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from submissions.models import Assignment
from tests.api.conftest import token_client
from tests.factories import StaffFactory

from .conftest import make_world

pytestmark = pytest.mark.django_db

ME_AWAY = "/api/v1/me/away/"


def _day(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _away_url(user) -> str:
    return reverse("submissions:away", kwargs={"user_id": user.pk})


def test_mentor_goes_away_from_their_home_without_javascript(client):
    world = make_world(mentors=2)
    submission = world.submitted()
    holder = submission.assigned_to
    client.force_login(holder)
    home = client.get(reverse("dashboard:mentor"))
    assert b"Going away?" in home.content and b'type="date"' in home.content
    response = client.post(
        _away_url(holder),
        {"away_until": _day(7), "away_note": "Back next week", "next": reverse("dashboard:mentor")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:mentor")
    page = client.get(reverse("dashboard:mentor")).content.decode()
    last_day = (timezone.localdate() + dt.timedelta(days=7)).strftime("%-d %b %Y")
    assert "Away until" in page and last_day in page and "Back next week" in page
    assert "1 open review handed over" in page  # the flash message
    submission.refresh_from_db()
    assert submission.assigned_to_id == world.other_mentor.pk
    # The profile says so too.
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert 'data-testid="profile-away"' in profile and last_day in profile


def test_htmx_swaps_the_card_and_a_past_day_shows_the_error(client):
    world = make_world(mentors=1)
    client.force_login(world.mentor)
    response = client.post(
        _away_url(world.mentor), {"away_until": _day(-1), "away_note": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # htmx swaps only 2xx; the fragment carries the error
    assert "HX-Request" in response["Vary"]
    body = response.content.decode()
    assert body.lstrip().startswith("<section") and "is in the past" in body
    world.mentor.refresh_from_db()
    assert world.mentor.away_until is None
    plain = client.post(_away_url(world.mentor), {"away_until": _day(-1)})
    assert plain.status_code == 400 and b"is in the past" in plain.content
    ok = client.post(_away_url(world.mentor), {"away_until": _day(3)}, HTTP_HX_REQUEST="true")
    assert b"You are away until" in ok.content and b"end away mode" in ok.content
    ended = client.post(
        reverse("submissions:away-end", kwargs={"user_id": world.mentor.pk}),
        HTTP_HX_REQUEST="true",
    )
    assert b"You are back" in ended.content
    world.mentor.refresh_from_db()
    assert not world.mentor.is_away()


def test_staff_set_a_mentor_away_from_the_cohort_overview(client, django_assert_max_num_queries):
    world = make_world(mentors=2)
    staff = StaffFactory()
    client.force_login(staff)
    url = reverse("dashboard:staff-cohort", kwargs={"cohort_id": world.cohort.pk})
    page = client.get(url).content.decode()
    assert page.count('data-testid="mentor-row"') == 2
    response = client.post(
        _away_url(world.mentor), {"away_until": _day(7), "away_note": "Holiday", "next": url}
    )
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "Away until" in page and "Holiday" in page
    members = client.get(reverse("cohorts:members", kwargs={"slug": world.cohort.slug}))
    assert b"chip-away" in members.content
    for _ in range(3):
        world.add_mentor()
    with django_assert_max_num_queries(40):
        assert client.get(url).content.decode().count('data-testid="mentor-row"') == 5


@pytest.mark.parametrize("who", ["learner", "other_mentor", "anonymous"])
def test_nobody_else_reaches_a_mentors_away_mode(client, who):
    world = make_world(mentors=2)
    if who != "anonymous":
        client.force_login(getattr(world, who))
    for url in (
        _away_url(world.mentor),
        reverse("submissions:away-end", kwargs={"user_id": world.mentor.pk}),
    ):
        response = client.post(url, {"away_until": _day(3)})
        assert response.status_code in (302, 404) if who == "anonymous" else 404
    world.mentor.refresh_from_db()
    assert world.mentor.away_until is None


def test_a_learner_has_no_away_mode_page_of_their_own(client):
    world = make_world(mentors=1)
    client.force_login(world.learner)
    assert client.get(_away_url(world.learner)).status_code == 404
    assert b"Going away?" not in client.get(reverse("dashboard:mentor")).content


def test_review_page_shows_why_the_work_came(client):
    world = make_world(mentors=2)
    submission = world.submitted()
    holder = submission.assigned_to
    client.force_login(holder)
    client.post(_away_url(holder), {"away_until": _day(2), "away_note": "Ask Carol"})
    submission.refresh_from_db()
    client.force_login(submission.assigned_to)
    page = client.get(reverse("submissions:review", kwargs={"pk": submission.pk})).content
    assert b'data-testid="assignment-note"' in page and b"Ask Carol" in page


# --- API --------------------------------------------------------------------------------


def test_api_mentor_sets_reads_and_ends_their_away_mode():
    world = make_world(mentors=2)
    submission = world.submitted()
    holder = submission.assigned_to
    api = token_client(holder)
    assert api.get(ME_AWAY).json()["away"] is False
    response = api.put(ME_AWAY, {"away_until": _day(7), "away_note": "Offline"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["away"] is True and body["away_until"] == _day(7)
    assert body["away_note"] == "Offline" and body["reviews_moved"] == 1
    assert body["back_at"] is not None
    assert api.get("/api/v1/me/").json()["away"] is True
    assert Assignment.objects.get(submission=submission, ended_at__isnull=True).note
    ended = api.delete(ME_AWAY)
    assert ended.status_code == 200 and ended.json()["away"] is False


def test_api_past_day_is_a_400_naming_the_field():
    world = make_world(mentors=1)
    response = token_client(world.mentor).put(ME_AWAY, {"away_until": _day(-2)}, format="json")
    assert response.status_code == 400
    assert "away_until" in response.json()["errors"]
    world.mentor.refresh_from_db()
    assert world.mentor.away_until is None


def test_api_learner_and_other_mentor_are_refused_staff_may():
    world = make_world(mentors=2)
    assert token_client(world.learner).put(ME_AWAY, {"away_until": _day(1)}).status_code == 404
    other = f"/api/v1/mentors/{world.other_mentor.pk}/away/"
    mentor_api = token_client(world.mentor)
    assert mentor_api.get(other).status_code == 404
    assert mentor_api.put(other, {"away_until": _day(1)}, format="json").status_code == 404
    world.other_mentor.refresh_from_db()
    assert world.other_mentor.away_until is None
    staff_api = token_client(StaffFactory())
    response = staff_api.put(other, {"away_until": _day(1), "away_note": "Sick"}, format="json")
    assert response.status_code == 200 and response.json()["user"]["id"] == world.other_mentor.pk
    learner_url = f"/api/v1/mentors/{world.learner.pk}/away/"
    assert staff_api.put(learner_url, {"away_until": _day(1)}, format="json").status_code == 404


def test_api_schema_describes_away():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert {"get", "put", "delete"} <= set(paths["/api/v1/me/away/"])
    assert {"get", "put", "delete"} <= set(paths["/api/v1/mentors/{user_id}/away/"])
    components = schema["components"]["schemas"]
    assert {"away_until", "away_note"} <= set(components["AwayWriteRequest"]["properties"])
    assert {"away", "away_until", "back_at", "away_note", "reviews_moved"} <= set(
        components["AwaySetResult"]["properties"]
    )
    assert "away" in components["Me"]["properties"]
