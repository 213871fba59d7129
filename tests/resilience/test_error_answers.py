"""What a failed request answers, page or API: the cause decides the status, and nothing of
the exception reaches the client (the end-to-end outages are in the other tests here)."""

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client

from core.errors import database_unavailable


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = "tests.resilience.urls_failing"
    return Client(raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status", "code", "title"),
    [
        ("database", 503, "unavailable", "Briefly unavailable"),
        ("disk", 507, "insufficient_storage", "No room for the file"),
        ("bug", 500, "server_error", "Something went wrong"),
        ("bad-sql", 500, "server_error", "Something went wrong"),
    ],
)
def test_pages_and_api_name_the_kind_of_failure_and_nothing_else(client, path, status, code, title):
    page = client.get(f"/{path}")
    api = client.get(f"/api/v1/{path}")
    assert page.status_code == api.status_code == status
    assert title in page.content.decode()
    assert api.json()["code"] == code
    for answer in (page, api):
        body = answer.content.decode()
        for leak in ("Traceback", "10.0.0.5", "/srv/media", "secret internals", "Errno", "SELEC"):
            assert leak not in body
        assert answer["Cache-Control"] == "no-store"
        assert answer.has_header("Retry-After") == (status != 500)


def _driver_error(run) -> BaseException:
    try:
        run()
    except Exception as exc:  # noqa: BLE001  (the error itself is what is tested)
        return exc
    raise AssertionError("no error")


def _locked_sqlite(tmp_path):
    """A real "database is locked" from SQLite: another connection holds the write lock."""
    import sqlite3

    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0)
    try:
        error = _driver_error(lambda: waiter.execute("SELECT * FROM t"))
    finally:
        holder.close()
        waiter.close()
    # As Django's DatabaseErrorWrapper raises it: Django's class, the driver's error as cause.
    wrapped = OperationalError(*error.args)
    wrapped.__cause__ = error
    return wrapped


@pytest.mark.django_db
def test_a_wrong_query_is_a_bug_not_an_outage():
    def run():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")

    assert not database_unavailable(_driver_error(run))


def test_a_busy_sqlite_database_is_an_outage(tmp_path):
    assert database_unavailable(_locked_sqlite(tmp_path))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_postgresql_statement_timeout_is_an_outage():
    def run():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")

    assert database_unavailable(_driver_error(run))
