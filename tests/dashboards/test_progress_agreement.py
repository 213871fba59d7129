"""The API's progress matrix, the mentor matrix and each learner's home read one derivation.

Seeded cohort plus a handed-in-late submission, an extension and a lab past its due time,
so that every state and flag shows up; every cell must then agree across the three reads.
"""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cohorts.models import Extension, Membership, ScheduleOverride
from dashboards import selectors
from submissions.models import Submission

pytestmark = pytest.mark.django_db

NOT_HANDED_IN = {"not_started", "draft"}


def _api_cells(cohort, admin) -> dict[tuple[int, int], dict]:
    client = APIClient()
    client.force_authenticate(admin)
    cells, url = {}, f"/api/v1/cohorts/{cohort.pk}/progress/?page_size=100"
    while url:
        body = client.get(url).json()
        for row in body["results"]:
            for cell in row["cells"]:
                cells[(row["learner"]["id"], cell["lab"])] = cell
        url = body["next"]
    return cells


def test_api_progress_matrix_and_learner_homes_agree_on_every_cell(seeded):
    world = seeded(learners=12, progress=0.5)
    cohort = world["cohort"]
    labs = [entry.lab for entry in selectors.cohort_matrix(cohort=cohort).entries]
    now = timezone.now()
    # A released lab already past its due time: not-started work there is late and overdue.
    ScheduleOverride.objects.update_or_create(
        cohort=cohort,
        lab=labs[-1],
        defaults={"release_at": now - dt.timedelta(days=9), "due_at": now - dt.timedelta(days=2)},
    )
    learners = [m.user for m in Membership.objects.filter(cohort=cohort, role="learner")]
    # An extension keeps one learner's cell on time; a late hand-in is flagged as such.
    Extension.objects.create(
        cohort=cohort,
        lab=labs[-1],
        learner=learners[0],
        due_at=now + dt.timedelta(days=3),
        reason="travel",
    )
    Submission.objects.filter(cohort=cohort, iteration_count__gt=0).exclude(
        learner=learners[0]
    ).filter(pk__in=Submission.objects.filter(cohort=cohort).values("pk")[:3]).update(is_late=True)

    api = _api_cells(cohort, world["admin"])
    matrix = selectors.cohort_matrix(cohort=cohort)
    dashboard = {
        (row.learner.pk, cell.entry.lab.pk): cell for row in matrix.rows for cell in row.cells
    }
    assert set(api) == set(dashboard) and len(api) == len(learners) * len(labs)

    for key, cell in dashboard.items():
        api_cell = api[key]
        assert api_cell["state"] == cell.progress.state
        assert api_cell["is_late"] == cell.progress.is_late
        assert api_cell["is_released"] == cell.entry.is_released
        assert api_cell["submission"] == cell.submission_id
        if api_cell["state"] not in NOT_HANDED_IN:
            assert cell.status == api_cell["state"]
        elif not api_cell["is_released"]:
            assert cell.status == "locked"
        else:
            assert cell.status == ("late" if api_cell["is_late"] else api_cell["state"])

    # Each learner's home (read through the learner's own schedule) shows the same cells.
    for membership in Membership.objects.filter(cohort=cohort, role="learner").select_related(
        "user", "cohort__track"
    ):
        home = selectors.learner_cohort(membership=membership)
        for row in home.rows:
            cell = dashboard[(membership.user_id, row.lab.pk)]
            assert (row.status, row.overdue) == (cell.status, cell.overdue)
            assert row.entry.effective_due_at == cell.progress.due_at
            assert row.submitted_late == cell.progress.handed_in_late

    # Every state and flag was exercised.
    states = {cell["state"] for cell in api.values()}
    assert states >= {"not_started", "draft", "submitted", "in_review", "changes_requested"}
    assert "approved" in states
    statuses = {cell.status for cell in dashboard.values()}
    assert {"locked", "late"} <= statuses
    assert any(cell.progress.handed_in_late for cell in dashboard.values())
    assert any(cell.overdue and cell.status == "changes_requested" for cell in dashboard.values())
    assert not dashboard[(learners[0].pk, labs[-1].pk)].overdue
