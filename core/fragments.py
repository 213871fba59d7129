"""A cache for rendered page fragments that are expensive to build and read far more often
than they change (the learner's home panel, a cohort's matrix).

Correctness rests on the key, not on invalidation: the caller passes every fact the
fragment shows, usually a "stamp" query (row counts and newest change times of the rows
it reads, one cheap indexed query), so any write changes the key and the next request
builds a fresh fragment; nothing has to remember to delete entries. Time is the other
input: a fragment that flips at a known instant (a lab is released, a due time passes)
is built with that instant as its end of validity, and `max_age` bounds whatever the key
cannot name (a reviewer renaming themselves, a deploy changing Python-side labels).

The templates' source is part of the key too, so a deploy that changes the markup never
serves the old markup. If the cache is down, the fragment is built every time: slower,
never wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import math
import re
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection, models
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe

KEY_PREFIX = "fragment:v1"
TEMPLATES_DIR = settings.BASE_DIR / "templates"


def templates_digest() -> str:
    """A digest of every project template: pages include and extend each other, so a
    change to any of them (a deploy) must change every key. Computed once per process; with
    DEBUG, again whenever a template file changes, so edits show at once in development."""
    if not settings.DEBUG:
        return _templates_digest(None)
    files = sorted(TEMPLATES_DIR.rglob("*.*"))
    return _templates_digest(tuple((path, path.stat().st_mtime_ns) for path in files))


@functools.cache
def _templates_digest(_files_and_mtimes) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(TEMPLATES_DIR.rglob("*.*")):
        digest.update(str(path.relative_to(TEMPLATES_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fragment_key(*, name: str, parts: tuple) -> str:
    material = repr((templates_digest(), parts)).encode()
    return f"{KEY_PREFIX}:{name}:{hashlib.blake2b(material, digest_size=16).hexdigest()}"


def next_instant_after(now: dt.datetime, instants) -> dt.datetime | None:
    """The earliest of `instants` strictly after `now` (None values ignored), or None."""
    return min((t for t in instants if t is not None and t > now), default=None)


# --- CSRF tokens in cached HTML ---------------------------------------------------------
# A fragment with forms carries the viewer's CSRF token, which Django masks afresh for
# every response (BREACH). It is stored with a placeholder instead and the current
# request's token is put back when served. The placeholder is derived from SECRET_KEY, so
# no text a user writes into a page can contain it.
CSRF_TOKEN_IN_HTML = re.compile(
    r'(?:name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")([A-Za-z0-9]{32,64})"'
)


@functools.cache
def _csrf_placeholder() -> str:
    return "csrf-" + salted_hmac("core.fragments.csrf", "placeholder").hexdigest()[:40]


def _punch_csrf(html: str) -> str:
    for token in set(CSRF_TOKEN_IN_HTML.findall(html)):
        html = html.replace(token, _csrf_placeholder())
    return html


def _fill_csrf(html: str, request) -> str:
    placeholder = _csrf_placeholder()
    return html.replace(placeholder, get_token(request)) if placeholder in html else html


def cached_fragment(
    *,
    name: str,
    parts: tuple,
    now: dt.datetime,
    max_age: int,
    build: Callable[[], tuple],
    request=None,
) -> SafeString:
    """The fragment for `parts`, built by `build()` when it is not cached or has expired.

    `build` returns the HTML and the instant it stops being true (None: only `max_age`
    bounds it), and optionally the `parts` it actually drew: when they differ from the
    requested ones the fragment is served but not stored. `parts` must hold every input the
    HTML depends on besides time: the ids, the viewer's time zone, the stamps of the data it
    shows, and the request's parameters the page understands, validated and normalized
    (never the raw query string: junk parameters must not make new entries). Pass `request`
    when the fragment holds forms: their CSRF token is swapped for this request's (see
    above).
    """
    html = _cached_fragment(name=name, parts=parts, now=now, max_age=max_age, build=build)
    if request is not None:
        html = _fill_csrf(html, request)
    return mark_safe(html)  # noqa: S308 - rendered by our own template


def cached_fragments(
    *, name: str, entries: list[tuple[tuple, Callable[[], str]]], max_age: int, csrf_token: str = ""
) -> list[SafeString]:
    """Many small fragments of one kind (the messages of a thread) in one cache round trip.

    Each entry is `(parts, build)`: `parts` names everything its HTML shows, what flips
    with the clock included (there is no end of validity), and `build()` draws it. The
    missing ones are drawn and stored one by one, so that a new message in a long thread
    draws one message, not all of them. `csrf_token`: the response's token, when the
    fragments hold forms drawn with it (stored with a placeholder, as `cached_fragment`).
    """
    keys = [fragment_key(name=name, parts=(bool(csrf_token), parts)) for parts, _ in entries]
    # One MGET; stored one SET each (a pipeline would pass by core.cache's breaker).
    found = cache.get_many(keys)
    placeholder = _csrf_placeholder()
    drawn = []
    for key, (_, build) in zip(keys, entries, strict=True):
        html = found.get(key)
        if html is None:
            html = _punch_csrf(str(build()))
            cache.set(key, html, max_age)
        if csrf_token and placeholder in html:
            html = html.replace(placeholder, csrf_token)
        drawn.append(mark_safe(html))  # noqa: S308 - rendered by our own templates
    return drawn


def live_placeholder(name: str) -> str:
    """A marker a cached page holds where a value must be fresh on every response (see
    `cached_page`'s `live`). Derived from SECRET_KEY, like the CSRF placeholder, so no
    text a user writes into a page can contain it."""
    return f"live-{name}-" + salted_hmac("core.fragments.live", name).hexdigest()[:32]


def cached_page(
    request,
    *,
    name: str,
    parts: tuple,
    now: dt.datetime,
    max_age: int,
    build: Callable[[], tuple],
    live: dict[str, Callable[[], str]] | None = None,
) -> HttpResponse:
    """A whole page for a signed-in user, cached like a fragment.

    `parts` must name everything the page shows beyond the viewer's own account (which is
    added here): with the navigation and the bell, that means the user's roles and unread
    notifications too. htmx requests (a partial of the page) get their own entry. Pending
    flash messages are never cached: they are put into the page as served, after
    `FLASH_AFTER` (an htmx partial, which has no place for them, is drawn afresh and
    leaves them for the next whole page).
    `build` returns the response (always a 200 page), its end of validity and optionally
    the parts it drew (as for `cached_fragment`).

    `live` maps names to functions giving what must never be served from the cache (a
    value that moves with the clock or is fresh on every visit, such as a form's
    idempotency key): `build` draws `live_placeholder(name)` in its place, and every
    response, cached or drawn, gets the function's text (HTML, already escaped) instead.
    """
    flashed = ""
    if len(messages.get_messages(request)) > 0:
        if getattr(request, "htmx", False):
            # A partial has no place for them: drawn afresh, they wait for a whole page.
            response = build()[0]
            if live:
                response.content = _fill_live(response.content.decode(), live)
            return response
        storage = messages.get_messages(request)
        # Rendered and marked shown (iterating does); the page is then drawn (and stored)
        # or served without them, and gets them put back in: the draw after a write is the
        # one the next visits reuse, not a draw thrown away.
        flashed = render_to_string("core/_messages.html", {"messages": list(storage)})
        request._messages = []  # what the draw sees (django.contrib.messages.get_messages)
    try:
        html = _cached_page_html(
            request, name=name, parts=parts, now=now, max_age=max_age, build=build
        )
    finally:
        if flashed:
            # The middleware saves the storage (now empty) on the response.
            request._messages = storage
    html = _fill_live(html, live or {})
    if flashed:
        html = html.replace(FLASH_AFTER, FLASH_AFTER + flashed, 1)
    response = HttpResponse(html)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _cached_page_html(request, *, name, parts, now, max_age, build) -> str:
    user = request.user
    viewer = (user.pk, user.email, user.display_name, user.is_staff, user.time_zone)

    htmx = bool(getattr(request, "htmx", False))

    def draw() -> tuple:
        response, ends_at, *drawn = build()
        return response.content.decode(), ends_at, *((viewer, htmx, part) for part in drawn)

    return cached_fragment(
        name=name,
        parts=(viewer, htmx, parts),
        now=now,
        max_age=max_age,
        build=draw,
        request=request,
    )


# Where base.html shows flash messages (core/_messages.html): right after this tag, the
# first of its kind on every page (text people write is escaped, so it cannot contain it).
FLASH_AFTER = '<main id="main" class="container">'


def _fill_live(html: str, live: dict[str, Callable[[], str]]) -> str:
    for name, value in live.items():
        placeholder = live_placeholder(name)
        if placeholder in html:
            html = html.replace(placeholder, value())
    return html


def _cached_fragment(*, name, parts, now, max_age, build) -> str:
    key = fragment_key(name=name, parts=parts)
    # A Redis outage is a miss here, not an error: the cache fails open (core/cache.py).
    hit = cache.get(key)
    if hit is not None:
        html, valid_until = hit
        if now.timestamp() < valid_until:
            return html
    html, ends_at, *drawn = build()
    html = _punch_csrf(str(html))
    if drawn and drawn[0] != parts:
        # The request asked for something the page does not have (a page number past the
        # end, a filter value naming nothing the viewer may see) and got another page:
        # served, never stored, so odd parameters add no entries.
        return html
    valid_until = now + dt.timedelta(seconds=max_age)
    if ends_at is not None and ends_at < valid_until:
        valid_until = ends_at
    timeout = math.ceil((valid_until - now).total_seconds())
    if timeout > 0:
        cache.set(key, (html, valid_until.timestamp()), timeout)
    return html


# --- stamps -------------------------------------------------------------------------------

# What every signed-in page shows beyond its own content, from apps above the one drawing
# the page: the bell's unread count (registered by notifications). A page cached by an app
# that may not import those apps keys on `navigation_sources(user)`.
_NAVIGATION_SOURCES: list[Callable] = []


def register_navigation_source(source: Callable) -> None:
    """`source(user)` -> the Rows of something the navigation shows (an AppConfig.ready)."""
    if source not in _NAVIGATION_SOURCES:
        _NAVIGATION_SOURCES.append(source)


def navigation_sources(user) -> list:
    return [source(user) for source in _NAVIGATION_SOURCES]


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows of `model` matching `where`, summarised by `aggregate` over `columns`.

    `where` maps lookups to values: {"column": value, "column__in": [...], "column__gt":
    value, "column__lt": value, "column__ne": value, "column__isnull": True}. A column may
    follow foreign keys ("user__is_active", "review__submission__cohort_id"), in `columns`
    and in `where`.

    Aggregates:
    - "DIGEST" (the default): an md5 over every listed column of every matching row, in
      primary-key order. It changes when a row is added or removed, or when any listed
      column of any row changes, whatever else changes at the same time: list every column
      the page draws from that row (or a change time every write sets).
    - "COUNT": how many rows match (`columns` is ignored).
    - "MIN": the smallest value of the one column (the next instant something happens).

    `latest` (with "DIGEST"): only the newest `latest` rows by `newest_first` (columns,
    each descending, then the primary key descending) are digested, with the count of all
    matching rows: for a page that shows the newest rows and how many others there are,
    so the stamp does not grow with the rows it does not show.
    """

    model: type[models.Model]
    columns: tuple[str, ...]
    where: dict
    aggregate: str = "DIGEST"
    latest: int | None = None
    newest_first: tuple[str, ...] = ()


def change_stamp(*sources: Rows) -> tuple:
    """One query answering every source: the facts a cached fragment's key is made of.

    Raw SQL, built once per shape from the models' metadata: pages run it on every request,
    and composing the same query with the ORM cost ~4 ms of Python each time. Callers
    filter on indexed columns (cohort, learner, track) so each part is an index lookup.
    """
    sql, params = stamp_query(*sources)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def stamp_query(*sources: Rows) -> tuple[str, list]:
    """The SQL and parameters `change_stamp` runs (tests EXPLAIN it)."""
    shape = []
    params = []
    for source in sources:
        conditions = []
        values = []
        for lookup, value in source.where.items():
            column, operator = _split_lookup(lookup)
            if operator == "in":
                listed = list(value)
                conditions.append((column, "in", len(listed)))
                values += listed
            elif operator == "isnull":
                conditions.append((column, "null" if value else "notnull", 0))
            else:
                conditions.append((column, operator, 1))
                values.append(value)
        latest = (int(source.latest), tuple(source.newest_first)) if source.latest else None
        # The newest rows are counted, then digested: the conditions twice.
        params += values * (2 if latest else 1)
        shape.append(
            (source.model, tuple(source.columns), tuple(conditions), source.aggregate, latest)
        )
    return _stamp_sql(tuple(shape)), params


OPERATORS = {"exact": "=", "gt": ">", "lt": "<", "ne": "<>"}


def _split_lookup(lookup: str) -> tuple[str, str]:
    """("user__is_active__ne") -> ("user__is_active", "ne"); the operator defaults to exact."""
    parts = lookup.split("__")
    if parts[-1] in (*OPERATORS, "in", "isnull"):
        return "__".join(parts[:-1]), parts[-1]
    return lookup, "exact"


def _column_sql(model, name: str, joins: dict) -> str:
    """`name` ("title", "cohort_id", "user__is_active" or "review__submission__cohort_id")
    as SQL on alias x, adding the joins the foreign keys it follows need to `joins` (alias
    -> SQL, in order)."""
    quote = connection.ops.quote_name
    *relations, field = name.split("__")
    alias, path = "x", "j"
    for relation in relations:
        foreign_key = model._meta.get_field(relation)
        related = foreign_key.related_model
        path = f"{path}_{relation}"
        joins.setdefault(
            path,
            f"LEFT JOIN {quote(related._meta.db_table)} {path} "
            f"ON {path}.{quote(related._meta.pk.column)} = {alias}.{quote(foreign_key.column)}",
        )
        alias, model = path, related
    return f"{alias}.{quote(model._meta.get_field(field).column)}"


def digest_sql(columns: list[tuple[str, bool]], order_by: str) -> str:
    """An aggregate over the rows of a query: a digest of `columns` ((SQL expression, is
    text) pairs), ordered by `order_by`. Text values are written with their length in
    front, so no name or title can pass for two values; numbers, times and flags cannot
    contain the separator. NULL is "-".

    PostgreSQL: md5 over string_agg, in the database. SQLite (development and tests): the
    `stamp_digest` aggregate registered on each connection (core.apps), which sorts the
    rows itself because SQLite's group_concat takes no ORDER BY before 3.44."""
    values = []
    for column, is_text in columns:
        text = f"CAST({column} AS TEXT)"
        values.append(
            f"COALESCE(LENGTH({text}) || ':' || {text}, '-')"
            if is_text
            else f"COALESCE({text}, '-')"
        )
    row = " || '|' || ".join(values)
    if connection.vendor == "postgresql":
        return f"md5(string_agg({row}, ',' ORDER BY {order_by}))"
    return f"stamp_digest({order_by}, {row})"


def row_set_digest_sql(columns: list[tuple[str, bool]], order_by: str) -> str:
    """`digest_sql` for thousands of rows, when each row names itself (its key is among
    `columns`). PostgreSQL (14 or newer): the sum of a 64-bit hash of each row's values
    (`hash_record_extended`), which needs no sort and no text of any row (2,400 rows:
    +0.6 ms over counting them, against +2 ms for md5 over string_agg); a changed, added or
    removed row moves the sum unless two 64-bit hashes cancel. Other databases: `digest_sql`."""
    if connection.vendor != "postgresql":
        return digest_sql(columns, order_by)
    values = ", ".join(column for column, _ in columns)
    return f"COALESCE(SUM(hash_record_extended(ROW({values}), 0)::numeric), 0)"


def is_text(model, name: str) -> bool:
    """Whether column `name` of `model` (foreign keys may be followed) holds text."""
    *relations, name = name.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return isinstance(model._meta.get_field(name), models.CharField | models.TextField)


@functools.cache
def _stamp_sql(shape: tuple) -> str:
    quote = connection.ops.quote_name
    selects = []
    for model, columns, conditions, aggregate, latest in shape:
        joins: dict = {}
        clauses = []
        for name, operator, count in conditions:
            column = _column_sql(model, name, joins)
            if operator == "in":
                clauses.append(f"{column} IN ({', '.join(['%s'] * count)})" if count else "1 = 0")
            elif operator in ("null", "notnull"):
                clauses.append(f"{column} IS {'' if operator == 'null' else 'NOT '}NULL")
            else:
                clauses.append(f"{column} {OPERATORS[operator]} %s")
        pk = f"x.{quote(model._meta.pk.column)}"
        if aggregate == "DIGEST" and latest:
            count, newest_first = latest
            expressions = [
                (_column_sql(model, name, joins), is_text(model, name)) for name in columns
            ]
            order = ", ".join(f"{_column_sql(model, name, joins)} DESC" for name in newest_first)
            table = f"{quote(model._meta.db_table)} x {' '.join(joins.values())}"
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            named = ", ".join(f"{sql} AS c{i}" for i, (sql, _) in enumerate(expressions))
            digest = digest_sql(
                [(f"y.c{i}", text) for i, (_, text) in enumerate(expressions)], "y.o"
            )
            # Identifiers only, quoted, from the models' metadata; every value a parameter.
            subquery = (
                f"(SELECT CAST((SELECT COUNT(*) FROM {table}{where}) AS TEXT) || ':' || "  # noqa: S608
                f"COALESCE({digest}, '-') FROM (SELECT {named}, {pk} AS o FROM {table}{where} "
                f"ORDER BY {order}, {pk} DESC LIMIT {count}) y)"
            )
            selects.append(f"{subquery} AS s{len(selects)}")
            continue
        if aggregate == "DIGEST":
            expressions = [
                (_column_sql(model, name, joins), is_text(model, name)) for name in columns
            ]
            value = digest_sql(expressions, pk)
        elif aggregate == "COUNT":
            value = "COUNT(*)"
        elif aggregate == "MIN":
            (name,) = columns
            value = f"MIN({_column_sql(model, name, joins)})"
        else:
            raise ValueError(f"unknown stamp aggregate {aggregate!r}")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        # Identifiers only, quoted, from the models' metadata; every value is a parameter.
        subquery = (
            f"(SELECT {value} FROM {quote(model._meta.db_table)} x "  # noqa: S608
            f"{' '.join(joins.values())}{where})"
        )
        selects.append(f"{subquery} AS s{len(selects)}")
    return "SELECT " + ", ".join(selects)


class StampDigest:
    """SQLite's side of `digest_sql`: collects (order, row) pairs and digests them sorted."""

    def __init__(self):
        self.rows = []

    def step(self, order, row):
        self.rows.append((order, row))

    def finalize(self):
        if not self.rows:
            return None
        self.rows.sort()
        return hashlib.md5(  # noqa: S324 - a change detector, not a secret
            ",".join(row for _, row in self.rows).encode()
        ).hexdigest()


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """connection_created receiver (core.apps): `stamp_digest` on SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("stamp_digest", 2, StampDigest)
