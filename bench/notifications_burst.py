"""Burst benchmark: learners hand in at once through the API; every mentor e-mail goes out once.

Measured from outside, the way the site runs: gunicorn with 2 workers (gunicorn.conf.py) and
the Celery worker started exactly as `make run` starts it (scripts/run_dev.py's command),
sending over SMTP to a small SMTP server in this process that notes when each message
arrives. Needs PostgreSQL and Redis of its own (the data is flushed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cl_notifications_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/notifications_burst.py

Modes:
- `burst` (default): N learners hand in through the API from `--clients` concurrent
  clients (each hand-in: POST /api/v1/submissions/ for the draft, then POST .../submit/;
  with `--submit-only` the drafts are made beforehand and a hand-in is the submit alone).
  Prints hand-ins/s, request latency, submit->e-mail latency (median, p95, max, from the
  start of the submit request to the SMTP server's receipt) and the exactly-once checks.
- `drain`: N hand-ins recorded in ONE transaction while the worker runs (N events queued
  at once); prints commit->e-mail latency and how long the worker took to drain them.
- `trickle`: N hand-ins submitted from this process (no web server), one transaction each,
  at `--rate` per second (default 60, the goal's rate) from `--clients` threads: the
  delivery side alone at the goal's arrival rate, whatever the web side manages today.
- `queries`: the queries of one draft, one submit and one delivery (no servers).

Every mode with a worker prints the worker's CPU time per hand-in (all its processes; CPU
time holds on a shared machine where wall-clock time does not) and how many
`process_outbox` tasks it ran (from its log). `burst` also prints, from its start to the
last e-mail, the CPU per hand-in of the web server, the worker, PostgreSQL, Redis, this
process (the clients and the SMTP server) and the rest of the machine, and how busy the
cores were: on a 2-core machine the burst's rate is bounded by their sum.

Load average is printed with every run: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import os
import queue
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from _cpu import cpu_by_role, cpu_spent, tree_cpu_seconds  # noqa: E402  (bench/_cpu.py)

SUBMISSION_IN_LINK = re.compile(rb"/submissions/(\d+)/")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by a server and its worker processes."""
    return tree_cpu_seconds(process.pid)


# --- A minimal SMTP server that notes when each message arrives ---------------------------


class SmtpSink:
    """Accepts every message; records (arrival time, recipients, raw message) per message
    and how many connections were opened. Runs an asyncio loop in a thread."""

    def __init__(self):
        self.messages: list[tuple[float, list[str], bytes]] = []
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0, backlog=256)
        )
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _session(self, reader, writer) -> None:
        self.connections += 1
        writer.write(b"220 bench ESMTP\r\n")
        rcpts: list[str] = []
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-bench\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    rcpts = []
                    writer.write(b"250 OK\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                    writer.write(b"250 OK\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go on\r\n")
                    await writer.drain()
                    data = await reader.readuntil(b"\r\n.\r\n")
                    self.messages.append((time.time(), rcpts, data))
                    writer.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:  # RSET, NOOP
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


# --- Data --------------------------------------------------------------------------------


def prepare(n: int, mentors: int) -> dict:
    """Flush the database, then a cohort with `n` learners (each with an API token) and
    `mentors` mentors with room for everyone's work."""
    import redis
    from django.core.management import call_command

    from accounts.identity import email_key
    from accounts.models import User
    from accounts.services import api_token_create
    from cohorts.models import Cohort, Membership
    from tests.factories import CohortFactory, LabFactory

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    cohort = CohortFactory(
        start_date=dt.date.today() - dt.timedelta(days=3),
        status=Cohort.Status.ACTIVE,
        mentor_capacity=-(-n // mentors),
    )
    lab = LabFactory(track=cohort.track, week=1)
    users = User.objects.bulk_create(
        [
            User(email=e, email_key=email_key(e), name=f"Learner {i}")
            for i, e in enumerate(f"learner{i}@bench.example" for i in range(n))
        ]
        + [
            User(email=e, email_key=email_key(e), name=f"Mentor {i}")
            for i, e in enumerate(f"mentor{i}@bench.example" for i in range(mentors))
        ]
    )
    learners, mentor_users = users[:n], users[n:]
    Membership.objects.bulk_create(
        [Membership(user=u, cohort=cohort, role=Membership.Role.LEARNER) for u in learners]
        + [Membership(user=u, cohort=cohort, role=Membership.Role.MENTOR) for u in mentor_users]
    )
    tokens = [api_token_create(user=u, name="bench")[1] for u in learners]
    return {"cohort": cohort.pk, "lab": lab.pk, "learners": learners, "tokens": tokens}


def make_drafts(data: dict) -> dict[str, int]:
    """A draft per learner (the API's own create path is then not measured)."""
    from submissions.models import Submission

    rows = Submission.objects.bulk_create(
        [
            Submission(
                learner=learner,
                cohort_id=data["cohort"],
                lab_id=data["lab"],
                repo_url="https://github.com/bench/lab",
            )
            for learner in data["learners"]
        ]
    )
    return {token: row.pk for token, row in zip(data["tokens"], rows, strict=True)}


# --- Servers -----------------------------------------------------------------------------


def server_env(smtp_port: int, port: int) -> dict:
    env = {
        **os.environ,
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "LOG_LEVEL": "WARNING",
        # Throttles exist to stop abuse; a benchmark from one address is not abuse.
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_IP": "1000000/min",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("EMAIL_URL", None)
    return env


def start_worker(env: dict, log: Path, concurrency: int | None) -> subprocess.Popen:
    """The worker exactly as `make run` starts it (scripts/run_dev.py), unless told otherwise."""
    from scripts.run_dev import COMMANDS

    command = list(COMMANDS["worker"])
    if concurrency is not None:
        command = [c for c in command if not c.startswith("--concurrency")]
        command.append(f"--concurrency={concurrency}")
    process = subprocess.Popen(  # noqa: S603 - fixed command
        command,
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the worker did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)
    return process


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603 - fixed command
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start:\n" + log.read_text()[-3000:])


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


# --- The clients -------------------------------------------------------------------------


def request(port: int, method: str, path: str, token: str, body: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else b""
        connection.request(
            method,
            path,
            body=payload,
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def hand_in_burst(port: int, data: dict, clients: int) -> dict:
    """Every learner hands in once; `clients` at a time. Returns timings per submission.
    Learners with a draft made beforehand (`data["drafts"]`) only submit it."""
    drafts = data.get("drafts", {})
    work: queue.Queue = queue.Queue()
    for token in data["tokens"]:
        work.put(token)
    results: list[dict] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                token = work.get_nowait()
            except queue.Empty:
                return
            started = time.time()
            if token in drafts:
                pk = drafts[token]
            else:
                status, body = request(
                    port,
                    "POST",
                    "/api/v1/submissions/",
                    token,
                    {
                        "cohort": data["cohort"],
                        "lab": data["lab"],
                        "repo_url": "https://github.com/bench/lab",
                    },
                )
                if status != 201:
                    with lock:
                        failures.append(f"draft {status}: {body[:200]!r}")
                    continue
                pk = json.loads(body)["id"]
            submit_started = time.time()
            status, body = request(port, "POST", f"/api/v1/submissions/{pk}/submit/", token)
            done = time.time()
            with lock:
                if status != 200:
                    failures.append(f"submit {status}: {body[:200]!r}")
                else:
                    results.append(
                        {
                            "id": pk,
                            "started": started,
                            "submit_started": submit_started,
                            "done": done,
                        }
                    )

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"results": results, "failures": failures, "began": began, "ended": time.time()}


# --- Checks ------------------------------------------------------------------------------


def wait_for_emails(sink: SmtpSink, expected: int, timeout: float, settle: float = 2) -> bool:
    """Waits for `expected` e-mails, then `settle` seconds: anything sent twice would arrive
    by then."""
    deadline = time.monotonic() + timeout
    while len(sink.messages) < expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    time.sleep(settle)
    return True


def email_checks(sink: SmtpSink, submission_ids: set[int]) -> dict:
    """Per submission, how many mentor e-mails arrived and when the first did; plus the
    database's view (one notification per submission, sent, one delivery key each)."""
    from notifications.models import EmailDelivery, Notification

    arrivals: dict[int, list[float]] = {}
    strays = 0
    for arrived, rcpts, raw in sink.messages:
        match = SUBMISSION_IN_LINK.search(raw)
        if match is None or not all(r.startswith("mentor") for r in rcpts):
            strays += 1
            continue
        arrivals.setdefault(int(match.group(1)), []).append(arrived)
    notified = Notification.objects.filter(kind="submission.submitted")
    by_submission = list(notified.values_list("event__target_id", flat=True))
    return {
        "arrivals": arrivals,
        "emails": len(sink.messages),
        "strays": strays,
        "twice": sum(1 for times in arrivals.values() if len(times) > 1),
        "missing": len(submission_ids - set(arrivals)),
        "notifications": len(by_submission),
        "notification_duplicates": len(by_submission) - len(set(by_submission)),
        "sent": notified.filter(email_status=Notification.EmailStatus.SENT).count(),
        "delivery_keys": EmailDelivery.objects.count(),
    }


def print_checks(checks: dict, n: int, sink: SmtpSink) -> bool:
    ok = (
        checks["missing"] == 0
        and checks["twice"] == 0
        and checks["strays"] == 0
        and checks["emails"] == n
        and checks["notification_duplicates"] == 0
        and checks["sent"] == n
        and checks["delivery_keys"] == n
    )
    print(
        f"e-mails received            {checks['emails']} over {sink.connections} SMTP connections "
        f"(missing {checks['missing']}, twice {checks['twice']}, strays {checks['strays']})"
    )
    print(
        f"notifications               {checks['notifications']} "
        f"(duplicates {checks['notification_duplicates']}, marked sent {checks['sent']}, "
        f"delivery keys {checks['delivery_keys']})"
    )
    print(f"every mentor e-mail once    {ok}")
    return ok


def pg_sessions() -> int:
    """Sessions PostgreSQL has opened to this database so far (each a backend process)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    connection.close()
    return count


def outbox_tasks(log: Path) -> str:
    """How many process_outbox tasks the worker ran, from its log (INFO lines)."""
    text = log.read_text(errors="replace")
    ran = len(re.findall(r"process_outbox\[[^\]]+\] succeeded", text))
    return f"{ran} process_outbox tasks"


def summary(label: str, values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    if not values:
        return f"{label:<28}none"
    return (
        f"{label:<28}median {statistics.median(values) * scale:.2f} {unit}, "
        f"p95 {percentile(values, 0.95) * scale:.2f} {unit}, max {max(values) * scale:.2f} {unit}"
    )


# --- Modes -------------------------------------------------------------------------------


def run_burst(args, sink: SmtpSink, data: dict, tmp: Path) -> bool:
    env = server_env(sink.port, args.port)
    web = worker = None
    try:
        worker = start_worker(env, tmp / "worker.log", args.concurrency)
        web = start_gunicorn(env, args.port, args.web_workers, tmp / "web.log")
        print(f"load average before         {loadavg()}", flush=True)
        roots = {"web": web.pid, "worker": worker.pid}
        cpu_before, self_before = cpu_by_role(roots), time.process_time()
        burst = hand_in_burst(args.port, data, args.clients)
        load_after_burst = loadavg()
        accepted = burst["results"]
        # Until the last e-mail: the burst's own work, and what its delivery cost.
        wait_for_emails(sink, len(accepted), args.timeout, settle=0)
        spent = cpu_spent(cpu_before, cpu_by_role(roots))
        spent["bench"] = time.process_time() - self_before
        window = time.time() - burst["began"]
        wait_for_emails(sink, len(accepted), args.timeout)
        drained = (max((m[0] for m in sink.messages), default=burst["ended"])) - burst["began"]
    finally:
        stop(web)
        stop(worker)
    n = len(accepted)
    seconds = burst["ended"] - burst["began"]
    ids = {r["id"] for r in accepted}
    checks = email_checks(sink, ids)
    latencies = [
        checks["arrivals"][r["id"]][0] - r["submit_started"]
        for r in accepted
        if r["id"] in checks["arrivals"]
    ]
    print()
    print(
        f"hand-ins accepted           {n} of {len(data['tokens'])} "
        f"({len(burst['failures'])} failed{': ' + burst['failures'][0] if burst['failures'] else ''})"
    )
    print(
        f"burst                       {seconds:.2f} s: {n / seconds:.1f} hand-ins/s "
        f"({(1 if args.submit_only else 2) * n / seconds:.0f} requests/s; {args.clients} clients, "
        f"{args.web_workers} web workers)"
    )
    print(
        summary(
            "hand-in (draft + submit)", [r["done"] - r["started"] for r in accepted], "ms", 1000
        )
    )
    print(
        summary("submit request", [r["done"] - r["submit_started"] for r in accepted], "ms", 1000)
    )
    print(summary("submit -> e-mail received", latencies))
    after_accept = [
        checks["arrivals"][r["id"]][0] - r["done"]
        for r in accepted
        if r["id"] in checks["arrivals"]
    ]
    print(summary("accepted -> e-mail received", after_accept))
    print(f"last e-mail after           {drained:.2f} s from the first request")
    machine, steal = spent.pop("machine"), spent.pop("steal")
    spent["other"] = max(0.0, machine - sum(spent.values()))
    print(
        "CPU per hand-in             "
        + ", ".join(
            f"{role} {seconds / max(n, 1) * 1000:.1f} ms" for role, seconds in spent.items()
        )
        + f"; the cores were busy {machine / (window * (os.cpu_count() or 1)):.0%}"
        + f" until the last e-mail (stolen by the host: {steal / window / (os.cpu_count() or 1):.1%})"
    )
    print(f"worker tasks                {outbox_tasks(tmp / 'worker.log')}")
    print(f"load average after burst    {load_after_burst}")
    return print_checks(checks, n, sink)


def run_drain(args, sink: SmtpSink, data: dict, tmp: Path) -> bool:
    from django.db import connection, transaction

    from submissions.models import Submission
    from submissions.services import submission_get_or_create_draft, submission_submit

    env = server_env(sink.port, args.port)
    # This process records the events; it publishes to the same broker as the servers.
    from config.celery import app

    app.conf.broker_url = os.environ["REDIS_URL"]
    from cohorts.models import Cohort
    from curriculum.models import Lab

    cohort = Cohort.objects.get(pk=data["cohort"])
    lab = Lab.objects.get(pk=data["lab"])
    drafts = []
    for learner in data["learners"]:
        draft = submission_get_or_create_draft(learner=learner, cohort=cohort, lab=lab)
        Submission.objects.filter(pk=draft.pk).update(repo_url="https://github.com/bench/lab")
        draft.repo_url = "https://github.com/bench/lab"
        drafts.append(draft)
    worker = None
    try:
        worker = start_worker(env, tmp / "worker.log", args.concurrency)
        print(f"load average before         {loadavg()}", flush=True)
        cpu_before = cpu_seconds(worker)
        with transaction.atomic():
            for draft in drafts:
                submission_submit(actor=draft.learner, submission=draft)
            committing = time.time()
        committed = time.time()  # on_commit publishing is done by now
        connection.close()
        wait_for_emails(sink, len(drafts), args.timeout)
        load_after = loadavg()
        cpu_worker = cpu_seconds(worker) - cpu_before
    finally:
        stop(worker)
    n = len(drafts)
    checks = email_checks(sink, {d.pk for d in drafts})
    latencies = [times[0] - committing for times in checks["arrivals"].values()]
    last = max((m[0] for m in sink.messages), default=committed)
    print()
    print(f"events queued at once       {n} hand-ins in one transaction")
    print(f"enqueue after commit        {committed - committing:.2f} s (on_commit publishes)")
    print(summary("commit -> e-mail received", latencies))
    print(
        f"drained after               {last - committing:.2f} s ({n / max(last - committing, 1e-9):.0f} e-mails/s)"
    )
    print(f"worker CPU per hand-in      {cpu_worker / max(n, 1) * 1000:.1f} ms (2 events each)")
    print(f"worker tasks                {outbox_tasks(tmp / 'worker.log')}")
    print(f"load average after          {load_after}")
    return print_checks(checks, n, sink)


def run_trickle(args, sink: SmtpSink, data: dict, tmp: Path) -> bool:
    """Hand-ins committed one at a time at a steady rate, as the web side would at 60/s."""
    from django.db import connection

    from submissions.models import Submission
    from submissions.services import submission_submit

    env = server_env(sink.port, args.port)
    from config.celery import app

    app.conf.broker_url = os.environ["REDIS_URL"]
    # One publish at a time, as in a gunicorn worker (one request at a time): Kombu's
    # producer is not meant to be shared by threads publishing at once.
    from notifications import tasks

    publish, publishing = tasks.enqueue_outbox, threading.Lock()
    published = []

    def enqueue_outbox() -> bool:
        with publishing:
            published.append(1)
            return publish()

    tasks.enqueue_outbox = enqueue_outbox
    pks = list(make_drafts(data).values())
    drafts = list(Submission.objects.select_related("learner").filter(pk__in=pks).order_by("pk"))
    connection.close()
    started: dict[int, float] = {}
    lag: list[float] = []
    lock = threading.Lock()

    def client(share: list, begin: float) -> None:
        for index, draft in share:
            due = begin + index / args.rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            now = time.time()
            submission_submit(actor=draft.learner, submission=draft)
            with lock:
                started[draft.pk] = now
                lag.append(now - due)
        connection.close()

    worker = None
    try:
        worker = start_worker(env, tmp / "worker.log", args.concurrency)
        print(f"load average before         {loadavg()}", flush=True)
        cpu_before = cpu_seconds(worker)
        sessions_before = pg_sessions()
        numbered = list(enumerate(drafts))
        begin = time.time() + 0.5
        threads = [
            threading.Thread(target=client, args=(numbered[i :: args.clients], begin))
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ended = time.time()
        wait_for_emails(sink, len(drafts), args.timeout)
        load_after = loadavg()
        cpu_worker = cpu_seconds(worker) - cpu_before
        sessions = pg_sessions() - sessions_before - 1
    finally:
        stop(worker)
    n = len(drafts)
    checks = email_checks(sink, set(started))
    latencies = [
        times[0] - started[pk] for pk, times in checks["arrivals"].items() if pk in started
    ]
    print()
    print(
        f"hand-ins committed          {n} in {ended - begin:.2f} s: {n / (ended - begin):.1f}/s "
        f"(asked {args.rate:g}/s from {args.clients} threads; p95 lag {percentile(lag, 0.95):.2f} s)"
    )
    print(summary("submit -> e-mail received", latencies))
    print(f"worker CPU per hand-in      {cpu_worker / max(n, 1) * 1000:.1f} ms (2 events each)")
    print(
        f"worker tasks                {outbox_tasks(tmp / 'worker.log')} ({len(published)} commits)"
    )
    print(f"PostgreSQL sessions opened  {sessions} (the bench's {args.clients} clients included)")
    print(f"load average after          {load_after}")
    return print_checks(checks, n, sink)


def run_queries(data: dict) -> bool:
    """Queries of one draft, one submit (through the API) and one delivery (the worker's work)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from config.celery import app
    from notifications import tasks
    from notifications.models import Event

    app.conf.task_always_eager = True
    client = Client(HTTP_AUTHORIZATION=f"Token {data['tokens'][0]}")
    enqueued: list = []
    original = tasks.enqueue_outbox
    tasks.enqueue_outbox = lambda: enqueued.append(1) or True
    try:
        with CaptureQueriesContext(connection) as draft:
            response = client.post(
                "/api/v1/submissions/",
                {
                    "cohort": data["cohort"],
                    "lab": data["lab"],
                    "repo_url": "https://github.com/b/l",
                },
                content_type="application/json",
            )
        pk = response.json()["id"]
        with CaptureQueriesContext(connection) as submit:
            client.post(f"/api/v1/submissions/{pk}/submit/")
    finally:
        tasks.enqueue_outbox = original
    assert Event.objects.filter(processed_at__isnull=True).exists()
    with CaptureQueriesContext(connection) as delivery:
        tasks.process_outbox.apply()
    print(f"POST /api/v1/submissions/           {len(draft)} queries")
    print(f"POST /api/v1/submissions/<id>/submit/ {len(submit)} queries ({len(enqueued)} enqueues)")
    print(f"delivery of its events (eager)      {len(delivery)} queries")
    if os.environ.get("SHOW_QUERIES"):
        for name, ctx in (("draft", draft), ("submit", submit), ("delivery", delivery)):
            print(f"--- {name}")
            for q in ctx.captured_queries:
                print(q["sql"][:200])
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mode", nargs="?", choices=["burst", "drain", "trickle", "queries"], default="burst"
    )
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--mentors", type=int, default=10)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="worker processes (default: make run's)"
    )
    parser.add_argument(
        "--submit-only",
        action="store_true",
        help="drafts made beforehand: each hand-in is only POST .../submit/",
    )
    parser.add_argument("--rate", type=float, default=60, help="trickle: hand-ins per second")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8811")))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith(
        "postgres"
    ):
        print("Set DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
        return 2
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(30))

    if args.mode == "queries":
        os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()
    from django.db import connection

    print(f"Preparing {args.submissions} learners ...", flush=True)
    data = prepare(args.submissions, args.mentors)
    if args.submit_only:
        data["drafts"] = make_drafts(data)
    if args.mode == "queries":
        return 0 if run_queries(data) else 1
    connection.close()
    sink = SmtpSink()
    tmp = Path(tempfile.mkdtemp(prefix="notifications-bench-"))
    print(f"mode {args.mode}; logs in {tmp}; SMTP sink on port {sink.port}", flush=True)
    run = {"burst": run_burst, "drain": run_drain, "trickle": run_trickle}[args.mode]
    ok = run(args, sink, data, tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
