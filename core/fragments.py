"""A cache for rendered page fragments that are expensive to build and read far more often
than they change (the learner's home panel, a cohort's matrix).

Correctness rests on the key, not on invalidation: the caller passes every fact the
fragment shows, usually a "stamp" query (row counts and newest change times of the rows
it reads, one cheap indexed query), so any write changes the key and the next request
builds a fresh fragment; nothing has to remember to delete entries. Time is the other
input: a fragment that flips at a known instant (a lab is released, a due time passes)
is built with that instant as its end of validity, and `max_age` bounds whatever the key
cannot name (a reviewer renaming themselves, a deploy changing Python-side labels).

The template's source is part of the key too, so a deploy that changes the markup never
serves the old markup. If the cache is down, the fragment is built every time: slower,
never wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import math
from collections.abc import Callable

from django.core.cache import cache
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

logger = logging.getLogger(__name__)

KEY_PREFIX = "fragment:v1"


@functools.cache
def template_digest(template_name: str) -> str:
    """A digest of a template's source (without the `#partial` part), once per process."""
    name = template_name.split("#", 1)[0]
    source = get_template(name).template.source
    return hashlib.blake2b(source.encode(), digest_size=8).hexdigest()


def fragment_key(*, name: str, template: str, parts: tuple) -> str:
    material = repr((template_digest(template), parts)).encode()
    return f"{KEY_PREFIX}:{name}:{hashlib.blake2b(material, digest_size=16).hexdigest()}"


def next_instant_after(now: dt.datetime, instants) -> dt.datetime | None:
    """The earliest of `instants` strictly after `now` (None values ignored), or None."""
    return min((t for t in instants if t is not None and t > now), default=None)


def cached_fragment(
    *,
    name: str,
    template: str,
    parts: tuple,
    now: dt.datetime,
    max_age: int,
    build: Callable[[], tuple[str, dt.datetime | None]],
) -> SafeString:
    """The fragment for `parts`, built by `build()` when it is not cached or has expired.

    `build` returns the HTML and the instant it stops being true (None: only `max_age`
    bounds it). `parts` must hold every input the HTML depends on besides time: the ids,
    the viewer's time zone, and the stamps of the data it shows.
    """
    key = fragment_key(name=name, template=template, parts=parts)
    try:
        hit = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage must not take the page down
        logger.warning("fragment cache unavailable; building %s", name, exc_info=True)
        hit = None
    if hit is not None:
        html, valid_until = hit
        if now.timestamp() < valid_until:
            return mark_safe(html)  # noqa: S308 - it was rendered by our own template
    html, ends_at = build()
    valid_until = now + dt.timedelta(seconds=max_age)
    if ends_at is not None and ends_at < valid_until:
        valid_until = ends_at
    timeout = math.ceil((valid_until - now).total_seconds())
    if timeout > 0:
        try:
            cache.set(key, (str(html), valid_until.timestamp()), timeout)
        except Exception:  # noqa: BLE001
            logger.warning("fragment cache unavailable; not storing %s", name, exc_info=True)
    return mark_safe(html)  # noqa: S308
