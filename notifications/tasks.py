"""Celery tasks of the notifications app: thin, ids in, one service call each.

Every task is idempotent (see services.py for why), so redelivery after a lost worker
(`acks_late` + `task_reject_on_worker_lost`) or a second beat firing is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import smtplib
import time

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from core import broker

from . import services

logger = logging.getLogger(__name__)

# Errors worth retrying: the mail server refused or could not be reached.
EMAIL_ERRORS = (smtplib.SMTPException, OSError, TimeoutError)
# Tries after the first one; then the row is marked failed (visible in the admin).
EMAIL_MAX_RETRIES = 5
EMAIL_BACKOFF_BASE = 60  # seconds: 1, 2, 4, 8, 16 minutes (+ jitter), capped below
EMAIL_BACKOFF_CAP = 3600  # keep below the broker's visibility_timeout (config/celery.py)


def email_backoff(retries: int) -> int:
    return min(EMAIL_BACKOFF_CAP, EMAIL_BACKOFF_BASE * 2**retries) + random.randint(0, 15)


# At most one `process_outbox` published by `enqueue_outbox` waits at a time: a commit
# that finds this flag set publishes nothing, because the waiting task clears the flag
# before it claims events, and so takes this commit's events too. While the worker is busy,
# hand-ins that arrive meanwhile become one batch (one task, one SMTP connection) instead
# of a task each. The TTL bounds how long a lost task (a worker killed with it prefetched)
# holds back the next publish; the minute sweep delivers its events in any case.
OUTBOX_FLAG = "cohortlabs:notifications:process_outbox:pending"
OUTBOX_FLAG_TTL = 10  # seconds

# A coalesced task waits this long before it clears the flag and claims, so that the
# hand-ins of the next moment join its batch. Costs that much latency (the goal is p95
# under 2 s from submit to e-mail) and saves a task, a transaction and a mail connection
# per hand-in joining; docs/performance.md "Bursts" has the figures. OUTBOX_LINGER_MS=0
# turns it off (the benchmark compares).
LINGER_SECONDS = float(os.environ.get("OUTBOX_LINGER_MS", "150")) / 1000


def enqueue_outbox() -> bool:
    """Enqueue delivery of what waits in the outbox (called after a commit that recorded
    events); never raises. One `process_outbox` task handles every event waiting, so the
    ids are not sent, and none is published while one is already waiting (OUTBOX_FLAG).
    True when a task is on its way."""
    return broker.publish_once(process_outbox, flag=OUTBOX_FLAG, ttl=OUTBOX_FLAG_TTL)


def enqueue_notification_email(notification_id: int) -> bool:
    return broker.publish(send_notification_email, notification_id)


# A drain hands over to a fresh task after this long, so that other tasks on the queue
# (retries, sweeps) get a turn during a long backlog. Well below task_soft_time_limit.
DRAIN_SECONDS = 30


@shared_task(bind=True, name="notifications.process_outbox")
def process_outbox(self, linger: bool = True) -> int:
    """Deliver what waits in the outbox, in batches, until nothing new is left: claim a
    batch of events (two workers split a burst: SKIP LOCKED), make their notifications in
    one transaction, then send their immediate e-mails over one mail connection, each
    claimed by its key (services/delivery.py). Returns how many events it handled.

    Events that failed before are left to the sweeper (retried a minute apart); a failed
    e-mail is handed to `send_notification_email`, which retries it with backoff.
    A full first batch means a backlog: it enqueues one helper task (see below).

    It clears OUTBOX_FLAG first (after lingering, see LINGER_SECONDS), so that an event
    committed from then on publishes a task of its own; one committed before is claimed
    here."""
    if linger and LINGER_SECONDS > 0 and not self.request.is_eager:
        time.sleep(LINGER_SECONDS)
    broker.clear(OUTBOX_FLAG)
    started = time.monotonic()
    handled = 0
    while True:
        try:
            batch = services.events_process(limit=services.EVENT_BATCH)
        except DatabaseError:
            # One event's handler broke the batch's transaction: again, a savepoint each.
            logger.exception("An outbox batch failed; processing it event by event")
            batch = services.events_process(limit=services.EVENT_BATCH, isolate=True)
        if not batch.claimed:
            break
        if not handled and batch.claimed == services.EVENT_BATCH:
            # A backlog: ask for a helper, so that the other worker processes share it (each
            # claims its own batches). A helper that finds a backlog asks for one more; one
            # that finds none returns at once.
            broker.publish(process_outbox, False)
        handled += batch.claimed
        _send_emails(batch.pending, loaded=batch.notifications)
        if batch.claimed < services.EVENT_BATCH:
            # Not a backlog: whatever was committed since the flag was cleared published
            # a task of its own, so there is no need to look again.
            break
        if time.monotonic() - started > DRAIN_SECONDS:
            broker.publish(process_outbox, False)
            break
    return handled


@shared_task(name="notifications.process_event")
def process_event(event_id: int) -> None:
    """One event (the sweeper's retries of events whose enqueue was lost or whose handler
    failed): its notifications, then its immediate e-mails over one connection."""
    try:
        pending = services.event_process(event_id=event_id)
    except Exception as exc:
        services.event_record_failure(event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        raise
    _send_emails(pending)


def _send_emails(notification_ids: list[int], loaded=None) -> None:
    if not notification_ids:
        return
    result = services.notification_emails_send(notification_ids=notification_ids, loaded=loaded)
    for notification_id, exc in result.failed.items():
        if not isinstance(exc, EMAIL_ERRORS):
            logger.error("Email for notification %s failed: %r", notification_id, exc, exc_info=exc)
        countdown = _after_email_failure(notification_id, exc)
        if countdown is not None:
            broker.publish(send_notification_email, notification_id, countdown=countdown)


def _after_email_failure(notification_id: int, exc: Exception) -> int | None:
    """Record a failed send; the countdown to the next try, or None when it has failed for
    good. Attempts are counted in the row, so tries made by process_event, this task and
    the sweeper all count towards the same limit."""
    error = f"{type(exc).__name__}: {exc}"
    attempts = services.notification_email_attempts(notification_id=notification_id) + 1
    if attempts > EMAIL_MAX_RETRIES:
        services.notification_email_record_failure(
            notification_id=notification_id, error=error, retry_at=None
        )
        logger.error("Email for notification %s failed for good: %s", notification_id, error)
        return None
    countdown = email_backoff(attempts - 1)
    # The sweeper leaves the row alone until the retry (plus a margin) is due.
    services.notification_email_record_failure(
        notification_id=notification_id,
        error=error,
        retry_at=timezone.now() + dt.timedelta(seconds=countdown + 120),
    )
    return countdown


@shared_task(bind=True, name="notifications.send_notification_email", max_retries=None)
def send_notification_email(self, notification_id: int) -> None:
    try:
        services.notification_email_send(notification_id=notification_id)
    except EMAIL_ERRORS as exc:
        countdown = _after_email_failure(notification_id, exc)
        if countdown is not None:
            raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="notifications.sweep_outbox")
def sweep_outbox() -> dict:
    broker.reset_cooldown()
    result = services.outbox_sweep()
    for pk in result.event_ids:
        process_event.apply_async(args=(pk,))
    for pk in result.notification_ids:
        send_notification_email.apply_async(args=(pk,))
    return {"events": len(result.event_ids), "emails": len(result.notification_ids)}


def _digest_retry(task, exc):
    return task.retry(exc=exc, countdown=email_backoff(task.request.retries))


@shared_task(bind=True, name="notifications.send_digest", max_retries=EMAIL_MAX_RETRIES)
def send_digest(self, user_id: int, day: str) -> None:
    try:
        services.digest_send(user_id=user_id, day=dt.date.fromisoformat(day))
    except EMAIL_ERRORS as exc:
        raise _digest_retry(self, exc) from exc


@shared_task(name="notifications.send_daily_digests")
def send_daily_digests() -> int:
    """Hourly: the digests of people whose own clock says 07:xx, each for their local day."""
    recipients = services.digest_recipients(now=timezone.now())
    for pk, day in recipients:
        send_digest.apply_async(args=(pk, day.isoformat()))
    return len(recipients)


@shared_task(bind=True, name="notifications.send_mentor_weekly", max_retries=EMAIL_MAX_RETRIES)
def send_mentor_weekly(self, user_id: int) -> None:
    try:
        services.mentor_weekly_send(user_id=user_id)
    except EMAIL_ERRORS as exc:
        raise _digest_retry(self, exc) from exc


@shared_task(name="notifications.send_mentor_weekly_digests")
def send_mentor_weekly_digests() -> int:
    ids = services.mentor_weekly_recipient_ids(now=timezone.now())
    for pk in ids:
        send_mentor_weekly.apply_async(args=(pk,))
    return len(ids)


@shared_task(bind=True, name="notifications.send_staff_weekly", max_retries=EMAIL_MAX_RETRIES)
def send_staff_weekly(self, user_id: int) -> None:
    try:
        services.staff_weekly_send(user_id=user_id)
    except EMAIL_ERRORS as exc:
        raise _digest_retry(self, exc) from exc


@shared_task(name="notifications.send_staff_weekly_digests")
def send_staff_weekly_digests() -> int:
    ids = services.staff_weekly_recipient_ids(now=timezone.now())
    for pk in ids:
        send_staff_weekly.apply_async(args=(pk,))
    return len(ids)


@shared_task(name="notifications.remind_due_soon")
def remind_due_soon() -> int:
    return services.lab_due_soon_record()


@shared_task(name="notifications.announce_released_labs")
def announce_released_labs() -> int:
    return services.lab_released_record()
