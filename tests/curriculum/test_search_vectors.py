"""The labs' stored search vectors: written by the curriculum services (import, staff edit),
filled for existing labs by the migration, and what the search matches on PostgreSQL."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection

from curriculum.models import Lab
from curriculum.search import lab_search_refresh
from curriculum.services import import_curriculum_file, lab_edit
from dashboards.search import search
from tests.curriculum.conftest import labs_index
from tests.factories import LabFactory, StaffFactory

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def _vectors(lab: Lab) -> tuple:
    return tuple(Lab.objects.filter(pk=lab.pk).values_list("search_title", "search_text").get())


def _import(body: str, title: str = "Walrus wrangling") -> Lab:
    source = labs_index({"Alpha": [(1, "Module 1", title, body)]})
    import_curriculum_file(actor=None, source=source, filename="c.txt")
    return Lab.objects.get(track__name="Alpha", week=1, active=True)


def _found(user, query: str) -> set[str]:
    return {result.title for result in search(user, query).labs}


def test_an_import_writes_the_vectors_and_a_reimport_rewrites_them():
    staff = StaffFactory()
    lab = _import("Feed the penguins:\n1. Count the penguins.\n2. Report.")
    title, text = _vectors(lab)
    if not POSTGRES:  # SQLite keeps no vectors: the search matches substrings there
        assert (title, text) == (None, None)
        return
    assert "walrus" in title and "penguin" in text
    assert _found(staff, "penguin") == {"Walrus wrangling"}
    # The file changes the lab's text: the vector follows, the old word no longer matches.
    lab = _import("Feed the otters:\n1. Count the otters.\n2. Report.")
    assert "otter" in _vectors(lab)[1] and "penguin" not in _vectors(lab)[1]
    assert _found(staff, "otters") == {"Walrus wrangling"}
    assert _found(staff, "penguins") == set()


def test_a_staff_edit_rewrites_the_vectors():
    staff = StaffFactory()
    lab = _import("Feed the penguins:\n1. Count the penguins.\n2. Report.")
    lab_edit(
        actor=staff,
        lab=lab,
        title="Seal handling",
        body="Groom the seals:\n1. Brush the seals.\n2. Report.\n",
        note="Seals, not penguins",
    )
    found_new, found_old = _found(staff, "seals"), _found(staff, "penguins")
    assert found_new == {"Seal handling"}
    assert found_old == set()
    if POSTGRES:
        title, text = _vectors(lab)
        assert "seal" in title and "groom" in text and "walrus" not in title


def test_saving_a_lab_does_not_write_the_vectors():
    """Only the services write them (no save() logic, no signal): a lab written any other
    way has none until a service or the refresh runs."""
    lab = LabFactory(title="Narwhal", body="Find the narwhal.", search_vectors=False)
    assert _vectors(lab) == (None, None)
    written = lab_search_refresh([lab.pk])
    assert written == (1 if POSTGRES else 0)
    if POSTGRES:
        assert "narwhal" in _vectors(lab)[1]


class _Editor:
    """What the migration's function uses of a schema editor (SQLite refuses a real one
    inside the test's transaction)."""

    connection = connection

    def quote_name(self, name: str) -> str:
        return connection.ops.quote_name(name)

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_migration_fills_the_same_vectors_as_the_services():
    """Labs that existed before the columns get exactly what the services would write."""
    labs = [
        LabFactory(title="Kelp forest", body="Dive:\n1. Map the kelp.", deliverables=["Kelp map"]),
        LabFactory(title="Tide pools", body="", deliverables=[]),
    ]
    expected = [_vectors(lab) for lab in labs]
    Lab.objects.update(search_title=None, search_text=None)
    migration = importlib.import_module("curriculum.migrations.0004_h15s_lab_search_vectors")
    migration.fill_vectors(django_apps, _Editor())
    assert [_vectors(lab) for lab in labs] == expected
    if POSTGRES:
        assert "kelp" in expected[0][1] and "tide" in expected[1][0]
    else:
        assert expected == [(None, None), (None, None)]
