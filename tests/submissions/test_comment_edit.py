"""Authors edit or delete their own message for 15 minutes; nobody else ever can."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.exceptions import ApplicationError
from submissions import services
from submissions.models import Comment, Submission
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(world):
    submission = world.submitted()
    comment = services.comment_create(
        actor=world.learner, submission=submission, body="First **draft**"
    )
    return submission, comment


def _urls(submission, comment):
    kwargs = {"pk": submission.pk, "comment_id": comment.pk}
    return (
        reverse("submissions:comment-edit", kwargs=kwargs),
        reverse("submissions:comment-delete", kwargs=kwargs),
    )


def _age(comment, minutes):
    Comment.objects.filter(pk=comment.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def _lab_page(client, world):
    url = reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})
    return client.get(url).content.decode()


def test_author_edits_without_javascript_and_the_thread_says_edited(client, world, thread):
    submission, comment = thread
    edit_url, _ = _urls(submission, comment)
    before = Submission.objects.get(pk=submission.pk).updated_at
    client.force_login(world.learner)
    page = client.get(edit_url)
    assert page.status_code == 200 and "First **draft**" in page.content.decode()
    response = client.post(edit_url, {"body": "Second *take*"})
    assert response.status_code == 302 and response["Location"].endswith(f"#comment-{comment.pk}")
    comment.refresh_from_db()
    assert comment.body == "Second *take*" and comment.edited_at is not None
    # Pages cached by the submission's change time redraw.
    assert Submission.objects.get(pk=submission.pk).updated_at > before
    html = _lab_page(client, world)
    assert "<em>take</em>" in html and "First" not in html
    assert '<span class="sub-comment-edited" title="Edited ' in html and ">edited</span>" in html


def test_author_edits_in_place_with_htmx(client, world, thread):
    submission, comment = thread
    edit_url, _ = _urls(submission, comment)
    client.force_login(world.learner)
    form = client.get(edit_url, HTTP_HX_REQUEST="true")
    assert (
        form.content.decode()
        .lstrip()
        .startswith(f'<li class="sub-comment" id="comment-{comment.pk}"')
    )
    assert "HX-Request" in form["Vary"]
    saved = client.post(edit_url, {"body": "<script>x</script>Fixed"}, HTTP_HX_REQUEST="true")
    html = saved.content.decode()
    assert html.lstrip().startswith("<li") and "Fixed" in html and "<script>x" not in html
    assert ">edited</span>" in html
    empty = client.post(edit_url, {"body": "   "}, HTTP_HX_REQUEST="true")
    assert "field-error" in empty.content.decode()
    comment.refresh_from_db()
    assert "Fixed" in comment.body


def test_an_unchanged_message_is_not_marked_edited(world, thread):
    _, comment = thread
    services.comment_update(actor=world.learner, comment=comment, body="  First **draft** ")
    comment.refresh_from_db()
    assert comment.edited_at is None


def test_after_fifteen_minutes_the_message_is_final(client, world, thread):
    submission, comment = thread
    later = comment.created_at + dt.timedelta(minutes=15, seconds=1)
    with pytest.raises(ApplicationError) as refused:
        services.comment_update(actor=world.learner, comment=comment, body="Late", now=later)
    assert refused.value.code == "forbidden" and "15 minutes" in refused.value.message
    with pytest.raises(ApplicationError):
        services.comment_delete(actor=world.learner, comment=comment, now=later)
    # Still allowed at exactly the window's end.
    at_the_end = comment.created_at + dt.timedelta(minutes=15)
    services.comment_update(actor=world.learner, comment=comment, body="Just in", now=at_the_end)

    _age(comment, 16)
    edit_url, delete_url = _urls(submission, comment)
    client.force_login(world.learner)
    assert f"/comments/{comment.pk}/edit/" not in _lab_page(client, world)
    assert client.post(edit_url, {"body": "Late"}).status_code == 403
    in_place = client.post(edit_url, {"body": "Late"}, HTTP_HX_REQUEST="true")
    assert in_place.status_code == 200  # htmx swaps it: the message, saying why not
    assert "first 15 minutes" in in_place.content.decode()
    assert "Late" not in in_place.content.decode()
    response = client.post(delete_url, follow=True)
    assert "first 15 minutes" in response.content.decode()
    comment.refresh_from_db()
    assert comment.body == "Just in" and comment.deleted_at is None


def test_nobody_else_can_edit_or_delete(client, world, thread, outsider):
    submission, comment = thread
    edit_url, delete_url = _urls(submission, comment)
    client.force_login(world.mentor)
    assert (
        f"/comments/{comment.pk}/edit/"
        not in client.get(
            reverse("submissions:review", kwargs={"pk": submission.pk})
        ).content.decode()
    )
    assert client.get(edit_url).status_code == 403
    assert client.post(edit_url, {"body": "Mentor was here"}).status_code == 403
    assert client.post(delete_url).status_code == 403
    client.force_login(outsider)
    assert client.post(edit_url, {"body": "x"}).status_code == 404
    assert client.post(delete_url).status_code == 404
    with pytest.raises(ApplicationError) as refused:
        services.comment_update(actor=world.mentor, comment=comment, body="x")
    assert refused.value.code == "forbidden"
    comment.refresh_from_db()
    assert comment.body == "First **draft**" and comment.deleted_at is None


def test_a_comment_id_from_another_submission_is_not_found(client, world, thread):
    submission, comment = thread
    other = world.submitted(lab=None, learner=world.add_learner())
    client.force_login(world.learner)
    url = reverse("submissions:comment-edit", kwargs={"pk": other.pk, "comment_id": comment.pk})
    assert client.post(url, {"body": "x"}).status_code == 404


def test_delete_leaves_a_tombstone(client, world, thread):
    submission, comment = thread
    _, delete_url = _urls(submission, comment)
    client.force_login(world.learner)
    html = client.post(delete_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Comment deleted" in html and "draft" not in html
    comment.refresh_from_db()
    assert comment.body == "" and comment.deleted_at is not None
    page = _lab_page(client, world)
    assert "Comment deleted" in page and "First" not in page
    # Deleted is final: no edit, no second delete.
    with pytest.raises(ApplicationError) as refused:
        services.comment_update(actor=world.learner, comment=comment, body="Back")
    assert refused.value.code == "conflict"


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_patch_and_delete_follow_the_same_rules(world, thread):
    submission, comment = thread
    url = f"/api/v1/submissions/{submission.pk}/comments/{comment.pk}/"
    assert _api(world.mentor).patch(url, {"body": "x"}, format="json").status_code == 403
    assert _api(world.mentor).delete(url).status_code == 403
    assert _api(UserFactory()).patch(url, {"body": "x"}, format="json").status_code == 404
    response = _api(world.learner).patch(url, {"body": "Better"}, format="json")
    assert response.status_code == 200
    assert response.json()["body"] == "Better" and response.json()["edited_at"]
    blank = _api(world.learner).patch(url, {"body": " "}, format="json")
    assert blank.status_code == 400

    _age(comment, 16)
    late = _api(world.learner).patch(url, {"body": "Late"}, format="json")
    assert late.status_code == 403 and "15 minutes" in late.json()["detail"]
    assert _api(world.learner).delete(url).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Better" and comment.deleted_at is None


def test_api_delete_keeps_a_tombstone_in_the_list(world, thread):
    submission, comment = thread
    url = f"/api/v1/submissions/{submission.pk}/comments/"
    assert _api(world.learner).delete(f"{url}{comment.pk}/").status_code == 204
    [row] = _api(world.mentor).get(url).json()["results"]
    assert row["body"] == "" and row["deleted_at"]
