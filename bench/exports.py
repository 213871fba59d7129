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
import statistics
import time

from _database import add_keep_argument, bench_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--learners", type=int, nargs="+", default=[100, 400])
    add_keep_argument(parser)
    args = parser.parse_args()

    with bench_database("cl_exports_bench", keep=args.keep, curriculum=True):
        run(args.runs, args.learners)


def run(runs: int, sizes: list[int]) -> None:
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cohorts.models import Cohort
    from dashboards import exports
    from demo.seeding import seed_demo

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
