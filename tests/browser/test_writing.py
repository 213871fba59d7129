"""Issue 15 (writing) in a real browser, at desktop and phone widths: the Preview button
under the notes, comment and review boxes shows the sanitized Markdown, and an author edits
their message in place (the thread says "edited") or deletes it."""

import re

import pytest
from playwright.sync_api import expect

from submissions import services
from submissions.models import Comment
from tests.factories import DEFAULT_PASSWORD
from tests.submissions.conftest import make_world

from .conftest import DESKTOP, PHONE, SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = pytest.mark.parametrize("width", ["desktop", "phone"])
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def shot(page, name: str, width: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"i15-{name}-{width}.png"), full_page=True)


def open_as(new_page, user, width):
    page = new_page()
    page.set_viewport_size(VIEWPORTS[width])
    sign_in(page, user.email, DEFAULT_PASSWORD)
    return page


def _submitted(world):
    submission = world.submitted(notes="Tried **twice**")
    return submission


@WIDTHS
def test_preview_then_post_then_edit_in_place_then_delete(new_page, live_server, width):
    world = make_world(mentors=1)
    submission = _submitted(world)
    page = open_as(new_page, world.learner, width)
    page.goto(f"/submissions/cohort/{world.cohort.pk}/lab/{world.lab.pk}/")

    thread = page.locator("#thread")
    thread.get_by_label("Message").fill("Is **this** right? <script>alert(1)</script>")
    thread.get_by_role("button", name="Preview").click()
    preview = page.locator("#id_comment_body-preview")
    expect(preview.locator("strong")).to_have_text("this")
    expect(preview).not_to_contain_text("alert")
    shot(page, "comment-preview", width)

    thread.get_by_role("button", name="Post message").click()
    expect(page.locator(".sub-comment .prose strong")).to_have_text("this")
    comment = Comment.objects.get(submission=submission)
    item = page.locator(f"#comment-{comment.pk}")

    item.get_by_role("link", name="Edit").click()  # htmx: the form takes the message's place
    box = item.get_by_label("Message")
    expect(box).to_have_value(re.compile(r"Is \*\*this\*\* right\?"))
    assert page.url.endswith(f"/lab/{world.lab.pk}/")  # still the lab page: edited in place
    box.fill("Is *that* right?")
    item.get_by_role("button", name="Preview").click()
    expect(page.locator(f"#id_comment_{comment.pk}_body-preview em")).to_have_text("that")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".prose em")).to_have_text("that")
    edited = item.locator(".sub-comment-edited")
    expect(edited).to_have_text("edited")
    expect(edited).to_have_attribute("title", re.compile(r"^Edited \d+ \w+ \d{4}, \d\d:\d\d$"))
    item.scroll_into_view_if_needed()
    shot(page, "comment-edited", width)

    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Delete").click()
    expect(item).to_contain_text("Comment deleted")
    comment.refresh_from_db()
    assert comment.deleted_at is not None and comment.body == ""
    assert not [e for e in page.console_errors if "status of 400" not in e]


@WIDTHS
def test_mentor_previews_the_review_and_the_learner_previews_notes(new_page, live_server, width):
    world = make_world(mentors=1)
    submission = _submitted(world)
    services.submission_claim(actor=world.mentor, submission=submission)
    page = open_as(new_page, world.mentor, width)
    page.goto(f"/submissions/{submission.pk}/review/")
    page.locator("#id_body").fill(
        "- good\n- [docs](https://example.com)\n<img src=x onerror=alert(1)>"
    )
    page.locator("#id_body").locator("xpath=..").get_by_role("button", name="Preview").click()
    preview = page.locator("#id_body-preview")
    expect(preview.locator("li")).to_have_count(2)
    expect(preview.locator("a")).to_have_attribute("href", "https://example.com")
    assert preview.locator("img[onerror]").count() == 0
    page.locator("#id_comment_body").fill("A _side_ note")
    page.locator("#thread").get_by_role("button", name="Preview").click()
    expect(page.locator("#id_comment_body-preview em")).to_have_text("side")
    shot(page, "review-preview", width)

    learner = open_as(new_page, world.add_learner(), width)
    learner.goto(f"/submissions/cohort/{world.cohort.pk}/lab/{world.lab.pk}/")
    learner.locator("#id_notes").fill("## Steps\n1. cloned")
    learner.locator("#id_notes").locator("xpath=..").get_by_role("button", name="Preview").click()
    expect(learner.locator("#id_notes-preview h2")).to_have_text("Steps")


def test_without_javascript_there_is_no_preview_button_and_editing_works(chromium, live_server):
    world = make_world(mentors=1)
    submission = _submitted(world)
    comment = services.comment_create(actor=world.learner, submission=submission, body="Frist")
    context = chromium.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        sign_in(page, world.learner.email, DEFAULT_PASSWORD)
        page.goto(f"/submissions/cohort/{world.cohort.pk}/lab/{world.lab.pk}/")
        expect(page.get_by_role("button", name="Preview")).to_have_count(0)
        page.locator(f"#comment-{comment.pk}").get_by_role("link", name="Edit").click()
        page.get_by_label("Message").fill("First")
        page.get_by_role("button", name="Save").click()
        item = page.locator(f"#comment-{comment.pk}")
        expect(item).to_contain_text("First")
        expect(item.locator(".sub-comment-edited")).to_have_text("edited")
    finally:
        context.close()
