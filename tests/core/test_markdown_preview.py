"""The Preview button under every Markdown box shows the text as it will be saved."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.submissions.conftest import make_world

pytestmark = pytest.mark.django_db
URL = "/markdown/preview/"


def test_route_name_matches():
    assert reverse("markdown-preview") == URL


def test_preview_needs_sign_in_and_post(client):
    response = client.post(URL, {"body": "**hi**"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(UserFactory())
    assert client.get(URL, {"body": "**hi**"}).status_code == 405


@pytest.mark.parametrize("field", ["body", "notes", "message"])
def test_preview_renders_markdown_and_strips_what_executes(client, field):
    client.force_login(UserFactory())
    text = (
        "**bold** <script>alert(1)</script> <img src=x onerror=alert(2)> "
        '[link](javascript:alert(3)) <a href="#" hx-get="/admin/">x</a> <b style="x">s</b>'
    )
    response = client.post(URL, {field: text}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>bold</strong>" in html
    for bad in ("<script", "onerror", "javascript:", "hx-get", "style="):
        assert bad not in html
    assert "HX-Request" in response["Vary"]


def test_preview_of_nothing_says_so(client):
    client.force_login(UserFactory())
    assert "Nothing to preview" in client.post(URL, {"body": "  "}).content.decode()


def test_preview_refuses_text_past_the_limit(client):
    client.force_login(UserFactory())
    text = "a" * 50_001
    plain = client.post(URL, {"body": text})
    assert plain.status_code == 400 and "Too long to preview" in plain.content.decode()
    htmx = client.post(URL, {"body": text}, HTTP_HX_REQUEST="true")
    assert "Too long to preview" in htmx.content.decode() and "aaaa" not in htmx.content.decode()


def test_preview_needs_the_csrf_token(db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(UserFactory())
    assert strict.post(URL, {"body": "x"}).status_code == 403


def test_every_markdown_box_has_a_preview_button(client):
    world = make_world(mentors=1)
    from submissions import services

    submission = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.lab
    )
    client.force_login(world.learner)
    lab_page = client.get(
        reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})
    ).content.decode()
    # Hidden without JavaScript: js/preview.js reveals it.
    assert 'data-md-preview hidden hx-post="/markdown/preview/" hx-include="#id_notes"' in lab_page
    assert 'hx-include="#id_comment_body" hx-params="body"' in lab_page
    services.submission_save_draft(
        actor=world.learner,
        submission=submission,
        repo_url="https://github.com/example/lab",
        commit_sha="",
        notes="",
        checklist=[0],
    )
    services.submission_submit(actor=world.learner, submission=submission)
    client.force_login(world.mentor)
    review_page = client.get(
        reverse("submissions:review", kwargs={"pk": submission.pk})
    ).content.decode()
    assert 'hx-include="#id_body" hx-params="body"' in review_page
    assert 'hx-include="#id_comment_body" hx-params="message"' in review_page
