"""Enqueue a Celery task from a web request: fast, never raising, logged once per outage.

Work that must happen is recorded in the database first (the notifications outbox, a
pending invitation or curriculum import) and enqueued after commit; a periodic sweep finds
what the broker missed. So a failed publish is not an error for the request: `publish`
returns False. After a failure this process skips the broker for `COOLDOWN_SECONDS`
instead of making each request wait for a timeout (config/celery.py bounds the one that
does: REDIS_SOCKET_TIMEOUT, one quick retry). The outage is logged once when it starts
and once when a publish succeeds again.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger(__name__)

COOLDOWN_SECONDS = 30
_down_until = 0.0
_down_since: float | None = None
_lock = threading.Lock()


def publish(task, *args, countdown: int | None = None) -> bool:
    """Send `task(*args)` to the broker; False when it could not (never raises)."""
    global _down_until, _down_since
    if time.monotonic() < _down_until:
        return False
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any failure to publish: the broker is unreachable
        with _lock:
            _down_until = time.monotonic() + COOLDOWN_SECONDS
            started = _down_since is None
            if started:
                _down_since = time.monotonic()
        if started:
            logger.error(
                "Could not enqueue %s%r (%s): the broker is unreachable; the work is kept "
                "and a periodic sweep enqueues it once the broker is back (logged once per "
                "outage)",
                task.name,
                args,
                exc,
            )
        return False
    if _down_since is not None:
        with _lock:
            since, _down_since = _down_since, None
        if since is not None:
            logger.warning(
                "The broker is back after %.0f s (enqueued %s)", time.monotonic() - since, task.name
            )
    return True


def reset_cooldown() -> None:
    """Try the broker on the next publish (the sweepers, which run in a worker; tests)."""
    global _down_until, _down_since
    _down_until = 0.0
    _down_since = None
