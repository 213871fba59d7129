"""URLs of pages other apps own, in one place (their names are the contract; see architecture.md).

Pages link hundreds of cells, so each URL pattern is reversed once and filled in with the
ids (reverse() per cell costs more than the rest of the matrix). A missing page must not
break a dashboard: its links are left out instead.
"""

from functools import cache
from html import escape
from urllib.parse import urlencode

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString

_A, _B = 987654321, 987654322  # placeholders no real id will collide with in a template
_PLACEHOLDERS = (str(_A), str(_B))


@cache
def _cached_template(name: str, keys: tuple[str, ...], prefix: str, urlconf) -> str:
    placeholders = dict(zip(keys, (_A, _B), strict=False))
    try:
        return reverse(name, kwargs=placeholders)
    except NoReverseMatch:
        return ""


def _template(name: str, keys: tuple[str, ...]) -> str:
    """The URL of `name` with the placeholders in place of its ids, or "" if it is not routed."""
    return _cached_template(name, keys, get_script_prefix(), get_urlconf())


def _fill(name: str, attempts: list[tuple[str, ...]], values: tuple[int, ...]) -> str:
    for keys in attempts:
        url = _template(name, keys)
        if url:
            for placeholder, value in zip((_A, _B), values, strict=False):
                url = url.replace(str(placeholder), str(value))
            return url
    return ""


def lab_url(*, cohort, lab) -> str:
    """The learner's lab page (`submissions:lab`)."""
    return _fill(
        "submissions:lab",
        [("cohort_id", "lab_id"), ("cohort_pk", "lab_pk")],
        (getattr(cohort, "pk", cohort), getattr(lab, "pk", lab)),
    )


def review_url(submission_id: int) -> str:
    """The mentor's review page of a submission (`submissions:review`)."""
    return _fill("submissions:review", [("pk",), ("submission_id",)], (submission_id,))


def url_filler(name: str, attempts: list[tuple[str, ...]]):
    """A function of the ids that gives the URL of `name` HTML-escaped, or "" if it is not
    routed: for many rows or cells, with the pattern looked up once (`reverse` or `_fill`
    per cell read the script prefix and urlconf, asgiref locals, each time). The ids are
    integers, so escaping the pattern once escapes the URL (the placeholders are digits),
    and it is marked safe for templates."""
    for keys in attempts:
        url = _template(name, keys)
        if url:
            pattern = escape(url)

            def fill(*ids, pattern=pattern) -> str:
                for placeholder, value in zip(_PLACEHOLDERS, ids, strict=False):
                    pattern = pattern.replace(placeholder, str(int(value)))
                return SafeString(pattern)

            return fill
    return lambda *ids: ""


def review_url_filler():
    """`review_url` for many cells (see `url_filler`)."""
    return url_filler("submissions:review", [("pk",), ("submission_id",)])


def queue_url(**filters) -> str:
    """The review queue, with query-string filters (tab, cohort, lab, state, mentor)."""
    url = _fill("submissions:queue", [()], ())
    query = urlencode({key: value for key, value in filters.items() if value})
    return f"{url}?{query}" if url and query else url
