"""The Celery app.

Without REDIS_URL the broker is Kombu's filesystem transport under var/broker, so a fresh
machine runs a real worker and beat with no extra service. With REDIS_URL it is Redis.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun, worker_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cohortlabs")
app.config_from_object("django.conf:settings", namespace="CELERY")


# Seconds Redis waits before redelivering an unacknowledged task (see _configure).
REDIS_VISIBILITY_TIMEOUT = 2 * 3600

SCHEDULING_TASKS = (
    "notifications.sweep_outbox",
    "notifications.remind_due_soon",
    "notifications.announce_released_labs",
    "notifications.send_daily_digests",
    "notifications.send_mentor_weekly_digests",
    "notifications.send_staff_weekly_digests",
)

# The default schedule. Every job is safe to run twice (unique keys decide), so two beat
# processes or a manual "run now" in the admin do no harm. Times are UTC; the digest jobs
# run hourly and decide by each recipient's own time zone.
BEAT_SCHEDULE = {
    "notifications: sweep the outbox": {
        "task": "notifications.sweep_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Invitations whose enqueue was lost (the broker was down when staff enrolled people).
    "cohorts: send pending invitations": {
        "task": "cohorts.send_pending_invitations",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
    "reviews: remind overdue reviews": {
        "task": "submissions.remind_overdue_reviews",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
    "reviews: escalate overdue reviews": {
        "task": "submissions.escalate_overdue_reviews",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
    "reviews: release abandoned claims": {
        "task": "submissions.release_abandoned_claims",
        "schedule": 10 * 60.0,
        "options": {"expires": 9 * 60},
    },
    # Safety net of away mode and overflow: reviews still held by an away mentor move, and
    # waiting unassigned work goes to mentors with room (an away period ending by itself).
    "reviews: away hand-over and waiting work": {
        "task": "submissions.sweep_assignments",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
    # Learners reminded once about a review they have not acknowledged after 3 days.
    "learners: unacknowledged reviews": {
        "task": "submissions.remind_unacknowledged_reviews",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    # Every 5 minutes, so that a reminder leaves within minutes of its lead time
    # (settings.DUE_SOON_REMINDER_HOURS before the due time).
    "learners: due-soon reminders": {
        "task": "notifications.remind_due_soon",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
    "learners: lab released": {
        "task": "notifications.announce_released_labs",
        "schedule": crontab(minute=15, hour=6),
    },
    # Digests go out at 07:00 on each recipient's own clock (User.time_zone): the jobs run
    # every hour and pick the people for whom it is 07:xx (Monday for the weekly ones).
    "everyone: daily digest at 07:00 local": {
        "task": "notifications.send_daily_digests",
        "schedule": crontab(minute=0),
        "options": {"expires": 50 * 60},
    },
    "mentors: weekly digest, Monday 07:00 local": {
        "task": "notifications.send_mentor_weekly_digests",
        "schedule": crontab(minute=0),
        "options": {"expires": 50 * 60},
    },
    "staff: weekly SLA digest, Monday 07:00 local": {
        "task": "notifications.send_staff_weekly_digests",
        "schedule": crontab(minute=0),
        "options": {"expires": 50 * 60},
    },
}


def redis_transport_options() -> dict:
    from django.conf import settings

    return {
        # Longer than the longest countdown/eta we schedule (email retries back off to
        # at most 1 h, see notifications.tasks.EMAIL_BACKOFF_CAP), so Redis never
        # redelivers a task that is merely waiting.
        "visibility_timeout": REDIS_VISIBILITY_TIMEOUT,
        # A hung broker (paused, half-open connection) fails a publish within a second
        # instead of hanging the web request that enqueues after commit.
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": settings.REDIS_SOCKET_TIMEOUT,
    }


def _configure() -> None:
    from django.conf import settings

    conf = app.conf
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        broker_dir = settings.CELERY_BROKER_DIR
        for sub in ("out", "processed", "control"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
        conf.broker_transport_options = {
            "data_folder_in": str(broker_dir / "out"),
            "data_folder_out": str(broker_dir / "out"),
            "data_folder_processed": str(broker_dir / "processed"),
            # Broadcast/pidbox state; Kombu's default is ./control in the working directory.
            "control_folder": str(broker_dir / "control"),
        }
    else:
        conf.broker_transport_options = redis_transport_options()
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
        # A web request that enqueues while the broker is down must not hang: the publish
        # retries once, quickly (it heals a stale pooled connection), then gives up; the
        # outbox sweeper delivers what could not be enqueued, and core.broker skips the
        # broker for a cooldown after a failure. Measured in
        # tests/notifications/test_worker.py and tests/core/test_redis_outage.py.
        broker_connection_timeout=settings.REDIS_SOCKET_TIMEOUT,
        # The worker's consumer, on the other hand, reconnects for as long as the broker is
        # away (a limit here ended the worker two seconds into a Redis restart):
        # tests/resilience/test_worker_broker_outage.py.
        broker_connection_max_retries=None,
        task_publish_retry_policy={
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        task_default_queue="default",
        task_queues=(Queue("default"), Queue("notifications"), Queue("scheduling")),
        task_routes={
            # Periodic jobs that decide who to remind run on the scheduling queue, so a
            # burst of deliveries never delays them (and the other way round).
            **{name: {"queue": "scheduling"} for name in SCHEDULING_TASKS},
            "notifications.*": {"queue": "notifications"},
            "submissions.*": {"queue": "scheduling"},
            "cohorts.*": {"queue": "scheduling"},
        },
        timezone="UTC",
        beat_schedule=BEAT_SCHEDULE,
        # Creates the rows below in django-celery-beat's tables when missing and never
        # overwrites them, so staff edits in the admin survive a restart.
        beat_scheduler="notifications.beat:CodeDefaultsScheduler",
    )


# Celery's Django fixup closes every database connection before and after each task unless
# told to keep them: then each task (a delivery batch: a few milliseconds of work while
# hand-ins trickle in) paid for a new PostgreSQL connection (a backend process on the
# server, and psycopg's prepared statements lost). Connections are kept as in a web
# process instead: `close_old_connections` around each task, like Django around each
# request, closes one that is older than CONN_MAX_AGE or broken, and CONN_HEALTH_CHECKS
# checks a reused one before the task's first query. The fixup still recycles them every
# this many tasks (it counts before and after each task, and closes at twice this).
# CELERY_DB_REUSE_MAX=0 restores the reconnect per task (the benchmark compares).
DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "500"))


def _keep_connections() -> None:
    if DB_REUSE_MAX:
        app.conf["CELERY_DB_REUSE_MAX"] = DB_REUSE_MAX


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **_kwargs) -> None:
    if task is None or getattr(task.request, "is_eager", False):
        # Run in the caller's process (tests, `apply()`), maybe inside its transaction.
        return
    from django.db import close_old_connections

    close_old_connections()


_configure()
_keep_connections()
app.autodiscover_tasks()


@worker_init.connect
def _warm_up(**_kwargs) -> None:
    """Import every URL module and compile the e-mail templates in the worker's main
    process, before the pool forks: otherwise the first task of every pool process (the
    first e-mails of a burst) waits for them, seconds on a busy machine."""
    from django.urls import reverse

    from notifications.emails import warm_up

    reverse("notifications:list")  # imports every app's urls and builds the reverse map
    warm_up()
