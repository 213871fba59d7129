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
import statistics
import time

from _database import add_keep_argument, bench_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--learners", type=int, nargs="+", default=[100, 400])
    add_keep_argument(parser)
    args = parser.parse_args()

    with bench_database("cl_bulk_bench", keep=args.keep, curriculum=True):
        run(args.runs, args.learners)


class Rollback(Exception):
    pass


def run(runs: int, sizes: list[int]) -> None:
    import datetime as dt

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from cohorts.models import Cohort
    from cohorts.selectors import cohort_labs, schedule_entry
    from demo.seeding import seed_demo

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
