"""Outages the issues do not name, each against real servers the test starts and stops
itself on private ports (never the shared PostgreSQL or Redis)."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from config.celery import app, redis_transport_options
from core import broker
from tests.core.test_redis_outage import RedisServer, point_celery_at
from tests.notifications.test_worker import LiveWorker


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, as the Celery publisher's broker."""
    server = RedisServer(tmp_path)
    server.start()
    original = (app.conf.broker_url, app.conf.broker_transport_options)
    point_celery_at(server.url, redis_transport_options())
    app.conf.task_always_eager = False
    broker.reset_cooldown()
    yield server
    server.stop()
    point_celery_at(*original)
    broker.reset_cooldown()


@pytest.fixture
def live_worker(transactional_db, tmp_path, private_redis):
    """A real Celery worker subprocess on the private Redis and the test database."""
    assert connection.vendor == "postgresql", "the worker must share the test database"
    worker = LiveWorker(tmp_path)
    yield worker
    worker.stop()
    if os.environ.get("SHOW_WORKER_LOG"):
        for path in tmp_path.glob("worker-*.log"):
            print(path.read_text()[-8000:])
