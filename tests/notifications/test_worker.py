"""Delivery through a REAL Celery worker and Redis (marked `redis`; CI runs them).

The worker is a subprocess on its own Redis DB (REDIS_URL's) with a file email backend,
and connects to the same PostgreSQL test database: the tests use `transactional_db`, so
what they write is committed and visible to it. Run with e.g.:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cl_notifications \\
    TEST_DATABASE_NAME=test_cl_notifications REDIS_URL=redis://127.0.0.1:6379/13 \\
    .venv/bin/python -m pytest tests/notifications/test_worker.py -s
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cohorts.models import Membership
from config.celery import app
from core import broker
from notifications import tasks
from notifications.models import EmailDelivery, Event, Notification

from .conftest import make_world

REDIS_URL = os.environ.get("REDIS_URL", "")
BASE_DIR = Path(settings.BASE_DIR)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
]

SENT = Notification.EmailStatus.SENT
PENDING = Notification.EmailStatus.PENDING


def wait_for(predicate, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


def use_broker(url: str) -> None:
    """Point this process's publisher at another broker URL (drops pooled connections)."""
    app.conf.broker_url = url
    app._pool = None
    with contextlib.suppress(AttributeError):
        app.amqp._producer_pool = None


class LiveWorker:
    def __init__(self, tmp_path: Path):
        self.mail_dir = tmp_path / "mail"
        self.mail_dir.mkdir()
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def env(self, **extra) -> dict[str, str]:
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "live-worker-test-key",
            "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": REDIS_URL,
            "EMAIL_BACKEND": "tests.notifications.email_backends.SlowFileBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "CONN_MAX_AGE": "0",
            "LOG_LEVEL": "INFO",
        }
        env.pop("EMAIL_URL", None)
        env.pop("TEST_DATABASE_NAME", None)
        env.update(extra)
        return env

    def start(self, **extra) -> None:
        self.log_path = self.tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-Q", "notifications,scheduling,default", "-c", "1", "-P", "prefork",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
                "-n", f"notifications-test-{uuid.uuid4().hex[:8]}@%h", "-l", "INFO",
            ],
            cwd=BASE_DIR, env=self.env(**extra), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(
            lambda: "ready." in self.log_path.read_text() or self.process.poll() is not None,
            what="the worker to start",
        )
        assert self.process.poll() is None, self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL the worker and its pool children: no cleanup, no ack."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def emails_to(self, address: str) -> int:
        count = 0
        for path in self.mail_dir.glob("*.log"):
            count += sum(1 for line in path.read_text().splitlines() if line == f"To: {address}")
        return count


@pytest.fixture
def live(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker subprocess must share the test database: needs PostgreSQL")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    app.conf.task_always_eager = False
    original_broker = app.conf.broker_url
    use_broker(REDIS_URL)
    broker.reset_cooldown()
    worker = LiveWorker(tmp_path)
    yield worker
    worker.stop()
    if os.environ.get("SHOW_WORKER_LOG"):
        for path in tmp_path.glob("worker-*.log"):
            print(path.read_text()[-6000:])
    use_broker(original_broker)
    broker.reset_cooldown()


def _sweep_now() -> None:
    """What beat does every minute, with the clock moved past the sweeper's grace."""
    past = timezone.now() - dt.timedelta(minutes=2)
    Event.objects.filter(processed_at__isnull=True).update(created_at=past)
    Notification.objects.filter(email_status=PENDING).update(created_at=past)
    tasks.sweep_outbox.apply_async()


def test_submit_to_notification_to_email_end_to_end(live):
    world = make_world()
    live.start()
    submission = world.submit()
    wait_for(lambda: live.emails_to(world.mentor.email) == 1, what="the mentor's email")
    notification = Notification.objects.get(
        recipient=world.mentor, kind="submission.submitted", event__target_id=submission.pk
    )
    assert notification.email_status == SENT
    assert EmailDelivery.objects.filter(key=f"notification:{notification.pk}").count() == 1
    assert live.emails_to(world.learner.email) == 0
    assert not Notification.objects.filter(recipient=world.learner).exists()


def test_worker_killed_mid_delivery_then_restarted_sends_exactly_once(live):
    world = make_world()
    marker = live.tmp_path / "sending"
    live.start(SLOW_EMAIL_MARKER=str(marker), SLOW_EMAIL_SECONDS="120")
    world.submit()
    wait_for(marker.exists, what="the worker to start sending")
    live.kill()

    notification = Notification.objects.get(recipient=world.mentor, kind="submission.submitted")
    assert notification.email_status == PENDING
    assert live.emails_to(world.mentor.email) == 0
    # The claim was inserted in the killed transaction: PostgreSQL rolled it back.
    assert not EmailDelivery.objects.exists()

    live.start()
    # The broker keeps the unacknowledged message until its visibility timeout (hours);
    # the sweeper re-enqueues the pending email now.
    _sweep_now()
    wait_for(lambda: live.emails_to(world.mentor.email) == 1, what="the email after restart")

    # The same delivery task run again, and another sweep: still one email.
    tasks.send_notification_email.apply_async(args=(notification.pk,))
    tasks.sweep_outbox.apply_async()
    sentinel = world.add_learner()
    world.submit(learner=sentinel)  # goes to the other mentor; its email marks the queue drained
    wait_for(lambda: live.emails_to(world.other_mentor.email) == 1, what="the sentinel email")
    assert live.emails_to(world.mentor.email) == 1
    assert EmailDelivery.objects.filter(key=f"notification:{notification.pk}").count() == 1
    notification.refresh_from_db()
    assert notification.email_status == SENT


def _message_ids(mail_dir: Path) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for path in mail_dir.glob("*.log")
        for line in path.read_text().splitlines()
        if line.startswith("Message-ID: ")
    ]


def test_worker_process_killed_mid_batch_each_email_goes_exactly_once(live):
    """A burst is delivered in batches over one mail connection. SIGKILL the pool process
    in the middle of a batch's e-mails: after the worker replaces it (and the sweep), every
    notification has been e-mailed exactly once, the ones sent before the kill included."""
    world = make_world()
    Membership.objects.filter(cohort=world.cohort, role=Membership.Role.MENTOR).update(capacity=50)
    learners = [world.add_learner() for _ in range(12)]
    marker = live.tmp_path / "sending"
    live.start(SLOW_EMAIL_MARKER=str(marker), SLOW_EMAIL_AFTER="5", SLOW_EMAIL_SECONDS="120")
    # Twelve hand-ins committed at once: one batch of events, then their twelve e-mails.
    with transaction.atomic():
        for learner in learners:
            world.submit(learner=learner)
    wait_for(marker.exists, what="the worker to hang on the sixth e-mail")
    sending_pid = int(wait_for(lambda: marker.read_text(), what="the marker's pid"))
    assert sending_pid != live.process.pid  # a pool process, not the worker's main process
    os.kill(sending_pid, signal.SIGKILL)

    notifications = Notification.objects.filter(kind="submission.submitted")
    assert notifications.count() == 12  # the batch's events were committed before the e-mails
    sent_before = _message_ids(live.mail_dir)
    assert len(sent_before) == 5
    assert notifications.filter(email_status=SENT).count() == 5
    # The sixth was claimed in the killed transaction: PostgreSQL rolled the claim back.
    assert EmailDelivery.objects.count() == 5

    # The worker replaces the killed process and the broker hands the task out again (it
    # was never acknowledged); the sweeper sends the e-mails left pending.
    _sweep_now()
    wait_for(
        lambda: notifications.filter(email_status=SENT).count() == 12,
        what="every e-mail after the kill",
    )
    tasks.sweep_outbox.apply_async()  # a second sweep, and the same task again: nothing more
    tasks.process_outbox.apply_async()
    sentinel = world.add_learner()
    world.submit(learner=sentinel)
    wait_for(lambda: len(_message_ids(live.mail_dir)) >= 13, what="the sentinel's e-mail")
    time.sleep(1)
    sent = _message_ids(live.mail_dir)
    expected = {
        f"<notification-{pk}@127.0.0.1>" for pk in notifications.values_list("pk", flat=True)
    }
    assert sorted(sent) == sorted(expected), "every notification e-mailed exactly once"
    assert set(sent_before) <= expected
    assert EmailDelivery.objects.filter(key__startswith="notification:").count() == 13
    assert live.process.poll() is None  # the worker itself lived on


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("outage", ["refused", "hung"])
def test_submit_while_the_broker_is_unreachable_succeeds_and_is_delivered_later(live, outage):
    world = make_world()
    live.start()
    black_hole = None
    if outage == "refused":
        bad_url = f"redis://127.0.0.1:{_closed_port()}/0"
    else:
        # Accepts connections (the kernel completes the handshake) and never answers: what
        # a paused or wedged Redis looks like to a client, without pausing the shared one.
        black_hole = socket.socket()
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(64)
        bad_url = f"redis://127.0.0.1:{black_hole.getsockname()[1]}/0"
    use_broker(bad_url)
    try:
        started = time.perf_counter()
        submission = world.submit()
        elapsed = time.perf_counter() - started
        second_started = time.perf_counter()
        second = world.submit(learner=world.add_learner())
        second_elapsed = time.perf_counter() - second_started
    finally:
        use_broker(REDIS_URL)
        if black_hole is not None:
            black_hole.close()
    print(
        f"\nbroker {outage}: first submit {elapsed:.2f}s, next submit {second_elapsed:.3f}s "
        f"(cooldown skips the broker)"
    )
    # Not a timing test: a bound that only a hanging enqueue would break.
    assert elapsed < 15
    assert submission.state == "submitted" and second.state == "submitted"
    assert Event.objects.filter(kind="submission.submitted", processed_at__isnull=True).count() == 2
    assert live.emails_to(world.mentor.email) == 0

    broker.reset_cooldown()
    _sweep_now()
    wait_for(lambda: live.emails_to(world.mentor.email) == 1, what="delivery after the outage")
    wait_for(lambda: live.emails_to(world.other_mentor.email) == 1, what="the second delivery")
    wait_for(
        lambda: not Event.objects.filter(processed_at__isnull=True).exists(),
        what="every swept event to be processed",
    )
