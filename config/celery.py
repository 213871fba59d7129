"""The Celery app.

Without REDIS_URL the broker is Kombu's filesystem transport under var/broker, so a fresh
machine runs a real worker and beat with no extra service. With REDIS_URL it is Redis.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cohortlabs")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _configure() -> None:
    from django.conf import settings

    conf = app.conf
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        broker_dir = settings.CELERY_BROKER_DIR
        for sub in ("out", "processed"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
        conf.broker_transport_options = {
            "data_folder_in": str(broker_dir / "out"),
            "data_folder_out": str(broker_dir / "out"),
            "data_folder_processed": str(broker_dir / "processed"),
        }
    else:
        # Longer than the longest countdown/eta we schedule (retries back off to 1 h),
        # so Redis never redelivers a task that is merely waiting.
        conf.broker_transport_options = {"visibility_timeout": 2 * 3600}
    conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=120,
        task_soft_time_limit=100,
        broker_connection_retry_on_startup=True,
        # A web request that enqueues while the broker is down must not hang:
        # the outbox sweeper delivers what could not be enqueued.
        broker_connection_timeout=2,
        broker_connection_max_retries=1,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
        task_default_queue="default",
        task_queues=(Queue("default"), Queue("notifications"), Queue("scheduling")),
        task_routes={
            "notifications.*": {"queue": "notifications"},
            "submissions.*": {"queue": "scheduling"},
            "cohorts.*": {"queue": "scheduling"},
        },
        timezone="UTC",
    )


_configure()
app.autodiscover_tasks()
