"""PostgreSQL restarts, stops and freezes under the running app (gunicorn and a Celery
worker, on a private cluster with a copy of the test database).

What a user needs: while the database is away, every page and API call answers at once with
a clear 503 (Retry-After, no traceback, no driver message), /readyz says not ready, and as
soon as it is back the same processes answer and deliver again, with no restart: the
persistent connections that died with the server are replaced, not reused.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD
from tests.notifications.conftest import make_world
from tests.notifications.test_worker import wait_for

from .servers import Client, PostgresServer, WebServer

# Private PostgreSQL and Redis servers, gunicorn and a real worker (CI runs them).
pytestmark = [pytest.mark.redis, pytest.mark.postgres]

# What no error answer may show: the exception, the driver, the server's address.
LEAKS = ("Traceback", "OperationalError", "psycopg", "connection to server", "5432")


@pytest.fixture
def postgres():
    server = PostgresServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def web(tmp_path):
    servers = []

    def start(*, meanwhile=None, **env) -> WebServer:
        """Start gunicorn; `meanwhile()` runs while it boots (e.g. a worker's start)."""
        server = WebServer(tmp_path, **env)
        servers.append(server)
        booting = threading.Thread(target=server.start)
        booting.start()
        try:
            if meanwhile is not None:
                meanwhile()
        finally:
            booting.join()
        assert server.process is not None and server.process.poll() is None
        assert Client(server.base).get("/healthz").status == 200
        return server

    yield start
    for server in servers:
        server.stop()


def assert_unavailable(answer, *, api: bool) -> None:
    assert answer.status == 503, (answer.status, answer.text[:500])
    assert answer.headers["Retry-After"] == "30"
    assert answer.seconds < 3, answer.seconds  # refused at once, not after a timeout
    for leak in LEAKS:
        assert leak not in answer.text, (leak, answer.text[:500])
    if api:
        assert answer.json()["code"] == "unavailable"
    else:
        assert "Briefly unavailable" in answer.text


def signed_in(app: WebServer, learner) -> tuple[Client, Client]:
    """A browser signed in as `learner` (their home answers) and an API client with their
    token (their submissions answer)."""
    pages = Client(app.base)
    assert pages.sign_in(learner.email, DEFAULT_PASSWORD).status == 302
    assert pages.get(reverse("dashboard:learner")).status == 200
    api = Client(app.base)
    api.use_token(learner.email, DEFAULT_PASSWORD)
    assert api.get("/api/v1/submissions/").status == 200
    return pages, api


def hand_in(api: Client, world, learner) -> int:
    created = api.post(
        "/api/v1/submissions/",
        json_body={
            "cohort": world.cohort.pk,
            "lab": world.lab.pk,
            "repo_url": "https://github.com/example/lab",
        },
    )
    assert created.status == 201, created.text
    submitted = api.post(f"/api/v1/submissions/{created.json()['id']}/submit/")
    assert submitted.status in (200, 201), submitted.text
    return created.json()["id"]


def test_pages_and_api_answer_503_while_postgresql_is_down_and_recover_without_restart(
    transactional_db, postgres, web, private_redis, live_worker
):
    world = make_world()
    learners = [world.add_learner() for _ in range(2)]
    database_url = postgres.copy_of_test_database()
    app = web(
        DATABASE_URL=database_url,
        REDIS_URL=private_redis.url,
        meanwhile=lambda: live_worker.start(
            REDIS_URL=private_redis.url, DATABASE_URL=database_url, CONN_MAX_AGE="60"
        ),
    )
    home = reverse("dashboard:learner")
    pages, api = signed_in(app, world.learner)

    # 1. A quick restart between two requests: every persistent connection (gunicorn's,
    # the worker's) now points at a dead server. The very next request must not fail.
    postgres.stop()
    postgres.start()
    assert pages.get(home).status == 200
    assert api.get("/api/v1/submissions/").status == 200
    hand_in(api, world, world.learner)
    wait_for(lambda: live_worker.emails_to(world.mentor.email) == 1, what="the first e-mail")

    # 2. Stopped: a clear 503 everywhere, at once; readiness says so, liveness does not.
    postgres.stop()
    assert_unavailable(pages.get(home), api=False)
    assert_unavailable(pages.get(reverse("submissions:queue")), api=False)
    assert_unavailable(api.get("/api/v1/submissions/"), api=True)
    assert_unavailable(api.post("/api/v1/submissions/", json_body={}), api=True)
    signing_in = Client(app.base)
    login_page = signing_in.get("/accounts/login/")
    assert login_page.status == 200  # the form needs no database
    assert_unavailable(
        signing_in.post(
            "/accounts/login/",
            data={
                "username": learners[0].email,
                "password": DEFAULT_PASSWORD,
                "csrfmiddlewaretoken": signing_in.csrf_token(login_page),
            },
        ),
        api=False,
    )
    ready = Client(app.base).get("/readyz")
    assert ready.status == 503 and ready.json()["failing"][0] == "database"
    assert Client(app.base).get("/healthz").status == 200
    assert live_worker.process.poll() is None

    # 3. Back: the same gunicorn worker and Celery worker answer and deliver again.
    postgres.start()
    assert pages.get(home).status == 200
    assert Client(app.base).get("/readyz").status == 200
    other = Client(app.base)
    other.use_token(learners[0].email, DEFAULT_PASSWORD)
    hand_in(other, world, learners[0])
    wait_for(
        lambda: live_worker.emails_to(world.other_mentor.email) == 1,
        timeout=20,
        what="the e-mail of a hand-in after the database came back",
    )
    assert app.workers_booted() == 1, "gunicorn replaced its worker"
    assert live_worker.process.poll() is None
    assert live_worker.emails_to(world.mentor.email) == 1


def test_a_frozen_postgresql_costs_a_request_the_connect_timeout_not_a_hang(
    transactional_db, postgres, web
):
    """The postmaster stops answering (SIGSTOP): a new connection waits DB_CONNECT_TIMEOUT,
    then the request is a 503, instead of waiting for gunicorn to kill the worker."""
    world = make_world()
    database_url = postgres.copy_of_test_database()
    # No persistent connection: each request connects, as after a web process starts.
    app = web(DATABASE_URL=database_url, CONN_MAX_AGE="0", DB_CONNECT_TIMEOUT="2")
    client = Client(app.base)
    assert client.get("/readyz").status == 200
    os.kill(postgres.postmaster_pid(), signal.SIGSTOP)
    try:
        answer = client.post(
            "/api/v1/auth/token/",
            json_body={"email": world.learner.email, "password": DEFAULT_PASSWORD},
        )
    finally:
        os.kill(postgres.postmaster_pid(), signal.SIGCONT)
    assert answer.status == 503 and answer.json()["code"] == "unavailable"
    assert 1.5 < answer.seconds < 10, answer.seconds
    time.sleep(0.2)
    assert client.get("/readyz").status == 200


@pytest.mark.parametrize(
    "bounds",
    [
        {"DB_LOCK_TIMEOUT": "1", "DB_STATEMENT_TIMEOUT": "30"},  # the lock wait gives up
        {"DB_LOCK_TIMEOUT": "0", "DB_STATEMENT_TIMEOUT": "1"},  # the statement gives up
    ],
    ids=["lock-timeout", "statement-timeout"],
)
def test_a_table_locked_by_a_long_transaction_costs_a_request_its_bound_not_its_worker(
    transactional_db, postgres, web, bounds
):
    """A migration, an import or a session left open in psql holds an exclusive lock on
    the submissions: a request waiting behind it answers 503 after DB_LOCK_TIMEOUT (or
    DB_STATEMENT_TIMEOUT) seconds, instead of holding its worker until gunicorn kills it;
    the same worker answers as soon as the lock is gone."""
    import psycopg

    world = make_world()
    database_url = postgres.copy_of_test_database()
    app = web(DATABASE_URL=database_url, **bounds)
    home = reverse("dashboard:learner")
    pages, api = signed_in(app, world.learner)

    holder = psycopg.connect(database_url)
    try:
        holder.execute("LOCK TABLE submissions_submission IN ACCESS EXCLUSIVE MODE")
        for answer, is_api in (
            (pages.get(home), False),
            (api.get("/api/v1/submissions/"), True),
        ):
            assert_unavailable(answer, api=is_api)
            assert answer.seconds > 0.8, "answered before the bound: not a wait that gave up"
        assert Client(app.base).get("/healthz").status == 200
    finally:
        holder.rollback()
        holder.close()
    assert pages.get(home).status == 200
    assert api.get("/api/v1/submissions/").status == 200
    assert app.workers_booted() == 1, "gunicorn replaced its worker"
