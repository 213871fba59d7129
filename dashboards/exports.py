"""Cohort exports for staff and the cohort's mentors: the progress matrix, the marks (a
gradebook: per learner, per lab, per deliverable) and review turnaround per mentor.

The rows are built here from the same reads as the pages: the progress and marks exports
from `selectors.cohort_matrix` (itself `submissions.selectors.cohort_progress_matrix`, which
the progress API serves), so a cell says what the mentor matrix and the API say. Each
export runs a fixed number of queries whatever the cohort's size.

Writers: CSV is streamed row by row (UTF-8 with a BOM, so spreadsheet programs read names
right); XLSX is written by XlsxWriter in constant_memory mode to a temporary file, which
the view then streams. Text cells are user-typed (names, lab titles): in CSV a cell
starting with = + - @ tab or CR gets a leading apostrophe so no spreadsheet runs it as a
formula; in XLSX every text cell is written as a string, never a formula.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

import xlsxwriter
from django.db.models import Count, Min, OuterRef, Subquery
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from accounts.models import User
from cohorts.models import Cohort, Membership
from cohorts.selectors import lab_revisions_for
from curriculum.models import Lab
from submissions.models import Iteration, Review, Submission
from submissions.services import deliverables_of
from submissions.validation import deliverable_text

from . import selectors

# What the download links offer, in order.
LINKS = [
    ("progress", "Progress matrix"),
    ("marks", "Marks per lab and deliverable"),
    ("turnaround", "Review turnaround per mentor"),
]
KINDS = tuple(kind for kind, _ in LINKS)
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MARK_LABELS = {"met": "met", "not_met": "not met", "na": "n/a"}
TICKED = "ticked"  # handed in as done by the learner, not marked by a mentor yet
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


@dataclasses.dataclass
class Table:
    """One export: a title (sheet name), a header row and the rows (built lazily)."""

    title: str
    header: list[str]
    rows: Iterable[list[Cell]]


def _when(value: dt.datetime | None, zone: ZoneInfo) -> str:
    return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _lab_heading(entry) -> str:
    return f"W{entry.week} {entry.lab.title}"


# --- progress -----------------------------------------------------------------------------


PROGRESS_FIXED = ["Learner", "Email", "Approved", "Released", "Percent", "Labs behind"]


def progress_table(*, cohort: Cohort, zone: ZoneInfo, now: dt.datetime | None = None) -> Table:
    """One row per active learner (the mentor matrix's rows, by name): the counts the
    matrix shows, the last activity, and each lab's status label as its cell reads."""
    matrix = selectors.cohort_matrix(cohort=cohort, now=now)
    header = [
        *PROGRESS_FIXED,
        f"Last activity ({zone.key})",
        *(_lab_heading(e) for e in matrix.entries),
    ]

    def rows() -> Iterator[list[Cell]]:
        for row in matrix.rows:
            yield [
                row.learner.display_name,
                row.learner.email,
                row.approved,
                row.released,
                row.percent,
                row.behind,
                _when(row.last_activity_at, zone),
                *(cell.label for cell in row.cells),
            ]

    return Table(title="Progress", header=header, rows=rows())


# --- marks --------------------------------------------------------------------------------


def marks_table(*, cohort: Cohort, now: dt.datetime | None = None) -> Table:
    """The gradebook: one row per active learner; per lab its status (as the matrix shows
    it), then per deliverable the mentor's latest mark ("met", "not met", "n/a"), else
    "ticked" when the learner's latest hand-in ticked it, else empty. Nine queries (one reads
    the cohort's kept lab revisions)."""
    matrix = selectors.cohort_matrix(cohort=cohort, now=now)
    labs = {
        lab.pk: lab
        for lab in Lab.objects.filter(pk__in=[e.lab.pk for e in matrix.entries]).select_related(
            "current_revision"
        )
    }
    # The cohort's own revisions (a kept cohort's older ones), in one query for all labs.
    revisions = lab_revisions_for(cohort=cohort, labs=labs.values())
    deliverables = {
        lab_id: [
            deliverable_text(item)
            for item in (
                revisions[lab_id].deliverables if revisions[lab_id] else deliverables_of(lab)
            )
        ]
        for lab_id, lab in labs.items()
    }
    # Latest wins: ordered oldest first, later rows overwrite.
    marks: dict[int, dict] = {}
    for submission_id, value in (
        Review.objects.filter(submission__cohort=cohort)
        .exclude(marks={})
        .order_by("created_at", "pk")
        .values_list("submission_id", "marks")
    ):
        marks[submission_id] = value or {}
    ticked: dict[int, set[int]] = {}
    for submission_id, checklist in (
        Iteration.objects.filter(submission__cohort=cohort)
        .order_by("submitted_at", "pk")
        .values_list("submission_id", "checklist")
    ):
        ticked[submission_id] = {
            item.get("index")
            for item in checklist or []
            if isinstance(item, dict) and item.get("done")
        }

    header = ["Learner", "Email", "Approved", "Released"]
    for entry in matrix.entries:
        heading = _lab_heading(entry)
        header.append(f"{heading}: status")
        header += [
            f"{heading}: D{i + 1} {text}" for i, text in enumerate(deliverables[entry.lab.pk])
        ]

    def rows() -> Iterator[list[Cell]]:
        for row in matrix.rows:
            out: list[Cell] = [
                row.learner.display_name,
                row.learner.email,
                row.approved,
                row.released,
            ]
            for cell in row.cells:
                out.append(cell.label)
                given = marks.get(cell.submission_id, {}) if cell.submission_id else {}
                done = ticked.get(cell.submission_id, set()) if cell.submission_id else set()
                for i in range(len(deliverables[cell.progress.lab_id])):
                    mark = given.get(str(i))
                    out.append(MARK_LABELS.get(mark, "") if mark else TICKED if i in done else "")
            yield out

    return Table(title="Marks", header=header, rows=rows())


# --- review turnaround per mentor ---------------------------------------------------------


TURNAROUND_HEADER = [
    "Mentor",
    "Email",
    "Reviewed",
    "Median hours",
    "P90 hours",
    "Within SLA",
    "Past SLA",
    "SLA %",
    "Open now",
]


def turnaround_table(*, cohort: Cohort) -> Table:
    """One row per mentor (the cohort's active mentors, and anyone else who reviewed
    there): hand-ins they reviewed first, the median and 90th percentile hours from
    hand-in to that first review, how many were within the cohort's SLA, and the open
    reviews assigned to them now. Measured as the staff overview measures the cohort
    (`selectors.cohort_stats`). Four queries."""
    sla = dt.timedelta(hours=cohort.review_sla_hours)
    first = Review.objects.filter(iteration=OuterRef("pk")).order_by("created_at", "pk")
    hours: dict[int, list[float]] = defaultdict(list)
    within: dict[int, int] = defaultdict(int)
    for submitted_at, reviewed_at, reviewer_id in (
        Iteration.objects.filter(submission__cohort=cohort)
        .annotate(
            first_review_at=Min("reviews__created_at"),
            first_reviewer=Subquery(first.values("reviewer_id")[:1]),
        )
        .filter(first_review_at__isnull=False)
        .values_list("submitted_at", "first_review_at", "first_reviewer")
    ):
        delay = reviewed_at - submitted_at
        hours[reviewer_id].append(delay.total_seconds() / 3600)
        within[reviewer_id] += delay <= sla
    open_now = dict(
        Submission.objects.filter(
            cohort=cohort,
            state__in=[Submission.State.SUBMITTED, Submission.State.IN_REVIEW],
            assigned_to__isnull=False,
        )
        .values("assigned_to")
        .annotate(n=Count("pk"))
        .values_list("assigned_to", "n")
    )
    mentor_ids = set(
        Membership.objects.filter(
            cohort=cohort, role=Membership.Role.MENTOR, active=True
        ).values_list("user_id", flat=True)
    )
    people = User.objects.filter(pk__in=mentor_ids | set(hours) | set(open_now)).order_by(
        "name", "email"
    )

    def rows() -> Iterator[list[Cell]]:
        for person in people:
            values = sorted(hours.get(person.pk, []))
            done = len(values)
            median = selectors._percentile(values, 0.5)
            p90 = selectors._percentile(values, 0.9)
            yield [
                person.display_name,
                person.email,
                done,
                round(median, 1) if median is not None else None,
                round(p90, 1) if p90 is not None else None,
                within[person.pk],
                done - within[person.pk],
                round(100 * within[person.pk] / done) if done else None,
                open_now.get(person.pk, 0),
            ]

    return Table(title="Turnaround", header=TURNAROUND_HEADER, rows=rows())


def build_table(*, kind: str, cohort: Cohort, zone: ZoneInfo) -> Table:
    if kind == "progress":
        return progress_table(cohort=cohort, zone=zone)
    if kind == "marks":
        return marks_table(cohort=cohort)
    return turnaround_table(cohort=cohort)


# --- writers ------------------------------------------------------------------------------


def safe_text(value: Cell) -> Cell:
    """A text cell no spreadsheet reads as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(table: Table) -> Iterator[bytes]:
    """The CSV, one encoded line at a time: a BOM, the header, then a line per row."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode()
    yield writer.writerow([safe_text(h) for h in table.header]).encode()
    for row in table.rows:
        yield writer.writerow(["" if v is None else safe_text(v) for v in row]).encode()


def xlsx_file(table: Table):
    """The workbook in a temporary file (deleted when closed), rewound for reading. A
    failure half-way closes, so deletes, the partial file."""
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    try:
        _write_xlsx(table, handle.name)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


def _write_xlsx(table: Table, path: str) -> None:
    book = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_formulas": False, "in_memory": False}
    )
    sheet = book.add_worksheet(table.title)
    bold = book.add_format({"bold": True})
    for col, heading in enumerate(table.header):
        sheet.write_string(0, col, heading, bold)
    for r, row in enumerate(table.rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, int | float):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, str(value))
    sheet.freeze_panes(1, 2)
    book.close()


def filename(*, cohort: Cohort, kind: str, fmt: str) -> str:
    return f"{cohort.slug}-{kind}.{fmt}"


def export_response(*, cohort: Cohort, kind: str, fmt: str, zone: ZoneInfo):
    """The download: CSV streamed as it is written, XLSX from its temporary file."""
    table = build_table(kind=kind, cohort=cohort, zone=zone)
    name = filename(cohort=cohort, kind=kind, fmt=fmt)
    if fmt == "csv":
        response = StreamingHttpResponse(csv_chunks(table), content_type=CONTENT_TYPES["csv"])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        response = FileResponse(
            xlsx_file(table), as_attachment=True, filename=name, content_type=CONTENT_TYPES["xlsx"]
        )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
