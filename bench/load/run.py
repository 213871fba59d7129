"""Load and scale benchmark: the app under gunicorn over PostgreSQL and Redis, driven by locust.

    .venv/bin/python bench/load/run.py                 # small and large
    .venv/bin/python bench/load/run.py --sizes small   # quick look
    .venv/bin/python bench/load/run.py --reuse         # keep the seeded databases

For each size it creates its own PostgreSQL database (cl_bench_load_<size>), migrates,
imports the bundled curriculum, seeds with `manage.py seed_demo`, counts each page's queries
(CaptureQueriesContext: drawn from scratch, then again from the cache), starts gunicorn
(2 sync workers) on 127.0.0.1, times each page one request at a time (drawn and cached),
and drives each page from a separate locust process over loopback with N concurrent users,
bounded by time and by request count. Prints requests/s, p50/p95 latency and throughput as a
ratio to /healthz measured in the same run, then the targets and whether they were met.
Results also go to var/bench/load-<size>.json.
"""

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SIZES = {
    "small": ["--cohorts", "1", "--learners", "20", "--bulk"],
    "large": [
        "--cohorts",
        "20",
        "--learners",
        "100",
        "--mentors",
        "5",
        "--progress",
        "1",
        "--bulk",
    ],
}
CURRICULUM = ROOT / "curriculum" / "data" / "000_534dd0f80d9aa631.txt"
TARGETS = {  # page: (p95 limit ms at the large size, min throughput ratio to /healthz)
    "learner home": (150, 0.25),
    "mentor queue": (150, None),
    "cohort matrix": (300, None),
    "mentor home + matrix": (300, None),
}


def sh(args, env, **kwargs):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, text=True, **kwargs)


def recreate_database(name: str, admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_exists(name: str, admin_url: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def app_env(args, db_name: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{args.pg}/{db_name}",
        REDIS_URL=args.redis,
        SECRET_KEY=env.get("SECRET_KEY") or secrets.token_urlsafe(50),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
        # Throttles exist to stop abuse; a benchmark from one address is not abuse.
        API_THROTTLE_USER="1000000/min",
        API_THROTTLE_IP="1000000/min",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def seed(size: str, env: dict) -> float:
    started = time.monotonic()
    sh([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    sh([PY, "manage.py", "import_curriculum", str(CURRICULUM)], env, stdout=subprocess.DEVNULL)
    seed_env = dict(env, CELERY_TASK_ALWAYS_EAGER="1")
    sh([PY, "manage.py", "seed_demo", *SIZES[size]], seed_env, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def counts(env: dict) -> dict:
    out = sh([PY, "bench/load/probe.py", "rows"], env, capture_output=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become healthy")


def start_gunicorn(env: dict, port: int, workers: int, threads: int = 1) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(PY).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread" if threads > 1 else "sync",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def warm(port: int, spec: dict) -> None:
    """A few requests per page first, so import and template-compile time is not measured."""
    import requests

    base = f"http://127.0.0.1:{port}"
    for i in range(8):
        sessions = spec["sessions"]
        cookies = {"sessionid": sessions[i % len(sessions)]} if sessions else {}
        response = requests.get(base + spec["url"], cookies=cookies, allow_redirects=False)
    if response.status_code != 200:
        raise RuntimeError(f"{spec['url']} answered {response.status_code} when warming up")


def service_time(port: int, spec: dict, redis_url: str, *, built: bool, count: int = 40) -> float:
    """Median milliseconds of one request at a time: the page's cost without queueing.

    `built`: drop the cached fragments before each request, so every one draws the page
    from scratch (what a visit after a change costs); otherwise repeat visits (the cache).
    """
    import redis
    import requests

    store = redis.Redis.from_url(redis_url)
    url = f"http://127.0.0.1:{port}{spec['url']}"
    sessions = spec["sessions"]
    times = []
    with requests.Session() as client:
        for i in range(count):
            if built:
                stale = list(store.scan_iter(match="*fragment:*", count=1000))
                if stale:
                    store.delete(*stale)
            cookies = {"sessionid": sessions[i % len(sessions)]} if sessions else {}
            started = time.perf_counter()
            client.get(url, cookies=cookies, allow_redirects=False)
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def drive(port: int, page: str, spec: dict, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        env = dict(
            os.environ,
            BENCH_URL=spec["url"],
            BENCH_NAME=page,
            BENCH_SESSIONS=json.dumps(spec["sessions"]),
            BENCH_MAX_REQUESTS=str(args.max_requests),
            BENCH_RESULT=str(result_file),
            BENCH_THINK=args.think,
        )
        subprocess.run(
            [
                str(Path(PY).with_name("locust")),
                "-f",
                str(ROOT / "bench/load/locustfile.py"),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "-u",
                str(args.users),
                "-r",
                str(args.users),
                "-t",
                f"{args.seconds}s",
                "--stop-timeout",
                "5",
                "--only-summary",
                "--loglevel",
                "ERROR",
            ],
            cwd=ROOT,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=args.seconds + 120,
        )
        return json.loads(result_file.read_text())


def run_size(size: str, args) -> dict:
    import redis

    db_name = f"{args.db_prefix}_{size}"
    env = app_env(args, db_name)
    redis.Redis.from_url(args.redis).flushdb()  # the bench's own Redis database only
    if args.reuse and database_exists(db_name, args.pg + "/postgres"):
        seeded = None
        sh([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env)  # new indexes, if any
    else:
        recreate_database(db_name, args.pg + "/postgres")
        seeded = seed(size, env)
    rows = counts(env)
    plan = json.loads(
        sh([PY, "bench/load/probe.py", "plan"], env, capture_output=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    queries = json.loads(
        sh([PY, "bench/load/probe.py", "queries"], env, capture_output=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    server = start_gunicorn(env, args.port, args.workers, args.threads)
    results = {}
    try:
        wait_ready(args.port)
        pages = {}
        for page, spec in plan.items():
            if args.pages and page not in args.pages and page != "healthz":
                continue
            if queries.get(page, {}).get("status") != 200:
                print(
                    f"{size}: skipping {page} ({spec['url']}): {queries.get(page)}", file=sys.stderr
                )
                continue
            warm(args.port, spec)
            built_ms = service_time(args.port, spec, args.redis, built=True)
            warm(args.port, spec)
            pages[page] = spec
            results[page] = dict(
                queries.get(page, {}),
                url=spec["url"],
                who=spec.get("as"),
                built_ms=built_ms,
                serial_ms=service_time(args.port, spec, args.redis, built=False),
            )
        # Rounds of every page in turn: the machine's speed drifts over minutes, so each
        # page's ratio is taken against /healthz of the same round, then the median kept.
        rounds = {page: [] for page in pages}
        for _ in range(args.rounds):
            for page, spec in pages.items():
                rounds[page].append(drive(args.port, page, spec, args))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    for page, runs in rounds.items():
        ratios = [
            run["rps"] / base["rps"]
            for run, base in zip(runs, rounds.get("healthz", []), strict=False)
            if base["rps"]
        ]
        results[page].update(
            requests=sum(run["requests"] for run in runs),
            failures=sum(run["failures"] for run in runs),
            rps=statistics.median(run["rps"] for run in runs),
            p50_ms=statistics.median(run["p50_ms"] or 0 for run in runs),
            p95_ms=statistics.median(run["p95_ms"] or 0 for run in runs),
            ratio=statistics.median(ratios) if ratios else None,
            ratios=[round(r, 3) for r in ratios],
            errors=[error for run in runs for error in run.get("errors", [])][:5],
            rounds=runs,
        )
    report = {
        "size": size,
        "think": args.think,
        "seed_seconds": seeded,
        "rows": rows,
        "users": args.users,
        "workers": args.workers,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "pages": results,
    }
    out = ROOT / "var" / "bench" / f"load-{size}{'-think' if args.think else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return report


def print_report(report: dict) -> None:
    rows = report["rows"]
    print(
        f"\n## {report['size']}: {rows.get('cohorts')} cohorts, {rows.get('learners')} learners, "
        f"{rows.get('submissions')} submissions; {report['users']} users, "
        f"{report['workers']} gunicorn workers, {report['rounds']} rounds of "
        f"{report['seconds']} s per page (medians), "
        f"think time {report.get('think') or 'none (closed loop)'}"
    )
    print(
        "| page | one at a time: drawn ms | cached ms | requests | failures | req/s "
        "| p50 ms | p95 ms | x /healthz | queries: drawn | cached |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for page, r in report["pages"].items():
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
        print(
            f"| {page} | {r.get('built_ms', '-')} | {r.get('serial_ms', '-')} | {r['requests']} | {r['failures']} | {r['rps']:.0f} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {ratio} | {r.get('queries_built', '-')} | {r.get('queries', '-')} |"
        )
        for error in r.get("errors", []):
            print(f"|   error: {error} |")
    for page, r in report["pages"].items():
        if page != "healthz" and r.get("ratios"):
            print(f"- {page}: x /healthz per round: {', '.join(f'{x:.2f}' for x in r['ratios'])}")


def print_verdicts(reports: dict, closed_loop: bool = True) -> None:
    print("\n## Targets")
    sizes = list(reports)
    if len(sizes) == 2:
        small, large = (reports[s]["pages"] for s in sizes)
        for page in small:
            for field, label in (("queries_built", "drawn"), ("queries", "cached")):
                a, b = small[page].get(field), large.get(page, {}).get(field)
                verdict = "ok" if a == b else "DIFFERS"
                print(f"- {page}: queries {label} {a} ({sizes[0]}) vs {b} ({sizes[1]}): {verdict}")
    big = reports.get("large") or reports[sizes[-1]]
    for page, (p95_limit, ratio_min) in TARGETS.items():
        r = big["pages"].get(page)
        if not r:
            print(f"- {page}: NOT MEASURED (no such page yet)")
            continue
        ok = r["p95_ms"] is not None and r["p95_ms"] < p95_limit
        print(f"- {page}: p95 {r['p95_ms']} ms (target < {p95_limit}): {'ok' if ok else 'MISSED'}")
        if ratio_min and closed_loop:  # a throughput ratio means nothing when users wait
            ok = (r.get("ratio") or 0) >= ratio_min
            print(
                f"- {page}: {r.get('ratio') or 0:.2f} x /healthz (target >= {ratio_min}): {'ok' if ok else 'MISSED'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "large"], choices=list(SIZES))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10, help="time bound per page and round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of every page; medians are reported"
    )
    parser.add_argument("--max-requests", type=int, default=20000, help="count bound per page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (gthread when more than 1)"
    )
    parser.add_argument(
        "--think",
        default="",
        help="'a,b': users wait a..b s between requests (latency under a realistic load); "
        "default none (closed loop: throughput)",
    )
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/9")
    )
    parser.add_argument("--db-prefix", default="cl_bench_load")
    parser.add_argument(
        "--pages", nargs="+", help='only these pages (and /healthz), e.g. "learner home"'
    )
    parser.add_argument("--reuse", action="store_true", help="reuse seeded databases if present")
    args = parser.parse_args()
    reports = {}
    for size in args.sizes:
        reports[size] = run_size(size, args)
        print_report(reports[size])
    print_verdicts(reports, closed_loop=not args.think)


if __name__ == "__main__":
    main()
