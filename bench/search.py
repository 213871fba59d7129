"""Benchmark: the search (issue 15, point 4) at the large demo size, per role.

Not a test (timings are machine-dependent): it prints the median and worst of several runs
and the query count for a few queries as staff, a mentor and a learner. Target: every
median under 100 ms, query count independent of the data.

    .venv/bin/python bench/search.py [--runs 15] [--cohorts 20 --learners 100] [--keep]

Creates its own database (BENCH_DATABASE, default cl_search_bench) on BENCH_POSTGRES
(default postgres://postgres@127.0.0.1:5432), imports the bundled curriculum, seeds the demo
and drops the database afterwards (--keep to reuse it: the seed is idempotent).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DATABASE", "cl_search_bench")
QUERIES = ["learner1", "docker", "containers and networking", "demo.cohortlabs", "zzzz-none"]
TARGET_MS = 100


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cohorts", type=int, default=20)
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    if not args.keep:
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    with contextlib.suppress(Exception):  # kept from an earlier --keep run
        admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from curriculum.models import Lab
    from curriculum.services import DEFAULT_CURRICULUM, import_curriculum_file
    from dashboards.search import search
    from demo.seeding import seed_demo
    from submissions.models import Submission

    call_command("migrate", verbosity=0)
    if not Lab.objects.exists():
        import_curriculum_file(actor=None, source=DEFAULT_CURRICULUM.read_bytes(), filename="s")
    start = time.perf_counter()
    seed_demo(cohorts=args.cohorts, learners=args.learners, mentors=5, progress=1.0)
    print(
        f"seeded in {time.perf_counter() - start:.1f} s: {User.objects.count()} people, "
        f"{Lab.objects.count()} labs, {Submission.objects.count()} submissions"
    )
    viewers = {
        "staff": User.objects.get(email="admin@demo.cohortlabs.local"),
        "mentor": User.objects.get(email="mentor1@demo.cohortlabs.local"),
        "learner": User.objects.get(email="learner1@demo.cohortlabs.local"),
    }
    worst = 0.0
    for role, user in viewers.items():
        for query in QUERIES:
            times, counts, found = [], set(), 0
            for _ in range(args.runs):
                # A fresh user object per run, as per request (no membership cache carried).
                fresh = User.objects.get(pk=user.pk)
                with CaptureQueriesContext(connection) as ctx:
                    begin = time.perf_counter()
                    results = search(fresh, query)
                    times.append(time.perf_counter() - begin)
                counts.add(len(ctx.captured_queries))
                found = len(results.all)
            median = statistics.median(times) * 1000
            worst = max(worst, median)
            print(
                f"{role:<8} {query!r:<30} median {median:6.1f} ms  max {max(times) * 1000:6.1f} ms"
                f"  queries {','.join(map(str, sorted(counts)))}  results {found}"
            )
    verdict = "ok" if worst < TARGET_MS else "MISSED"
    print(f"worst median {worst:.1f} ms (target < {TARGET_MS} ms: {verdict})")


if __name__ == "__main__":
    main()
