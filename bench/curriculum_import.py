"""Benchmark: import the bundled seed into an empty PostgreSQL database, then re-import it.

Not a test (timings are machine-dependent): it prints medians of several runs and the
query counts. Targets on the project's machines: first import < 1 s, re-import < 0.3 s,
query count independent of the number of labs.

    .venv/bin/python bench/curriculum_import.py [--runs 7] [--keep]

Creates its own database (BENCH_DATABASE, default cl_curriculum_bench) on
BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _database import add_keep_argument, bench_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    add_keep_argument(parser)
    args = parser.parse_args()

    with bench_database("cl_curriculum_bench", keep=args.keep) as name:
        run(args.runs, name)


def run(runs: int, db_name: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from curriculum.parsers import parse_curriculum
    from curriculum.services import DEFAULT_CURRICULUM, import_curriculum_file

    seed = DEFAULT_CURRICULUM.read_bytes()
    # The seed twice over (every path under a second name): twice the labs, same shape.
    doubled = _doubled(seed)

    def empty() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE curriculum_labrevision, curriculum_lab, curriculum_track, "
                "curriculum_curriculumimport, notifications_event RESTART IDENTITY CASCADE"
            )

    def timed(source: bytes) -> tuple[float, int]:
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = import_curriculum_file(actor=None, source=source, filename="seed.txt")
            elapsed = time.perf_counter() - start
        assert result.status == "applied"
        return elapsed, len(ctx.captured_queries)

    parse_times = []
    for _ in range(runs):
        start = time.perf_counter()
        parsed = parse_curriculum(seed)
        parse_times.append(time.perf_counter() - start)
    assert parsed.lab_count == 187

    results: dict[str, list[tuple[float, int]]] = {
        "first": [],
        "again": [],
        "first_x2": [],
        "again_x2": [],
    }
    for _ in range(runs):
        empty()
        results["first"].append(timed(seed))
        results["again"].append(timed(seed))
        empty()
        results["first_x2"].append(timed(doubled))
        results["again_x2"].append(timed(doubled))

    def line(label: str, key: str, target: float | None = None) -> str:
        times = [t for t, _ in results[key]]
        queries = sorted({q for _, q in results[key]})
        median = statistics.median(times)
        verdict = ""
        if target is not None:
            verdict = f"  (target < {target:.1f} s: {'ok' if median < target else 'MISSED'})"
        return (
            f"{label:<42} median {median * 1000:7.1f} ms  min {min(times) * 1000:7.1f} ms  "
            f"queries {','.join(map(str, queries))}{verdict}"
        )

    print(f"PostgreSQL database {db_name}; {runs} runs each; seed {len(seed):,} bytes")
    print(
        f"{'parse only (187 labs, no database)':<42} median {statistics.median(parse_times) * 1000:7.1f} ms"
    )
    print(line("first import, empty database (187 labs)", "first", 1.0))
    print(line("re-import, same file (187 labs)", "again", 0.3))
    print(line("first import, doubled seed (374 labs)", "first_x2"))
    print(line("re-import, doubled seed (374 labs)", "again_x2"))
    first_ratio = statistics.median(t for t, _ in results["first_x2"]) / statistics.median(
        t for t, _ in results["first"]
    )
    print(f"time ratio doubled/seed (first import): {first_ratio:.2f}")
    # Adversarial uploads at the 5 MB limit: parsing must stay linear (one run each).
    head = "Labs¶\nJump to a path¶\n- A\nA¶\nWeek 1 - M - T¶\n"
    limit = 5 * 1024 * 1024 - 200
    for name, text in (
        ("5 MB of one-word lines", head + "word\n" * (limit // 5)),
        ("5 MB of bullets", head + "- a b\n" * (limit // 6)),
        ("5 MB of markup-like tokens", head + "__a__ <b> *c* " * (limit // 15)),
    ):
        start = time.perf_counter()
        parse_curriculum(text.encode()[: 5 * 1024 * 1024])
        print(f"{'parse ' + name:<42} {(time.perf_counter() - start) * 1000:9.1f} ms")


def _doubled(seed: bytes) -> bytes:
    text = seed.decode("utf-8")
    names = ["AI Systems", "Container Internals", "Go Mastery", "Java Mastery", "Kubernetes",
             "Linux Kernel", "Python Mastery", "Rust Mastery"]  # fmt: skip
    body_start = text.index("\n" + names[0] + "¶") + 1
    preamble, body = text[:body_start], text[body_start:]
    headings = {f"{name}¶": f"{name} II¶" for name in names}
    copy = "\n".join(headings.get(line, line) for line in body.split("\n"))
    jump = "".join(f"- {name} II\n" for name in names)
    preamble = preamble.replace("- Rust Mastery\n", "- Rust Mastery\n" + jump)
    return (preamble + body.rstrip("\n") + "\n" + copy).encode("utf-8")


if __name__ == "__main__":
    main()
