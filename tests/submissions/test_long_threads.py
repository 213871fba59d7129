"""A long discussion: the lab and review pages show its newest messages and a link to the
whole of it, so drawing them again after each message costs the same however long the
thread has grown; the whole thread is one click away, with and without JavaScript."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from submissions.selectors import THREAD_LATEST

from .conftest import add_messages

pytestmark = pytest.mark.django_db


def shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"Message number (\d+)\.", html)]


def lab_url(world) -> str:
    return reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})


def review_url(submission) -> str:
    return reverse("submissions:review", kwargs={"pk": submission.pk})


@pytest.fixture
def long_thread(world):
    submission = world.submitted()
    add_messages(submission, THREAD_LATEST + 5)
    submission.refresh_from_db()
    return submission


def test_the_lab_page_shows_the_newest_messages_and_links_to_the_earlier_ones(
    client, world, long_thread
):
    client.force_login(world.learner)
    html = client.get(lab_url(world)).content.decode()
    assert shown(html) == list(range(6, THREAD_LATEST + 6))
    assert 'href="?thread=all#thread">Show 5 earlier messages</a>' in html
    whole = client.get(lab_url(world), {"thread": "all"}).content.decode()
    assert shown(whole) == list(range(1, THREAD_LATEST + 6))
    assert "earlier message" not in whole


def test_the_review_page_does_the_same_and_keeps_the_iteration_shown(client, world, long_thread):
    client.force_login(long_thread.assigned_to or world.mentor)
    html = client.get(review_url(long_thread)).content.decode()
    assert shown(html) == list(range(6, THREAD_LATEST + 6))
    assert "Show 5 earlier messages" in html
    older = client.get(review_url(long_thread), {"iteration": "1"}).content.decode()
    assert 'href="?iteration=1&amp;thread=all#thread"' in older
    whole = client.get(review_url(long_thread), {"thread": "all", "iteration": "1"})
    assert shown(whole.content.decode()) == list(range(1, THREAD_LATEST + 6))


def test_a_short_thread_has_no_link(client, world):
    submission = world.submitted()
    add_messages(submission, 3)
    client.force_login(world.learner)
    html = client.get(lab_url(world)).content.decode()
    assert shown(html) == [1, 2, 3] and "earlier message" not in html


def test_a_message_posted_with_htmx_answers_with_the_newest_messages(client, world, long_thread):
    client.force_login(world.learner)
    response = client.post(
        reverse("submissions:comment", kwargs={"pk": long_thread.pk}),
        {"body": "Message number 99."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html) == [*range(7, THREAD_LATEST + 6), 99]
    assert "Show 6 earlier messages" in html


def test_drawing_the_pages_costs_the_same_for_a_long_thread(client, world):
    """Queries and messages drawn stay the same from a short thread to one ten times
    longer than the page shows."""
    submission = world.submitted()
    mentor = submission.assigned_to or world.mentor

    def draw(user, url) -> tuple[int, int]:
        client.force_login(user)
        cache.clear()  # drawn whole, the page and its thread
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        return len(queries), len(shown(html))

    add_messages(submission, THREAD_LATEST + 1)
    short = draw(world.learner, lab_url(world)), draw(mentor, review_url(submission))
    add_messages(submission, 10 * THREAD_LATEST, start=1000)
    long = draw(world.learner, lab_url(world)), draw(mentor, review_url(submission))
    assert long == short
    assert short[0][1] == THREAD_LATEST


# --- the thread's key: what the pages show of it, not the whole of it ----------------------


def test_an_earlier_message_changed_draws_nothing_again(client, world, long_thread, recording):
    """An earlier message is not on the page (its change shows on the whole thread's
    page, drawn afresh): the thread's key covers the newest messages and the count."""
    from submissions.models import Comment

    client.force_login(world.learner)
    client.get(lab_url(world))
    stored = list(recording.stored)
    earliest = Comment.objects.filter(submission=long_thread).order_by("created_at").first()
    Comment.objects.filter(pk=earliest.pk).update(body="Message number 1, corrected.")
    html = client.get(lab_url(world)).content.decode()
    assert recording.stored == stored and "Show 5 earlier messages" in html
    whole = client.get(lab_url(world), {"thread": "all"}).content.decode()
    assert "Message number 1, corrected." in whole


def test_a_shown_message_changed_anywhere_shows_at_once(client, world, long_thread):
    """Changed without the services (the admin, a data fix): the newest messages' rows
    are in the key, so the page shows the change."""
    from submissions.models import Comment

    client.force_login(world.learner)
    assert "Message number 20." in client.get(lab_url(world)).content.decode()
    Comment.objects.filter(submission=long_thread, body="Message number 20.").update(
        body="Message number twenty."
    )
    html = client.get(lab_url(world)).content.decode()
    assert "Message number twenty." in html and "Message number 20." not in html


@pytest.mark.parametrize("change", ["added", "removed"])
def test_the_count_of_earlier_messages_follows_the_thread(client, world, long_thread, change):
    from submissions.models import Comment

    client.force_login(world.learner)
    assert "Show 5 earlier messages" in client.get(lab_url(world)).content.decode()
    if change == "added":
        add_messages(long_thread, 1, start=100)
    else:
        Comment.objects.filter(submission=long_thread).order_by("created_at").first().delete()
    html = client.get(lab_url(world)).content.decode()
    assert f"Show {6 if change == 'added' else 4} earlier messages" in html
