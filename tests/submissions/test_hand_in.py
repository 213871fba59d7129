"""The lab page's one form hands in what it shows: link, notes, checklist and files.

Posts go through the Django test client as a browser without JavaScript sends them (one
multipart form), so these hold with and without htmx.
"""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.exceptions import ApplicationError
from submissions import selectors, services
from submissions.models import Attachment, Iteration, Submission

from .test_attachments import HTML, PNG

pytestmark = pytest.mark.django_db


def lab_url(world):
    return reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def form(world, **extra):
    return {
        "repo_url": "https://github.com/me/lab",
        "commit_sha": "",
        "notes": "notes",
        "checklist": ["0"],
        **extra,
    }


def png(name="shot.png"):
    return SimpleUploadedFile(name, PNG, "image/png")


def text(name, body=b"hello"):
    return SimpleUploadedFile(name, body, "text/plain")


def names(iteration) -> list[str]:
    return sorted(a.original_name for a in iteration.attachments.all())


def test_submit_takes_the_files_chosen_in_the_form_without_an_upload_step(client, world):
    client.force_login(world.learner)
    response = client.post(
        lab_url(world),
        form(world, action="submit", files=[png(), text("report.txt")]),
        follow=True,
    )
    assert response.status_code == 200
    assert "Iteration 1 handed in with 2 files" in response.content.decode()
    iteration = Iteration.objects.get()
    assert names(iteration) == ["report.txt", "shot.png"]


def test_save_draft_keeps_chosen_files_and_removes_ticked_ones(client, world):
    client.force_login(world.learner)
    client.post(lab_url(world), form(world, action="save", files=[png(), text("a.txt")]))
    submission = Submission.objects.get()
    drafts = {a.original_name: a for a in selectors.draft_attachments(submission)}
    assert set(drafts) == {"shot.png", "a.txt"}
    response = client.post(
        lab_url(world), form(world, action="save", remove_files=[drafts["a.txt"].pk]), follow=True
    )
    assert "Draft saved (1 file removed)." in response.content.decode()
    assert [a.original_name for a in selectors.draft_attachments(submission)] == ["shot.png"]


def test_a_new_iteration_starts_with_the_previous_files_and_the_diff_lists_changes(
    client, world, settings
):
    client.force_login(world.learner)
    client.post(lab_url(world), form(world, action="submit", files=[png(), text("old.txt")]))
    submission = Submission.objects.get()
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="More"
    )
    page = client.get(lab_url(world)).content.decode()
    assert "shot.png" in page and "old.txt" in page and "handed in last time" in page
    old = next(a for a in selectors.draft_attachments(submission) if a.original_name == "old.txt")
    response = client.post(
        lab_url(world),
        form(world, action="submit", files=[text("new.txt")], remove_files=[old.pk]),
        follow=True,
    )
    assert "Iteration 2 handed in with 2 files" in response.content.decode()
    first, second = Iteration.objects.order_by("number")
    assert names(first) == ["old.txt", "shot.png"]
    assert names(second) == ["new.txt", "shot.png"]
    # The carried-over file is the same stored file; the removed one stays for iteration 1.
    assert first.attachments.get(original_name="shot.png").file.name == (
        second.attachments.get(original_name="shot.png").file.name
    )
    assert len(stored_files(settings)) == 3
    history = selectors.submission_history(submission)["iterations"]
    diff = selectors.iteration_diff(history[1], history[0])
    assert [a.original_name for a in diff.files_added] == ["new.txt"]
    assert [a.original_name for a in diff.files_removed] == ["old.txt"]
    assert diff.has_changes

    client.force_login(world.mentor)
    review = client.get(reverse("submissions:review", kwargs={"pk": submission.pk}))
    html = review.content.decode()
    assert "Added: " in html and "new.txt" in html
    assert "Removed: old.txt" in html


def test_a_rejected_file_means_no_iteration_no_row_and_no_stored_file(client, world, settings):
    client.force_login(world.learner)
    client.post(lab_url(world), form(world, action="save"))
    submission = Submission.objects.get()
    before = stored_files(settings)
    response = client.post(
        lab_url(world),
        form(world, action="submit", files=[png(), SimpleUploadedFile("evil.png", HTML)]),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was handed in" in html
    assert "evil.png: The file&#x27;s content is not a valid .png file." in html
    submission.refresh_from_db()
    assert submission.state == "draft" and submission.iteration_count == 0
    assert not Iteration.objects.exists() and not Attachment.objects.exists()
    assert stored_files(settings) == before


def test_too_many_files_are_refused_before_anything_is_stored(client, world, settings):
    settings.ATTACHMENT_MAX_PER_ITERATION = 2
    client.force_login(world.learner)
    client.post(lab_url(world), form(world, action="save", files=[png()]))
    before = stored_files(settings)
    response = client.post(
        lab_url(world), form(world, action="submit", files=[text("a.txt"), text("b.txt")])
    )
    assert response.status_code == 400
    assert "At most 2 files can be handed in at once: 1 already attached and 2 chosen" in (
        response.content.decode()
    )
    assert stored_files(settings) == before and Attachment.objects.count() == 1


def test_a_file_of_another_submission_cannot_be_removed(world):
    other = world.add_learner()
    theirs = world.draft(learner=other)
    their_file = services.attachment_add(actor=other, submission=theirs, uploaded_file=png())
    mine = world.draft()
    with pytest.raises(ApplicationError) as err:
        services.submission_save_draft(
            actor=world.learner,
            submission=mine,
            repo_url="https://github.com/me/lab",
            commit_sha="",
            notes="",
            checklist=[],
            remove_attachment_ids=[their_file.pk],
        )
    assert err.value.extra["errors"]["remove_files"]
    assert Attachment.objects.filter(pk=their_file.pk).exists()


def test_failed_submit_of_a_new_lab_creates_no_draft_and_keeps_inline_validation(client, world):
    client.force_login(world.learner)
    before = client.get(lab_url(world)).content.decode()
    response = client.post(lab_url(world), form(world, repo_url="", action="submit"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Add the link to your repository before submitting." in html
    # No draft appeared: the page still says "Not started", and nothing is in the database.
    assert not Submission.objects.exists()
    assert "Not started" in html and ">Draft<" not in html
    # The fields are checked as they are typed, exactly as before the failed submit.
    validate = reverse(
        "submissions:validate", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk}
    )
    for page in (before, html):
        assert page.count(f'hx-post="{validate}"') == 2
        assert 'hx-trigger="input changed delay:500ms, change"' in page


def test_failed_submit_changes_nothing_on_an_existing_draft(client, world):
    submission = world.submitted(notes="first")
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="More"
    )
    submission.refresh_from_db()
    before = (submission.repo_url, submission.notes, submission.updated_at, submission.state)
    client.force_login(world.learner)
    response = client.post(
        lab_url(world), form(world, repo_url="", notes="second", action="submit", files=[png()])
    )
    assert response.status_code == 400
    html = response.content.decode()
    # What was typed comes back; the chosen file is named so it can be chosen again.
    assert "second" in html
    assert "Choose shot.png again" in html
    submission.refresh_from_db()
    assert (submission.repo_url, submission.notes, submission.updated_at, submission.state) == (
        before
    )
    assert submission.attachments.count() == 0


def test_failed_save_of_a_new_lab_creates_no_draft(client, world):
    client.force_login(world.learner)
    response = client.post(lab_url(world), form(world, repo_url="ftp://x", action="save"))
    assert response.status_code == 400
    assert not Submission.objects.exists()
