"""The migration that gives existing accounts their canonical e-mail key (accounts 0002-0004)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0004_i14a_email_key_unique")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _migrate_to_latest() -> None:
    """Every app at its newest migration, as the rest of the suite expects (a fixed target
    here left later accounts migrations unapplied for every test after this module)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def old_schema(transactional_db):
    """The accounts tables as they were before the key existed; restored afterwards."""
    apps = _migrate(BEFORE)
    yield apps
    apps.get_model("accounts", "User").objects.all().delete()
    _migrate_to_latest()


def _insert(apps, *emails):
    User = apps.get_model("accounts", "User")
    return [User.objects.create(email=email, password="!") for email in emails]


def test_existing_accounts_get_their_key(old_schema):
    ada, lin = _insert(old_schema, "Ada@Example.com", "lin@b\u00fccher.de")
    apps = _migrate(AFTER)
    User = apps.get_model("accounts", "User")
    assert User.objects.get(pk=ada.pk).email_key == "ada@example.com"
    assert User.objects.get(pk=lin.pk).email_key == "lin@xn--bcher-kva.de"


def test_accounts_that_are_one_address_spelled_twice_stop_the_migration_and_are_listed(
    old_schema, capsys
):
    # The old LOWER(email) constraint let these two exist side by side.
    first, second = _insert(old_schema, "ada@example.com", "ada@\uff45xample.com")
    _insert(old_schema, "grace@example.com")
    with pytest.raises(Exception, match="share a canonical e-mail key") as excinfo:
        _migrate(AFTER)
    message = str(excinfo.value)
    assert f"id={first.pk}" in message and f"id={second.pk}" in message
    assert "grace" not in message
    report = capsys.readouterr().err
    assert "ada@example.com" in report and "migrate` again" in report
    # Nothing half-done: the key column is not filled for anyone.
    User = old_schema.get_model("accounts", "User")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM accounts_user WHERE email_key IS NOT NULL")
        assert cursor.fetchone() == (0,)
    # The operator resolves the clash; the migration then completes.
    User.objects.filter(pk=second.pk).update(email="ada.other@example.com")
    apps = _migrate(AFTER)
    keys = set(apps.get_model("accounts", "User").objects.values_list("email_key", flat=True))
    assert keys == {"ada@example.com", "ada.other@example.com", "grace@example.com"}
