"""CPU and queries of delivering hand-ins' events, in-process (no servers, no wall clock).

N learners hand in (one transaction each, as the API commits them), `--batch` at a time;
after each group, `process_outbox` runs as the worker runs it (no linger), with Django's
locmem e-mail backend (the SMTP transaction is not in the figures: `notifications_burst.py
trickle` has those). Prints the median CPU time (time.process_time) and the queries per
hand-in over `--repeat` rounds; `--profile` prints the top functions of the last round.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cl_notifications_cpu \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/notifications_cpu.py -n 200
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
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
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=200)
    parser.add_argument("--batch", type=int, default=9, help="hand-ins per delivery task")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith(
        "postgres"
    ):
        print("Set DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
        return 2

    import django

    django.setup()
    from django.core import mail
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from notifications_burst import make_drafts, prepare

    from config.celery import app
    from notifications import tasks
    from submissions.models import Submission
    from submissions.services import submission_submit

    app.conf.task_always_eager = True
    tasks.enqueue_outbox = lambda: True
    data = prepare(args.submissions * args.repeat + args.batch, 10)
    pks = list(make_drafts(data).values())
    drafts = list(Submission.objects.select_related("learner").filter(pk__in=pks).order_by("pk"))
    mail.outbox = []

    def deliver(group, profiler=None) -> tuple[float, int]:
        for draft in group:
            submission_submit(actor=draft.learner, submission=draft)
        with CaptureQueriesContext(connection) as queries:
            if profiler:
                profiler.enable()
            start = time.process_time()
            tasks.process_outbox.apply(args=(False,))
            cpu = time.process_time() - start
            if profiler:
                profiler.disable()
        return cpu, len(queries)

    deliver(drafts[: args.batch])  # warm-up: imports, compiled statements, connection
    drafts = drafts[args.batch :]
    rounds, per_query = [], []
    # CPU time, not wall time: the machine is shared.
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    for r in range(args.repeat):
        share = drafts[r * args.submissions : (r + 1) * args.submissions]
        cpu_total, query_total = 0.0, 0
        profiling = profiler if r == args.repeat - 1 else None
        for i in range(0, len(share), args.batch):
            cpu, queries = deliver(share[i : i + args.batch], profiling)
            cpu_total += cpu
            query_total += queries
        rounds.append(cpu_total / len(share) * 1000)
        per_query.append(query_total / len(share))
    sent = len(mail.outbox)
    print(
        f"{args.submissions} hand-ins x {args.repeat}, {args.batch} per task:"
        f" delivery CPU per hand-in median {statistics.median(rounds):.2f} ms"
        f" (rounds {', '.join(f'{r:.2f}' for r in rounds)});"
        f" queries per hand-in {statistics.median(per_query):.2f}; e-mails {sent}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
