"""E-mails show times in the recipient's own time zone, whoever or whatever sends them."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.emails import digest_email
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC)


def _digest_for(user) -> tuple[str, str]:
    notification = Notification.objects.create(
        recipient=user, kind="lab.released", text="Week 2 is out", created_at=AT
    )
    # A worker, or a request by someone in yet another zone, builds the e-mail.
    with timezone.override(dt.timezone(dt.timedelta(hours=2))):
        message = digest_email(user=user, items=[notification], more=0, day=AT.date())
    return message.body, message.alternatives[0][0]


@pytest.mark.parametrize(
    "zone, shown",
    [
        ("Asia/Tokyo", "Mon 2 Mar, 00:00 JST"),
        ("America/New_York", "Sun 1 Mar, 10:00 EST"),
        ("UTC", "Sun 1 Mar, 15:00 UTC"),
    ],
)
def test_the_digest_shows_each_time_in_the_recipients_zone(zone, shown):
    text, html = _digest_for(UserFactory(time_zone=zone))
    assert shown in text
    assert shown in html


def test_an_unknown_stored_zone_falls_back_to_utc():
    text, _ = _digest_for(UserFactory(time_zone="Gone/Away"))
    assert "Sun 1 Mar, 15:00 UTC" in text
