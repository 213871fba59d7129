"""The lab and review pages hold the thread as a fragment cached apart (submissions.thread):
a message draws the thread again and nothing else, and everything the thread shows still
shows at once, to the right person, with working forms."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import fragments
from notifications.services import notifications_mark_all_read
from submissions import services

from .conftest import add_messages, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return make_world(mentors=1)


def lab_url(world) -> str:
    return reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})


def review_url(submission) -> str:
    return reverse("submissions:review", kwargs={"pk": submission.pk})


def page(client, user, url) -> str:
    if getattr(client, "viewer", None) != user:  # a sign-in writes last_login, which pages show
        client.force_login(user)
        client.viewer = user
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def drawn(recording, name: str) -> int:
    return sum(f":{name}:" in key for key in recording.stored)


@pytest.mark.parametrize("where", ["lab", "review"])
def test_a_message_draws_only_the_thread_again(client, world, recording, where):
    submission = world.submitted()
    viewer, url = (
        (world.learner, lab_url(world))
        if where == "lab"
        else (world.mentor, review_url(submission))
    )
    name = "submission-lab" if where == "lab" else "submission-review"
    page(client, viewer, url)
    assert (drawn(recording, name), drawn(recording, "submission-thread")) == (1, 1)
    writer = world.mentor if where == "lab" else world.learner
    services.comment_create(actor=writer, submission=submission, body="Did you run the tests?")
    # Its notification, once read, leaves the bell as it was: only the thread is new.
    notifications_mark_all_read(actor=viewer)
    assert "Did you run the tests?" in page(client, viewer, url)
    assert (drawn(recording, name), drawn(recording, "submission-thread")) == (1, 2)


def test_each_viewer_has_their_own_thread(client, world):
    """Edit and Delete are on one's own messages only, though both pages show the same
    messages."""
    submission = world.submitted()
    mine = services.comment_create(actor=world.learner, submission=submission, body="Mine")
    edit = f"/comments/{mine.pk}/edit/"
    assert edit in page(client, world.learner, lab_url(world))
    assert edit not in page(client, world.mentor, review_url(submission))
    assert edit in page(client, world.learner, lab_url(world))


def test_edit_and_delete_go_at_the_end_of_the_window_on_a_cached_page(client, world, monkeypatch):
    """No write happens: the thread ends at the instant its author's window closes."""
    submission = world.submitted()
    mine = services.comment_create(actor=world.learner, submission=submission, body="Mine")
    edit = f"/comments/{mine.pk}/edit/"
    window_ends = mine.created_at + dt.timedelta(minutes=15)
    monkeypatch.setattr(timezone, "now", lambda: window_ends - dt.timedelta(seconds=5))
    assert edit in page(client, world.learner, lab_url(world))
    monkeypatch.setattr(timezone, "now", lambda: window_ends + dt.timedelta(seconds=1))
    assert edit not in page(client, world.learner, lab_url(world))


def test_a_cached_thread_carries_the_requests_own_csrf_token(world):
    submission = world.submitted()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page(first, world.learner, lab_url(world))  # cached with the first session's token
    html = page(second, world.learner, lab_url(world))
    assert fragments._csrf_placeholder() not in html
    thread = html[html.index('id="thread"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', thread).group(1)
    comment = reverse("submissions:comment", kwargs={"pk": submission.pk})
    response = second.post(comment, {"csrfmiddlewaretoken": token, "body": "With my own token"})
    assert response.status_code == 302
    assert "With my own token" in page(second, world.learner, lab_url(world))


def test_the_mentors_message_box_belongs_to_the_review_form(client, world):
    """On the review page the box posts with the review form ("Post message" keeps a
    review typed so far), cached or not."""
    submission = world.submitted()
    for _ in range(2):  # drawn, then from the cache
        html = page(client, world.mentor, review_url(submission))
        assert 'form="review-form-fields"' in html[html.index('id="thread"') :]
        assert 'id="review-form-fields"' in html


def test_the_page_after_a_mentors_message_is_the_one_kept(client, world, recording):
    """ "Post message" redirects to the page with "Message sent.": that draw is stored (the
    flash is put in as served, never cached), so the next visit draws nothing."""
    submission = world.submitted()
    client.force_login(world.mentor)
    url = review_url(submission)
    response = client.post(url, {"message": "Try the edge case.", "action": "message"}, follow=True)
    html = response.content.decode()
    main = html.index('<main id="main" class="container">')
    flash = html.index('<li class="message message-success">Message sent.</li>')
    assert main < flash < html.index('id="thread"') and "Try the edge case." in html
    stored = list(recording.stored)
    assert sum(":submission-review:" in key for key in stored) == 1
    again = client.get(url).content.decode()
    assert "Message sent." not in again and "Try the edge case." in again
    assert recording.stored == stored


# --- each message drawn once (thread.messages_html) -----------------------------------------


def thread_of(html: str) -> str:
    return html[html.index('id="thread"') :]


def test_a_new_message_in_a_long_thread_draws_that_message_alone(client, world, recording):
    submission = world.submitted()
    add_messages(submission, 12)
    page(client, world.learner, lab_url(world))
    assert drawn(recording, "thread-message") == 12
    services.comment_create(actor=world.mentor, submission=submission, body="One more thing.")
    notifications_mark_all_read(actor=world.learner)
    html = thread_of(page(client, world.learner, lab_url(world)))
    assert drawn(recording, "thread-message") == 13
    # All of them, in order, the newest last.
    numbers = [int(n) for n in re.findall(r"Message number (\d+)\.", html)]
    assert numbers == list(range(1, 13))
    assert html.index("Message number 12.") < html.index("One more thing.")


def test_a_message_edited_then_deleted_shows_so_to_the_other_side_at_once(client, world):
    submission = world.submitted()
    message = services.comment_create(actor=world.learner, submission=submission, body="Frist")
    assert "Frist" in thread_of(page(client, world.mentor, review_url(submission)))
    message = services.comment_update(actor=world.learner, comment=message, body="First")
    html = thread_of(page(client, world.mentor, review_url(submission)))
    assert "Frist" not in html and "First" in html and "sub-comment-edited" in html
    services.comment_delete(actor=world.learner, comment=message)
    html = thread_of(page(client, world.mentor, review_url(submission)))
    assert "First" not in html and "Comment deleted" in html


def test_a_renamed_author_shows_under_the_new_name(client, world):
    submission = world.submitted()
    services.comment_create(actor=world.mentor, submission=submission, body="Looks close.")
    assert world.mentor.display_name in thread_of(page(client, world.learner, lab_url(world)))
    world.mentor.name = "Grace Hopper"
    world.mentor.save(update_fields=["name"])
    assert "<strong>Grace Hopper</strong>" in thread_of(page(client, world.learner, lab_url(world)))


def test_each_viewer_reads_a_messages_time_in_their_own_time_zone(world):
    """The same message, drawn for a learner in Los Angeles and kept, is not what a
    mentor in Tokyo reads."""
    submission = world.submitted()
    message = services.comment_create(actor=world.mentor, submission=submission, body="Noted.")
    message.created_at = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    message.save(update_fields=["created_at"])
    world.learner.time_zone = "America/Los_Angeles"
    world.learner.save(update_fields=["time_zone"])
    world.mentor.time_zone = "Asia/Tokyo"
    world.mentor.save(update_fields=["time_zone"])
    learner_html = thread_of(page(Client(), world.learner, lab_url(world)))
    mentor_html = thread_of(page(Client(), world.mentor, review_url(submission)))
    assert "30 Nov 2026, 04:00" in learner_html and "21:00" not in learner_html
    assert "30 Nov 2026, 21:00" in mentor_html and "04:00" not in mentor_html


def test_a_kept_message_deletes_with_the_requests_own_csrf_token(world):
    """A message with Edit and Delete drawn for one session is kept with the CSRF token
    taken out; another session of its author gets its own token in the Delete form."""
    submission = world.submitted()
    message = services.comment_create(actor=world.learner, submission=submission, body="Oops")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page(first, world.learner, lab_url(world))
    html = thread_of(page(second, world.learner, lab_url(world)))
    delete = reverse(
        "submissions:comment-delete", kwargs={"pk": submission.pk, "comment_id": message.pk}
    )
    form = html[html.index(f'action="{delete}"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    assert token != fragments._csrf_placeholder()
    assert second.post(delete, {"csrfmiddlewaretoken": token}).status_code == 302
    message.refresh_from_db()
    assert message.deleted_at is not None
