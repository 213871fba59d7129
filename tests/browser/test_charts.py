"""Issue 18.7: charts fit the phone: every bar and the "now" marker are in view, at a
readable size, at 390 px as at 1280 px."""

import pytest
from django.urls import reverse

from demo.seeding import PASSWORDS

from .conftest import DESKTOP, PHONE, screenshot, sign_in
from .first_use import first_use  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# For each chart the reader can see: its bars with a height, the "now" label, and any text
# that lies outside what is visible of the chart (its scroll box, its card, the viewport),
# plus the smallest rendered text height.
CHARTS_JS = """
() => [...document.querySelectorAll("main svg.chart-svg")]
  .filter((svg) => svg.getBoundingClientRect().width > 0)
  .map((svg) => {
    let view = { left: 0, right: document.documentElement.clientWidth };
    for (let el = svg.parentElement; el; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (style.overflowX !== "visible" || el.classList.contains("card")) {
        const box = el.getBoundingClientRect();
        view = { left: Math.max(view.left, box.left), right: Math.min(view.right, box.right) };
      }
    }
    const outside = (r) => r.left < view.left - 1 || r.right > view.right + 1;
    const bars = [...svg.querySelectorAll("rect")].filter((r) => r.getBoundingClientRect().height > 0);
    const texts = [...svg.querySelectorAll("text")];
    const now = texts.filter((t) => t.textContent === "now");
    return {
      id: svg.id || svg.getAttribute("aria-labelledby"),
      bars: bars.length,
      barsOutside: bars.filter((r) => outside(r.getBoundingClientRect())).length,
      now: now.length,
      nowOutside: now.filter((t) => outside(t.getBoundingClientRect())).length,
      textOutside: texts.filter((t) => outside(t.getBoundingClientRect())).map((t) => t.textContent),
      smallestText: Math.min(...texts.map((t) => t.getBoundingClientRect().height)),
    };
  })
"""


def visible_charts(page, path: str, viewport: dict) -> list[dict]:
    page.set_viewport_size(viewport)
    page.goto(path)
    return page.evaluate(CHARTS_JS)


def assert_in_view(charts: list[dict], where: str) -> None:
    assert charts, f"{where}: no chart shown"
    for chart in charts:
        assert chart["barsOutside"] == 0, f"{where}: bars out of view in {chart}"
        assert chart["nowOutside"] == 0, f"{where}: 'now' out of view in {chart}"
        assert not chart["textOutside"], f"{where}: labels out of view in {chart}"
        assert chart["smallestText"] >= 9, f"{where}: text too small to read in {chart}"


def test_staff_charts_show_every_bar_on_a_phone(new_page, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    path = reverse("dashboard:staff-cohort", args=[cohort.pk])
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        charts = visible_charts(page, path, viewport)
        assert len(charts) == 2
        assert all(chart["bars"] for chart in charts)
        assert_in_view(charts, f"staff overview at {label}")
    screenshot(page, "charts-staff-cohort")


def test_learner_progress_chart_shows_now_on_a_phone(new_page, first_use):  # noqa: F811
    cohort = first_use["cohort"]
    page = new_page()
    sign_in(page, "learner1@demo.cohortlabs.local", PASSWORDS["learner"])
    learner = first_use["people"][0]
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        charts = visible_charts(page, reverse("dashboard:learner"), viewport)
        assert [chart["now"] for chart in charts] == [1]
        assert_in_view(charts, f"learner home at {label}")
    screenshot(page, "charts-learner-home")

    mentor = new_page()
    sign_in(mentor, "mentor1@demo.cohortlabs.local", PASSWORDS["mentor"])
    history = reverse("dashboard:learner-history", args=[cohort.pk, learner.pk])
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        assert_in_view(visible_charts(mentor, history, viewport), f"learner history at {label}")
