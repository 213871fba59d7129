"""Import query counts do not grow with the number of labs (bulk reads and writes)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from curriculum.services import import_curriculum_file
from tests.curriculum.conftest import labs_index, simple_track

pytestmark = pytest.mark.django_db


def count_queries(source: bytes) -> int:
    with CaptureQueriesContext(connection) as ctx:
        import_curriculum_file(actor=None, source=source, filename="c.txt")
    return len(ctx.captured_queries)


@pytest.mark.parametrize("phase", ["first", "again", "shifted"])
def test_import_query_count_is_independent_of_lab_count(phase):
    counts = []
    # Sizes stay under SQLite's 999-parameter batches (50 labs of ~15 columns) so that the
    # count compares like with like; PostgreSQL writes up to 500 rows per statement (see
    # bench/curriculum_import.py).
    for size in (3, 25):
        from curriculum.models import CurriculumImport, Lab, LabRevision, Track

        Lab.objects.update(current_revision=None)
        LabRevision.objects.all().delete()
        Lab.objects.all().delete()
        Track.objects.all().delete()
        CurriculumImport.objects.all().delete()
        tracks = {"Alpha": simple_track(size), "Beta": simple_track(size)}
        if phase == "first":
            counts.append(count_queries(labs_index(tracks)))
            continue
        import_curriculum_file(actor=None, source=labs_index(tracks), filename="c.txt")
        if phase == "shifted":
            # Every lab moves one week later: many updates, still a fixed number of queries.
            tracks = {name: simple_track(size, start=2) for name in tracks}
        counts.append(count_queries(labs_index(tracks)))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 25
