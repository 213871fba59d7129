"""The API's limits on a real Redis, as production runs them (config.settings.redis_cache):
each throttle check is one script call, and the limits are DRF's sliding window: N requests
in the window pass, the next is refused with a Retry-After, a refused request is not
counted, and the window slides. With Redis unreachable every request passes (fail-open)."""

from __future__ import annotations

import logging
import os
import socket

import pytest
import redis
from rest_framework.test import APIClient

from accounts.api.common import IPThrottle, UserThrottle
from accounts.services import api_token_create
from config.settings import redis_cache
from core import cache as fail_fast
from tests.factories import DEFAULT_PASSWORD, UserFactory

REDIS_URL = os.environ.get("REDIS_URL", "")
TOKEN_URL = "/api/v1/auth/token/"

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def rates(settings, **scopes):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "user": "1000/min",
            "ip": "1000/min",
            "auth_token": "1000/min",
            **scopes,
        },
    }


@pytest.fixture
def redis_throttles(settings):
    settings.CACHES = {"default": redis_cache(REDIS_URL)}
    fail_fast.reset_breakers()
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield
    redis.Redis.from_url(REDIS_URL).flushdb()


def token_client(user) -> APIClient:
    _, secret = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_a_user_gets_their_limit_then_a_429_with_retry_after(redis_throttles, settings):
    rates(settings, user="3/min")
    client = token_client(UserFactory())
    codes = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/api/v1/me/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    # Another user at the same address has a count of their own.
    assert token_client(UserFactory()).get("/api/v1/me/").status_code == 200


def test_an_address_gets_its_token_attempts_then_a_429(redis_throttles, settings):
    rates(settings, auth_token="3/min")
    user = UserFactory()
    anon = APIClient()
    attempts = [
        anon.post(TOKEN_URL, {"email": user.email, "password": "nope"}, format="json")
        for _ in range(4)
    ]
    assert [a.status_code for a in attempts] == [400, 400, 400, 429]
    assert 0 < int(attempts[-1]["Retry-After"]) <= 60
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    answer = other.post(
        TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert answer.status_code == 201


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_refusals_are_not_counted(redis_throttles, settings):
    rates(settings, user="3/min")
    clock = Clock(1_000_000.0)
    request = type("R", (), {})()
    request.user = UserFactory()

    def check() -> tuple[bool, float | None]:
        throttle = UserThrottle()
        throttle.timer = clock
        allowed = throttle.allow_request(request, None)
        return allowed, None if allowed else throttle.wait()

    for offset in (0, 10, 20):
        clock.now = 1_000_000.0 + offset
        assert check() == (True, None)
    clock.now = 1_000_030.0
    assert check() == (False, pytest.approx(30.0))  # the request at 0 leaves at 60
    clock.now = 1_000_059.0
    assert check() == (False, pytest.approx(1.0))  # the refusals at 30 did not count
    clock.now = 1_000_060.0
    assert check() == (True, None)  # the request at 0 left the window
    assert check() == (False, pytest.approx(10.0))
    clock.now = 1_000_070.5
    assert check() == (True, None)


def test_the_counts_are_kept_in_one_round_trip_per_check(redis_throttles, settings, rf):
    rates(settings)
    request = rf.get("/api/v1/me/")
    request.user = UserFactory()
    calls = []
    original = fail_fast.FailFastRedis.execute_command

    def counting(self, *args, **options):
        calls.append(args[0])
        return original(self, *args, **options)

    for throttle in (UserThrottle(), IPThrottle()):
        throttle.allow_request(request, None)  # the script is loaded once per process
    fail_fast.FailFastRedis.execute_command = counting
    try:
        for throttle in (UserThrottle(), IPThrottle()):
            assert throttle.allow_request(request, None)
    finally:
        fail_fast.FailFastRedis.execute_command = original
    assert calls == ["EVALSHA", "EVALSHA"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_with_redis_unreachable_the_limits_fail_open_logged_once(settings, caplog):
    settings.CACHES = {"default": redis_cache(f"redis://127.0.0.1:{free_port()}/0")}
    fail_fast.reset_breakers()
    rates(settings, user="2/min")
    client = token_client(UserFactory())
    with caplog.at_level(logging.ERROR, logger="core.cache"):
        codes = [client.get("/api/v1/me/").status_code for _ in range(5)]
    fail_fast.reset_breakers()
    assert codes == [200] * 5
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1
