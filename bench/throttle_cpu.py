"""CPU time of the API throttles per request, in-process (no servers, no wall clock).

Runs the default throttle classes (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]) the way
DRF's `APIView.check_throttles` does, for N requests from `--users` signed-in users at one
address (as the burst benchmark's load generator: one address, rates 1000000/min), against
the Redis cache at REDIS_URL (its DB is flushed). Prints the median CPU time
(time.process_time) per request over `--repeat` rounds, and the Redis round trips per
request.

    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/throttle_cpu.py -n 2000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("API_THROTTLE_USER", "1000000/min")
os.environ.setdefault("API_THROTTLE_IP", "1000000/min")


class FakeUser:
    is_authenticated = True

    def __init__(self, pk: int):
        self.pk = pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=2000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        print("Set REDIS_URL (a Redis DB of its own: it is flushed).")
        return 2

    import django

    django.setup()
    from django.core.cache import cache
    from django.test import RequestFactory
    from redis import Redis
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    factory = RequestFactory()
    requests = []
    for i in range(args.users):
        request = Request(factory.get("/api/v1/me/", REMOTE_ADDR="127.0.0.1"))
        request._user = FakeUser(i + 1)
        requests.append(request)

    client = cache.client.get_client(write=True)
    calls = {"n": 0}
    original = Redis.execute_command

    def counting(self, *a, **kw):
        calls["n"] += 1
        return original(self, *a, **kw)

    rounds = []
    for _ in range(args.repeat):
        cache.clear()
        throttles = [cls() for cls in api_settings.DEFAULT_THROTTLE_CLASSES]
        start = time.process_time()
        for i in range(args.requests):
            request = requests[i % len(requests)]
            for throttle in throttles:
                if not throttle.allow_request(request, None):
                    throttle.wait()
        rounds.append((time.process_time() - start) / args.requests * 1000)
    Redis.execute_command = counting
    try:
        for i in range(20):
            for throttle in throttles:
                throttle.allow_request(requests[i], None)
    finally:
        Redis.execute_command = original
    cache.clear()
    print(
        f"{len(throttles)} throttles, {args.requests} requests, {args.users} users, one address:"
        f" CPU per request median {statistics.median(rounds):.3f} ms"
        f" (rounds {', '.join(f'{r:.3f}' for r in rounds)});"
        f" Redis round trips per request {calls['n'] / 20:.1f}"
    )
    del client
    return 0


if __name__ == "__main__":
    sys.exit(main())
