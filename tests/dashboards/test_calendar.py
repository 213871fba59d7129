import datetime as dt

import pytest
from django.urls import reverse
from icalendar import Calendar

from cohorts.models import Extension
from core.exceptions import ApplicationError
from dashboards.models import CalendarFeed
from dashboards.services import calendar_feed_create, calendar_feed_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def feed_path(token: str) -> str:
    return reverse("dashboard:calendar-feed", args=[token])


def test_feed_lists_each_lab_due_with_extensions(client, seeded, track):
    world = seeded()
    learner, cohort = world["learner"], world["cohort"]
    lab = track.labs.get(week=3)
    extended = dt.datetime(2031, 1, 2, 12, 0, tzinfo=dt.UTC)
    Extension.objects.create(cohort=cohort, lab=lab, learner=learner, due_at=extended, reason="ill")
    feed, token = calendar_feed_create(user=learner)
    response = client.get(feed_path(token))  # no session: the token is the credential
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == track.labs.count()
    week3 = next(e for e in events if "Week 3 ·" in str(e["summary"]))
    assert week3.decoded("dtend") == extended
    assert len({str(e["uid"]) for e in events}) == len(events)
    assert CalendarFeed.objects.get(pk=feed.pk).last_used_at is not None


def test_only_a_hash_is_stored_and_a_new_link_revokes_the_old(client, track):
    user = UserFactory()
    first, first_token = calendar_feed_create(user=user)
    assert first_token not in first.token_hash
    second, second_token = calendar_feed_create(user=user)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.is_live
    assert client.get(feed_path(first_token)).status_code == 404
    assert client.get(feed_path(second_token)).status_code == 200
    calendar_feed_revoke(actor=user, feed=second)
    assert client.get(feed_path(second_token)).status_code == 404
    assert client.get(feed_path("not-a-token")).status_code == 404


def test_nobody_revokes_someone_elses_link(track):
    owner, other = UserFactory(), UserFactory()
    feed, _ = calendar_feed_create(user=owner)
    with pytest.raises(ApplicationError):
        calendar_feed_revoke(actor=other, feed=feed)
    feed.refresh_from_db()
    assert feed.is_live


def test_settings_page_shows_the_url_once_then_revokes(client, track):
    user = UserFactory()
    client.force_login(user)
    page = reverse("dashboard:calendar")
    assert "Create a calendar link" in client.get(page).content.decode()
    response = client.post(page, {"action": "create"}, follow=True)
    html = response.content.decode()
    assert "Copy it now" in html
    url = response.context["new_url"]
    assert url and "/dashboard/calendar/" in url
    assert "Copy it now" not in client.get(page).content.decode()  # shown once
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert client.get(feed_path(token)).status_code == 200
    client.post(page, {"action": "revoke"})
    assert client.get(feed_path(token)).status_code == 404


def test_disabled_account_feed_stops(client, track):
    user = UserFactory()
    _, token = calendar_feed_create(user=user)
    user.is_active = False
    user.save()
    assert client.get(feed_path(token)).status_code == 404


def test_settings_page_needs_login(client):
    response = client.get(reverse("dashboard:calendar"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_feed_names_due_times_in_the_owners_zone_and_keeps_utc_instants(client, seeded, track):
    world = seeded()
    learner, cohort = world["learner"], world["cohort"]
    learner.time_zone = "Asia/Tokyo"
    learner.save(update_fields=["time_zone"])
    lab = track.labs.get(week=3)
    extended = dt.datetime(2031, 1, 2, 12, 0, tzinfo=dt.UTC)
    Extension.objects.create(cohort=cohort, lab=lab, learner=learner, due_at=extended, reason="ill")
    _, token = calendar_feed_create(user=learner)
    calendar = Calendar.from_ical(client.get(feed_path(token)).content)
    assert str(calendar["x-wr-timezone"]) == "Asia/Tokyo"
    week3 = next(e for e in calendar.walk("VEVENT") if "Week 3 ·" in str(e["summary"]))
    assert week3.decoded("dtend") == extended  # the instant, tz-aware
    assert week3.decoded("dtend").utcoffset() == dt.timedelta(0)
    assert "Due Thu 02 Jan 2031 21:00 JST" in str(week3["description"])
