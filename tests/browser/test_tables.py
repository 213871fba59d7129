"""Issue 18.2: table cells keep their words whole (the table scrolls sideways inside its
card instead), on every page with a table, at desktop and phone widths."""

import pytest
from django.urls import reverse

from curriculum.models import Lab
from demo.seeding import PASSWORDS

from .conftest import DESKTOP, PHONE, SCREENSHOTS, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every word of every table cell, as the browser laid it out: a word whose characters sit
# on more than one line was broken. Words are split at spaces and after dashes (a dash is
# a place where a line may end), except e-mail addresses, which read as one word; visually
# hidden text is skipped.
BROKEN_WORDS_JS = """
() => {
  const lines = (rects) => {
    const tops = [];
    for (const r of rects) {
      if (r.width < 1 || r.height < 1) continue;
      if (!tops.some((t) => Math.abs(t - r.top) < r.height / 2)) tops.push(r.top);
    }
    return tops.length;
  };
  // Visually hidden text (clipped to a pixel, like a phone's hidden table head) is skipped.
  const hidden = (el) => {
    for (; el && el.tagName !== "TABLE"; el = el.parentElement) {
      const box = el.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) return true;
    }
    return false;
  };
  const broken = [];
  for (const cell of document.querySelectorAll("main table td, main table th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (hidden(node.parentElement)) continue;
      const words = /\\S+@\\S+|[^\\s\\u2010-\\u2015-]+[\\u2010-\\u2015-]?/g;
      for (let m = words.exec(node.data); m; m = words.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        if (lines(range.getClientRects()) > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}
"""


def broken_words(page) -> list[str]:
    for details in page.locator("main details").all():
        details.evaluate("d => d.open = true")
    return page.evaluate(BROKEN_WORDS_JS)


def check_pages(page, paths: dict[str, str]) -> dict:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    failures = {}
    for name, path in paths.items():
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.goto(path)
            assert page.locator("main table").count(), f"{name}: no table on {path}"
            words = broken_words(page)
            if words:
                failures[f"{name} at {label}"] = words[:8]
            page.screenshot(path=str(SCREENSHOTS / f"tables-{name}-{label}.png"), full_page=True)
    return failures


def test_staff_and_mentor_tables_keep_words_whole(new_page, first_use):  # noqa: F811
    cohort, upload, person = first_use["cohort"], first_use["upload"], first_use["people"][0]
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    paths = {
        "staff-home": reverse("dashboard:staff"),
        "staff-cohort": reverse("dashboard:staff-cohort", args=[cohort.pk]),
        "cohort-list": reverse("cohorts:list"),
        "members": reverse("cohorts:members", args=[cohort.slug]),
        "csv-preview": reverse("cohorts:enrollment", args=[cohort.slug, upload.pk]),
        "schedule-staff": reverse("cohorts:schedule", args=[cohort.slug]),
        "join-links": reverse("cohorts:links", args=[cohort.slug]),
        "matrix": reverse("dashboard:mentor") + f"?cohort={cohort.pk}",
        "learner-history": reverse("dashboard:learner-history", args=[cohort.pk, person.pk]),
        "queue": reverse("submissions:queue") + "?tab=all",
        "imports": reverse("curriculum:import_list"),
        "track": reverse("curriculum:track", args=[cohort.track.slug]),
        "preferences": reverse("notifications:preferences"),
    }
    failures = check_pages(page, paths)
    assert not failures, f"table cells break words: {failures}"


def test_learner_tables_keep_words_whole(new_page, first_use):  # noqa: F811
    cohort, person = first_use["cohort"], first_use["people"][0]
    page = new_page()
    sign_in(page, person.email, "long-name-pass-123")
    paths = {
        "learner-home": reverse("dashboard:learner"),
        "schedule-learner": reverse("cohorts:schedule", args=[cohort.slug]),
    }
    failures = check_pages(page, paths)
    assert not failures, f"table cells break words: {failures}"


def test_long_words_in_running_text_still_wrap(new_page, first_use):  # noqa: F811
    """The fix for tables leaves prose alone: a lab whose step holds a long unbroken path
    still fits its card, and the page does not scroll sideways."""
    from accounts.models import User
    from curriculum.services import lab_edit

    cohort = first_use["cohort"]
    lab = Lab.objects.filter(track=cohort.track, active=True).order_by("week").first()
    long_path = "/srv/" + "/".join(["a-rather-long-directory-name"] * 4) + "/config.toml"
    lab_edit(
        actor=User.objects.get(email="admin@demo.cohortlabs.local"),
        lab=lab,
        title=lab.title,
        body=f"{lab.body}\n\n- Copy the settings to {long_path} and run it again.\n",
        note="A step with a long path.",
    )
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(reverse("curriculum:lab", args=[cohort.track.slug, lab.slug]))
        assert long_path in page.locator("main").inner_text()
        overflowing = page.evaluate(
            """() => [...document.querySelectorAll("main .card")]
                .filter((c) => c.scrollWidth > c.clientWidth + 1).length"""
        )
        assert overflowing == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_no_card_content_sticks_out_on_a_phone(new_page, first_use):  # noqa: F811
    """Whatever a card holds (a search row, a form) stays inside it; only a table scrolls."""
    cohort = first_use["cohort"]
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    page.set_viewport_size(PHONE)
    for path in (
        reverse("cohorts:members", args=[cohort.slug]),
        reverse("cohorts:schedule", args=[cohort.slug]),
        reverse("cohorts:links", args=[cohort.slug]),
        reverse("dashboard:staff"),
    ):
        page.goto(path)
        sticking_out = page.evaluate(
            """() => [...document.querySelectorAll("main .card *")]
                .filter((el) => !el.closest(".table-wrap") && el.getClientRects().length)
                .filter((el) => el.getBoundingClientRect().right >
                                el.closest(".card").getBoundingClientRect().right + 1)
                .map((el) => el.tagName + " " + (el.textContent || "").trim().slice(0, 30))"""
        )
        assert not sticking_out, f"{path}: {sticking_out}"
