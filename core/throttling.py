"""DRF's sliding-window throttle in one Redis round trip per check.

`rest_framework.throttling.SimpleRateThrottle` keeps each key's request times as a pickled
list in the cache: a GET and a SET per check (two round trips), and the list is unpickled,
trimmed and pickled again in the web process. Behind one address (a proxy, a load
generator, a CI fleet) that list holds every request of the last minute, so the per-IP
check grows with the traffic. `SlidingWindowThrottle` keeps the same window (requests in
the last `duration` seconds; a refused request is not counted; `wait()` is the time until
the oldest counted request leaves the window, as DRF computes it) as a sorted set trimmed
and counted by one Lua script, atomically, so concurrent requests no longer lose counts.

Fail-open is kept: the script goes through `core.cache.FailFastRedis`, so while Redis is
down or hangs the check lets the request through without waiting (the breaker logs the
outage once and counts each fail-open). Without django-redis (the local-memory cache of
development and tests) DRF's own cache-based check runs unchanged.
"""

from __future__ import annotations

import logging
import random

from django.core.cache import caches
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

# KEYS[1]: the key's sorted set of request times. ARGV: now, duration (s), limit, a member
# unique to this request. Returns {1} when the request is counted, else {0, count, oldest}
# (oldest as a string: Lua numbers come back as integers).
SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, oldest[2] or false}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], duration)
return {1}
"""

_script: Script | None = None
_reported_errors: set[type] = set()


def _sliding_window(client, key: str, now: float, duration: int, limit: int):
    global _script
    if _script is None:
        _script = Script(client, SLIDING_WINDOW_LUA)
    member = f"{now!r}:{random.getrandbits(48):x}"
    return _script(keys=[key], args=[repr(now), duration, limit, member], client=client)


class SlidingWindowThrottle(SimpleRateThrottle):
    """SimpleRateThrottle's limits, checked by one Redis script (see module docstring)."""

    # Not DRF's key: its pickled list under the old key would be the wrong Redis type.
    cache_format = "throttle-window_%(scope)s_%(ident)s"
    cache_alias = "default"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        cache = caches[self.cache_alias]
        get_client = getattr(getattr(cache, "client", None), "get_client", None)
        if get_client is None:  # not django-redis: DRF's GET + SET on the cache
            self._refused = None
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self._refused = None
        try:
            answer = _sliding_window(
                get_client(write=True),
                cache.make_key(self.key),
                self.now,
                self.duration,
                self.num_requests,
            )
        except (RedisConnectionError, RedisTimeoutError):
            return True  # FailFastRedis logged the outage once and counted this fail-open
        except RedisError as exc:
            if type(exc) not in _reported_errors:
                _reported_errors.add(type(exc))
                logger.exception("API throttle check failed; letting requests through")
            return True
        if answer[0]:
            return True
        count, oldest = int(answer[1]), answer[2]
        self._refused = (count, float(oldest) if oldest else None)
        return False

    def wait(self):
        refused = getattr(self, "_refused", None)
        if refused is None:
            return super().wait()
        count, oldest = refused
        remaining = self.duration - (self.now - oldest) if oldest is not None else self.duration
        available = self.num_requests - count + 1
        if available <= 0:
            return None
        return remaining / float(available)
