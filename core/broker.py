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
    global _down_until, _down_since, _flags_down_until
    _down_until = 0.0
    _down_since = None
    _flags_down_until = 0.0


# --- Coalescing: at most one pending task per flag ------------------------------------------

_flag_clients: dict[str, object] = {}
# After a flag call fails, this process publishes without the flag for a cooldown, so that
# a hung Redis costs one socket timeout, not one per commit.
_flags_down_until = 0.0


def _flag_client():
    """A Redis client on the broker's own Redis, or None (no Redis broker, or tasks run
    eagerly in tests: then every enqueue publishes)."""
    from celery import current_app
    from django.conf import settings

    conf = current_app.conf
    url = str(conf.broker_url or "")
    if conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    client = _flag_clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(
            url,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
        _flag_clients[url] = client
    return client


def publish_once(task, *, flag: str, ttl: float) -> bool:
    """Publish `task()` unless one published this way is still waiting to start: a Redis
    flag (SET NX, expiring after `ttl` seconds) marks it, and the task calls `clear(flag)`
    BEFORE it looks for work. So whoever finds the flag set was committed before that
    task's look, and the task takes their work too. True when a task is (or already was)
    on its way. Never raises: when Redis cannot tell, it publishes anyway; when the publish
    fails, the flag is dropped so that the next caller tries again."""
    global _flags_down_until
    if time.monotonic() < _down_until:
        return False
    client = _flag_client() if time.monotonic() >= _flags_down_until else None
    flagged = False
    if client is not None:
        try:
            if not client.set(flag, b"1", nx=True, px=int(ttl * 1000)):
                return True
            flagged = True
        except Exception:  # noqa: BLE001 - no answer from Redis: publish as if unflagged
            _flags_down_until = time.monotonic() + COOLDOWN_SECONDS
            logger.debug("Could not set the flag %s; publishing anyway", flag, exc_info=True)
    published = publish(task)
    if flagged and not published:
        clear(flag)
    return published


def clear(flag: str) -> None:
    """Drop a `publish_once` flag (the task, before it looks for work); never raises. If
    it cannot, the flag expires by itself, and the periodic sweep delivers what was left."""
    client = _flag_client()
    if client is None:
        return
    try:
        client.delete(flag)
    except Exception:  # noqa: BLE001 - Redis unreachable: the flag's TTL ends it
        logger.debug("Could not clear the flag %s", flag, exc_info=True)
