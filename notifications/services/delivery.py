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
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from core.prepared import Param, PreparedQuery

from .. import emails
from ..compiled import any_of, compiled, prepared
from ..handlers import (
    HANDLERS,
    KINDS,
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


def _messages_for(event: Event, target) -> dict[int, object]:
    """The handler's messages by recipient, without the actor (whatever the handler says,
    the actor is never told about their own action)."""
    handler = HANDLERS.get(event.kind)
    if handler is None:
        logger.warning("No handler for event kind %r (event %s)", event.kind, event.pk)
        return {}
    by_recipient = {}
    for message in handler(event, target):
        if message.recipient_id != event.actor_id:
            by_recipient.setdefault(message.recipient_id, message)
    return by_recipient


def _rows(event: Event, by_recipient: dict, concerned: set[int], channels: dict) -> list:
    """The rows an event makes: its messages to those still concerned, each with the
    recipient's channel for the kind ("off": no row)."""
    rows = []
    for pk, message in by_recipient.items():
        channel = channels.get((pk, event.kind), _default_channel(event.kind))
        if pk not in concerned or channel == Channel.OFF:
            continue
        rows.append(
            Notification(
                recipient_id=pk,
                event=event,
                kind=event.kind,
                actor_id=event.actor_id,
                text=message.text,
                link=message.link,
                created_at=event.created_at,
                email_status=_STATUS_FOR_CHANNEL[channel],
            )
        )
    return rows


def _default_channel(kind: str) -> str:
    info = KINDS.get(kind)
    return info.default if info else Channel.IN_APP


def _channels(wanted: dict[str, set[int]]) -> dict[tuple[int, str], str]:
    """The channels people chose, by (user id, kind), for every kind of a batch in one
    query; a pair that is missing takes the kind's default."""
    user_ids = set().union(*wanted.values()) if wanted else set()
    if not user_ids:
        return {}
    if compiled():
        rows = _PREFERENCES.tuples(users=sorted(user_ids), kinds=sorted(wanted))
    else:
        rows = Preference.objects.filter(user_id__in=user_ids, kind__in=list(wanted)).values_list(
            "user_id", "kind", "channel"
        )
    return {(user_id, kind): channel for user_id, kind, channel in rows if user_id in wanted[kind]}


_PREFERENCES = PreparedQuery(
    lambda: Preference.objects.filter(
        any_of("user_id", "users"), any_of("kind", "kinds")
    ).values_list("user_id", "kind", "channel")
)


def _notifications_for(event: Event, target) -> list[Notification]:
    """The rows an event makes: the handler's recipients, without the actor, without anyone
    no longer concerned, with each one's channel for the kind ("off": no row)."""
    by_recipient = _messages_for(event, target)
    if not by_recipient:
        return []
    # Nor is anyone who left the event's cohort, whatever the handler read.
    concerned = still_concerned(event, target, by_recipient)
    channels = channels_for([pk for pk in by_recipient if pk in concerned], event.kind)
    return _rows(
        event, by_recipient, concerned, {(pk, event.kind): c for pk, c in channels.items()}
    )


def _notifications_for_many(events: list[Event], targets: dict) -> list[Notification]:
    """`_notifications_for` for a batch: the handlers run per event, then who is still
    concerned is asked once per cohort and the preferences once for the whole batch (a
    handler that raises is raised, as from `_notifications_for`)."""
    messages = [(event, _messages_for(event, targets.get(event.pk))) for event in events]
    wanted: dict[int | None, set[int]] = defaultdict(set)
    for event, by_recipient in messages:
        wanted[event_cohort_id(event, targets.get(event.pk))].update(by_recipient)
    concerned = still_concerned_many(wanted)
    kinds: dict[str, set[int]] = defaultdict(set)
    for event, by_recipient in messages:
        allowed = concerned[event_cohort_id(event, targets.get(event.pk))]
        kinds[event.kind].update(pk for pk in by_recipient if pk in allowed)
    channels = _channels(kinds)
    rows = []
    for event, by_recipient in messages:
        allowed = concerned[event_cohort_id(event, targets.get(event.pk))]
        rows.extend(_rows(event, by_recipient, allowed, channels))
    return rows


def _finish(events: list[Event], rows: list[Notification]) -> list[Notification]:
    """Write the rows, mark the events processed; the notifications to e-mail now, each
    with its recipient, event (and so its actor and target) loaded for the e-mail."""
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    ids = [event.pk for event in events]
    if compiled():
        with db_connection.cursor() as cursor:
            cursor.execute(_MARK_PROCESSED_SQL, [timezone.now(), ids])
    else:
        Event.objects.filter(pk__in=ids).update(
            processed_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    if not any(row.email_status == EmailStatus.PENDING for row in rows):
        return []
    by_pk = {event.pk: event for event in events}
    if compiled():
        pending = _PENDING.models(events=ids, pending=EmailStatus.PENDING)
    else:
        pending = list(
            Notification.objects.filter(event_id__in=ids, email_status=EmailStatus.PENDING)
            .select_related("recipient")
            .order_by("pk")
        )
    for notification in pending:
        notification.event = by_pk[notification.event_id]
        notification.actor = notification.event.actor
    return pending


_MARK_PROCESSED_SQL = (
    f"UPDATE {Event._meta.db_table} SET processed_at = %s, attempts = attempts + 1,"  # noqa: S608
    " last_error = '' WHERE id = ANY(%s)"
)
_PENDING = PreparedQuery(
    lambda: (
        Notification.objects.filter(any_of("event_id", "events"), email_status=Param("pending"))
        .select_related("recipient")
        .order_by("pk")
    )
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
    return [n.pk for n in _finish([event], _notifications_for(event, load_target(event)))]


@dataclass
class Batch:
    """What one `events_process` call did."""

    claimed: int = 0
    pending: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    # The pending e-mails' notifications, loaded for sending (`notification_emails_send`'s
    # `loaded`): the send then reads nothing more about them.
    notifications: list[Notification] = field(default_factory=list)


def _claimable():
    return (
        Event.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("actor")
        .filter(processed_at__isnull=True, attempts=0)
        .order_by("created_at", "pk")
    )


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
    if compiled():
        events = prepared(("claim", limit), lambda: _claimable()[:limit]).models()
    else:
        events = list(_claimable()[:limit])
    batch = Batch(claimed=len(events))
    if not events:
        return batch
    targets = load_targets(events)
    done, rows = [], []
    if not isolate:
        try:
            rows = _notifications_for_many(events, targets)
            done = events
        except DatabaseError:
            raise
        except Exception:  # noqa: BLE001 - a handler bug: find whose, event by event below
            logger.info("A handler failed in a batch; processing it event by event")
            rows = []
    if not done:
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
    batch.notifications = _finish(done, rows) if done else []
    batch.pending = [n.pk for n in batch.notifications]
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


def notification_emails_send(
    *,
    notification_ids: list[int],
    raise_errors: bool = False,
    loaded: list[Notification] | None = None,
) -> Sent:
    """E-mail each of these notifications that is still pending, over one mail connection,
    each at most once (see the module docstring). Returns which were sent, skipped (sent
    already, no longer pending, recipient gone or no longer concerned: marked not
    e-mailed) and failed (the backend's error; nothing recorded for those, the caller
    schedules the retry). With `raise_errors`, the first failure is raised instead.

    `loaded`: these notifications as `events_process` returned them, made and checked
    (recipient active, still concerned) by the transaction that committed a moment ago;
    they are not read or checked again (each is still claimed by its row and key, so a
    stale one is skipped, never sent twice). Otherwise they are read and checked here.

    Side effects: e-mails; per sent e-mail an `EmailDelivery` row and the notification
    marked sent.
    """
    result = Sent()
    if loaded is not None:
        wanted = set(notification_ids)
        notifications = [n for n in loaded if n.pk in wanted]
        concerned = {n.pk for n in notifications if n.recipient.email}
    else:
        notifications = list(
            Notification.objects.filter(pk__in=notification_ids, email_status=EmailStatus.PENDING)
            .select_related("recipient", "actor", "event")
            .order_by("pk")
        )
        concerned = _concerned(notifications) if notifications else set()
    result.skipped = sorted(set(notification_ids) - {n.pk for n in notifications})
    if not notifications:
        return result
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


# Moves the notification from pending to sent and inserts its delivery key, in ONE
# statement: a row comes back only when both happened (it was pending, and the key was new).
# A key that exists already (sent before, the status did not follow, e.g. edited by hand)
# leaves it marked sent and sends nothing, as before. The UPDATE takes the row's lock, so a
# concurrent sender of the same notification waits, then finds it no longer pending.
_CLAIM_SQL = """
WITH moved AS (
    UPDATE {notification} SET email_status = %(sent)s, emailed_at = %(now)s,
        email_attempts = email_attempts + 1, email_retry_at = NULL, email_error = ''
    WHERE id = %(pk)s AND email_status = %(pending)s
    RETURNING recipient_id
)
INSERT INTO {delivery} (key, kind, recipient_id, subject, claimed_at, sent_at)
SELECT %(key)s, %(kind)s, recipient_id, %(subject)s, %(now)s, %(now)s FROM moved
ON CONFLICT (key) DO NOTHING
RETURNING id
"""


def _claim(notification: Notification, *, subject: str, now) -> bool:
    """Pending -> sent and the key inserted, in the caller's transaction; False when it was
    not pending or its key exists (then it stays marked sent)."""
    key = f"notification:{notification.pk}"
    if db_connection.vendor == "postgresql":
        sql = _CLAIM_SQL.format(
            notification=Notification._meta.db_table, delivery=EmailDelivery._meta.db_table
        )
        params = {
            "pk": notification.pk,
            "sent": EmailStatus.SENT,
            "pending": EmailStatus.PENDING,
            "now": now,
            "key": key,
            "kind": EmailDelivery.Kind.NOTIFICATION,
            "subject": subject,
        }
        with db_connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None
    # Other databases (SQLite in development): the same in two statements.
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
    try:
        with transaction.atomic():
            EmailDelivery.objects.create(
                key=key,
                kind=EmailDelivery.Kind.NOTIFICATION,
                recipient_id=notification.recipient_id,
                subject=subject,
                claimed_at=now,
                sent_at=now,
            )
    except IntegrityError:
        return False
    return True


def _send_one(notification: Notification, connection) -> bool:
    """One e-mail in one transaction: pending -> sent and the key claimed (one statement),
    then the send; the commit follows the server's acceptance (a raise rolls all of it
    back). Three round trips: the statement, the commit, and BEGIN."""
    now = timezone.now()
    message = emails.notification_email(notification)
    with transaction.atomic():
        claimed = _claim(notification, subject=message.subject[:300], now=now)
        if not claimed:
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
