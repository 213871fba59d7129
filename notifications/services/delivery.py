"""Delivery: outbox rows become notifications, and immediate e-mails go out exactly once.

Work is done in batches, because a burst of hand-ins is a burst of events:
- `events_process` claims up to `limit` unprocessed events with
  `SELECT ... FOR UPDATE SKIP LOCKED` (so two worker processes split a burst instead of
  queueing behind each other's locks), turns each into notifications in its own savepoint
  (one bad event does not hold back the others), and marks them processed, all in one
  transaction: the targets are read per target type, the notifications written in one
  INSERT, the events marked in one UPDATE.
- `notification_emails_send` sends a batch of e-mails over ONE mail connection, each in its
  own short transaction (below), instead of opening a connection per message.

Exactly once, per e-mail: the notification row is moved from "pending" to "sent" and its
`EmailDelivery` key ("notification:<pk>") inserted in a transaction that commits only after
the mail server accepted the message. So:
- two senders of the same notification (a retry, a sweep, a redelivered task) serialise on
  the row and the key: the second finds it sent and sends nothing;
- a sender killed before the server accepted the message rolls its transaction back, and
  the next try (the redelivered task, or the sweeper) sends it once;
- a sender killed in the instant after the server accepted the message and before the
  commit (one message per killed process at most) leaves it pending, and it is sent again.
  No sender can close that window without two-phase commit with the mail server; the
  message carries a stable `Message-ID` per notification (`emails.notification_email`) so
  that mail servers and clients that deduplicate by Message-ID show it once.
"""

from __future__ import annotations

import logging
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.mail import get_connection
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .. import emails
from ..handlers import (
    HANDLERS,
    event_cohort_id,
    load_target,
    load_targets,
    still_concerned,
    still_concerned_many,
)
from ..models import EmailDelivery, Event, Notification, Preference
from ..selectors import channels_for

logger = logging.getLogger(__name__)

# Events claimed per transaction. Small enough that the first e-mails of a burst leave
# early, large enough that a backlog costs few round trips.
EVENT_BATCH = 25

Channel = Preference.Channel
EmailStatus = Notification.EmailStatus
_STATUS_FOR_CHANNEL = {
    Channel.EMAIL: EmailStatus.PENDING,
    Channel.DIGEST: EmailStatus.DIGEST,
    Channel.IN_APP: EmailStatus.NONE,
}


# --- Outbox processing ------------------------------------------------------------------


def _notifications_for(event: Event, target) -> list[Notification]:
    """The rows an event makes: the handler's recipients, without the actor, without anyone
    no longer concerned, with each one's channel for the kind ("off": no row)."""
    handler = HANDLERS.get(event.kind)
    if handler is None:
        logger.warning("No handler for event kind %r (event %s)", event.kind, event.pk)
        return []
    by_recipient = {}
    for message in handler(event, target):
        # The actor is never told about their own action, whatever the handler says.
        if message.recipient_id != event.actor_id:
            by_recipient.setdefault(message.recipient_id, message)
    if not by_recipient:
        return []
    # Nor is anyone who left the event's cohort, whatever the handler read.
    concerned = still_concerned(event, target, by_recipient)
    by_recipient = {pk: m for pk, m in by_recipient.items() if pk in concerned}
    channels = channels_for(list(by_recipient), event.kind)
    return [
        Notification(
            recipient_id=pk,
            event=event,
            kind=event.kind,
            actor_id=event.actor_id,
            text=message.text,
            link=message.link,
            created_at=event.created_at,
            email_status=_STATUS_FOR_CHANNEL[channels[pk]],
        )
        for pk, message in by_recipient.items()
        if channels[pk] != Channel.OFF
    ]


def _finish(events: list[Event], rows: list[Notification]) -> list[int]:
    """Write the rows, mark the events processed; the ids of the e-mails to send now."""
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    ids = [event.pk for event in events]
    Event.objects.filter(pk__in=ids).update(
        processed_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
    )
    if not any(row.email_status == EmailStatus.PENDING for row in rows):
        return []
    return list(
        Notification.objects.filter(event_id__in=ids, email_status=EmailStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def event_process(*, event_id: int) -> list[int]:
    """Turn one outbox row into notifications; returns the ids to email now.

    Idempotent: a processed row is skipped, and notifications are unique per recipient.
    Side effects: creates `Notification` rows and marks the event processed. Raises what
    the handler raised (nothing is written then; the caller records the failure).
    """
    event = (
        Event.objects.select_for_update(of=("self",))
        .select_related("actor")
        .filter(pk=event_id, processed_at__isnull=True)
        .first()
    )
    if event is None:
        return []
    return _finish([event], _notifications_for(event, load_target(event)))


@dataclass
class Batch:
    """What one `events_process` call did."""

    claimed: int = 0
    pending: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


@transaction.atomic
def events_process(*, limit: int = EVENT_BATCH, isolate: bool = False) -> Batch:
    """Claim up to `limit` of the oldest new events that nobody else holds and turn them
    into notifications; returns how many were claimed and the e-mails to send now.

    Events that failed before (attempts > 0) are left to the sweeper, which retries them
    a minute apart. A handler that raises fails its own event only: its attempt and error
    are recorded, the rest of the batch goes on. Handlers only read, so that needs no
    savepoint, except for a database error, which breaks the transaction: that is raised
    (nothing is written), and the caller runs the batch again with `isolate`, a savepoint
    per event.
    Side effects: `Notification` rows; events marked processed or failed.
    """
    events = list(
        Event.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("actor")
        .filter(processed_at__isnull=True, attempts=0)
        .order_by("created_at", "pk")[:limit]
    )
    batch = Batch(claimed=len(events))
    if not events:
        return batch
    targets = load_targets(events)
    done, rows = [], []
    for event in events:
        try:
            if isolate:
                with transaction.atomic():
                    made = _notifications_for(event, targets.get(event.pk))
            else:
                made = _notifications_for(event, targets.get(event.pk))
        except DatabaseError:
            if not isolate:
                raise
            made = None
            error = traceback.format_exc(limit=1)
        except Exception as exc:  # noqa: BLE001 - any handler bug fails its event only
            made = None
            error = f"{type(exc).__name__}: {exc}"
        if made is None:
            logger.error("Event %s (%s) failed: %s", event.pk, event.kind, error)
            batch.failed[event.pk] = error[:2000]
            continue
        done.append(event)
        rows.extend(made)
    for pk, error in batch.failed.items():
        Event.objects.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=error)
    batch.pending = _finish(done, rows) if done else []
    return batch


@transaction.atomic
def event_record_failure(*, event_id: int, error: str) -> None:
    """Count a failed processing attempt; the sweeper stops after MAX_EVENT_ATTEMPTS."""
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None or event.processed_at is not None:
        return
    event.attempts += 1
    event.last_error = error[:2000]
    event.save(update_fields=["attempts", "last_error"])


# --- Sending email -----------------------------------------------------------------------


def _claim_and_send(
    *, key: str, kind: str, user, build: Callable[[], object], on_sent: Callable[[], None]
) -> bool:
    """Insert the key, send, run `on_sent`, all in one transaction; False if already sent.

    Must be called inside `transaction.atomic()`. If the backend raises, the exception
    propagates and the whole transaction (claim included) rolls back.
    """
    try:
        with transaction.atomic():
            delivery = EmailDelivery.objects.create(key=key, kind=kind, recipient=user)
    except IntegrityError:
        return False
    message = build()
    delivery.subject = message.subject[:300]
    message.send(fail_silently=False)
    delivery.sent_at = timezone.now()
    delivery.save(update_fields=["subject", "sent_at"])
    on_sent()
    return True


@dataclass
class Sent:
    """What one `notification_emails_send` call did."""

    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, Exception] = field(default_factory=dict)


def _concerned(notifications: list[Notification]) -> set[int]:
    """The notifications whose recipient may still be e-mailed about their event: an active
    account with an address and, for an event about a cohort, staff or a current member
    (handlers.still_concerned, asked once per cohort for the whole batch)."""
    events = {n.event.pk: n.event for n in notifications if n.event_id}
    targets = load_targets(list(events.values()))
    wanted: dict[int | None, set[int]] = defaultdict(set)
    asks: dict[int, tuple[int | None, int]] = {}
    for n in notifications:
        if not n.recipient.email or not n.recipient.is_active:
            continue
        event = events.get(n.event_id)
        cohort_id = event_cohort_id(event, targets.get(event.pk)) if event else None
        asks[n.pk] = (cohort_id, n.recipient_id)
        wanted[cohort_id].add(n.recipient_id)
    allowed = still_concerned_many(wanted)
    return {pk for pk, (cohort_id, user_id) in asks.items() if user_id in allowed[cohort_id]}


def notification_emails_send(*, notification_ids: list[int], raise_errors: bool = False) -> Sent:
    """E-mail each of these notifications that is still pending, over one mail connection,
    each at most once (see the module docstring). Returns which were sent, skipped (sent
    already, no longer pending, recipient gone or no longer concerned: marked not
    e-mailed) and failed (the backend's error; nothing recorded for those, the caller
    schedules the retry). With `raise_errors`, the first failure is raised instead.

    Side effects: e-mails; per sent e-mail an `EmailDelivery` row and the notification
    marked sent.
    """
    result = Sent()
    notifications = list(
        Notification.objects.filter(pk__in=notification_ids, email_status=EmailStatus.PENDING)
        .select_related("recipient", "actor", "event")
        .order_by("pk")
    )
    result.skipped = sorted(set(notification_ids) - {n.pk for n in notifications})
    if not notifications:
        return result
    concerned = _concerned(notifications)
    gone = [n.pk for n in notifications if n.pk not in concerned]
    if gone:
        # Queued before the recipient left the cohort (or the account ended): not sent.
        Notification.objects.filter(pk__in=gone, email_status=EmailStatus.PENDING).update(
            email_status=EmailStatus.NONE
        )
        result.skipped.extend(gone)
    connection = None
    try:
        for notification in notifications:
            if notification.pk not in concerned:
                continue
            try:
                if connection is None:
                    # Opened here, closed after the batch: one connection for every message
                    # (a backend opens and closes one per send_messages call otherwise).
                    connection = get_connection(fail_silently=False)
                    connection.open()
                if _send_one(notification, connection):
                    result.sent.append(notification.pk)
                else:
                    result.skipped.append(notification.pk)
            except Exception as exc:
                if raise_errors:
                    raise
                result.failed[notification.pk] = exc
                # The connection may be broken: the next message opens a new one.
                _close(connection)
                connection = None
    finally:
        if connection is not None:
            _close(connection)
    return result


def _close(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing a broken connection: nothing to do
        logger.debug("Closing the mail connection failed", exc_info=True)


def _send_one(notification: Notification, connection) -> bool:
    """One e-mail in one transaction: pending -> sent and the key claimed, then the send;
    the commit follows the server's acceptance (a raise rolls all of it back)."""
    now = timezone.now()
    with transaction.atomic():
        # Takes the row's lock: a concurrent sender of the same notification waits here,
        # then finds it no longer pending.
        moved = Notification.objects.filter(
            pk=notification.pk, email_status=EmailStatus.PENDING
        ).update(
            email_status=EmailStatus.SENT,
            emailed_at=now,
            email_attempts=F("email_attempts") + 1,
            email_retry_at=None,
            email_error="",
        )
        if not moved:
            return False
        message = emails.notification_email(notification)
        try:
            with transaction.atomic():
                EmailDelivery.objects.create(
                    key=f"notification:{notification.pk}",
                    kind=EmailDelivery.Kind.NOTIFICATION,
                    recipient_id=notification.recipient_id,
                    subject=message.subject[:300],
                    claimed_at=now,
                    sent_at=now,
                )
        except IntegrityError:
            # Sent before and the status did not follow (e.g. edited by hand): it stays
            # marked sent and goes no second time.
            return False
        message.connection = connection
        message.send(fail_silently=False)
    return True


def notification_email_send(*, notification_id: int) -> bool:
    """Email one notification unless it has been emailed; True when this call sent it.

    Side effects: as `notification_emails_send`. Raises the backend's error (nothing is
    recorded then).
    """
    return (
        notification_id
        in notification_emails_send(notification_ids=[notification_id], raise_errors=True).sent
    )
