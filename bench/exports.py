"""Benchmark: a cohort's exports (progress, marks, turnaround; CSV and XLSX) at two sizes.

Not a test (timings are machine-dependent): prints the median of several runs, the query
count (the same at both sizes) and the file size. Target: a 100-learner cohort's marks in
well under a second either way.

    .venv/bin/python bench/exports.py [--runs 5] [--learners 100 400] [--keep]

Creates its own database (BENCH_DATABASE, default cl_exports_bench) on BENCH_POSTGRES
(default postgres://postgres@127.0.0.1:5432) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DATABASE", "cl_exports_bench")


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--learners", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        run(args.runs, args.learners)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def run(runs: int, sizes: list[int]) -> None:
    import django

    django.setup()
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cohorts.models import Cohort
    from curriculum.services import DEFAULT_CURRICULUM
    from dashboards import exports
    from demo.seeding import seed_demo

    call_command("migrate", verbosity=0)
    call_command("import_curriculum", str(DEFAULT_CURRICULUM), verbosity=0)
    zone = ZoneInfo("Asia/Tokyo")
    for size in sorted(sizes):
        seed_demo(learners=size, mentors=5, use_services=False)  # the demo cohort, grown to size
        cohort = Cohort.objects.select_related("track").get(slug="demo-1")
        for kind in exports.KINDS:
            for fmt in exports.FORMATS:
                times, queries, nbytes = [], set(), 0
                for _ in range(runs):
                    with CaptureQueriesContext(connection) as ctx:
                        start = time.perf_counter()
                        table = exports.build_table(kind=kind, cohort=cohort, zone=zone)
                        if fmt == "csv":
                            nbytes = sum(len(chunk) for chunk in exports.csv_chunks(table))
                        else:
                            with exports.xlsx_file(table) as handle:
                                nbytes = len(handle.read())
                        times.append(time.perf_counter() - start)
                    queries.add(len(ctx.captured_queries))
                print(
                    f"{size:>5} learners  {kind:<10} {fmt:<4}  median "
                    f"{statistics.median(times) * 1000:7.1f} ms  min {min(times) * 1000:7.1f} ms"
                    f"  queries {','.join(map(str, sorted(queries)))}  {nbytes / 1024:7.1f} KiB"
                )


if __name__ == "__main__":
    main()
