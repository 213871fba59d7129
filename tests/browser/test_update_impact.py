"""In a real browser: staff read who a curriculum update reaches on the import preview, keep
one cohort on its current revisions, see it on the cohort page, and that cohort's learner
keeps the old text while another cohort's learner reads the new one."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.cohorts.pin_world import NEW_STEP, make_pin_world
from tests.factories import DEFAULT_PASSWORD

from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_preview_lists_the_impact_and_staff_keep_one_cohort(new_page, live_server):
    world = make_pin_world()
    record = world.preview(changed_weeks=(2, 3))
    staff = new_page()
    sign_in(staff, world.staff.email, DEFAULT_PASSWORD)
    staff.goto(reverse("curriculum:import_detail", args=[record.pk]))
    impact = staff.locator("#impact")
    expect(impact).to_contain_text("Who this update reaches")
    week2 = staff.locator(f"#impact-lab-{world.labs[2].pk}")
    expect(week2).to_contain_text("Spring Go")
    expect(week2).to_contain_text("2 drafts")
    expect(week2).to_contain_text("2 handed in")
    expect(week2).to_contain_text("1 in review")
    expect(week2.locator(".impact-people a", has_text="Cy Claimed").first).to_be_visible()
    expect(week2).to_contain_text("by Mona Mentor")
    expect(week2).not_to_contain_text("Hal Finished")
    screenshot(staff, "update-impact-preview")

    choices = staff.locator("#cohort-choices")
    expect(choices.get_by_text("Spring Go")).to_be_visible()
    spring = choices.locator("li", has_text="Spring Go")
    spring.get_by_label(re.compile("Keep this cohort on its current revisions")).check()
    expect(choices.locator("li", has_text="Summer Go").get_by_label("Apply now")).to_be_checked()
    staff.get_by_role("button", name="Apply this import").click()
    staff.wait_for_load_state()
    expect(staff.locator("ul.messages")).to_contain_text("applied")

    staff.goto(reverse("cohorts:schedule", args=[world.running.slug]))
    pinning = staff.locator("#pinning")
    expect(pinning).to_contain_text("Kept on its current revisions until the cohort ends")
    expect(staff.locator(f"#lab-{world.labs[2].pk}")).to_contain_text("Kept on revision 1")
    screenshot(staff, "update-impact-cohort-pinned")

    learner = new_page()
    sign_in(learner, world.people["Ada Draft"].email, DEFAULT_PASSWORD)
    learner.goto(reverse("submissions:lab", args=[world.running.pk, world.labs[2].pk]))
    expect(learner.locator(".lab-pinned")).to_contain_text("stays on revision 1")
    expect(learner.locator("main")).not_to_contain_text(NEW_STEP)
    expect(learner.locator("#draft-form .checklist li")).to_have_count(2)
    screenshot(learner, "update-impact-learner-kept")

    other = new_page()
    sign_in(other, world.people["Fay Other"].email, DEFAULT_PASSWORD)
    other.goto(reverse("submissions:lab", args=[world.other.pk, world.labs[2].pk]))
    expect(other.locator("#draft-form .checklist li")).to_have_count(3)
    expect(other.locator(".lab-change")).to_be_visible()

    # Staff end the pin for week 2 on the cohort page: the learner reads the latest.
    staff.goto(reverse("cohorts:schedule", args=[world.running.slug]))
    staff.locator("#pinning li", has_text="Week 2").get_by_role(
        "button", name=re.compile("Apply the latest")
    ).click()
    staff.wait_for_load_state()
    expect(staff.locator("#pinning")).not_to_contain_text("Week 2 · Lab number 2")
    learner.reload()
    expect(learner.locator("#draft-form .checklist li")).to_have_count(3)
    expect(learner.locator(".lab-change")).to_be_visible()
    assert not staff.console_errors and not learner.console_errors
