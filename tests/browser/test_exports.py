"""Issue 15.2 (exports): a staff member in Tokyo downloads a cohort's marks as XLSX from the
cohort overview, and a mentor downloads the progress matrix as CSV from the matrix page.
The files open, name the learners and say what the pages say."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from cohorts.models import Membership
from dashboards import selectors
from demo.seeding import PASSWORDS

from .conftest import screenshot, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_in_tokyo_downloads_marks_and_a_mentor_the_progress(new_page, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    User.objects.filter(email="admin@demo.cohortlabs.local").update(time_zone="Asia/Tokyo")
    matrix = selectors.cohort_matrix(cohort=cohort)
    emails = {row.learner.email for row in matrix.rows}

    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    page.goto(reverse("dashboard:staff-cohort", args=[cohort.pk]))
    downloads = page.get_by_role("region", name="Download")
    expect(downloads).to_be_visible()
    downloads.scroll_into_view_if_needed()
    screenshot(page, "export-staff-cohort")
    with page.expect_download() as info:
        downloads.get_by_role("listitem").filter(has_text="Marks").get_by_role(
            "link", name="XLSX"
        ).click()
    download = info.value
    assert download.suggested_filename == f"{cohort.slug}-marks.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:2] == ("Learner", "Email")
    assert {row[1] for row in rows} == emails

    mentor = (
        Membership.objects.filter(cohort=cohort, role="mentor", active=True)
        .select_related("user")
        .first()
        .user
    )
    page = new_page()
    sign_in(page, mentor.email, PASSWORDS["mentor"])
    page.goto(f"{reverse('dashboard:mentor')}?cohort={cohort.pk}")
    downloads = page.get_by_role("region", name="Download")
    downloads.scroll_into_view_if_needed()
    screenshot(page, "export-mentor-matrix")
    with page.expect_download() as info:
        downloads.get_by_role("listitem").filter(has_text="Progress matrix").get_by_role(
            "link", name="CSV"
        ).click()
    raw = info.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    labels = {row.learner.email: [cell.label for cell in row.cells] for row in matrix.rows}
    assert {row[1]: row[7:] for row in rows} == labels
