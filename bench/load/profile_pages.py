"""Where a page's time goes: cProfile over repeated requests, inside Django, per mix page.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/load/profile_pages.py [N] [page ...]

Requests each mix page (probe.py `mix-pages`) N times (default 30) through the test client
(every middleware runs), after one warm-up request, and prints the queries of the last
request with their times and the top functions by cumulative and by own time.
"""

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import probe  # noqa: E402  (sets Django up)
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402


class Queries:
    """Records each query's SQL and time. (CaptureQueriesContext reads connection.queries_log,
    which request_started clears, so inside a test-client request it can come back empty.)"""

    def __init__(self):
        self.captured = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.captured.append((time.perf_counter() - started, sql))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    wanted = sys.argv[2:]
    pages = probe.mix_pages(probe.mix_accounts(20))
    for page, spec in pages.items():
        if wanted and page not in wanted:
            continue
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(email=spec["accounts"][0][0]))
        client.get(spec["url"])
        queries = Queries()
        with connection.execute_wrapper(queries):
            client.get(spec["url"])
        cpu = time.process_time()
        started = time.perf_counter()
        for _ in range(count):
            client.get(spec["url"])
        wall_ms = (time.perf_counter() - started) * 1000 / count
        cpu_ms = (time.process_time() - cpu) * 1000 / count
        print(
            f"\n===== {page} {spec['url']}: {wall_ms:.1f} ms per request, {cpu_ms:.1f} ms of "
            f"this process's CPU, {len(queries.captured)} queries"
        )
        if os.environ.get("NO_PROFILE"):
            continue
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(count):
            client.get(spec["url"])
        profiler.disable()
        ms = (time.perf_counter() - started) * 1000 / count
        if os.environ.get("PROFILE_DIR"):
            profiler.dump_stats(Path(os.environ["PROFILE_DIR"]) / f"{page.replace(' ', '-')}.prof")
        print(f"(profiled: {ms:.1f} ms per request)")
        for seconds, sql in queries.captured:
            print(f"  {seconds:.4f}s  {sql[:220]}")
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(35)
            print("\n".join(out.getvalue().splitlines()[6:45]))


if __name__ == "__main__":
    main()
