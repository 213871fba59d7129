"""URL path converters shared by every app's pages and API routes.

`<id:name>` is a database id: a positive whole number in ASCII digits that fits the
64-bit integer columns ids live in. Anything else (``null``, ``-1``, ``0``, ``abc``,
unicode digits, a number past 2**63 - 1) is not a match, so the resolver answers 404 before
any view or query runs. Django's own ``int`` converter accepts numbers of any size, which
the database then refuses with an error (a 500).
"""

from django.urls import register_converter

MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(f"{value!r} is not an id")
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def parse_id(value) -> int | None:
    """An id from a query string or form (`?cohort=12`): the number when it is one the
    `<id:...>` converter would match, else None (so a filter is ignored, never a 500)."""
    text = str(value or "")
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def register() -> None:
    register_converter(IdConverter, "id")
