"""Burst benchmark: 1,000 learners submit at once; every mentor email goes out exactly once.

Needs PostgreSQL and Redis (its own database and Redis DB: the data is flushed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cl_notifications_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/notifications_burst.py

It starts ONE Celery worker (concurrency 1) with a file email backend, submits N drafts
through `submissions.services.submission_submit` from a pool of threads, waits until every
`submission.submitted` notification is emailed, and prints the submit->email latency
(median, p95, max), the throughput, and the exactly-once checks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--mentors", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith(
        "postgres"
    ):
        print("Set DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
        return 2

    import django

    django.setup()

    import redis
    from django.core.management import call_command
    from django.db import connection

    from accounts.identity import email_key
    from accounts.models import User
    from cohorts.models import Cohort, Membership
    from notifications.models import EmailDelivery, Event, Notification
    from submissions.models import Submission
    from submissions.services import submission_submit
    from tests.factories import CohortFactory, LabFactory

    print("Preparing the database ...", flush=True)
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    n = args.submissions
    per_mentor = -(-n // args.mentors)
    cohort = CohortFactory(
        start_date=dt.date.today() - dt.timedelta(days=3),
        status=Cohort.Status.ACTIVE,
        mentor_capacity=per_mentor,
    )
    lab = LabFactory(track=cohort.track, week=1)
    users = User.objects.bulk_create(
        [
            User(email=e, email_key=email_key(e), name=f"Learner {i}")
            for i, e in enumerate(f"learner{i}@bench.example" for i in range(n))
        ]
        + [
            User(email=e, email_key=email_key(e), name=f"Mentor {i}")
            for i, e in enumerate(f"mentor{i}@bench.example" for i in range(args.mentors))
        ]
    )
    learners, mentors = users[:n], users[n:]
    Membership.objects.bulk_create(
        [Membership(user=u, cohort=cohort, role=Membership.Role.LEARNER) for u in learners]
        + [Membership(user=u, cohort=cohort, role=Membership.Role.MENTOR) for u in mentors]
    )
    # Drafts ready to submit (the bench measures submit -> delivery, not drafting).
    Submission.objects.bulk_create(
        [
            Submission(learner=u, cohort=cohort, lab=lab, repo_url="https://github.com/x/lab")
            for u in learners
        ]
    )
    drafts = list(Submission.objects.select_related("learner").order_by("pk"))

    # Baseline on this machine: one small write transaction (the unit a delivery costs a few of).
    from django.db import transaction

    commit_seconds = []
    for _ in range(50):
        started = time.perf_counter()
        with transaction.atomic():
            Event.objects.create(kind="bench.baseline")
        commit_seconds.append(time.perf_counter() - started)
    Event.objects.filter(kind="bench.baseline").delete()
    connection.close()

    mail_dir = Path(tempfile.mkdtemp(prefix="notifications-bench-mail-"))
    worker_env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "LOG_LEVEL": "WARNING",
    }
    worker_env.pop("EMAIL_URL", None)
    log_path = mail_dir / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1",
            "-Q", "notifications,scheduling,default", "-P", "prefork", "-l", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            "-n", f"bench-{os.getpid()}@%h",
        ],
        cwd=BASE_DIR, env=worker_env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text())
                return 1
            time.sleep(0.2)

        submit_seconds: list[float] = []

        def submit(submission) -> None:
            started = time.perf_counter()
            submission_submit(actor=submission.learner, submission=submission)
            submit_seconds.append(time.perf_counter() - started)
            connection.close()

        print(f"Submitting {n} drafts from {args.threads} threads, one worker ...", flush=True)
        burst_started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            list(pool.map(submit, drafts))
        burst_seconds = time.perf_counter() - burst_started

        notified = Notification.objects.filter(kind="submission.submitted")
        deadline = time.monotonic() + args.timeout
        while notified.filter(email_status=Notification.EmailStatus.SENT).count() < n:
            if time.monotonic() > deadline:
                print("Timed out waiting for deliveries.")
                break
            time.sleep(0.5)
        drained_seconds = time.perf_counter() - burst_started

        rows = list(
            notified.filter(emailed_at__isnull=False).values_list(
                "event__target_id", "recipient_id", "emailed_at"
            )
        )
        submitted_at = dict(Submission.objects.values_list("pk", "submitted_at"))
        latencies = [
            (emailed - submitted_at[target]).total_seconds() for target, _, emailed in rows
        ]
        per_submission = Notification.objects.filter(kind="submission.submitted").values_list(
            "event__target_id", flat=True
        )
        duplicates = len(per_submission) - len(set(per_submission))
        to_lines = sum(
            1
            for path in mail_dir.glob("*.log")
            if path.name != "worker.log"
            for line in path.read_text().splitlines()
            if line.startswith("To: mentor")
        )
        events = Event.objects.filter(kind="submission.submitted")

        print()
        print(f"submissions                 {n}")
        print(
            f"events recorded             {events.count()} (processed {events.filter(processed_at__isnull=False).count()})"
        )
        print(f"mentor notifications        {len(per_submission)} (duplicates: {duplicates})")
        print(
            f"emails written by backend   {to_lines} (EmailDelivery keys: {EmailDelivery.objects.count()})"
        )
        print(f"all notified, none twice    {len(rows) == n and to_lines == n and duplicates == 0}")
        print(
            f"burst wall time             {burst_seconds:.2f} s ({n / burst_seconds:.0f} submits/s)"
        )
        print(
            f"submit call (request side)  median {statistics.median(submit_seconds) * 1000:.1f} ms, p95 {percentile(submit_seconds, 0.95) * 1000:.1f} ms"
        )
        if latencies:
            print(
                f"submit -> email delivered   median {statistics.median(latencies):.2f} s, p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s"
            )
        print(
            f"all delivered after         {drained_seconds:.2f} s ({n / drained_seconds:.0f} deliveries/s, 1 worker)"
        )
        commit_ms = statistics.median(commit_seconds) * 1000
        tasks_run = Event.objects.filter(processed_at__isnull=False).count()
        print(
            f"baseline: one INSERT+COMMIT   median {commit_ms:.1f} ms; drain wall time per event "
            f"{drained_seconds / max(tasks_run, 1) * 1000:.0f} ms = {drained_seconds / max(tasks_run, 1) * 1000 / commit_ms:.1f} commits "
            f"({tasks_run} events incl. assignment.created)"
        )
        return 0 if (len(rows) == n and to_lines == n and duplicates == 0) else 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
