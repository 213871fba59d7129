"""CPU and queries of the hand-in requests, in-process (no servers, no wall clock).

N learners each make a draft (POST /api/v1/submissions/) and hand it in
(POST /api/v1/submissions/<id>/submit/) through Django's test client with token auth,
exactly as the API serves them (middleware, auth, throttles, serializers, the enqueue after
commit). Prints, per kind of request, the median and p90 CPU time of this process
(time.process_time: user + system, so it holds on a shared machine) and the queries per
request. PostgreSQL's own CPU is not included (it is another process).

Needs a PostgreSQL database and a Redis DB of its own (both are flushed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cl_submit_cpu \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/submit_cpu.py -n 200
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DEBUG", "0")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=200)
    parser.add_argument("--mentors", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=10, help="hand-ins not counted")
    parser.add_argument(
        "--profile",
        choices=("draft", "submit"),
        help="also print a cProfile of this request over the timed hand-ins",
    )
    parser.add_argument("--profile-out", help="write the profile's stats to this file")
    parser.add_argument(
        "--sql", action="store_true", help="also print the statements of the last warm-up"
    )
    args = parser.parse_args()
    from _database import needs_own_postgres_and_redis

    if needs_own_postgres_and_redis():
        return 2

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from notifications_burst import prepare

    total = args.submissions + args.warmup
    data = prepare(total, args.mentors)

    import cProfile
    import pstats

    profiler = cProfile.Profile(time.process_time) if args.profile else None
    profiled = {"draft": contextlib.nullcontext(), "submit": contextlib.nullcontext()}
    if profiler is not None:
        profiled[args.profile] = profiler
    cpu = {"draft": [], "submit": []}
    queries = {"draft": [], "submit": []}
    for i, token in enumerate(data["tokens"]):
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        body = {"cohort": data["cohort"], "lab": data["lab"], "repo_url": "https://github.com/b/l"}
        # Warm-up hand-ins count the queries (as assertNumQueries does: BEGIN and COMMIT
        # included); the others are timed without the capture's overhead.
        capture = i < args.warmup
        draft_ctx, submit_ctx = CaptureQueriesContext(connection), CaptureQueriesContext(connection)
        with draft_ctx if capture else profiled["draft"]:
            start = time.process_time()
            response = client.post("/api/v1/submissions/", body, content_type="application/json")
            draft_cpu = time.process_time() - start
        assert response.status_code == 201, response.content
        pk = response.json()["id"]
        with submit_ctx if capture else profiled["submit"]:
            start = time.process_time()
            response = client.post(f"/api/v1/submissions/{pk}/submit/")
            submit_cpu = time.process_time() - start
        assert response.status_code == 200, response.content
        assert response.json()["state"] == "submitted", response.content
        if capture:
            if args.sql and i == args.warmup - 1:
                for kind, ctx in (("draft", draft_ctx), ("submit", submit_ctx)):
                    print(f"--- {kind}")
                    for query in ctx.captured_queries:
                        print(query["sql"][:300])
            if i > 0:  # the first request also records the token's use (once a minute)
                queries["draft"].append(len(draft_ctx))
                queries["submit"].append(len(submit_ctx))
        else:
            cpu["draft"].append(draft_cpu * 1000)
            cpu["submit"].append(submit_cpu * 1000)

    print(
        f"{args.submissions} hand-ins (after {args.warmup} warm-up), load {os.getloadavg()[0]:.2f}"
    )
    for kind, label in (
        ("draft", "POST /api/v1/submissions/"),
        ("submit", "POST /api/v1/submissions/<id>/submit/"),
    ):
        values = cpu[kind]
        print(
            f"{label:40s} CPU median {statistics.median(values):5.1f} ms, "
            f"p90 {percentile(values, 0.9):5.1f} ms; queries {min(queries[kind])}-"
            f"{max(queries[kind])}"
        )
    if profiler is not None:
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
    hand_in = [d + s for d, s in zip(cpu["draft"], cpu["submit"], strict=True)]
    print(f"{'draft + submit':40s} CPU median {statistics.median(hand_in):5.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
