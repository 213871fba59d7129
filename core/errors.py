"""The answers a request gets when the server fails: 503 while the database is away, 500
otherwise; never a traceback or a driver's message.

A full disk under an upload (ENOSPC, EDQUOT, EFBIG) is a 507 that says nothing was saved.

Django calls `server_error` (config/urls.py `handler500`) from inside its handler of an
uncaught exception, in a view or in a middleware alike, so the exception is the one being
handled (`sys.exc_info()`). A database that refuses connections, restarts, or drops the
connection under a query raises `OperationalError`/`InterfaceError`: that is an outage,
not a bug, so the answer is 503 with `Retry-After`, which clients and load balancers
retry. The driver's own error tells the two apart where Django's class does not (SQLite
raises `OperationalError` for a syntax error or a missing table too): a bug is a 500. Pages get a page that touches nothing (no database, no session, no context
processors); the API gets its usual error body. The exception itself still goes to the log
(django.request, ERROR, with the request id), never to the client.
"""

from __future__ import annotations

import errno
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

RETRY_AFTER_SECONDS = 30

# SQLSTATE classes of a server that is away, restarting, out of resources or that gave up
# on the statement (08 connection, 53 resources, 57 operator intervention such as a
# shutdown or a statement timeout, 58 system error, 40 a deadlock or serialization failure
# that a retry gets past), and a lock wait that timed out (55P03). Anything else (42
# syntax, 22 data, 23 constraints) is a bug.
_OUTAGE_SQLSTATE_CLASSES = {"08", "40", "53", "57", "58"}
_OUTAGE_SQLSTATES = {"55P03"}
# SQLite's result codes of a database that is busy, locked, unreadable or full.
_OUTAGE_SQLITE_ERRORS = {
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
    "SQLITE_PROTOCOL",
}


def _driver_error_is_outage(exc: BaseException) -> bool:
    driver = exc.__cause__
    sqlite_name = getattr(driver, "sqlite_errorname", None)
    if sqlite_name is not None:
        # Extended codes name their family first: SQLITE_IOERR_WRITE, SQLITE_BUSY_TIMEOUT.
        return any(
            sqlite_name == name or sqlite_name.startswith(name + "_")
            for name in _OUTAGE_SQLITE_ERRORS
        )
    sqlstate = getattr(driver, "sqlstate", None)
    # No SQLSTATE: the client could not reach the server or lost it (refused, timed out,
    # closed under a query): an outage.
    return (
        sqlstate is None
        or sqlstate[:2] in _OUTAGE_SQLSTATE_CLASSES
        or sqlstate in _OUTAGE_SQLSTATES
    )


def database_unavailable(exc: BaseException | None) -> bool:
    """True for the errors of a database that is down, restarting, busy or unreachable;
    False for a query the database refuses because it is wrong (a bug)."""
    while exc is not None:
        if isinstance(exc, InterfaceError):
            return True
        if isinstance(exc, OperationalError):
            return _driver_error_is_outage(exc)
        exc = exc.__cause__ or exc.__context__
    return False


# The disk (or the quota) is full: storing an upload failed, nothing was kept (core.storage).
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def storage_full(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    title = "Briefly unavailable"
    if database_unavailable(exc):
        status, code = 503, "unavailable"
        detail = "The service is briefly unavailable. Please try again in a minute."
    elif storage_full(exc):
        status, code, title = 507, "insufficient_storage", "No room for the file"
        detail = (
            "The server has no room to store this file right now, so nothing was saved. "
            "Please try again later."
        )
    else:
        status, code = 500, "server_error"
        detail = "Something went wrong on our side. It has been logged; please try again."
    if _wants_json(request):
        response = JsonResponse({"detail": detail, "code": code, "errors": {}}, status=status)
    else:
        # A plain render: no RequestContext, so no context processor touches the database.
        template = "500.html" if status == 500 else "503.html"
        response = HttpResponse(
            loader.get_template(template).render({"title": title, "detail": detail}),
            status=status,
        )
    if status != 500:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
