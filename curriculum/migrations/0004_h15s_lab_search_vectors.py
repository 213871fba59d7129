"""Stored full-text vectors on labs (PostgreSQL): the columns, their GIN indexes, and the
vectors of every existing lab. On SQLite the columns exist but stay empty (no index: SQLite
has no GIN), and the search matches substrings there."""

import django.contrib.postgres.search
from django.db import migrations

INDEXES = (
    ("lab_search_title_gin", "search_title"),
    ("lab_search_text_gin", "search_text"),
)


def _table(apps, schema_editor) -> str:
    return schema_editor.quote_name(apps.get_model("curriculum", "Lab")._meta.db_table)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = _table(apps, schema_editor)
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"ON {table} USING gin ({schema_editor.quote_name(column)})"
        )


def fill_vectors(apps, schema_editor):
    """Every existing lab's vectors (tests check they equal what the services write)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    table = _table(apps, schema_editor)
    # The same expressions as curriculum.search (frozen here: a migration must not follow
    # later changes of app code).
    schema_editor.execute(
        f"UPDATE {table} SET "  # noqa: S608 - table name from the model's metadata
        "search_title = to_tsvector('english'::regconfig, COALESCE(title, '')), "
        "search_text = to_tsvector('english'::regconfig, COALESCE(body, '') || ' ' || "
        "COALESCE(COALESCE((deliverables)::text, ''), ''))"
    )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("curriculum", "0003_i13b_revision_editor"),
    ]

    operations = [
        migrations.AddField(
            model_name="lab",
            name="search_text",
            field=django.contrib.postgres.search.SearchVectorField(
                blank=True, editable=False, null=True
            ),
        ),
        migrations.AddField(
            model_name="lab",
            name="search_title",
            field=django.contrib.postgres.search.SearchVectorField(
                blank=True, editable=False, null=True
            ),
        ),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
        migrations.RunPython(fill_vectors, migrations.RunPython.noop, elidable=False),
    ]
