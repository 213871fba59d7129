"""Benchmark: whole-cohort actions on the demo cohort grown to N learners — an extension for
every learner (preview, apply), a schedule shift (preview, apply) and an announcement with
its notifications (the worker's `event_process`). Each apply runs in a transaction that is
rolled back, so every run starts from the same data.

Not a test (timings are machine-dependent): prints the median of several runs and the query
counts.

    .venv/bin/python bench/bulk_actions.py [--runs 5] [--learners 100 400] [--keep]

Creates its own database (BENCH_DATABASE, default cl_bulk_bench) on BENCH_POSTGRES
(default postgres://postgres@127.0.0.1:5432) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DATABASE", "cl_bulk_bench")


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


class Rollback(Exception):
    pass


def run(runs: int, sizes: list[int]) -> None:
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from cohorts.models import Cohort
    from cohorts.selectors import cohort_labs, schedule_entry
    from curriculum.services import DEFAULT_CURRICULUM
    from demo.seeding import seed_demo

    call_command("migrate", verbosity=0)
    call_command("import_curriculum", str(DEFAULT_CURRICULUM), verbosity=0, stdout=io.StringIO())
    for size in sorted(sizes):
        seed_demo(learners=size, mentors=5, use_services=False)
        cohort = Cohort.objects.select_related("track").get(slug="demo-1")
        Cohort.objects.filter(pk=cohort.pk).update(
            start_date=dt.date.today() - dt.timedelta(days=20)
        )
        cohort.refresh_from_db()
        admin = User.objects.get(email="admin@demo.cohortlabs.local")
        lab = list(cohort_labs(cohort))[3]
        due = schedule_entry(cohort=cohort, lab=lab).due_at + dt.timedelta(days=3)

        actions = _actions(admin=admin, cohort=cohort, lab=lab, due=due)
        for name, action in actions.items():
            times, queries = [], set()
            for _ in range(runs):
                try:
                    with transaction.atomic():
                        with CaptureQueriesContext(connection) as ctx:
                            start = time.perf_counter()
                            action()
                            times.append(time.perf_counter() - start)
                        queries.add(len(ctx.captured_queries))
                        raise Rollback
                except Rollback:
                    pass
            print(
                f"{size:>5} learners  {name:<18} median {statistics.median(times) * 1000:7.1f} ms"
                f"  min {min(times) * 1000:7.1f} ms  queries {','.join(map(str, sorted(queries)))}"
            )


def _actions(*, admin, cohort, lab, due) -> dict:
    from cohorts import services
    from notifications.models import Event
    from notifications.services import event_process

    def announce():
        announcement = services.announcement_send(
            actor=admin, cohort=cohort, title="Holiday", body="No labs **next week**."
        )
        event = Event.objects.get(target_type="cohorts.announcement", target_id=announcement.pk)
        event_process(event_id=event.pk)

    return {
        "extension preview": lambda: services.extension_grant_all_preview(
            actor=admin, cohort=cohort, lab=lab, due_at=due, reason="Holiday"
        ),
        "extension apply": lambda: services.extension_grant_all(
            actor=admin, cohort=cohort, lab=lab, due_at=due, reason="Holiday"
        ),
        "shift preview": lambda: services.schedule_shift_preview(
            actor=admin, cohort=cohort, days=7
        ),
        "shift apply": lambda: services.schedule_shift(actor=admin, cohort=cohort, days=7),
        "announce + notify": announce,
    }


if __name__ == "__main__":
    main()
