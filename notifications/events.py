"""Record a domain event in the caller's transaction (the outbox).

Imports no other app, so any app may call `record`. Delivery happens after commit:
`transaction.on_commit` enqueues the delivery task (once per transaction; it takes every
event waiting, in batches); the periodic sweeper picks up rows whose enqueue was lost
(broker down, process killed).
"""

from typing import Any

from django.db import IntegrityError, models, transaction

from .models import Event


def record(
    kind: str,
    *,
    actor=None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Event | None:
    """Insert an outbox row; returns None when `dedupe_key` was already recorded."""
    fields = _fields(kind, actor=actor, target=target, data=data, dedupe_key=dedupe_key)
    if dedupe_key:
        # A savepoint, so that a duplicate does not break the caller's transaction.
        try:
            with transaction.atomic():
                event = Event.objects.create(**fields)
        except IntegrityError:
            return None
    else:
        event = Event.objects.create(**fields)
    _enqueue_after_commit()
    return event


def record_many(events: list[dict[str, Any]]) -> list[Event]:
    """Insert several outbox rows in one statement (each item: the keyword arguments of
    `record` with `kind`, without `dedupe_key`); delivery is enqueued once after commit, as
    for `record`. For a service that records more than one event in a transaction."""
    rows = [Event(**_fields(**item)) for item in events]
    if not rows:
        return []
    if any(row.dedupe_key for row in rows):
        raise ValueError("record_many takes no dedupe_key (use record).")
    created = Event.objects.bulk_create(rows)
    _enqueue_after_commit()
    return created


def _fields(kind: str, *, actor=None, target=None, data=None, dedupe_key=None) -> dict:
    return {
        "kind": kind,
        "actor": actor if getattr(actor, "pk", None) else None,
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": target.pk if target is not None else None,
        "data": data or {},
        "dedupe_key": dedupe_key,
    }


def _enqueue_after_commit() -> None:
    """Enqueue delivery once the transaction commits: once per transaction, however many
    events it records (a submit records two; the delivery task takes every event waiting).

    A delivery callback already waiting in this transaction runs at commit unless one of
    the savepoints it was registered in rolls back; those are this event's savepoints or
    their ancestors, so this event would roll back with it.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        isinstance(callback, _Enqueue) and not callback.ran
        for _sids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_Enqueue())


class _Enqueue:
    """The after-commit callback (it notes that it ran: test harnesses that simulate a
    commit run callbacks without removing them)."""

    ran = False

    def __call__(self) -> None:
        self.ran = True
        # Imported late: tasks import handlers, which read other apps.
        from .tasks import enqueue_outbox

        enqueue_outbox()
