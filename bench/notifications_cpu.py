"""CPU and queries of delivering hand-ins' events, in-process (no servers, no wall clock).

N learners hand in (one transaction each, as the API commits them), `--batch` at a time;
after each group, `process_outbox` runs as the worker runs it (no linger), with Django's
locmem e-mail backend (the SMTP transaction is not in the figures: `notifications_burst.py
trickle` has those). Prints the median CPU time (time.process_time) and the queries per
hand-in over `--repeat` rounds; `--profile` prints the top functions of the last round.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cl_notifications_cpu \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/notifications_cpu.py -n 200

Redis is not used (the outbox flag's DEL, one per task, is left out of the figures).
"""

from __future__ import annotations

import argparse
import contextlib
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
    from _database import needs_own_postgres_and_redis

    if needs_own_postgres_and_redis():
        return 2

    import django
    import redis

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
    # Redis is not needed: the outbox flag's DEL is left out (one round trip per task), and
    # REDIS_URL's DB is not flushed, so this can run beside tests that use it.
    tasks.broker.clear = lambda *args, **kwargs: None
    redis.Redis.flushdb = lambda *args, **kwargs: True
    data = prepare(args.submissions * args.repeat + 2 * args.batch, 10)
    pks = list(make_drafts(data).values())
    drafts = list(Submission.objects.select_related("learner").filter(pk__in=pks).order_by("pk"))
    mail.outbox = []

    def deliver(group, profiler=None, capture=None) -> float:
        for draft in group:
            submission_submit(actor=draft.learner, submission=draft)
        with contextlib.nullcontext() if capture is None else capture:
            if profiler:
                profiler.enable()
            start = time.process_time()
            tasks.process_outbox.apply(args=(False,))
            cpu = time.process_time() - start
            if profiler:
                profiler.disable()
        return cpu

    deliver(drafts[: args.batch])  # warm-up: imports, compiled statements, connection
    # The queries are counted on one more batch: capturing them costs CPU of its own.
    queries = CaptureQueriesContext(connection)
    deliver(drafts[args.batch : 2 * args.batch], capture=queries)
    per_hand_in = len(queries) / args.batch
    drafts = drafts[2 * args.batch :]
    rounds = []
    # CPU time, not wall time: the machine is shared.
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    for r in range(args.repeat):
        share = drafts[r * args.submissions : (r + 1) * args.submissions]
        cpu_total = 0.0
        profiling = profiler if r == args.repeat - 1 else None
        for i in range(0, len(share), args.batch):
            cpu_total += deliver(share[i : i + args.batch], profiling)
        rounds.append(cpu_total / len(share) * 1000)
    sent = len(mail.outbox)
    print(
        f"{args.submissions} hand-ins x {args.repeat}, {args.batch} per task:"
        f" delivery CPU per hand-in median {statistics.median(rounds):.2f} ms"
        f" (rounds {', '.join(f'{r:.2f}' for r in rounds)});"
        f" queries per hand-in {per_hand_in:.2f}; e-mails {sent}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
