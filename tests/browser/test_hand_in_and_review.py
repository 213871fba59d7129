"""Issue 18 in a real browser, at desktop and phone widths: files chosen in the lab form
are handed in (with and without JavaScript), a failed submit changes nothing and the form
keeps checking fields, and a mentor's typed text is never dropped nor a verdict doubled."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from submissions import services
from submissions.models import Comment, Iteration, Review, Submission
from tests.factories import DEFAULT_PASSWORD
from tests.submissions.conftest import make_world
from tests.submissions.test_attachments import HTML, PNG

from .conftest import DESKTOP, PHONE, SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = pytest.mark.parametrize("width", ["desktop", "phone"])
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def shot(page, name: str, width: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"i18-{name}-{width}.png"), full_page=True)


def lab_path(world) -> str:
    return f"/submissions/cohort/{world.cohort.pk}/lab/{world.lab.pk}/"


def file_payload(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def open_as(new_page, user, width):
    page = new_page()
    page.set_viewport_size(VIEWPORTS[width])
    sign_in(page, user.email, DEFAULT_PASSWORD)
    return page


def script_errors(page) -> list[str]:
    """Console errors other than the 400 status of a form that came back with errors."""
    return [e for e in page.console_errors if "status of 400" not in e]


def iteration_files(submission, number) -> list[str]:
    iteration = Iteration.objects.get(submission=submission, number=number)
    return sorted(a.original_name for a in iteration.attachments.all())


@WIDTHS
def test_resubmit_takes_the_chosen_file_and_keeps_the_earlier_ones(new_page, live_server, width):
    world = make_world(mentors=1)
    submission = world.draft()
    services.attachment_add(
        actor=world.learner,
        submission=submission,
        uploaded_file=SimpleUploadedFile("plot.png", PNG),
    )
    services.submission_submit(actor=world.learner, submission=submission)
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Add the CSV."
    )

    page = open_as(new_page, world.learner, width)
    page.goto(lab_path(world))
    files = page.locator("#attachments")
    expect(files).to_contain_text("plot.png")
    expect(files).to_contain_text("handed in last time")
    # Submit comes after everything it hands in, the file chooser included.
    chooser = page.get_by_label("Add files")
    submit = page.get_by_role("button", name="Submit for review")
    assert chooser.bounding_box()["y"] < submit.bounding_box()["y"]
    assert page.evaluate(
        "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
        [chooser.element_handle(), submit.element_handle()],
    )
    # No separate Upload button to forget: choose a file, then Submit.
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)
    chooser.set_input_files(files=[file_payload("results.csv", b"n,t\n4096,1.5\n", "text/csv")])
    page.get_by_label("Notes for your mentor").fill("Added the CSV of the runs.")
    shot(page, "lab-files-chosen", width)
    submit.click()
    expect(page.locator(".messages")).to_contain_text("Iteration 2 handed in with 2 files")
    assert iteration_files(submission, 2) == ["plot.png", "results.csv"]
    assert iteration_files(submission, 1) == ["plot.png"]
    shot(page, "lab-handed-in", width)

    mentor = open_as(new_page, world.mentor, width)
    mentor.goto(f"/submissions/{submission.pk}/review/")
    diff = mentor.locator("section", has=mentor.get_by_role("heading", name="Changes since"))
    expect(diff).to_contain_text("Added: results.csv")
    expect(diff).not_to_contain_text("plot.png")
    shot(mentor, "review-diff-files", width)
    assert not script_errors(page) and not script_errors(mentor)


@WIDTHS
def test_without_javascript_submit_refuses_a_bad_file_then_takes_a_good_one(
    chromium, live_server, width
):
    world = make_world(mentors=1)
    context = chromium.new_context(
        java_script_enabled=False, base_url=live_server.url, viewport=VIEWPORTS[width]
    )
    try:
        page = context.new_page()
        sign_in(page, world.learner.email, DEFAULT_PASSWORD)
        page.goto(lab_path(world))
        page.get_by_label("Repository URL").fill("https://git.example.org/me/lab")
        page.get_by_label("Add files").set_input_files(
            files=[file_payload("evil.png", HTML, "image/png")]
        )
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator(".form-errors")).to_contain_text("Nothing was handed in")
        expect(page.locator("#attachments")).to_contain_text("evil.png")
        assert not Submission.objects.exists()
        shot(page, "lab-nojs-bad-file", width)

        page.get_by_label("Add files").set_input_files(
            files=[file_payload("plot.png", PNG, "image/png")]
        )
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator(".messages")).to_contain_text("Iteration 1 handed in with 1 file")
        assert iteration_files(Submission.objects.get(), 1) == ["plot.png"]
    finally:
        context.close()


@WIDTHS
def test_a_failed_submit_changes_nothing_and_fields_are_still_checked(new_page, live_server, width):
    world = make_world(mentors=1)
    page = open_as(new_page, world.learner, width)
    page.goto(lab_path(world))
    page.get_by_role("button", name="Submit for review").click()
    error = page.locator("#err-repo_url")
    expect(error).to_have_text("Add the link to your repository before submitting.")
    expect(page.locator(".page-header .chip").first).to_have_text("Not started")
    assert not Submission.objects.exists()
    shot(page, "lab-failed-submit", width)

    url = page.get_by_label("Repository URL")
    url.fill("ftp://example.org/lab")
    expect(error).to_contain_text("must start with http:// or https://")
    url.fill("https://git.example.org/me/lab")
    expect(error).to_have_text("")
    shot(page, "lab-fixed-field", width)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".messages")).to_contain_text("Iteration 1 handed in")
    assert not script_errors(page)


@WIDTHS
def test_mentor_text_is_never_dropped_and_a_verdict_is_given_once(new_page, live_server, width):
    world = make_world(mentors=1)
    submission = world.submitted()
    waiting = world.submitted(learner=world.add_learner())
    assert submission.assigned_to_id == world.mentor.pk

    page = open_as(new_page, world.mentor, width)
    page.goto("/submissions/queue/")
    row = page.locator("tr", has_text=world.learner.display_name)
    expect(row).to_contain_text("Assigned to you")
    expect(row.get_by_role("button", name=re.compile("^Claim"))).to_have_count(0)
    row.get_by_role("button", name=re.compile("^Start review")).click()
    expect(row).to_contain_text("You are reviewing")

    page.goto(f"/submissions/{submission.pk}/review/")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(
        crumbs.get_by_role("link", name=re.compile(re.escape(world.lab.title)))
    ).to_have_attribute("href", world.lab.get_absolute_url())
    expect(crumbs.get_by_role("link", name=world.cohort.name)).to_be_visible()
    expect(page.get_by_role("link", name="Read the lab brief")).to_be_visible()

    # Feedback typed into the discussion box, then "Post review": refused, nothing lost.
    page.get_by_label("Request changes").check()
    box = page.get_by_label("Message", exact=True)
    box.fill("Please add the N=4096 figures, see https://example.org/roofline")
    page.get_by_role("button", name="Post review").click()
    expect(page.locator("#review-form .form-errors")).to_contain_text("Your review was not posted")
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Please add the N=4096 figures, see https://example.org/roofline"
    )
    assert not Review.objects.exists()
    shot(page, "review-unsent-message", width)

    # Sending the message keeps the review chosen so far.
    page.get_by_role("button", name="Post message").click()
    link = page.locator("#thread .sub-comment a", has_text="https://example.org/roofline")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    assert Comment.objects.count() == 1
    expect(page.get_by_label("Request changes")).to_be_checked()
    page.get_by_label("Review", exact=True).fill("Add the N=4096 figures.")
    page.get_by_role("button", name="Post review").click()

    # After the verdict: what happened, what next; the form is not live any more.
    outcome = page.locator("#verdict-outcome")
    expect(outcome).to_contain_text("You requested changes on iteration 1")
    expect(page.get_by_role("link", name=re.compile("^Next submission"))).to_have_attribute(
        "href", f"/submissions/{waiting.pk}/review/"
    )
    expect(page.get_by_role("link", name="Back to queue")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Post (revised )?review"))).to_be_hidden()
    shot(page, "review-after-verdict", width)

    # A second verdict needs "Revise my verdict".
    page.get_by_text("Revise my verdict").click()
    page.get_by_label("Approve").check()
    shot(page, "review-revise", width)
    page.get_by_role("button", name="Post revised review").click()
    expect(page.locator("#verdict-outcome")).to_contain_text("You approved iteration 1")
    assert [r.verdict for r in Review.objects.order_by("pk")] == ["request_changes", "approve"]
    page.get_by_role("link", name=re.compile("^Next submission")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(waiting.learner.display_name)
    assert not script_errors(page)


def test_leaving_the_review_page_with_unsent_text_asks_first(new_page, live_server):
    world = make_world(mentors=1)
    submission = world.submitted()
    page = open_as(new_page, world.mentor, "desktop")
    page.goto(f"/submissions/{submission.pk}/review/")
    dialogs = []

    def answer(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()  # "Stay on page"

    page.on("dialog", answer)
    page.get_by_label("Review", exact=True).fill("Half a thought")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Review queue"
    ).click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert f"/submissions/{submission.pk}/review/" in page.url
    expect(page.get_by_label("Review", exact=True)).to_have_value("Half a thought")
    # Posting the form is not leaving it behind: no question then.
    page.get_by_label("Comment").check()
    page.get_by_role("button", name="Post review").click()
    expect(page.locator(".messages")).to_contain_text("Review posted: comment.")
    assert dialogs == ["beforeunload"]
