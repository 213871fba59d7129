"""Views that fail the ways core.errors tells apart (test_error_answers.py)."""

import errno

from django.db import OperationalError, connection
from django.urls import path


def database_down(request):
    try:
        raise OSError("connection refused")
    except OSError as exc:
        raise OperationalError("connection to server at 10.0.0.5, port 5432 failed") from exc


def disk_full(request):
    raise OSError(errno.ENOSPC, "No space left on device", "/srv/media/attachments/1/x")


def bad_sql(request):
    # A real refusal of the database in use (SQLite raises OperationalError for it too).
    with connection.cursor() as cursor:
        cursor.execute("SELEC 1")


def bug(request):
    raise RuntimeError("secret internals")


urlpatterns = [
    path(f"{prefix}{name}", view)
    for prefix in ("", "api/v1/")
    for name, view in (
        ("database", database_down),
        ("disk", disk_full),
        ("bug", bug),
        ("bad-sql", bad_sql),
    )
]
handler500 = "core.errors.server_error"
