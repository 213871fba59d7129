"""The labs' stored search vectors (PostgreSQL full-text search).

`Lab.search_title` and `Lab.search_text` hold `to_tsvector` of a lab's title and of its text
(body and deliverables), so a search matches and ranks through their GIN indexes instead of
running `to_tsvector` over every lab's text per query (`dashboards.search`). They are
written by the curriculum services that write a lab's title or text (`import_apply` and
`import_curriculum_file` through `_write_plan`, `lab_edit`), never by `save()` or signals,
and filled for existing labs by migration 0004. On other databases (SQLite in development)
nothing is stored and the search falls back to substring matches.

Two vectors rather than one weighted vector: a lab's title is searchable by everyone, its
text only where `curriculum.permissions.lab_text_reader` lets the viewer read it, so the
search must be able to match the title alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import TextField, Value
from django.db.models.functions import Cast, Coalesce

SEARCH_CONFIG = "english"


def is_stored() -> bool:
    """Whether this database keeps the vectors (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def title_vector() -> SearchVector:
    return SearchVector("title", config=SEARCH_CONFIG)


def text_vector() -> SearchVector:
    deliverables = Coalesce(Cast("deliverables", TextField()), Value(""), output_field=TextField())
    return SearchVector("body", deliverables, config=SEARCH_CONFIG)


def lab_search_refresh(lab_ids: Iterable[int]) -> int:
    """Recompute the stored vectors of these labs from their current title and text, in one
    UPDATE (does not touch `updated_at`: nothing a page shows changes). Returns the number
    of labs written; 0 where the database keeps no vectors. Called by the services that
    write labs, inside their transaction."""
    from .models import Lab

    ids = sorted(set(lab_ids))
    if not ids or not is_stored():
        return 0
    return Lab.objects.filter(pk__in=ids).update(
        search_title=title_vector(), search_text=text_vector()
    )
