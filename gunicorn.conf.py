"""gunicorn settings, read automatically from the working directory (web container, bench).

The app is imported once in the master and the workers fork from it. Freezing the
garbage collector at that point moves the import-time objects (Django, the URL and template
machinery) out of the collector's reach: workers share those pages copy-on-write instead
of dirtying them, and a full collection no longer walks them in the middle of a request,
which was a visible part of the tail latency under load (docs/performance.md).

Metrics: with PROMETHEUS_MULTIPROC_DIR set, each worker keeps its counters in files there
and /metrics adds them up (core/metrics.py); the folder is emptied when gunicorn starts so
that a restart does not count old requests twice. LOG_FORMAT=json writes gunicorn's own
lines (errors, access log) as JSON too, like the app's (config/settings.py).
"""

import gc
import os
from pathlib import Path

preload_app = True


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def pre_fork(server, worker):
    gc.freeze()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "timestamp": "time",
                "rename_fields": {"levelname": "level", "name": "logger"},
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
