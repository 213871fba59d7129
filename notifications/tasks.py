"""Celery tasks of the notifications app: thin, ids in, one service call each.

Every task is idempotent (see services.py for why), so redelivery after a lost worker
(`acks_late` + `task_reject_on_worker_lost`) or a second beat firing is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
import threading
import time

from celery import shared_task
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)

# Errors worth retrying: the mail server refused or could not be reached.
EMAIL_ERRORS = (smtplib.SMTPException, OSError, TimeoutError)
# Tries after the first one; then the row is marked failed (visible in the admin).
EMAIL_MAX_RETRIES = 5
EMAIL_BACKOFF_BASE = 60  # seconds: 1, 2, 4, 8, 16 minutes (+ jitter), capped below
EMAIL_BACKOFF_CAP = 3600  # keep below the broker's visibility_timeout (config/celery.py)

# After a failed publish, web processes skip the broker for a while instead of making
# every request wait for a timeout: the outbox sweeper delivers what was skipped. The
# outage is logged once, when it starts, and once when a publish succeeds again.
BROKER_COOLDOWN_SECONDS = 30
_broker_down_until = 0.0
_broker_down_since: float | None = None
_broker_lock = threading.Lock()


def email_backoff(retries: int) -> int:
    return min(EMAIL_BACKOFF_CAP, EMAIL_BACKOFF_BASE * 2**retries) + random.randint(0, 15)


def _publish(task, *args, countdown: int | None = None) -> bool:
    """Send a task to the broker; on failure back off and return False (never raises)."""
    global _broker_down_until, _broker_down_since
    if time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:  # the broker is down or unreachable
        with _broker_lock:
            _broker_down_until = time.monotonic() + BROKER_COOLDOWN_SECONDS
            started, _broker_down_since = _broker_down_since is None, _broker_down_since
            if started:
                _broker_down_since = time.monotonic()
        if started:
            logger.error(
                "Could not enqueue %s%r (%s): the broker is unreachable; work waits in the "
                "outbox and the sweeper enqueues it once the broker is back (logged once "
                "per outage)",
                task.name,
                args,
                exc,
            )
        return False
    if _broker_down_since is not None:
        with _broker_lock:
            lasted, _broker_down_since = time.monotonic() - (_broker_down_since or 0), None
        logger.warning("The broker is back: enqueued %s after %.0f s", task.name, lasted)
    return True


def broker_reset_cooldown() -> None:
    """Forget a recorded broker failure (tests and the sweeper, which runs in a worker)."""
    global _broker_down_until, _broker_down_since
    _broker_down_until = 0.0
    _broker_down_since = None


def enqueue_event(event_id: int) -> bool:
    """Enqueue processing of one outbox row (called after commit); never raises."""
    return _publish(process_event, event_id)


def enqueue_notification_email(notification_id: int) -> bool:
    return _publish(send_notification_email, notification_id)


@shared_task(name="notifications.process_event")
def process_event(event_id: int) -> None:
    """Make the event's notifications, then send its immediate emails in the same task
    (each in its own transaction, claimed by its key): one broker round trip per event
    rather than one per email. A failed email is handed to `send_notification_email`,
    which retries it with backoff."""
    try:
        pending = services.event_process(event_id=event_id)
    except Exception as exc:
        services.event_record_failure(event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        raise
    for notification_id in pending:
        try:
            services.notification_email_send(notification_id=notification_id)
        except EMAIL_ERRORS as exc:
            countdown = _after_email_failure(notification_id, exc)
            if countdown is not None:
                _publish(send_notification_email, notification_id, countdown=countdown)


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
    broker_reset_cooldown()
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
