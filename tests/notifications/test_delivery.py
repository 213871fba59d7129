"""Preferences, email, digests, enqueue-after-commit and idempotent delivery."""

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from core import broker
from notifications import services, tasks
from notifications.events import record
from notifications.models import EmailDelivery, Event, Notification, Preference
from tests.factories import LabFactory, UserFactory

from .conftest import freeze_at_seven_utc

pytestmark = pytest.mark.django_db

EmailStatus = Notification.EmailStatus


class FailingBackend(BaseEmailBackend):
    """An email backend whose server refuses every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def failing_email(settings):
    settings.EMAIL_BACKEND = "tests.notifications.test_delivery.FailingBackend"


def test_nothing_is_enqueued_before_commit_nor_after_rollback(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tasks, "enqueue_outbox", lambda: enqueued.append("outbox"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        record("review.posted", actor=world.mentor, target=world.lab)
        # A second event in the same transaction: the one delivery task takes both.
        event = record("comment.added", actor=world.mentor, target=world.lab)
        assert enqueued == []  # still inside the transaction
    assert len(callbacks) == 1
    assert enqueued == ["outbox"]

    enqueued.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        record("review.posted", actor=world.mentor, target=world.lab)
        raise RuntimeError("the caller's change failed")
    assert callbacks == []
    assert enqueued == []
    assert not Event.objects.filter(pk__gt=event.pk).exists()


def test_submit_emails_the_mentor_at_once_with_text_html_and_a_link_back(
    world, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://labs.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        submission = world.submit()
    assert [m.to for m in mail.outbox] == [[world.mentor.email]]
    message = mail.outbox[0]
    assert world.learner.display_name in message.subject
    assert "https://labs.example.org/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="https://labs.example.org/' in html
    notification = Notification.objects.get(recipient=world.mentor, event__target_id=submission.pk)
    assert notification.email_status == EmailStatus.SENT
    assert EmailDelivery.objects.filter(key=f"notification:{notification.pk}").count() == 1


def test_email_html_escapes_what_users_typed(world, django_capture_on_commit_callbacks):
    world.learner.name = "<script>alert(1)</script>"
    world.learner.save()
    with django_capture_on_commit_callbacks(execute=True):
        world.submit()
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("channel", "row", "status", "emails"),
    [
        (Preference.Channel.EMAIL, True, EmailStatus.SENT, 1),
        (Preference.Channel.DIGEST, True, EmailStatus.DIGEST, 0),
        (Preference.Channel.IN_APP, True, EmailStatus.NONE, 0),
        (Preference.Channel.OFF, False, None, 0),
    ],
)
def test_preferences_decide_row_and_email(
    world, django_capture_on_commit_callbacks, channel, row, status, emails
):
    services.preferences_update(actor=world.mentor, channels={"submission.submitted": channel})
    with django_capture_on_commit_callbacks(execute=True):
        world.submit()
    notifications = Notification.objects.filter(recipient=world.mentor, kind="submission.submitted")
    assert notifications.exists() is row
    if row:
        assert notifications.get().email_status == status
    assert len(mail.outbox) == emails


def test_defaults_email_feedback_and_digest_the_rest(world, django_capture_on_commit_callbacks):
    LabFactory(track=world.cohort.track, week=2)  # released three days ago
    with django_capture_on_commit_callbacks(execute=True):
        submission = world.submit()
        services.lab_released_record()
    with django_capture_on_commit_callbacks(execute=True):
        from submissions import services as submissions

        submissions.review_create(
            actor=world.mentor, submission=submission, verdict="approve", body=""
        )
    statuses = dict(
        Notification.objects.filter(recipient=world.learner).values_list("kind", "email_status")
    )
    assert statuses["review.posted"] == EmailStatus.SENT
    assert statuses["lab.released"] == EmailStatus.DIGEST


def test_daily_digest_groups_everything_in_one_email_once_a_day(
    world, django_capture_on_commit_callbacks
):
    for mentor in (world.mentor, world.other_mentor):
        services.preferences_update(actor=mentor, channels={"submission.submitted": "digest"})
    learners = [world.learner] + [world.add_learner() for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        for learner in learners:
            world.submit(learner=learner)
    assert mail.outbox == []
    today = timezone.now().date()
    mentor_items = Notification.objects.filter(
        recipient=world.mentor, email_status=EmailStatus.DIGEST
    )
    count = mentor_items.count()
    assert count >= 2

    assert services.digest_send(user_id=world.mentor.pk, day=today) is True
    assert services.digest_send(user_id=world.mentor.pk, day=today) is False
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == [world.mentor.email]
    assert f"{count} updates" in digest.subject
    for n in Notification.objects.filter(recipient=world.mentor):
        assert n.text in digest.body
        assert n.text in digest.alternatives[0][0]
        assert n.email_status == EmailStatus.SENT

    # Something new the same day waits for tomorrow's digest.
    with django_capture_on_commit_callbacks(execute=True):
        world.submit(learner=world.add_learner())  # nobody has room: both mentors are told
    assert mentor_items.count() == 1
    assert services.digest_send(user_id=world.mentor.pk, day=today) is False
    assert services.digest_send(user_id=world.mentor.pk, day=today + dt.timedelta(days=1)) is True
    assert len(mail.outbox) == 2


def test_digest_task_enqueues_only_people_with_waiting_items(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    LabFactory(track=world.cohort.track, week=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.lab_released_record()
    freeze_at_seven_utc(monkeypatch)
    assert tasks.send_daily_digests.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[world.learner.email]]
    assert tasks.send_daily_digests.apply().get() == 0


def test_processing_and_sending_twice_has_the_effect_of_once(
    world, django_capture_on_commit_callbacks
):
    submission = world.draft()
    with django_capture_on_commit_callbacks(execute=False):
        from submissions import services as submissions

        submissions.submission_submit(actor=world.learner, submission=submission)
    event = Event.objects.get(kind="submission.submitted")
    tasks.process_event.apply(args=(event.pk,))
    tasks.process_event.apply(args=(event.pk,))
    assert services.event_process(event_id=event.pk) == []
    notification = Notification.objects.get(event=event)
    assert services.notification_email_send(notification_id=notification.pk) is False
    tasks.send_notification_email.apply(args=(notification.pk,))
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(event=event).count() == 1


def test_a_claimed_key_is_never_sent_again_even_if_the_status_says_pending(world):
    event = record("review.posted", actor=world.mentor, target=world.submit())
    services.event_process(event_id=event.pk)
    notification = Notification.objects.get(event=event)
    assert services.notification_email_send(notification_id=notification.pk) is True
    Notification.objects.filter(pk=notification.pk).update(email_status=EmailStatus.PENDING)
    assert services.notification_email_send(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.SENT


def test_smtp_errors_are_retried_then_marked_failed_for_staff(world, failing_email, admin_client):
    event = record("review.posted", actor=world.mentor, target=world.submit())
    services.event_process(event_id=event.pk)
    notification = Notification.objects.get(event=event)
    # Eager mode runs each retry at once; the backoff countdowns are what a worker waits.
    tasks.send_notification_email.apply(args=(notification.pk,))
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.FAILED
    assert notification.email_attempts == tasks.EMAIL_MAX_RETRIES + 1
    assert "SMTPServerDisconnected" in notification.email_error
    assert not EmailDelivery.objects.exists()  # the claim rolled back with each failure

    response = admin_client.get("/admin/notifications/notification/?email_status__exact=failed")
    assert response.status_code == 200
    assert notification.text in response.content.decode()


def test_backoff_grows_and_stays_below_the_visibility_timeout():
    from config.celery import REDIS_VISIBILITY_TIMEOUT

    delays = [tasks.email_backoff(n) for n in range(tasks.EMAIL_MAX_RETRIES + 3)]
    assert all(later >= earlier - 15 for earlier, later in zip(delays, delays[1:], strict=False))
    assert delays[0] >= 60
    # A task waiting for its countdown must never be redelivered by Redis meanwhile.
    assert max(delays) < REDIS_VISIBILITY_TIMEOUT


def test_sweeper_picks_up_what_was_never_enqueued_after_a_minute(world):
    event = record("review.posted", actor=world.mentor, target=world.submit())
    fresh = services.outbox_sweep()
    assert event.pk not in fresh.event_ids  # less than a minute old: after-commit enqueue has it
    later = timezone.now() + dt.timedelta(minutes=2)
    assert event.pk in services.outbox_sweep(now=later).event_ids
    Event.objects.filter(pk__lt=event.pk).update(processed_at=timezone.now())
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - dt.timedelta(minutes=2))
    assert tasks.sweep_outbox.apply().get() == {"events": 1, "emails": 0}
    assert Notification.objects.get(event=event).email_status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    assert tasks.sweep_outbox.apply().get() == {"events": 0, "emails": 0}


def test_sweeper_sends_emails_left_pending_by_a_lost_worker(world):
    event = record("review.posted", actor=world.mentor, target=world.submit())
    # The worker made the notification, then died before sending.
    (notification_id,) = services.event_process(event_id=event.pk)
    assert services.outbox_sweep().notification_ids == []
    Notification.objects.filter(pk=notification_id).update(
        created_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert tasks.sweep_outbox.apply().get() == {"events": 0, "emails": 1}
    assert [m.to for m in mail.outbox] == [[world.learner.email]]
    assert tasks.sweep_outbox.apply().get() == {"events": 0, "emails": 0}


def test_sweeper_leaves_a_retrying_email_alone_until_its_retry_is_due(world):
    event = record("review.posted", actor=world.mentor, target=world.submit())
    services.event_process(event_id=event.pk)
    notification = Notification.objects.get(event=event)
    retry_at = timezone.now() + dt.timedelta(minutes=10)
    services.notification_email_record_failure(
        notification_id=notification.pk, error="SMTPError", retry_at=retry_at
    )
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert notification.pk not in services.outbox_sweep().notification_ids
    later = retry_at + dt.timedelta(seconds=1)
    assert notification.pk in services.outbox_sweep(now=later).notification_ids


def test_an_event_whose_handler_keeps_failing_stops_being_swept(world, monkeypatch):
    from notifications import handlers

    def broken(event, target):
        raise ValueError("bug")

    monkeypatch.setitem(handlers.HANDLERS, "review.posted", broken)
    event = record("review.posted", actor=world.mentor, target=world.submit())
    later = timezone.now() + dt.timedelta(minutes=2)
    for _ in range(services.MAX_EVENT_ATTEMPTS):
        assert event.pk in services.outbox_sweep(now=later).event_ids
        with pytest.raises(ValueError):
            tasks.process_event.apply(args=(event.pk,), throw=True)
    event.refresh_from_db()
    assert event.attempts == services.MAX_EVENT_ATTEMPTS
    assert "ValueError: bug" in event.last_error
    assert event.pk not in services.outbox_sweep(now=later).event_ids
    assert not Notification.objects.filter(event=event).exists()


def test_enqueue_with_the_broker_down_returns_false_and_backs_off(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(1)
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.process_outbox, "apply_async", refuse)
    broker.reset_cooldown()
    try:
        assert tasks.enqueue_outbox() is False
        assert tasks.enqueue_outbox() is False  # within the cooldown: the broker is not tried
        assert len(calls) == 1
    finally:
        broker.reset_cooldown()


def test_inactive_recipient_gets_no_email(world):
    event = record("review.posted", actor=world.mentor, target=world.submit())
    services.event_process(event_id=event.pk)
    notification = Notification.objects.get(event=event)
    world.learner.is_active = False
    world.learner.save()
    assert services.notification_email_send(notification_id=notification.pk) is False
    assert mail.outbox == []


def test_preferences_refuse_unknown_kinds_and_channels(world):
    from core.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        services.preferences_update(actor=world.learner, channels={"nope": "email"})
    with pytest.raises(ApplicationError):
        services.preferences_update(actor=world.learner, channels={"review.posted": "pigeon"})
    with pytest.raises(ApplicationError):
        services.preferences_update(
            actor=world.learner, channels={"digest.mentor_weekly": "digest"}
        )
    assert not Preference.objects.exists()
    services.preferences_update(actor=world.learner, channels={"review.posted": "email"})
    assert not Preference.objects.exists()  # the default stores nothing
    other = UserFactory()
    services.preferences_update(actor=other, channels={"review.posted": "off"})
    assert Preference.objects.get().user == other
