"""The delivery worker's fixed statements, compiled once per process (core.prepared).

A batch of hand-ins' events costs one transaction of six statements whatever its size,
and the ORM compiled each of them afresh for every batch: about a third of the worker's
CPU per batch. On PostgreSQL these statements are `PreparedQuery`s, with the batch's ids
and kinds as one array parameter (`= ANY(%s)`) instead of an IN list whose length changes
the SQL. Other databases (SQLite in development) run the same QuerySets as before:
`compiled()` is False there and callers take their ordinary path.
"""

from __future__ import annotations

from django.db import connection, models
from django.db.models import F, Func

from core.prepared import Param, PreparedQuery


def compiled() -> bool:
    """Whether the prepared statements below apply (PostgreSQL's arrays)."""
    return connection.vendor == "postgresql"


class AnyOf(Func):
    """`column = ANY(%s)`, a filter: the value is a list, sent as one array."""

    output_field = models.BooleanField()

    def as_sql(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        values, values_params = compiler.compile(self.source_expressions[1])
        return f"{column} = ANY({values})", (*column_params, *values_params)


def any_of(field: str, name: str) -> AnyOf:
    """`.filter(any_of("pk", "ids"))`: the row's `field` is one of the list `ids`."""
    return AnyOf(F(field), Param(name))


_by_key: dict[tuple, PreparedQuery] = {}


def prepared(key: tuple, build) -> PreparedQuery:
    """The PreparedQuery for `key`, built by `build` on first use."""
    query = _by_key.get(key)
    if query is None:
        query = _by_key.setdefault(key, PreparedQuery(build))
    return query
