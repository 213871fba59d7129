"""A real Redis stopped (or hung) in the middle of a session: the product keeps answering.

Each test starts its own `redis-server` on a free port, points the cache and the Celery
broker at it with the production settings (config.settings.redis_cache,
config.celery.redis_transport_options), signs people in, then kills Redis (SIGTERM) or
freezes it (SIGSTOP) and drives the real entry points: the sign-in page, the learner home
and the review queue, the API's token exchange, lists, draft and submit, the lab page with
its thread, and the lab page's submit button. Redis then comes back, a real Celery worker (in this process, on the same
database) drains the queue after the outbox sweep, and the mentor gets exactly one email.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from config.celery import app, redis_transport_options
from config.settings import redis_cache
from core import broker
from core import cache as fail_fast
from notifications import tasks
from notifications.models import EmailDelivery, Event, Notification
from submissions.models import Comment
from tests.factories import DEFAULT_PASSWORD
from tests.notifications.conftest import make_world

# The in-process worker shares the test database from another thread: PostgreSQL only.
pytestmark = [pytest.mark.postgres, pytest.mark.redis_server]

REDIS_SERVER = Path("/usr/bin/redis-server")
SUBMIT_BUDGET_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server: never the shared one on 6379."""

    def __init__(self, workdir: Path):
        if not REDIS_SERVER.exists():
            pytest.fail(f"{REDIS_SERVER} is missing: install redis-server to run this test")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.paused = False

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            [
                str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        self.resume()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused and self.process is not None:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False


def point_celery_at(url: str, transport_options: dict) -> None:
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_server(tmp_path, settings):
    server = RedisServer(tmp_path)
    server.start()
    settings.CACHES = {"default": redis_cache(server.url)}
    original = (app.conf.broker_url, app.conf.broker_transport_options)
    point_celery_at(server.url, redis_transport_options())
    app.conf.task_always_eager = False
    broker.reset_cooldown()
    fail_fast.reset_breakers()
    yield server
    server.stop()
    point_celery_at(*original)
    broker.reset_cooldown()
    fail_fast.reset_breakers()


def sign_in(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def fail_opens() -> float:
    """The Prometheus counter of cache calls answered without Redis (core.metrics)."""
    value = REGISTRY.get_sample_value("cohortlabs_cache_fail_opens_total", {"cache": "default"})
    return value or 0.0


def outage_logs(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


@pytest.mark.parametrize("outage", ["stopped", "hung"])
def test_the_product_keeps_answering_while_redis_is_down(
    transactional_db, redis_server, outage, caplog, monkeypatch
):
    # Every hand-in tries the broker (no cooldown between tries): still fast, logged once.
    monkeypatch.setattr(broker, "COOLDOWN_SECONDS", 0)
    world = make_world()
    second_learner = world.add_learner()
    # Mid-session: everyone signed in and pages cached while Redis was up.
    learner_pages = sign_in(world.learner)
    mentor_pages = sign_in(world.mentor)
    assert learner_pages.get(reverse("dashboard:learner")).status_code == 200
    assert mentor_pages.get(reverse("submissions:queue")).status_code == 200
    api = api_client(world.learner)
    assert api.get("/api/v1/submissions/").status_code == 200

    caplog.set_level(logging.WARNING)
    if outage == "stopped":
        redis_server.stop()
    else:
        redis_server.pause()
    try:
        # The pages: sign-in, then the pages of people already signed in.
        assert Client().get(reverse("login")).status_code == 200
        third = sign_in(world.other_mentor)
        assert third.get(reverse("submissions:queue")).status_code == 200
        assert learner_pages.get(reverse("dashboard:learner")).status_code == 200
        assert mentor_pages.get(reverse("submissions:queue")).status_code == 200

        # The API: token exchange, lists, a draft and its submit.
        other_api = api_client(second_learner)
        assert api.get("/api/v1/submissions/").status_code == 200
        assert api.get("/api/v1/cohorts/").status_code == 200
        assert api.get("/api/v1/notifications/").status_code == 200
        created = api.post(
            "/api/v1/submissions/",
            {
                "cohort": world.cohort.pk,
                "lab": world.lab.pk,
                "repo_url": "https://github.com/example/lab",
            },
            format="json",
        )
        assert created.status_code == 201, created.content
        submitted, api_seconds = timed(
            lambda: api.post(f"/api/v1/submissions/{created.json()['id']}/submit/")
        )
        assert submitted.status_code in (200, 201), submitted.content
        assert api_seconds < SUBMIT_BUDGET_SECONDS

        # The lab page, its thread and each message drawn without the cache.
        lab_url = reverse(
            "submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk}
        )
        Comment.objects.create(
            submission_id=created.json()["id"], author=world.mentor, body="Read during the outage."
        )
        lab_page = learner_pages.get(lab_url)
        assert (
            lab_page.status_code == 200 and "Read during the outage." in lab_page.content.decode()
        )

        # The lab page's submit button, signed in with a session.
        second_pages = sign_in(second_learner)
        form = {
            "repo_url": "https://github.com/example/other",
            "checklist": [str(i) for i in range(len(world.lab.deliverables))],
            "action": "submit",
            "idempotency_key": "outage-1",
        }
        page_submit, page_seconds = timed(lambda: second_pages.post(lab_url, form))
        assert page_submit.status_code == 302, page_submit.content[:800]
        assert page_seconds < SUBMIT_BUDGET_SECONDS
        assert other_api.get("/api/v1/submissions/").json()["count"] == 1

        # A load balancer keeps routing here: the site answers, the broker is named.
        ready = Client().get("/readyz")
        assert ready.status_code == 200 and ready.json()["failing"] == ["cache", "broker"]

        # Many calls, one log line for the outage of each part.
        assert len(outage_logs(caplog, "core.cache")) == 1, outage_logs(caplog, "core.cache")
        broker_logs = outage_logs(caplog, "core.broker")
        assert len(broker_logs) == 1 and "broker is unreachable" in broker_logs[0], broker_logs
        print(f"\nRedis {outage}: API submit {api_seconds:.2f}s, page submit {page_seconds:.2f}s")
    finally:
        if outage == "stopped":
            redis_server.start()
        else:
            redis_server.resume()

    # Nothing could be enqueued: both hand-ins wait in the outbox, nobody was emailed.
    waiting = Event.objects.filter(kind="submission.submitted", processed_at__isnull=True)
    assert waiting.count() == 2
    assert mail.outbox == []

    # Redis is back: beat's sweep (every minute) re-enqueues, a worker delivers.
    unprocessed = Event.objects.filter(processed_at__isnull=True)
    lost = unprocessed.count()
    unprocessed.update(created_at=timezone.now() - timezone.timedelta(minutes=2))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert tasks.sweep_outbox.apply().get() == {"events": lost, "emails": 0}
        # Beat fires again before the worker is done: the same events are queued twice.
        tasks.sweep_outbox.apply()
        deadline = time.monotonic() + 30
        while unprocessed.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # let the duplicates run too
    assert not unprocessed.exists()
    mentors = {world.mentor.email, world.other_mentor.email}
    sent = [m.to[0] for m in mail.outbox]
    assert sorted(sent) == sorted(mentors), sent
    notifications = Notification.objects.filter(kind="submission.submitted")
    assert notifications.count() == 2
    assert EmailDelivery.objects.filter(key__startswith="notification:").count() == 2

    # Pages use the cache again.
    assert learner_pages.get(reverse("dashboard:learner")).status_code == 200


def test_the_cache_fails_open_fast_and_logs_each_outage_once(
    redis_server, caplog, monkeypatch, settings
):
    from django.core.cache import cache

    cache.set("greeting", "hello")
    fail_opens_before = fail_opens()
    caplog.set_level(logging.WARNING, logger="core.cache")
    redis_server.pause()
    try:
        # The first call waits for the socket timeout; the rest skip Redis at once.
        (misses, seconds) = timed(lambda: [cache.get("greeting") for _ in range(200)])
        assert misses == [None] * 200
        assert seconds < settings.REDIS_SOCKET_TIMEOUT + 0.5
        # The operator's counter saw every one of them (one log line, 200 counted).
        assert fail_opens() == fail_opens_before + 200
        cache.set("greeting", "changed")  # a write is dropped, not raised
        assert cache.get_or_set("other", "fallback") == "fallback"
    finally:
        redis_server.resume()
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert fail_opens() > fail_opens_before + 200  # the write and get_or_set's calls too

    # A second outage, with a short cooldown so that the test need not wait for it.
    monkeypatch.setattr(fail_fast, "COOLDOWN_SECONDS", 0.2)
    fail_fast.reset_breakers()
    caplog.clear()
    redis_server.stop()
    assert cache.get("greeting") is None
    time.sleep(0.3)
    assert cache.get("greeting") is None  # tried again after the cooldown: still down
    redis_server.start()
    time.sleep(0.3)
    cache.set("greeting", "back")
    assert cache.get("greeting") == "back"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "unreachable" in messages[0] and "is back after" in messages[1]
