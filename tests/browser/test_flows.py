"""End to end in a real browser: the review loop, the learner's progress, a curriculum import."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from cohorts.models import Cohort, Membership
from curriculum.models import Lab
from demo.seeding import PASSWORDS, seed_demo
from submissions.models import Submission

from .conftest import CURRICULUM, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEARNER_PASSWORD = "flow-learner-pass-123"


@pytest.fixture
def demo(live_server):
    call_command("import_curriculum", str(CURRICULUM), verbosity=0)
    seed_demo()
    cohort = Cohort.objects.get(slug="demo-1")
    # A learner who joins today: every released lab is still to do, so the flow is certain.
    learner = User.objects.create_user(
        email="flow-learner@example.com", password=LEARNER_PASSWORD, name="Flo Learner"
    )
    Membership.objects.create(user=learner, cohort=cohort, role=Membership.Role.LEARNER)
    lab = Lab.objects.filter(track=cohort.track, active=True).order_by("week").first()
    return {"cohort": cohort, "learner": learner, "lab": lab}


def progress_value(page) -> int:
    return int(page.locator("progress.meter").first.get_attribute("value"))


def test_submit_review_resubmit_approve_moves_the_progress_bar(new_page, demo):
    cohort, learner, lab = demo["cohort"], demo["learner"], demo["lab"]
    learner_page = new_page()
    sign_in(learner_page, learner.email, LEARNER_PASSWORD)
    learner_page.goto("/dashboard/")
    expect(learner_page.get_by_role("heading", name=cohort.name)).to_be_visible()
    before = progress_value(learner_page)
    assert before == 0

    # The learner opens the first released lab from the week list and submits it.
    learner_page.get_by_role("link", name=lab.title, exact=True).first.click()
    expect(
        learner_page.get_by_role("heading", name=re.compile(re.escape(lab.title)))
    ).to_be_visible()
    screenshot(learner_page, "lab-page")
    learner_page.get_by_label("Repository URL").fill("https://git.example.org/flo/roofline")
    for box in learner_page.locator("#draft-form input[type=checkbox]").all():
        box.check()
    learner_page.get_by_role("button", name="Submit for review").click()
    learner_page.wait_for_load_state()
    submission = Submission.objects.get(learner=learner, lab=lab)
    assert submission.state == "submitted"
    mentor = submission.assigned_to
    assert mentor is not None, "a mentor should be assigned on submit"

    # The assigned mentor finds it in the queue, claims it and asks for changes.
    mentor_page = new_page()
    sign_in(mentor_page, mentor.email, PASSWORDS["mentor"])
    mentor_page.goto("/submissions/queue/")
    row = mentor_page.locator("tr", has_text=learner.display_name).filter(has_text=lab.title)
    expect(row).to_be_visible()
    screenshot(mentor_page, "queue")
    row.get_by_role("button", name="Start review").click()
    expect(
        mentor_page.locator("tr", has_text=learner.display_name).filter(has_text="In review")
    ).to_be_visible()
    submission.refresh_from_db()
    assert submission.state == "in_review"
    mentor_page.goto(f"/submissions/{submission.pk}/review/")
    screenshot(mentor_page, "review-page")
    mentor_page.get_by_label("Request changes").check()
    mentor_page.get_by_label("Review", exact=True).fill(
        "Please add the measured figures for N=4096."
    )
    mentor_page.get_by_role("button", name="Post review").click()
    mentor_page.wait_for_load_state()
    submission.refresh_from_db()
    assert submission.state == "changes_requested"

    # The learner is told (bell and notification list), edits and resubmits.
    learner_page.goto("/dashboard/")
    expect(learner_page.locator("#notification-bell")).to_have_attribute(
        "aria-label", re.compile(r"unread")
    )
    learner_page.goto("/notifications/")
    expect(learner_page.locator("main")).to_contain_text(lab.title)
    learner_page.goto("/dashboard/")
    next_up = learner_page.locator(
        "section", has=learner_page.get_by_role("heading", name="Next up")
    )
    expect(next_up).to_contain_text("Changes requested")
    next_up.get_by_role("link", name=re.compile(re.escape(lab.title))).click()
    learner_page.get_by_label("Notes for your mentor").fill("Added the N=4096 figures.")
    learner_page.get_by_role("button", name="Submit for review").click()
    learner_page.wait_for_load_state()
    submission.refresh_from_db()
    assert submission.state == "submitted" and submission.iteration_count == 2

    # The mentor approves the second iteration.
    mentor_page.goto(f"/submissions/{submission.pk}/review/")
    mentor_page.get_by_label("Approve").check()
    mentor_page.get_by_label("Review", exact=True).fill("Great, approved.")
    mentor_page.get_by_role("button", name="Post review").click()
    mentor_page.wait_for_load_state()
    submission.refresh_from_db()
    assert submission.state == "approved"

    # The learner's progress bar moved.
    learner_page.goto("/dashboard/")
    assert progress_value(learner_page) == before + 1
    expect(learner_page.locator("main")).to_contain_text("Great, approved.")
    screenshot(learner_page, "learner-home")

    mentor_page.goto(f"/dashboard/mentor/?cohort={cohort.pk}")
    expect(
        mentor_page.get_by_role("link", name=learner.display_name, exact=True).first
    ).to_be_visible()
    screenshot(mentor_page, "matrix")
    assert not learner_page.console_errors and not mentor_page.console_errors


def test_staff_import_shows_the_diff_before_applying(new_page, demo, tmp_path):
    original = CURRICULUM.read_text(encoding="utf-8")
    marker = "Keep the plot-every subsequent lab will produce another."
    assert marker in original
    updated = original.replace(marker, marker + " Label both axes and note your CPU model.", 1)
    lab_count = Lab.objects.count()

    page = new_page()
    sign_in(page, "admin@demo.cohortlabs.local", PASSWORDS["admin"])
    page.goto("/curriculum/imports/new/")
    page.get_by_label("Curriculum file").set_input_files(
        files=[{"name": "labs-updated.txt", "mimeType": "text/plain", "buffer": updated.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#import-status")).to_contain_text("Review the changes below")
    summary = page.locator(".import-summary")
    expect(summary).to_contain_text("1 changed")
    expect(page.locator("main")).to_contain_text("Label both axes")
    page.locator("details", has_text="Text changes").first.locator("summary").click()
    screenshot(page, "import-preview")
    # Nothing changed before applying.
    assert (
        "Label both axes"
        not in Lab.objects.get(track__slug__isnull=False, body__contains=marker).body
    )

    page.get_by_role("button", name="Apply this import").click()
    expect(page.locator("#import-status")).to_contain_text("Applied")
    assert Lab.objects.count() == lab_count
    assert Lab.objects.filter(body__contains="Label both axes").count() == 1


def test_matrix_sort_swaps_the_panel_in_place(new_page, demo):
    page = new_page()
    sign_in(page, "mentor1@demo.cohortlabs.local", PASSWORDS["mentor"])
    page.goto("/dashboard/mentor/")
    page.evaluate("window.__stayed = true")
    page.locator("#matrix-panel").get_by_role("link", name="Progress", exact=True).click()
    expect(page.locator("#matrix-panel strong[aria-current]")).to_have_text("Progress")
    assert page.evaluate("window.__stayed === true"), "htmx should swap the panel, not reload"
    assert "sort=progress" in page.url
    # Without JavaScript the same link loads the whole page.
    context = page.context.browser.new_context(
        java_script_enabled=False, base_url=page.url.split("/dashboard")[0]
    )
    try:
        plain = context.new_page()
        sign_in(plain, "mentor1@demo.cohortlabs.local", PASSWORDS["mentor"])
        plain.goto("/dashboard/mentor/")
        plain.locator("#matrix-panel").get_by_role("link", name="Progress", exact=True).click()
        expect(plain.locator("#matrix-panel strong[aria-current]")).to_have_text("Progress")
    finally:
        context.close()
