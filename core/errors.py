"""The answers a request gets when the server fails: 503 while the database is away, 500
otherwise; never a traceback or a driver's message.

A full disk under an upload (ENOSPC, EDQUOT, EFBIG) is a 507 that says nothing was saved.

Django calls `server_error` (config/urls.py `handler500`) from inside its handler of an
uncaught exception, in a view or in a middleware alike, so the exception is the one being
handled (`sys.exc_info()`). A database that refuses connections, restarts, or drops the
connection under a query raises `OperationalError`/`InterfaceError`: that is an outage,
not a bug, so the answer is 503 with `Retry-After`, which clients and load balancers
retry. Pages get a page that touches nothing (no database, no session, no context
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

_DATABASE_DOWN = (OperationalError, InterfaceError)


def database_unavailable(exc: BaseException | None) -> bool:
    """True for the errors of a database that is down, restarting or unreachable."""
    while exc is not None:
        if isinstance(exc, _DATABASE_DOWN):
            return True
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
