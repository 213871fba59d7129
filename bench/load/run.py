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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _cpu import cpu_by_role, cpu_spent  # noqa: E402  (bench/_cpu.py)

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
    # Ten times the large size: 200 cohorts of 100 learners (~480,000 submissions).
    "xlarge": [
        "--cohorts",
        "200",
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
    # A deployment's autovacuum keeps planner statistics; a freshly bulk-loaded database
    # has none yet, and plans made without them can scan whole tables.
    analyze = "from django.db import connection; connection.cursor().execute('ANALYZE')"
    sh([PY, "manage.py", "shell", "-c", analyze], env)
    return time.monotonic() - started


def counts(env: dict) -> dict:
    out = sh([PY, "bench/load/probe.py", "rows"], env, capture_output=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wait_ready(port: int, timeout: float = 180) -> None:
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
        url = base + _url(spec, i % max(1, len(sessions)))
        response = requests.get(url, cookies=cookies, allow_redirects=False)
    if response.status_code != 200:
        raise RuntimeError(f"{spec['url']} answered {response.status_code} when warming up")


def _url(spec: dict, i: int) -> str:
    """The i-th request's URL: a page whose URL differs per account (a learner's lab page, a
    mentor's review page) lists one per session."""
    urls = spec.get("urls")
    return urls[i % len(urls)] if urls else spec["url"]


def service_time(port: int, spec: dict, redis_url: str, *, built: bool, count: int = 40) -> float:
    """Median milliseconds of one request at a time: the page's cost without queueing.

    `built`: drop the cached fragments before each request, so every one draws the page
    from scratch (what a visit after a change costs); otherwise repeat visits (the cache).
    """
    import redis
    import requests

    store = redis.Redis.from_url(redis_url)
    sessions = spec["sessions"]
    times = []
    with requests.Session() as client:
        for i in range(count):
            if built:
                stale = list(store.scan_iter(match="*fragment:*", count=1000))
                if stale:
                    store.delete(*stale)
            cookies = {"sessionid": sessions[i % len(sessions)]} if sessions else {}
            url = f"http://127.0.0.1:{port}{_url(spec, i % max(1, len(sessions)))}"
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


# --- the mix: learners and mentors together, with comments ------------------------------------

MIX_PAGES = [
    "learner home",
    "learner lab",
    "learner schedule",
    "mentor home",
    "mentor queue",
    "mentor review",
    "comment (learner)",
    "comment (mentor)",
    "healthz",
]
MIX_P95_LIMIT = 150  # ms, every page and the write, at 200 users (issue 17)


def probe(env: dict, *args: str):
    out = sh([PY, "bench/load/probe.py", *args], env, capture_output=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def drive_mix(port: int, accounts: dict, users: int, args, server_pid: int) -> dict:
    """One run of the mix; also where the machine's CPU went during it, per request (the
    load generator is this process's children: resource.RUSAGE_CHILDREN)."""
    import resource

    cpu_before = cpu_by_role({"web": server_pid})
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_before = children.ru_utime + children.ru_stime
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        env = dict(
            os.environ,
            BENCH_MIX=json.dumps(accounts),
            BENCH_RESULT=str(result_file),
            BENCH_THINK=args.think or "0.5,1.5",
            BENCH_WRITE_SHARE=str(args.write_share),
        )
        before = load_average()
        subprocess.run(
            [
                str(Path(PY).with_name("locust")),
                "-f",
                str(ROOT / "bench/load/locustfile.py"),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "-u",
                str(users + 1),  # and the one HealthUser
                "-r",
                str(max(10, users // 4)),
                "-t",
                f"{args.seconds}s",
                "--stop-timeout",
                "5",
                "--only-summary",
                "--loglevel",
                "ERROR",
                "LearnerUser",
                "MentorUser",
                "HealthUser",
            ],
            cwd=ROOT,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=args.seconds + 120,
        )
        result = json.loads(result_file.read_text())
        result.update(users=users, load_before=before, load_after=load_average())
    cpu_after = cpu_by_role({"web": server_pid})
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    requests = result.get("total", {}).get("requests") or 1
    spent = cpu_spent(cpu_before, cpu_after)
    spent["load generator"] = children.ru_utime + children.ru_stime - children_before
    machine = spent.pop("machine")
    steal = spent.pop("steal")
    spent["other"] = max(0.0, machine - sum(spent.values()))
    result["cpu_ms_per_request"] = {
        role: round(seconds * 1000 / requests, 2) for role, seconds in spent.items()
    }
    wall = time.monotonic() - started
    result["cpu_busy_share"] = round(machine / (wall * (os.cpu_count() or 1)), 2)
    result["cpu_steal_share"] = round(steal / (wall * (os.cpu_count() or 1)), 3)
    return result


def warm_mix(port: int, accounts: dict, users: int) -> None:
    """Every account's pages once, one at a time: the runs measure a site in use (pages
    people visited before are cached until something they show changes), not a cold start."""
    import requests

    with requests.Session() as client:
        for role, pages in (
            ("learner", ("home", "lab", "schedule")),
            ("mentor", ("home", "queue", "review")),
        ):
            # Only the accounts the runs use (users are learners and mentors 3:1).
            share = 3 * users // 4 + 1 if role == "learner" else users // 4 + 1
            for account in accounts[role][:share]:
                for page in pages:
                    client.get(
                        f"http://127.0.0.1:{port}{account[page]}",
                        cookies={"sessionid": account["session"]},
                        allow_redirects=False,
                    )


def run_mix(size: str, args) -> dict:
    """The mix at `size`: each page alone (drawn and cached, with its query counts), then
    learners and mentors together at each of --mix-users."""
    import redis

    db_name = f"{args.db_prefix}_{size}"
    env = app_env(args, db_name)
    redis.Redis.from_url(args.redis).flushdb()  # the bench's own Redis database only
    if args.reuse and database_exists(db_name, args.pg + "/postgres"):
        seeded = None
        sh([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    else:
        recreate_database(db_name, args.pg + "/postgres")
        seeded = seed(size, env)
    rows = counts(env)
    pages = probe(env, "mix-pages")
    queries = probe(env, "mix-pages", "queries")
    accounts = probe(env, "mix", str(max(args.mix_users)))
    server = start_gunicorn(env, args.port, args.workers, args.threads)
    alone = {}
    runs = []
    try:
        wait_ready(args.port)
        for page, spec in pages.items():
            warm(args.port, spec)
            built_ms = service_time(args.port, spec, args.redis, built=True)
            warm(args.port, spec)
            alone[page] = dict(
                queries.get(page, {}),
                who=spec.get("as"),
                built_ms=built_ms,
                serial_ms=service_time(args.port, spec, args.redis, built=False),
            )
        alone["healthz"] = {
            "built_ms": service_time(
                args.port, {"url": "/healthz", "sessions": []}, args.redis, built=False
            ),
            "queries": 0,
            "queries_built": 0,
            "status": 200,
        }
        alone["healthz"]["serial_ms"] = alone["healthz"]["built_ms"]
        warm_mix(args.port, accounts, max(args.mix_users))
        for users in args.mix_users:
            runs.append(drive_mix(args.port, accounts, users, args, server.pid))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    report = {
        "size": size,
        "seed_seconds": seeded,
        "rows": rows,
        "workers": args.workers,
        "threads": args.threads,
        "seconds": args.seconds,
        "think": args.think or "0.5,1.5",
        "write_share": args.write_share,
        "alone": alone,
        "runs": runs,
    }
    out = ROOT / "var" / "bench" / f"mix-{size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return report


def print_mix(report: dict) -> None:
    rows = report["rows"]
    print(
        f"\n## mix, {report['size']}: {rows.get('cohorts')} cohorts, {rows.get('learners')} "
        f"learners, {rows.get('submissions')} submissions; gunicorn {report['workers']} workers"
        f" x {report['threads']} threads; think {report['think']} s; "
        f"{report['write_share']:.0%} comments; {report['seconds']} s per run"
    )
    print("\nEach page alone (one request at a time, median of 40):\n")
    print("| page | drawn ms | cached ms | queries: drawn | cached |")
    print("|---|---:|---:|---:|---:|")
    for page, r in report["alone"].items():
        print(
            f"| {page} | {r.get('built_ms')} | {r.get('serial_ms')} | "
            f"{r.get('queries_built', '-')} | {r.get('queries', '-')} |"
        )
    for run in report["runs"]:
        total = run.get("total", {})
        print(
            f"\n{run['users']} users: {total.get('rps', 0):.0f} requests/s in all, load average "
            f"{run['load_before']} before, {run['load_after']} after\n"
        )
        print("| page | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for page in MIX_PAGES:
            r = run["pages"].get(page)
            if r:
                print(
                    f"| {page} | {r['requests']} | {r['failures']} | {r['rps']:.1f} | "
                    f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']:.0f} |"
                )
        if run.get("cpu_ms_per_request"):
            where = ", ".join(f"{role} {ms}" for role, ms in run["cpu_ms_per_request"].items())
            print(
                f"\nCPU ms per request: {where}; the cores were busy "
                f"{run['cpu_busy_share']:.0%} of the run (locust's start and ramp-up included); "
                f"stolen by the host: {run.get('cpu_steal_share', 0):.1%}"
            )
        if run.get("by_second"):
            timeline = run["by_second"]
            slowest = "; ".join(
                f"{s['at']} UTC: {s['requests']} requests, p50 {s['p50_ms']}, max {s['max_ms']} ms"
                for s in timeline["slowest"]
            )
            print(
                f"Seconds with a response over 150 ms: {timeline['over_150_ms']} of "
                f"{timeline['seconds']}; the slowest: {slowest}"
            )
        for error in run.get("errors", []):
            print(f"- error: {error}")


def print_mix_verdicts(reports: dict) -> None:
    print("\n## Targets (mix)")
    sizes = list(reports)
    if len(sizes) == 2:
        a, b = (reports[s]["alone"] for s in sizes)
        for page in a:
            for field in ("queries_built", "queries"):
                x, y = a[page].get(field), b.get(page, {}).get(field)
                print(
                    f"- {page}: {field} {x} ({sizes[0]}) vs {y} ({sizes[1]}): "
                    f"{'ok' if x == y else 'DIFFERS'}"
                )
    for size, report in reports.items():
        for page, r in report["alone"].items():
            ok = (r.get("built_ms") or 0) < 100
            print(
                f"- {size}: {page} alone drawn {r.get('built_ms')} ms (< 100): {'ok' if ok else 'MISSED'}"
            )
        for run in report["runs"]:
            if run["users"] != 200:
                continue
            for page in MIX_PAGES[:-1]:
                r = run["pages"].get(page)
                if r:
                    ok = r["p95_ms"] < MIX_P95_LIMIT and not r["failures"]
                    print(
                        f"- {size}, 200 users: {page} p95 {r['p95_ms']} ms "
                        f"(< {MIX_P95_LIMIT}): {'ok' if ok else 'MISSED'}"
                    )


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
    parser.add_argument(
        "--mix",
        action="store_true",
        help="the mix instead of one page at a time: learners (home, lab, schedule) and "
        "mentors (home, queue, review) together, think time 0.5-1.5 s, some comments",
    )
    parser.add_argument(
        "--mix-users", type=int, nargs="+", default=[50, 100, 200], help="users per mix run"
    )
    parser.add_argument(
        "--write-share", type=float, default=0.05, help="share of the mix's requests that comment"
    )
    args = parser.parse_args()
    reports = {}
    if args.mix:
        for size in args.sizes:
            reports[size] = run_mix(size, args)
            print_mix(reports[size])
        print_mix_verdicts(reports)
        return
    for size in args.sizes:
        reports[size] = run_size(size, args)
        print_report(reports[size])
    print_verdicts(reports, closed_loop=not args.think)


if __name__ == "__main__":
    main()
