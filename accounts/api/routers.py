"""The router every app's `api/urls.py` uses (a module of its own: `rest_framework.routers`
imports DRF's views, which read the settings that name `accounts.api.common`)."""

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """The router of every app's API: Django path converters instead of regexes.

    An object's id in the URL goes through the `id` converter (`core.converters`), so a
    malformed id (``null``, ``-1``, ``abc``, past the database's integer range) is a 404
    from the resolver, before any view or query runs. Nested prefixes name their parent the
    same way (``cohorts/<id:cohort_pk>/members``). A viewset looked up by something else
    says which converter with ``lookup_value_converter`` (e.g. ``"slug"``).
    """

    def __init__(self):
        super().__init__(use_regex_path=False)

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        converter = getattr(viewset, "lookup_value_converter", None) or "id"
        kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        return f"<{converter}:{lookup_prefix}{kwarg}>"
