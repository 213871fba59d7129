"""Queries compiled once per process, for the few statements on the hottest paths.

Building a QuerySet and compiling it to SQL costs about as much Python time as the round
trip to PostgreSQL for the small statements of a hand-in or a page's floor (filter chains,
joins, expressions resolved, every column quoted, on every request). A `PreparedQuery`
builds its QuerySet once, with `Param("name")` where a request's values go, keeps the SQL
the ORM compiled for each database connection, and on each call only puts the values in
and executes. Rows come back through the same converters and model loading the ORM uses
(`Model.from_db`, `select_related` populators, annotations), so what callers get is what
the QuerySet would have given them.

Use it only where a profile shows the compile matters: an ordinary QuerySet is easier to
read and to change. A `Param` is a plain placeholder: the ORM does not prepare its value
for the column, so give it `output_field` when the value needs the field's preparation
(dates and datetimes on SQLite, JSON); integers and strings pass as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Expression, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

__all__ = ["Param", "PreparedQuery"]


class Param(Expression):
    """A value given when the prepared query runs (`query.all(name=value)`)."""

    def __init__(self, name: str, output_field=None):
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    def as_sql(self, compiler, connection):
        return "%s", [self]

    def get_group_by_cols(self):
        return []

    def db_value(self, value, connection):
        field = self._output_field_or_none
        if field is None or value is None:
            return value
        return field.get_db_prep_value(value, connection, prepared=False)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # constants, and Params where the caller's values go
    compiler: SQLCompiler
    names: tuple[str, ...]  # the row's names, as values() gives them
    # What `results_iter` would work out on every call (a wide select_related row: a tenth
    # of a cached review page's CPU): the converters per column, and whether rows need
    # composite fields folded into tuples.
    converters: dict
    composite: bool


class PreparedQuery:
    """A QuerySet compiled once per database connection and run with new values.

    `build` returns the QuerySet, with `Param`s for the values of each call; it is called
    once per database alias, on first use (inside the transaction when the QuerySet locks
    rows with `select_for_update`, which refuses to compile outside one).
    """

    def __init__(self, build: Callable[[], QuerySet]):
        self._build = build
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        key = (using, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            queryset = self._build()
            query = queryset.query
            compiler = query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            # As ValuesIterable names the columns of a values(...) row.
            if query.selected:
                names = tuple(query.selected)
            else:
                names = (*query.extra_select, *query.values_select, *query.annotation_select)
            fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
            compiled = _Compiled(
                sql,
                tuple(params),
                compiler,
                names,
                compiler.get_converters(fields),
                compiler.has_composite_fields(fields),
            )
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def sql(self, using: str = DEFAULT_DB_ALIAS) -> str:
        return self._compile(using).sql

    def statement(self, using: str = DEFAULT_DB_ALIAS, **values) -> tuple[str, list]:
        """The SQL and the parameters a call with `values` runs (tests EXPLAIN it)."""
        compiled = self._compile(using)
        return compiled.sql, self._params(compiled, using, values)

    @staticmethod
    def _params(compiled: _Compiled, using: str, values: dict[str, Any]) -> list:
        connection = connections[using]
        params = []
        for param in compiled.params:
            if isinstance(param, Param):
                try:
                    value = values[param.name]
                except KeyError:
                    raise TypeError(f"missing value for Param({param.name!r})") from None
                params.append(param.db_value(value, connection))
            else:
                params.append(param)
        return params

    def _rows(self, compiled: _Compiled, using: str, values: dict[str, Any]) -> Iterator[tuple]:
        params = self._params(compiled, using, values)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            raw = cursor.fetchall()
        if compiled.composite:
            return compiled.compiler.results_iter([raw])
        if compiled.converters:
            return compiled.compiler.apply_converters(raw, compiled.converters)
        return iter(raw)

    def tuples(self, using: str = DEFAULT_DB_ALIAS, **values) -> list[tuple]:
        """The rows as tuples of converted values, in the SELECT's order."""
        compiled = self._compile(using)
        return [tuple(row) for row in self._rows(compiled, using, values)]

    def dicts(self, using: str = DEFAULT_DB_ALIAS, **values) -> list[dict[str, Any]]:
        """The rows of a `values(...)` QuerySet, as `values()` gives them."""
        compiled = self._compile(using)
        names = compiled.names
        return [dict(zip(names, row, strict=True)) for row in self._rows(compiled, using, values)]

    def models(self, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        """The rows as model instances, with select_related objects and annotations set."""
        compiled = self._compile(using)
        compiler = compiled.compiler
        klass_info = compiler.klass_info
        if klass_info is None:
            raise TypeError("models() needs a QuerySet of model instances")
        select = compiler.select
        model_cls = klass_info["model"]
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, using)
        annotations = compiler.annotation_col_map
        objects = []
        for row in self._rows(compiled, using, values):
            obj = model_cls.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def first(self, using: str = DEFAULT_DB_ALIAS, **values):
        """The first model instance, or None."""
        objects = self.models(using, **values)
        return objects[0] if objects else None

    def scalar(self, using: str = DEFAULT_DB_ALIAS, **values):
        """The first column of the first row, or None when there is no row."""
        rows = self.tuples(using, **values)
        return rows[0][0] if rows else None
