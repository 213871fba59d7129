"""One-click unsubscribe (RFC 8058): every email names its link, the link needs no sign-in,
GET only asks, POST stops that kind of email and nothing else."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications import services, unsubscribe
from notifications.models import Notification, Preference
from submissions import services as submissions
from tests.factories import LabFactory

pytestmark = pytest.mark.django_db

EmailStatus = Notification.EmailStatus


def link_of(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert re.fullmatch(r"<https?://[^>]+/notifications/unsubscribe/[^/>]+/>", header), header
    return header[1:-1]


def path_of(url: str, settings) -> str:
    assert url.startswith(settings.SITE_URL + "/")
    return url[len(settings.SITE_URL) :]


def one_click(url: str, settings):
    """What a mail client does (RFC 8058 section 3.2): no cookie, no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    return client.post(
        path_of(url, settings),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def review(world, django_capture_on_commit_callbacks, learner=None):
    with django_capture_on_commit_callbacks(execute=True):
        submission = world.submit(learner=learner)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submissions.review_create(
            actor=submission.assigned_to, submission=submission, verdict="comment", body="Hm"
        )
    return submission


def test_a_notification_email_carries_its_one_click_link(
    world, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://labs.example.org"
    review(world, django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == [world.learner.email]
    url = link_of(message)
    assert url.startswith("https://labs.example.org/notifications/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body
    assert url in message.alternatives[0][0]
    assert unsubscribe.read(url.rstrip("/").rsplit("/", 1)[1]) == (world.learner, "review.posted")


def test_one_click_stops_that_kind_of_email_only(
    world, settings, django_capture_on_commit_callbacks
):
    submission = review(world, django_capture_on_commit_callbacks)
    url = link_of(mail.outbox[0])
    response = one_click(url, settings)
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    channel = Preference.objects.get(user=world.learner, kind="review.posted").channel
    assert channel == Preference.Channel.IN_APP
    assert Preference.objects.filter(user=world.learner).count() == 1
    assert one_click(url, settings).status_code == 200  # again: nothing more changes
    assert Preference.objects.filter(user=world.learner).count() == 1

    # The next review still shows in the app, and is not emailed.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submissions.review_create(
            actor=submission.assigned_to, submission=submission, verdict="approve", body=""
        )
    assert not [m for m in mail.outbox if m.to == [world.learner.email]]
    latest = Notification.objects.filter(recipient=world.learner, kind="review.posted").first()
    assert "approved" in latest.text
    assert latest.email_status == EmailStatus.NONE and latest.read_at is None


def test_get_asks_first_and_changes_nothing(world, settings, django_capture_on_commit_callbacks):
    review(world, django_capture_on_commit_callbacks)
    url = link_of(mail.outbox[0])
    response = Client().get(path_of(url, settings))
    assert response.status_code == 200
    html = response.content.decode()
    assert "feedback on your work" in html
    # A plain form posting back to the same address: works without JavaScript.
    assert re.search(r'<form method="post">\s*<button type="submit"', html)
    assert not Preference.objects.exists()


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "not-a-token",
        lambda token: unsubscribe.token(user_id=999_999, kind="review.posted"),
        lambda token: unsubscribe.token(user_id=1, kind="no.such.kind"),
    ],
)
def test_a_forged_link_is_refused_and_changes_nothing(
    world, settings, django_capture_on_commit_callbacks, forge
):
    review(world, django_capture_on_commit_callbacks)
    token = link_of(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    url = settings.SITE_URL + reverse("notifications:unsubscribe", args=[forge(token)])
    assert one_click(url, settings).status_code == 404
    assert Client().get(path_of(url, settings)).status_code == 404
    assert not Preference.objects.exists()


def test_a_deactivated_account_has_nothing_to_unsubscribe(
    world, settings, django_capture_on_commit_callbacks
):
    review(world, django_capture_on_commit_callbacks)
    url = link_of(mail.outbox[0])
    type(world.learner).objects.filter(pk=world.learner.pk).update(is_active=False)
    assert one_click(url, settings).status_code == 404


def test_the_digest_link_stops_the_digest_and_what_waits_for_it(
    world, settings, django_capture_on_commit_callbacks
):
    LabFactory(track=world.cohort.track, week=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.lab_released_record()
    services.digest_send(user_id=world.learner.pk, day=timezone.now().date())
    [digest] = mail.outbox
    url = link_of(digest)
    assert unsubscribe.read(url.rstrip("/").rsplit("/", 1)[1])[1] == unsubscribe.DIGEST
    assert url in digest.body

    # More waits for tomorrow's digest; then the learner unsubscribes.
    LabFactory(track=world.cohort.track, week=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.lab_released_record(now=timezone.now() + timezone.timedelta(days=7))
    assert Notification.objects.filter(
        recipient=world.learner, email_status=EmailStatus.DIGEST
    ).exists()
    assert one_click(url, settings).status_code == 200
    chosen = dict(Preference.objects.filter(user=world.learner).values_list("kind", "channel"))
    assert chosen and set(chosen.values()) == {Preference.Channel.IN_APP}
    assert "lab.released" in chosen and "review.posted" not in chosen  # emailed at once: kept
    assert not Notification.objects.filter(
        recipient=world.learner, email_status=EmailStatus.DIGEST
    ).exists()
    seven = dt.datetime.combine(timezone.now().date(), dt.time(7), tzinfo=dt.UTC)
    assert world.learner.pk not in dict(services.digest_recipients(now=seven))


def test_weekly_summaries_have_their_own_link(world, settings):
    world.submit()
    services.mentor_weekly_send(user_id=world.mentor.pk)
    services.staff_weekly_send(user_id=world.staff.pk)
    mentor_mail, staff_mail = mail.outbox[-2:]
    monday_seven = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
    assert one_click(link_of(mentor_mail), settings).status_code == 200
    assert world.mentor.pk not in services.mentor_weekly_recipient_ids(now=monday_seven)
    assert world.staff.pk in services.staff_weekly_recipient_ids(now=monday_seven)
    assert one_click(link_of(staff_mail), settings).status_code == 200
    assert world.staff.pk not in services.staff_weekly_recipient_ids(now=monday_seven)
