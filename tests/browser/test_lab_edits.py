"""In a real browser: each step once on the lab page, a staff edit with live preview, the
learner's "what changed", and a re-import that lists the edit as a conflict."""

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from cohorts.models import Membership
from curriculum.models import Lab
from tests.factories import (
    DEFAULT_PASSWORD,
    CohortFactory,
    MembershipFactory,
    StaffFactory,
)

from .conftest import CURRICULUM, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_STEP_START = "Test on a tiny MLP"
CORRECTION = "Define `f = x @ W1 + b1` and compare with `torch.autograd`."


@pytest.fixture
def course(live_server):
    call_command("import_curriculum", str(CURRICULUM), verbosity=0)
    lab = Lab.objects.select_related("track").get(
        track__slug="ai-systems", body__contains=LONG_STEP_START
    )
    cohort = CohortFactory(
        track=lab.track, start_date=timezone.localdate() - dt.timedelta(weeks=lab.week + 1)
    )
    learner = MembershipFactory(cohort=cohort, role=Membership.Role.LEARNER).user
    MembershipFactory(cohort=cohort, role=Membership.Role.MENTOR)
    return {"lab": lab, "cohort": cohort, "learner": learner, "staff": StaffFactory()}


def lab_url(course) -> str:
    return reverse("submissions:lab", args=[course["cohort"].pk, course["lab"].pk])


def test_steps_once_edit_with_preview_what_changed_and_conflict(new_page, course):
    lab = course["lab"]
    learner_page = new_page()
    sign_in(learner_page, course["learner"].email, DEFAULT_PASSWORD)
    learner_page.goto(lab_url(course))
    form = learner_page.locator("#draft-form")
    # The checklist renders code like the lab does, and shows a short label per step.
    expect(form.locator(".checklist code").first).to_be_visible()
    assert "`" not in form.inner_text()
    label = form.locator("label", has_text=LONG_STEP_START)
    expect(label).to_have_text("Test on a tiny MLP")
    full = form.locator("details.step-full", has=learner_page.locator("summary")).filter(
        has_text="torch.autograd"
    )
    expect(full.locator(".prose")).to_be_hidden()
    full.locator("summary").click()
    expect(full.locator(".prose")).to_contain_text("Verify the gradients match")
    screenshot(learner_page, "lab-steps-once")
    # The learner hands in against the current revision.
    learner_page.get_by_label("Repository URL").fill("https://git.example.org/me/micrograd")
    for box in form.locator("input[type=checkbox]").all():
        box.check()
    learner_page.get_by_role("button", name="Submit for review").click()
    expect(learner_page.locator("#draft-form")).to_contain_text("waiting for review")

    # Staff correct the lab, watching the live preview.
    staff_page = new_page()
    sign_in(staff_page, course["staff"].email, DEFAULT_PASSWORD)
    staff_page.goto(lab.get_absolute_url())
    expect(
        staff_page.locator(".lab-deliverables .step-label", has_text=LONG_STEP_START)
    ).to_have_text("Test on a tiny MLP")
    screenshot(staff_page, "catalog-lab-steps")
    staff_page.get_by_role("link", name="Edit this lab").click()
    body = staff_page.get_by_label("Lab text (Markdown)")
    text = body.input_value()
    body.fill(text.replace("This is Andrej Karpathy", CORRECTION + "\n\nThis is Andrej Karpathy"))
    expect(staff_page.locator("#lab-preview code", has_text="torch.autograd")).to_be_visible()
    staff_page.get_by_label("What did you correct?").fill("Marked the test formula as code")
    screenshot(staff_page, "lab-edit-preview")
    staff_page.get_by_role("button", name="Save as a new revision").click()
    expect(staff_page.locator("body")).to_contain_text("Saved as revision 2")

    # The learner sees what changed since the revision their iteration answered.
    learner_page.goto(lab_url(course))
    change = learner_page.locator(".lab-change")
    expect(change).to_contain_text("This lab changed on")
    expect(change).to_contain_text("Your last iteration (iteration 1) answered revision 1.")
    expect(change.locator(".worddiff ins").first).to_contain_text("Define")
    screenshot(learner_page, "lab-what-changed")

    # A re-import of the original file lists the edit as a conflict; the edit is kept.
    staff_page.goto("/curriculum/imports/new/")
    staff_page.get_by_label("Curriculum file").set_input_files(str(CURRICULUM))
    staff_page.get_by_role("button", name="Upload and preview").click()
    expect(staff_page.locator("#import-status")).to_contain_text("Review the changes below")
    conflicts = staff_page.locator(".import-conflicts")
    expect(conflicts).to_contain_text(lab.title)
    expect(conflicts.get_by_label("Keep the app edit")).to_be_checked()
    screenshot(staff_page, "import-conflict")
    staff_page.get_by_role("button", name="Apply this import").click()
    expect(staff_page.locator("#import-status")).to_contain_text("Applied")
    lab.refresh_from_db()
    assert CORRECTION in lab.body and lab.current_revision.number == 2
    expect(staff_page.locator(".import-track", has_text=lab.title)).to_contain_text(
        "The app edit was kept."
    )


def test_export_download_round_trips_and_preview_lists_changes_first(new_page, course, tmp_path):
    page = new_page()
    sign_in(page, course["staff"].email, DEFAULT_PASSWORD)
    page.goto("/curriculum/")
    page.locator(".export-menu summary").click()
    screenshot(page, "curriculum-export-menu")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("^YAML")).click()
    exported = tmp_path / info.value.suggested_filename
    info.value.save_as(exported)
    assert exported.name == "curriculum.yaml"

    # The export comes back unchanged.
    page.goto("/curriculum/imports/new/")
    page.get_by_label("Curriculum file").set_input_files(str(exported))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#import-status")).to_contain_text("Review the changes below")
    expect(page.locator(".import-summary")).to_contain_text("187 unchanged")
    expect(page.locator(".import-quiet")).to_contain_text("8 paths unchanged")
    page.get_by_role("button", name="Discard").click()

    # One changed lab: its path comes first, the other paths are one line, and
    # the diff sits above Apply.
    text = exported.read_text(encoding="utf-8")
    marker = "Write a shell script"
    assert marker in text
    (tmp_path / "changed.yaml").write_text(text.replace(marker, "Write a POSIX shell script", 1))
    page.goto("/curriculum/imports/new/")
    page.get_by_label("Curriculum file").set_input_files(str(tmp_path / "changed.yaml"))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#import-status")).to_contain_text("Review the changes below")
    tracks = page.locator(".import-track")
    expect(tracks).to_have_count(1)
    heading = tracks.first.locator("h2")
    expect(heading).to_contain_text("labs changed")
    expect(heading).not_to_contain_text("unchanged")
    expect(page.locator(".import-quiet")).to_contain_text("7 paths unchanged")
    diff = page.locator("details", has_text="Text changes").first
    diff.locator("summary").click()
    expect(diff).to_contain_text("POSIX")
    apply_button = page.get_by_role("button", name="Apply this import")
    assert diff.bounding_box()["y"] < apply_button.bounding_box()["y"]
    assert tracks.first.bounding_box()["y"] < page.locator(".import-quiet").bounding_box()["y"]
    screenshot(page, "import-preview-changes-first")
