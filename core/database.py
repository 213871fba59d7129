"""Bounds on how long a web request waits for PostgreSQL once connected.

`DB_CONNECT_TIMEOUT` bounds reaching the server. Once a connection is open, a statement
could wait without end: behind a lock that a long transaction holds (a migration taking an
exclusive lock, a curriculum import, a stuck session in psql), or on a query gone wrong.
The request then held its gunicorn worker until gunicorn killed it, and the client got a
dropped connection. With these bounds the statement is cancelled, PostgreSQL raises
(55P03 for a lock wait, 57014 for a statement), and `core.errors` answers 503 with
`Retry-After`: the same clear answer as for a database that is down.

Only the web's connections get them (config/wsgi.py, config/asgi.py): migrations, the
worker and management commands may rightly wait longer.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.signals import connection_created


def bound_request_waits() -> None:
    """Give every database connection this process opens from now on the web's bounds:
    one statement `DB_STATEMENT_TIMEOUT` seconds, one lock wait `DB_LOCK_TIMEOUT` seconds
    (0 turns either off). Side effect: one statement on each new connection."""
    connection_created.connect(_bound_waits, dispatch_uid="core.database.bound_request_waits")


def _milliseconds(seconds: float) -> str:
    return str(max(0, round(seconds * 1000)))


def _bound_waits(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('lock_timeout', %s, false)",
            [_milliseconds(settings.DB_STATEMENT_TIMEOUT), _milliseconds(settings.DB_LOCK_TIMEOUT)],
        )
