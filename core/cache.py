"""The Redis cache fails open, fast, and says so once per outage.

django-redis's IGNORE_EXCEPTIONS (settings.redis_cache) turns a failed cache call into a
miss, so pages are drawn afresh and API throttles let requests through while Redis is
down. On its own that would still make every call wait for its socket timeout while Redis
hangs, and either log nothing or log every call. `FailFastRedis`, the Redis client
django-redis builds, adds a breaker per server: after a connection error or timeout, this
process skips that Redis for `COOLDOWN_SECONDS` (each call is an immediate miss), then lets
one call try again. The outage is logged once when it starts and once when Redis answers
again, and every call answered without Redis (failed or skipped) is counted in the
Prometheus counter `cohortlabs_cache_fail_opens_total` (core.metrics.cache_fail_open), which
operators alert on (docs/deploy.md).
"""

from __future__ import annotations

import logging
import threading
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.metrics import cache_fail_open

logger = logging.getLogger(__name__)

COOLDOWN_SECONDS = 5.0
# The cache alias the counter names: this client is built for the default cache only
# (settings.redis_cache), where django-redis's IGNORE_EXCEPTIONS turns each raise below
# into a miss.
CACHE_ALIAS = "default"


class Breaker:
    """The state of one Redis server as this process sees it."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self.skip_until = 0.0
        self.down_since: float | None = None
        self.skipped = 0

    def allows(self) -> bool:
        if time.monotonic() < self.skip_until:
            with self._lock:
                self.skipped += 1
            return False
        return True

    def failed(self, exc: Exception) -> None:
        with self._lock:
            started = self.down_since is None
            if started:
                self.down_since = time.monotonic()
            self.skip_until = time.monotonic() + COOLDOWN_SECONDS
        if started:
            logger.error(
                "Redis cache at %s is unreachable (%s: %s); pages and API throttles go on "
                "without it until it is back (logged once per outage)",
                self.name,
                type(exc).__name__,
                exc,
            )

    def succeeded(self) -> None:
        if self.down_since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted = time.monotonic() - self.down_since
            skipped, self.skipped, self.down_since = self.skipped, 0, None
        logger.warning(
            "Redis cache at %s is back after %.1f s (%d calls went without it)",
            self.name,
            lasted,
            skipped,
        )


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def reset_breakers() -> None:
    """Forget every recorded failure (tests)."""
    for breaker in list(_breakers.values()):
        with breaker._lock:
            breaker.skip_until, breaker.down_since, breaker.skipped = 0.0, None, 0


def breaker_for(name: str) -> Breaker:
    breaker = _breakers.get(name)
    if breaker is None:
        with _breakers_lock:
            breaker = _breakers.setdefault(name, Breaker(name))
    return breaker


class FailFastRedis(Redis):
    """A Redis client that skips a server for a while after it failed (see above)."""

    def execute_command(self, *args, **options):
        breaker = self._breaker()
        if not breaker.allows():
            cache_fail_open(CACHE_ALIAS)
            raise RedisConnectionError(f"skipped: Redis at {breaker.name} failed recently")
        try:
            result = super().execute_command(*args, **options)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            breaker.failed(exc)
            cache_fail_open(CACHE_ALIAS)
            raise
        breaker.succeeded()
        return result

    def _breaker(self) -> Breaker:
        breaker = self.__dict__.get("_fail_fast_breaker")
        if breaker is None:
            kwargs = self.connection_pool.connection_kwargs
            name = f"{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"
            breaker = self._fail_fast_breaker = breaker_for(name)
        return breaker
