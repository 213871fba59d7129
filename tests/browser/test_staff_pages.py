"""Issue 18.8 (staff navigation, schedule editing).

- The staff dashboard and the cohort management pages link to each other, and the staff
  home offers "New cohort" and "Import curriculum".
- The schedule page folds each week's date editor behind "Edit", so the extensions are
  near the top instead of ~4,000 px down, and a week's dates can still be changed.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from demo.seeding import PASSWORDS

from .conftest import DESKTOP, PHONE, screenshot, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def staff(new_page):
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    return page


def test_staff_home_and_cohort_pages_link_to_each_other(new_page, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    page = staff(new_page)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(reverse("dashboard:staff"))
        main = page.locator("main")
        expect(main.get_by_role("link", name="New cohort")).to_have_attribute(
            "href", reverse("cohorts:create")
        )
        expect(main.get_by_role("link", name="Import curriculum")).to_have_attribute(
            "href", reverse("curriculum:import_upload")
        )
        expect(main.get_by_role("link", name=f"Members of {cohort.name}")).to_be_visible()
    screenshot(page, "staff-home")

    # Metrics -> management -> metrics, by the cohort's tabs.
    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name=cohort.name, exact=True).click()
    expect(page.get_by_role("heading", name="Progress distribution")).to_be_visible()
    sections = page.get_by_role("navigation", name="Cohort sections")
    expect(sections.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    for name in ("Schedule", "Members", "Join links", "Settings"):
        page.get_by_role("navigation", name="Cohort sections").get_by_role(
            "link", name=name
        ).click()
        overview = page.get_by_role("navigation", name="Cohort sections").get_by_role(
            "link", name="Overview"
        )
        expect(overview).to_have_attribute(
            "href", reverse("dashboard:staff-cohort", args=[cohort.pk])
        )
        overview.click()
        expect(page.get_by_role("heading", name="Progress distribution")).to_be_visible()
    screenshot(page, "staff-cohort-overview")

    # The cohort list reaches each cohort's overview and the staff home.
    page.goto(reverse("cohorts:list"))
    page.get_by_role("link", name=f"Overview of {cohort.name}").click()
    expect(page.get_by_role("heading", name="Progress distribution")).to_be_visible()
    page.goto(reverse("cohorts:list"))
    page.locator("main").get_by_role("link", name="Staff overview").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard:staff")) + "$"))


def test_schedule_editors_are_folded_and_extensions_are_near(new_page, first_use):  # noqa: F811
    cohort, lab = first_use["cohort"], first_use["labs"][2]
    page = staff(new_page)
    path = reverse("cohorts:schedule", args=[cohort.slug])
    for label, viewport, most in (("desktop", DESKTOP, 2000), ("phone", PHONE, 3600)):
        page.set_viewport_size(viewport)
        page.goto(path)
        visible_editors = page.locator(".schedule-table input[type=datetime-local]:visible")
        expect(visible_editors).to_have_count(0)
        heading = page.get_by_role("heading", name="Grant an extension")
        top = heading.evaluate("h => h.getBoundingClientRect().top + window.scrollY")
        assert top < most, f"the extension form is {top:.0f} px down at {label}"
        page.locator("main").get_by_role("link", name=re.compile("^Extensions")).click()
        expect(heading).to_be_in_viewport()
    screenshot(page, "schedule-staff")

    # One week's editor opens on demand and saves.
    page.set_viewport_size(DESKTOP)
    page.goto(path)
    row = page.locator(f"#lab-{lab.pk}")
    row.get_by_text(f"Edit week {lab.week} dates").click()
    expect(page.locator(".schedule-table input[type=datetime-local]:visible")).to_have_count(2)
    page.set_viewport_size(PHONE)  # the open editor fits the phone's width
    assert row.evaluate("r => r.scrollWidth <= r.closest('.table-wrap').clientWidth + 1")
    screenshot(page, "schedule-staff-editing")
    row.get_by_label("Due").fill("2031-03-04T18:30")
    row.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.locator(".messages")).to_contain_text(f"Week {lab.week} dates saved.")
    expect(page.locator(f"#lab-{lab.pk}")).to_contain_text("Changed")
    expect(page.locator(f"#lab-{lab.pk}")).to_contain_text("4 Mar 2031, 18:30")
    screenshot(page, "schedule-staff-edited")
