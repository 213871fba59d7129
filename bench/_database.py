"""The throwaway database a benchmark script runs in: made empty on BENCH_POSTGRES (default
postgres://postgres@127.0.0.1:5432) under BENCH_DATABASE (else the script's own default
name), Django pointed at it, set up and migrated (and, if asked, the bundled curriculum
imported), then dropped when the script ends unless it was run with ``--keep``.

    from _database import add_keep_argument, bench_database

    with bench_database("cl_my_bench", keep=args.keep, curriculum=True) as name:
        ...  # Django is set up here; import models and services inside
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def needs_own_postgres_and_redis() -> bool:
    """For the scripts that run on DATABASE_URL and REDIS_URL as given (they flush both):
    True, after saying so, when either is missing or the database is not PostgreSQL."""
    if os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return False
    print("Set DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
    return True


def admin_sql(statement: str) -> None:
    """Run one statement on the server's maintenance database (autocommit: CREATE/DROP
    DATABASE cannot run in a transaction)."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def add_keep_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")


@contextmanager
def bench_database(
    default_name: str, *, keep: bool = False, curriculum: bool = False
) -> Iterator[str]:
    """An empty, migrated database for the benchmark (its name is yielded); with
    ``curriculum``, the bundled seed imported. Dropped afterwards (``WITH (FORCE)``: a
    benchmark's own connections may still be open) unless ``keep``."""
    name = os.environ.get("BENCH_DATABASE", default_name)
    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if curriculum:
            from curriculum.services import DEFAULT_CURRICULUM

            call_command(
                "import_curriculum", str(DEFAULT_CURRICULUM), verbosity=0, stdout=io.StringIO()
            )
        yield name
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
