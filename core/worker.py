"""The Celery worker outlives a broker outage.

config/celery.py sets `broker_connection_max_retries=1` so that a web request that
enqueues while Redis is down gives up within a second (core.broker). Celery reads the same
setting when the worker's consumer loses its broker connection: with one retry, a Redis
restart that takes more than about two seconds ends the worker ("Unrecoverable error:
OperationalError ... Connection refused") and nothing is delivered until someone restarts
it. A worker has no request to keep fast, so here it retries for as long as it takes
(Celery's back-off: 2 s more per try, at most 30 s apart) and picks up where it stopped:
tasks it had not acknowledged are redelivered, and beat's outbox sweep re-enqueues what
was committed while the broker was away.

tests/resilience/test_worker_broker_outage.py restarts (and freezes) a real Redis under a
real worker.
"""

from __future__ import annotations

import logging

from celery.signals import worker_init

logger = logging.getLogger(__name__)


@worker_init.connect(dispatch_uid="core.worker.reconnect_forever")
def reconnect_forever(sender=None, **_kwargs) -> None:
    app = getattr(sender, "app", None)
    if app is None:
        return
    # None: no limit. Only this worker process's configuration changes; web processes keep
    # the one quick retry of config/celery.py.
    app.conf.broker_connection_max_retries = None
