"""A burst of hand-ins is delivered in batches: few round trips, one mail connection, each
e-mail once, and a bad event holds back nobody else's."""

import datetime as dt

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from cohorts.models import Membership
from notifications import emails, handlers, services, tasks
from notifications.models import EmailDelivery, Event, Notification

pytestmark = pytest.mark.django_db

SENT = Notification.EmailStatus.SENT
PENDING = Notification.EmailStatus.PENDING


class CountingBackend(LocmemBackend):
    """The test outbox, counting the connections opened to the mail server."""

    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return super().open()


@pytest.fixture
def counting_email(settings):
    settings.EMAIL_BACKEND = "tests.notifications.test_batches.CountingBackend"
    CountingBackend.opened = 0
    return CountingBackend


def roomy(world):
    """Both mentors have room for every hand-in, so each submit tells one mentor."""
    Membership.objects.filter(cohort=world.cohort, role=Membership.Role.MENTOR).update(capacity=100)
    return world


def hand_in_at_once(world, count: int) -> list:
    """`count` learners hand in inside one transaction (recorded, not delivered yet)."""
    learners = [world.add_learner() for _ in range(count)]
    with transaction.atomic():
        return [world.submit(learner=learner) for learner in learners]


def test_a_burst_goes_out_over_one_mail_connection_each_email_once(
    world, counting_email, django_capture_on_commit_callbacks
):
    roomy(world)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submissions = hand_in_at_once(world, 6)
    assert len(callbacks) == 1  # one delivery task for the whole transaction
    notified = Notification.objects.filter(kind="submission.submitted")
    assert notified.count() == 6 and notified.filter(email_status=SENT).count() == 6
    assert len(mail.outbox) == 6
    assert counting_email.opened == 1
    assert EmailDelivery.objects.filter(key__startswith="notification:").count() == 6
    told = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert told == {f"<notification-{n.pk}@127.0.0.1>" for n in notified}
    assert {n.event.target_id for n in notified} == {s.pk for s in submissions}

    # The same task again, and each e-mail sent again by hand: nothing more goes out.
    tasks.process_outbox.apply()
    again = services.notification_emails_send(
        notification_ids=list(notified.values_list("pk", flat=True))
    )
    assert again.sent == [] and len(again.skipped) == 6
    assert len(mail.outbox) == 6


def test_batches_take_at_most_their_size_and_leave_the_rest_for_the_next(world):
    roomy(world)
    with transaction.atomic():
        hand_in_at_once(world, 3)  # 3 hand-ins: 6 events (submitted + assignment.created)
    first = services.events_process(limit=4)
    assert first.claimed == 4
    second = services.events_process(limit=4)
    assert second.claimed == 2
    assert services.events_process(limit=4).claimed == 0
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert sorted(first.pending + second.pending) == sorted(
        Notification.objects.filter(email_status=PENDING).values_list("pk", flat=True)
    )


def test_a_failing_event_holds_back_nobody_else_and_waits_for_the_sweeper(world, monkeypatch):
    roomy(world)

    def broken(event, target):
        raise ValueError("bug")

    monkeypatch.setitem(handlers.HANDLERS, "assignment.created", broken)
    hand_in_at_once(world, 2)
    batch = services.events_process()
    assert batch.claimed == 4
    broken_events = Event.objects.filter(kind="assignment.created")
    assert set(batch.failed) == set(broken_events.values_list("pk", flat=True))
    # The hand-ins' own events went through, and their e-mails are ready to go.
    assert len(batch.pending) == 2
    assert not Event.objects.filter(kind="submission.submitted", processed_at__isnull=True).exists()
    for event in broken_events:
        assert event.processed_at is None and event.attempts == 1
        assert "ValueError: bug" in event.last_error
    # The next batch does not spin on them; the sweeper retries them a minute later.
    assert services.events_process().claimed == 0
    later = timezone.now() + dt.timedelta(minutes=2)
    assert set(services.outbox_sweep(now=later).event_ids) == set(
        broken_events.values_list("pk", flat=True)
    )


def test_an_email_the_server_refuses_is_retried_alone(world, settings, monkeypatch):
    """One refused message in a batch: the others are sent, it stays pending with a retry."""
    roomy(world)
    hand_in_at_once(world, 3)
    batch = services.events_process()
    refused = batch.pending[1]
    original = emails.notification_email

    def build(notification):
        message = original(notification)
        if notification.pk == refused:
            message.send = lambda fail_silently=False: (_ for _ in ()).throw(
                OSError("mail server refused")
            )
        return message

    monkeypatch.setattr(emails, "notification_email", build)
    published = []
    monkeypatch.setattr(tasks.broker, "publish", lambda task, *args, **kw: published.append(args))
    tasks._send_emails(batch.pending)
    assert len(mail.outbox) == 2
    row = Notification.objects.get(pk=refused)
    assert row.email_status == PENDING and row.email_attempts == 1
    assert "mail server refused" in row.email_error and row.email_retry_at is not None
    assert not EmailDelivery.objects.filter(key=f"notification:{refused}").exists()
    assert published == [(refused,)]


def test_the_message_id_is_the_same_every_time_the_email_is_built(world, settings):
    settings.SITE_URL = "https://labs.example.org:8443"
    event = services.record("review.posted", actor=world.mentor, target=world.submit())
    services.event_process(event_id=event.pk)
    notification = Notification.objects.get(event=event)
    first = emails.notification_email(notification).message()["Message-ID"]
    second = emails.notification_email(notification).message()["Message-ID"]
    assert first == second == f"<notification-{notification.pk}@labs.example.org>"


def test_delivery_queries_per_hand_in_are_bounded(world, django_capture_on_commit_callbacks):
    """Events and e-mails are read and written in batches; what still grows per hand-in is
    its handler's reads and one short transaction per e-mail."""
    roomy(world)
    with django_capture_on_commit_callbacks(execute=False):
        hand_in_at_once(world, 10)
    with CaptureQueriesContext(connection) as queries:
        tasks.process_outbox.apply()
    assert Notification.objects.filter(email_status=SENT).count() == 10
    # Before batching a hand-in cost 28 queries to deliver (two tasks, one per event); now
    # a batch costs 9 (claim, targets, who is concerned, preferences, insert, mark, the
    # e-mails to send, begin/commit) and each e-mail 3 on PostgreSQL (begin, claim-and-key
    # in one statement, commit); SQLite (a dev database) claims in two statements and a
    # savepoint: 6.
    per_email = 3 if connection.vendor == "postgresql" else 6
    assert len(queries) <= 9 + 10 * per_email, len(queries)


def test_a_hand_in_through_the_api_enqueues_delivery_once(
    world, django_capture_on_commit_callbacks, django_assert_max_num_queries, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tasks, "enqueue_outbox", lambda: enqueued.append(1))
    submission = world.draft()
    api = APIClient()
    api.force_authenticate(world.learner)
    with (
        django_capture_on_commit_callbacks(execute=True),
        # 24: + the cohort's pinned revision of the lab and the mentors' away check.
        django_assert_max_num_queries(24),
    ):
        response = api.post(f"/api/v1/submissions/{submission.pk}/submit/")
    assert response.status_code == 200, response.content
    assert Event.objects.filter(target_id=submission.pk).count() == 2
    assert enqueued == [1]


def test_the_worker_warms_up_urls_and_email_templates_before_forking(settings):
    from pathlib import Path

    from django.urls import get_resolver

    from config.celery import _warm_up

    _warm_up()
    assert get_resolver()._populated
    templates = list((Path(settings.BASE_DIR) / "templates/notifications/email").glob("*.*"))
    assert len(templates) > 20
    assert emails.warm_up() == len(templates)


def test_a_backlog_asks_for_one_helper_so_that_worker_processes_share_it(world, monkeypatch):
    roomy(world)
    hand_in_at_once(world, 3)  # 6 events
    monkeypatch.setattr(services, "EVENT_BATCH", 4)
    published = []
    monkeypatch.setattr(tasks.broker, "publish", lambda task, *args, **kw: published.append(task))
    assert tasks.process_outbox.apply().get() == 6
    assert published == [tasks.process_outbox]  # one helper, asked on the full first batch
    published.clear()
    hand_in_at_once(world, 1)  # 2 events: no backlog, no helper
    assert tasks.process_outbox.apply().get() == 2
    assert published == []


@pytest.mark.parametrize(
    "text",
    [
        "Ana Lúcia handed in Week 1 · “Hello, world” — 日本語のラボ ✓ " * 3,
        "é" * 149,
        "Plain ASCII text that is long enough to be folded by the generator " * 2,
    ],
)
def test_a_long_non_ascii_subject_reaches_the_reader_unchanged(world, text):
    """The subject header is encoded by the app (emails.encoded_subject), not by the
    standard library's per-prefix search: a reader still decodes exactly the subject, on
    lines no longer than 78 characters, with no header added."""
    import email
    from email import policy

    event = services.record("review.posted", actor=world.mentor, target=world.submit())
    services.event_process(event_id=event.pk)
    notification = Notification.objects.get(event=event)
    notification.text = text
    message = emails.notification_email(notification)
    raw = message.message().as_bytes(linesep="\r\n")
    lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(b" "))
    assert max(len(line) for line in lines[start:end]) <= 78
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert str(parsed["Subject"]) == message.subject
    assert message.subject.startswith("Cohort Labs · ")
    assert len(parsed.get_all("Subject")) == 1
