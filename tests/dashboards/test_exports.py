"""Cohort exports (progress, marks, turnaround) as CSV and XLSX, on pages and in the API.

The export's figures must be the pages' and the progress API's, cell by cell; learners are
refused; names typed as formulas stay text; queries do not grow with the cohort.
"""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cohorts.models import Extension, Membership, ScheduleOverride
from dashboards import selectors
from submissions.models import Review, Submission
from tests.factories import CohortFactory, MentorMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(cohort, kind, fmt="csv") -> str:
    url = reverse("dashboard:cohort-export", kwargs={"cohort_id": cohort.pk, "kind": kind})
    return f"{url}?format={fmt}"


def _api(cohort, kind, fmt="csv") -> str:
    return f"/api/v1/cohorts/{cohort.pk}/export/{kind}/?format={fmt}"


def _body(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def _csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    raw = _body(response)
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[list]:
    assert response["Content-Type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(_body(response)), read_only=True)
    return [
        ["" if v is None else v for v in row] for row in book.active.iter_rows(values_only=True)
    ]


def _api_cells(cohort, admin) -> dict[tuple[int, int], dict]:
    client = APIClient()
    client.force_authenticate(admin)
    cells, url = {}, f"/api/v1/cohorts/{cohort.pk}/progress/?page_size=100"
    while url:
        body = client.get(url).json()
        for row in body["results"]:
            for cell in row["cells"]:
                cells[(row["learner"]["email"], cell["lab"])] = cell
        url = body["next"]
    return cells


@pytest.fixture
def busy(seeded):
    """A cohort where every state shows: an overdue lab, an extension, late hand-ins."""
    world = seeded(learners=12, progress=0.5)
    cohort = world["cohort"]
    labs = [entry.lab for entry in selectors.cohort_matrix(cohort=cohort).entries]
    now = timezone.now()
    ScheduleOverride.objects.update_or_create(
        cohort=cohort,
        lab=labs[-1],
        defaults={"release_at": now - dt.timedelta(days=9), "due_at": now - dt.timedelta(days=2)},
    )
    learners = [m.user for m in Membership.objects.filter(cohort=cohort, role="learner")]
    Extension.objects.create(
        cohort=cohort,
        lab=labs[-1],
        learner=learners[0],
        due_at=now + dt.timedelta(days=3),
        reason="travel",
    )
    Submission.objects.filter(cohort=cohort, iteration_count__gt=0).filter(
        pk__in=Submission.objects.filter(cohort=cohort).values("pk")[:3]
    ).update(is_late=True)
    return world


def test_progress_export_matches_matrix_and_api_cell_by_cell(client, busy):
    cohort, admin = busy["cohort"], busy["admin"]
    client.force_login(admin)
    api = APIClient()
    api.force_authenticate(admin)
    matrix = selectors.cohort_matrix(cohort=cohort)
    api_cells = _api_cells(cohort, admin)
    lab_ids = [entry.lab.pk for entry in matrix.entries]
    by_email = {row.learner.email: row for row in matrix.rows}

    exports = {
        "page csv": _csv_rows(client.get(_page(cohort, "progress"))),
        "page xlsx": _xlsx_rows(client.get(_page(cohort, "progress", "xlsx"))),
        "api csv": _csv_rows(api.get(_api(cohort, "progress"))),
        "api xlsx": _xlsx_rows(api.get(_api(cohort, "progress", "xlsx"))),
    }
    for where, (header, *rows) in exports.items():
        assert header[:6] == ["Learner", "Email", "Approved", "Released", "Percent", "Labs behind"]
        assert len(header) == 7 + len(lab_ids), where
        # One row per learner, each learner once.
        assert sorted(row[1] for row in rows) == sorted(by_email), where
        for row in rows:
            page_row = by_email[row[1]]
            figures = [int(value) for value in row[2:6]]
            assert figures == [
                page_row.approved,
                page_row.released,
                page_row.percent,
                page_row.behind,
            ], where
            for lab_id, cell, value in zip(lab_ids, page_row.cells, row[7:], strict=True):
                assert value == cell.label, where
                api_cell = api_cells[(row[1], lab_id)]
                approved = api_cell["state"] == Submission.State.APPROVED
                assert (value == "Approved") == approved, where
                assert (value == "Overdue") == (
                    api_cell["state"] in ("not_started", "draft")
                    and api_cell["is_released"]
                    and api_cell["is_late"]
                ), where
                assert (value == "Not released") == (
                    api_cell["state"] in ("not_started", "draft") and not api_cell["is_released"]
                ), where
    labels = {value for _, *rows in exports.values() for row in rows for value in row[7:]}
    assert {"Approved", "Overdue", "Not released", "Changes requested"} <= labels


def test_marks_export_shows_each_deliverables_latest_mark(client, busy):
    cohort, admin = busy["cohort"], busy["admin"]
    client.force_login(admin)
    matrix = selectors.cohort_matrix(cohort=cohort)
    review = (
        Review.objects.filter(submission__cohort=cohort)
        .exclude(marks={})
        .select_related("submission__lab", "submission__learner")
        .order_by("-created_at", "-pk")
        .first()
    )
    assert review is not None
    submission = review.submission
    # A newer review changes one mark: the export shows the newer one.
    newer = dict(review.marks)
    newer["0"] = "na" if newer.get("0") != "na" else "not_met"
    Review.objects.create(
        submission=submission,
        iteration=review.iteration,
        reviewer=review.reviewer,
        verdict=Review.Verdict.COMMENT,
        marks=newer,
        created_at=review.created_at + dt.timedelta(minutes=1),
    )
    expected = {"met": "met", "not_met": "not met", "na": "n/a"}
    for rows in (
        _csv_rows(client.get(_page(cohort, "marks"))),
        _xlsx_rows(client.get(_page(cohort, "marks", "xlsx"))),
    ):
        header, *body = rows
        assert len(body) == len(matrix.rows)
        row = next(r for r in body if r[1] == submission.learner.email)
        entry = next(e for e in matrix.entries if e.lab.pk == submission.lab_id)
        heading = f"W{entry.week} {entry.lab.title}"
        status_col = header.index(f"{heading}: status")
        page_row = next(r for r in matrix.rows if r.learner.email == row[1])
        page_cell = next(c for c in page_row.cells if c.progress.lab_id == submission.lab_id)
        assert row[status_col] == page_cell.label
        for key, mark in newer.items():
            assert row[status_col + 1 + int(key)] == expected[mark]
        # Every learner's status cells agree with the matrix.
        for r in body:
            cells = next(m for m in matrix.rows if m.learner.email == r[1]).cells
            statuses = [r[header.index(f"W{e.week} {e.lab.title}: status")] for e in matrix.entries]
            assert statuses == [c.label for c in cells]


def test_turnaround_export_has_a_row_per_mentor(client, busy):
    cohort, admin = busy["cohort"], busy["admin"]
    client.force_login(admin)
    for rows in (
        _csv_rows(client.get(_page(cohort, "turnaround"))),
        _xlsx_rows(client.get(_page(cohort, "turnaround", "xlsx"))),
    ):
        header, *body = rows
        assert header[:3] == ["Mentor", "Email", "Reviewed"]
        mentors = set(
            Membership.objects.filter(cohort=cohort, role="mentor", active=True).values_list(
                "user__email", flat=True
            )
        )
        assert mentors <= {row[1] for row in body}
        reviewed = sum(int(row[2]) for row in body)
        stats = selectors.cohort_stats(cohort=cohort)
        assert reviewed == stats.turnaround.reviewed
        assert sum(int(row[5]) for row in body) == stats.turnaround.within_sla


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_names_typed_as_formulas_stay_text(client, seeded, start):
    world = seeded(learners=3)
    cohort = world["cohort"]
    learner = world["learner"]
    learner.name = f'{start}HYPERLINK("http://evil.example","x")'
    learner.save(update_fields=["name"])
    client.force_login(world["mentor"])
    rows = _csv_rows(client.get(_page(cohort, "progress")))
    assert [row[0] for row in rows if row[1] == learner.email] == ["'" + learner.name]
    response = client.get(_page(cohort, "marks", "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(_body(response))).active
    names = [row[0] for row in sheet.iter_rows(min_row=2) if row[1].value == learner.email]
    # Written as a text cell, never as a formula.
    assert [cell.data_type for cell in names] == ["s"]


# Fixed ceilings, asserted at 5 and 60 learners: session, user, cohort,
# then the export's own reads (progress: the matrix's 5; marks: + labs, the cohort's kept
# revisions, reviews, iterations; turnaround: iterations, open work, mentors, people).
EXPORT_QUERIES = {"progress": 8, "marks": 12, "turnaround": 7}


@pytest.mark.parametrize("size", [5, 60])
@pytest.mark.parametrize("kind", ["progress", "marks", "turnaround"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_queries_do_not_grow_with_the_cohort(client, seeded, kind, fmt, size):
    world = seeded(learners=size)
    client.force_login(world["admin"])
    with CaptureQueriesContext(connection) as ctx:
        rows = _body(client.get(_page(world["cohort"], kind, fmt)))
    assert rows
    assert len(ctx.captured_queries) <= EXPORT_QUERIES[kind], [
        q["sql"][:80] for q in ctx.captured_queries
    ]


@pytest.mark.parametrize("kind", ["progress", "marks"])
def test_only_staff_and_the_cohorts_mentors_may_export(client, seeded, kind):
    world = seeded(learners=3)
    cohort = world["cohort"]
    other_mentor = UserFactory()
    MentorMembershipFactory(cohort=CohortFactory(track=cohort.track), user=other_mentor)
    api = APIClient()

    # Anonymous: the page asks to sign in, the API says 401.
    page = client.get(_page(cohort, kind))
    assert page.status_code == 302 and "login" in page["Location"]
    assert api.get(_api(cohort, kind)).status_code == 401

    # A learner of the cohort: 403 on both.
    client.force_login(world["learner"])
    api.force_authenticate(world["learner"])
    assert client.get(_page(cohort, kind)).status_code == 403
    assert api.get(_api(cohort, kind, "xlsx")).status_code == 403

    # A mentor of another cohort: the cohort is not theirs to find.
    client.force_login(other_mentor)
    api.force_authenticate(other_mentor)
    assert client.get(_page(cohort, kind)).status_code == 404
    assert api.get(_api(cohort, kind)).status_code == 404

    # The cohort's mentor gets the file; an unknown format is a clear 400 naming it.
    client.force_login(world["mentor"])
    api.force_authenticate(world["mentor"])
    assert client.get(_page(cohort, kind, "xlsx")).status_code == 200
    assert client.get(_page(cohort, kind, "pdf")).status_code == 400
    refused = api.get(_api(cohort, kind, "json"))
    assert refused.status_code == 400 and "format" in refused.json()["errors"]
    assert api.get(_api(cohort, kind, "xlsx"))["Content-Type"] == XLSX


def test_staff_cohort_page_and_mentor_matrix_link_every_download(client, seeded):
    world = seeded(learners=3)
    cohort = world["cohort"]
    pages = [
        (world["admin"], reverse("dashboard:staff-cohort", kwargs={"cohort_id": cohort.pk})),
        (world["mentor"], f"{reverse('dashboard:mentor')}?cohort={cohort.pk}"),
    ]
    for user, url in pages:
        client.force_login(user)
        html = client.get(url).content.decode()
        for kind in ("progress", "marks", "turnaround"):
            for fmt in ("csv", "xlsx"):
                link = _page(cohort, kind, fmt)
                assert f'href="{link}"' in html, (url, link)
                assert client.get(link).status_code == 200


def test_times_are_in_the_downloaders_time_zone(client, seeded):
    """A staff member in Tokyo reads last activity in Tokyo time."""
    world = seeded(learners=3)
    cohort, admin = world["cohort"], world["admin"]
    admin.time_zone = "Asia/Tokyo"
    admin.save(update_fields=["time_zone"])
    client.force_login(admin)
    header, *rows = _csv_rows(client.get(_page(cohort, "progress")))
    column = header.index("Last activity (Asia/Tokyo)")
    matrix = selectors.cohort_matrix(cohort=cohort)
    tokyo = ZoneInfo("Asia/Tokyo")
    expected = {
        row.learner.email: timezone.localtime(row.last_activity_at, tokyo).strftime(
            "%Y-%m-%d %H:%M"
        )
        for row in matrix.rows
    }
    assert {row[1]: row[column] for row in rows} == expected


def test_marks_show_what_the_learner_ticked_until_a_mentor_marks_it(client, busy):
    cohort, admin = busy["cohort"], busy["admin"]
    waiting = (
        Submission.objects.filter(cohort=cohort, state=Submission.State.SUBMITTED)
        .exclude(reviews__marks__isnull=False)
        .select_related("lab", "learner")
        .first()
    )
    assert waiting is not None
    iteration = waiting.iterations.order_by("-submitted_at", "-pk").first()
    # The learner's last hand-in ticked the first deliverable only.
    checklist = [dict(item, done=item["index"] == 0) for item in iteration.checklist]
    assert len(checklist) >= 2
    type(iteration).objects.filter(pk=iteration.pk).update(checklist=checklist)
    client.force_login(admin)
    header, *rows = _csv_rows(client.get(_page(cohort, "marks")))
    row = next(r for r in rows if r[1] == waiting.learner.email)
    entry = next(
        e for e in selectors.cohort_matrix(cohort=cohort).entries if e.lab.pk == waiting.lab_id
    )
    status_col = header.index(f"W{entry.week} {entry.lab.title}: status")
    assert row[status_col] == "Submitted"
    assert row[status_col + 1 : status_col + 1 + len(checklist)] == ["ticked"] + [""] * (
        len(checklist) - 1
    )
