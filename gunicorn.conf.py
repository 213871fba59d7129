"""gunicorn settings, read automatically from the working directory (web container, bench).

The app is imported once in the master and the workers fork from it. Freezing the
garbage collector at that point moves the import-time objects (Django, the URL and template
machinery) out of the collector's reach: workers share those pages copy-on-write instead
of dirtying them, and a full collection no longer walks them in the middle of a request,
which was a visible part of the tail latency under load (docs/performance.md).

Request limits (docs/security.md): gunicorn bounds the request line and headers; it has no
body limit, so bodies are bounded by the proxy (deploy/Caddyfile) and by the app, which
refuses an over-limit Content-Length before reading a byte
(core.middleware.RequestBodyLimitMiddleware).

Metrics: each worker keeps its counters in files under PROMETHEUS_MULTIPROC_DIR and
/metrics adds them up (core/metrics.py), so a scrape that lands on any worker sees them
all. Unset, it is a private temporary folder made here (before the app is imported, as
prometheus_client needs) and removed on exit; a folder you set is emptied at start so that
a restart does not count old requests twice. LOG_FORMAT=json writes gunicorn's own
lines (errors, access log) as JSON too, like the app's (config/settings.py).
"""

import gc
import os
import shutil
import tempfile
from pathlib import Path

preload_app = True

# The longest request line (method, path and query string): the app's own URLs are far
# shorter; a longer line is answered 414 before the app is called.
limit_request_line = 4094
# At most this many header fields, each at most this long (cookies included): 400 past it.
limit_request_fields = 50
limit_request_field_size = 8190

_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cohortlabs-metrics-")


def on_starting(server):
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def pre_fork(server, worker):
    gc.freeze()


def child_exit(server, worker):
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
