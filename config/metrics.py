"""The /metrics page: this process's counters plus figures read at scrape time.

Only the operator reaches it (`Authorization: Bearer $METRICS_TOKEN`, see core/metrics.py);
everyone else gets a 404. What to alert on: docs/deploy.md.
"""

from pathlib import Path

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.celery import app
from core.metrics import metrics_response
from notifications.metrics import DeliveryCollector

# Kombu's Redis transport keeps a queue's messages of priority p > 0 in "<queue>\x06\x16<p>".
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
REDIS_PRIORITY_SEP = "\x06\x16"


def _queue_names() -> list[str]:
    return [queue.name for queue in app.conf.task_queues]


def _redis_depths(names: list[str]) -> dict[str, int]:
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
    )
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for step in REDIS_PRIORITY_STEPS:
                    pipe.llen(name if step == 0 else f"{name}{REDIS_PRIORITY_SEP}{step}")
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = len(REDIS_PRIORITY_STEPS)
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


def _filesystem_depths(names: list[str]) -> dict[str, int]:
    # Kombu's filesystem transport: one "<time>_<uuid>.<queue>.msg" file per waiting message.
    folder = Path(app.conf.broker_transport_options["data_folder_in"])
    files = [path.name for path in folder.iterdir()] if folder.is_dir() else []
    return {name: sum(1 for f in files if f.endswith(f".{name}.msg")) for name in names}


class QueueDepthCollector(Collector):
    def collect(self):
        names = _queue_names()
        up = GaugeMetricFamily(
            "cohortlabs_broker_up", "1 when the broker answered this scrape, else 0."
        )
        depth = GaugeMetricFamily(
            "cohortlabs_celery_queue_depth",
            "Tasks waiting in each Celery queue (not yet taken by a worker).",
            labels=["queue"],
        )
        try:
            if settings.CELERY_BROKER_URL.startswith("filesystem://"):
                depths = _filesystem_depths(names)
            else:
                depths = _redis_depths(names)
        except (redis.RedisError, OSError):
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            for name, value in depths.items():
                depth.add_metric([name], value)
        yield up
        yield depth


def _collectors():
    return [QueueDepthCollector(), DeliveryCollector()]


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return metrics_response(request, _collectors)
