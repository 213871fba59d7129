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
    build: Callable[[], tuple[str, dt.datetime | None]],
    request=None,
) -> SafeString:
    """The fragment for `parts`, built by `build()` when it is not cached or has expired.

    `build` returns the HTML and the instant it stops being true (None: only `max_age`
    bounds it). `parts` must hold every input the HTML depends on besides time: the ids,
    the viewer's time zone, and the stamps of the data it shows. Pass `request` when the
    fragment holds forms: their CSRF token is swapped for this request's (see above).
    """
    html = _cached_fragment(name=name, parts=parts, now=now, max_age=max_age, build=build)
    if request is not None:
        html = _fill_csrf(html, request)
    return mark_safe(html)  # noqa: S308 - rendered by our own template


def cached_page(
    request,
    *,
    name: str,
    parts: tuple,
    now: dt.datetime,
    max_age: int,
    build: Callable[[], tuple[HttpResponse, dt.datetime | None]],
) -> HttpResponse:
    """A whole page for a signed-in user, cached like a fragment.

    `parts` must name everything the page shows beyond the viewer's own account (which is
    added here): with the navigation and the bell, that means the user's roles and unread
    notifications too. htmx requests (a partial of the page) get their own entry. A
    pending flash message is shown once and never cached: the page is drawn afresh.
    `build` returns the response (always a 200 page) and its end of validity.
    """
    if len(messages.get_messages(request)) > 0:
        return build()[0]
    user = request.user
    viewer = (user.pk, user.email, user.display_name, user.is_staff, user.time_zone)

    def draw() -> tuple[str, dt.datetime | None]:
        response, ends_at = build()
        return response.content.decode(), ends_at

    html = cached_fragment(
        name=name,
        parts=(viewer, bool(getattr(request, "htmx", False)), parts),
        now=now,
        max_age=max_age,
        build=draw,
        request=request,
    )
    response = HttpResponse(html)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _cached_fragment(*, name, parts, now, max_age, build) -> str:
    key = fragment_key(name=name, parts=parts)
    # A Redis outage is a miss here, not an error: the cache fails open (core/cache.py).
    hit = cache.get(key)
    if hit is not None:
        html, valid_until = hit
        if now.timestamp() < valid_until:
            return html
    html, ends_at = build()
    html = _punch_csrf(str(html))
    valid_until = now + dt.timedelta(seconds=max_age)
    if ends_at is not None and ends_at < valid_until:
        valid_until = ends_at
    timeout = math.ceil((valid_until - now).total_seconds())
    if timeout > 0:
        cache.set(key, (html, valid_until.timestamp()), timeout)
    return html


# --- stamps -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows of `model` matching `where` ({"column": value, "column__in": [...],
    "column__gt": value, "column__isnull": True}), summarised by `aggregates` over `column`: by default their count
    and newest `column`, which changes whenever a row is added, removed or saved."""

    model: type[models.Model]
    column: str
    where: dict
    aggregates: tuple[str, ...] = ("COUNT", "MAX")


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
        for lookup, value in source.where.items():
            column, _, operator = lookup.partition("__")
            if operator == "in":
                values = list(value)
                conditions.append((column, "in", len(values)))
                params += values
            elif operator == "isnull":
                conditions.append((column, "null" if value else "notnull", 0))
            else:
                conditions.append((column, operator or "exact", 1))
                params.append(value)
        shape.append((source.model, source.column, tuple(conditions), source.aggregates))
    return _stamp_sql(tuple(shape)), params


OPERATORS = {"exact": "=", "gt": ">"}


@functools.cache
def _stamp_sql(shape: tuple) -> str:
    quote = connection.ops.quote_name
    selects = []
    for model, column, conditions, aggregates in shape:
        clauses = []
        for name, operator, count in conditions:
            if operator == "in":
                clauses.append(
                    f"{quote(name)} IN ({', '.join(['%s'] * count)})" if count else "1 = 0"
                )
            elif operator in ("null", "notnull"):
                clauses.append(f"{quote(name)} IS {'' if operator == 'null' else 'NOT '}NULL")
            else:
                clauses.append(f"{quote(name)} {OPERATORS[operator]} %s")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        columns = ", ".join(
            "COUNT(*)" if function == "COUNT" else f"{function}({quote(column)})"
            for function in aggregates
        )
        # Identifiers only, quoted, from the models' metadata; every value is a parameter.
        subquery = f"(SELECT {columns} FROM {quote(model._meta.db_table)}{where})"  # noqa: S608
        selects.append(f"{subquery} AS s{len(selects)}")
    return "SELECT * FROM " + " CROSS JOIN ".join(selects)  # noqa: S608
