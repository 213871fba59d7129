"""The review queue is cached per mentor and view; it must never show stale work, another
mentor's queue, or a CSRF token that does not belong to the request."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import fragments
from notifications.services import notifications_mark_all_read
from submissions import services
from submissions.models import Submission
from submissions.services.comments import comment_create

from .conftest import make_world

pytestmark = pytest.mark.django_db

QUEUE = reverse("submissions:queue")


def queue(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    return response.content.decode()


def row(html: str, submission) -> str:
    start = html.index(f'id="queue-row-{submission.pk}"')
    return html[start : html.index("</tr>", start)]


def test_a_new_hand_in_and_a_claim_show_at_once(client):
    world = make_world(mentors=2, capacity=0)
    first = world.submitted()
    assert f"queue-row-{first.pk}" in queue(client, world.mentor, tab="unassigned")
    second = world.submitted(learner=world.add_learner())
    assert f"queue-row-{second.pk}" in queue(client, world.mentor, tab="unassigned")
    # The other mentor claims the first: it leaves this mentor's unassigned tab.
    services.submission_claim(actor=world.other_mentor, submission=first)
    html = queue(client, world.mentor, tab="unassigned")
    assert f"queue-row-{first.pk}" not in html
    assert world.other_mentor.display_name in row(queue(client, world.mentor, tab="all"), first)


def test_work_turns_overdue_when_its_review_time_passes(client, monkeypatch):
    world = make_world(mentors=1)
    submission = world.submitted()
    due = submission.review_due_at
    assert due is not None
    monkeypatch.setattr(timezone, "now", lambda: due - dt.timedelta(seconds=30))
    assert "Review overdue" not in row(queue(client, world.mentor, tab="all"), submission)
    # Thirty seconds later, well inside the cache's max age: the stamp's "next review due
    # time" has moved on, so the key is new.
    monkeypatch.setattr(timezone, "now", lambda: due + dt.timedelta(seconds=1))
    assert "Review overdue" in row(queue(client, world.mentor, tab="all"), submission)


def test_mentors_of_other_cohorts_never_share_a_queue(client):
    one, other = make_world(mentors=1), make_world(mentors=1)
    mine = one.submitted()
    theirs = other.submitted()
    html = queue(client, one.mentor, tab="all")
    assert f"queue-row-{mine.pk}" in html and f"queue-row-{theirs.pk}" not in html
    html = queue(client, other.mentor, tab="all")
    assert f"queue-row-{theirs.pk}" in html and f"queue-row-{mine.pk}" not in html


def test_a_cached_queue_carries_the_requests_own_csrf_token():
    world = make_world(mentors=1, capacity=0)
    submission = world.submitted()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    queue(first, world.mentor, tab="unassigned")  # cached with the first session's token
    html = queue(second, world.mentor, tab="unassigned")
    assert fragments._csrf_placeholder() not in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row(html, submission))
    claim = reverse("submissions:claim", kwargs={"pk": submission.pk})
    response = second.post(claim, {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.assigned_to == world.mentor


def test_a_message_after_a_release_shows_once(client):
    world = make_world(mentors=1, capacity=0)
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    queue(client, world.mentor, tab="all")  # a cached page exists
    release = reverse("submissions:release", kwargs={"pk": submission.pk})
    response = client.post(release, follow=True)
    flashed = [str(message) for message in response.context["messages"]]
    assert flashed and flashed[0] in response.content.decode()
    assert flashed[0] not in queue(client, world.mentor, tab="all")


def test_the_bell_on_the_queue_follows_notifications(client, django_capture_on_commit_callbacks):
    world = make_world(mentors=1)
    with django_capture_on_commit_callbacks(execute=True):
        world.submitted()  # the mentor is told of new work
    assert "has-unread" in queue(client, world.mentor, tab="all")
    # Reading them changes nothing in the queue itself, only the bell.
    notifications_mark_all_read(actor=world.mentor)
    assert "has-unread" not in queue(client, world.mentor, tab="all")


# --- every input of the queue is in its key ------------------------------------------------


def test_the_filter_menus_follow_a_cohort_rename(client):
    from cohorts.services import cohort_update
    from tests.factories import StaffFactory

    world = make_world(mentors=1)
    assert world.cohort.name in queue(client, world.mentor)
    cohort_update(actor=StaffFactory(), cohort=world.cohort, name="Renamed cohort")
    assert "Renamed cohort" in queue(client, world.mentor)


def test_the_filter_menus_follow_a_lab_edited_in_the_admin(client):
    world = make_world(mentors=1)
    assert world.lab.title in queue(client, world.mentor)
    world.lab.title = "Retitled lab"
    world.lab.save()
    assert "Retitled lab" in queue(client, world.mentor)


def test_the_navigation_on_the_queue_follows_roles(client):
    from cohorts.services import membership_add
    from tests.factories import StaffFactory

    world = make_world(mentors=1)
    other = make_world(mentors=0)
    my_labs = f'<a href="{reverse("dashboard:learner")}">My labs</a>'
    assert my_labs not in queue(client, world.mentor)
    membership_add(
        actor=StaffFactory(), cohort=other.cohort, email=world.mentor.email, role="learner"
    )
    assert my_labs in queue(client, world.mentor)


def test_the_queue_drops_work_of_a_cohort_the_mentor_left(client):
    from cohorts.models import Membership
    from cohorts.services import membership_deactivate
    from tests.factories import MentorMembershipFactory, StaffFactory

    world = make_world(mentors=1)
    other = make_world(mentors=0)
    MentorMembershipFactory(cohort=other.cohort, user=world.mentor)
    theirs = other.submitted()
    assert f'id="queue-row-{theirs.pk}"' in queue(client, world.mentor, tab="all")
    membership = Membership.objects.get(cohort=other.cohort, user=world.mentor)
    membership_deactivate(actor=StaffFactory(), membership=membership)
    assert f'id="queue-row-{theirs.pk}"' not in queue(client, world.mentor, tab="all")


def test_a_mentor_filtered_queue_follows_a_reassignment(client):
    """The staff home links to the queue filtered on one mentor's work (?mentor=): work
    reassigned to or away from them shows at once, though the page is cached."""
    from tests.factories import StaffFactory

    world = make_world(mentors=2, capacity=0)
    staff = StaffFactory()
    work = world.submitted()
    services.submission_claim(actor=world.mentor, submission=work)
    params = {"tab": "all", "mentor": world.mentor.pk}
    assert f"queue-row-{work.pk}" in queue(client, staff, **params)
    services.submission_reassign(actor=staff, submission=work, mentor=world.other_mentor)
    assert f"queue-row-{work.pk}" not in queue(client, staff, **params)
    other = {"tab": "all", "mentor": world.other_mentor.pk}
    assert f"queue-row-{work.pk}" in queue(client, staff, **other)


def _queue_queries(client, user) -> int:
    with CaptureQueriesContext(connection) as queries:
        queue(client, user, tab="all")
    return len(queries)


def test_a_comment_leaves_every_mentors_queue_cached(client):
    """The queue shows no comments: a message in a thread must not make the cohort's
    mentors draw their queues again (it did while the stamp digested updated_at)."""
    world = make_world(mentors=2)
    submission = world.submitted()
    queue(client, world.mentor, tab="all")
    cached = _queue_queries(client, world.mentor)
    comment_create(actor=world.learner, submission=submission, body="A question")
    assert _queue_queries(client, world.mentor) == cached


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("iteration_count", 3, "iteration 3"),
        ("is_late", True, "Handed in late"),
        ("submitted_at", dt.datetime(2031, 5, 6, 7, 8, tzinfo=dt.UTC), "2031-05-06T07:08"),
        ("review_due_at", dt.datetime(2031, 5, 9, 7, 8, tzinfo=dt.UTC), "2031-05-09T07:08"),
    ],
)
def test_each_column_a_queue_row_shows_draws_it_again(client, column, value, shown):
    # Written behind the services' back (no updated_at): the row must follow the column.
    world = make_world(mentors=1)
    submission = world.submitted()
    assert shown not in row(queue(client, world.mentor, tab="all"), submission)
    Submission.objects.filter(pk=submission.pk).update(**{column: value})
    assert shown in row(queue(client, world.mentor, tab="all"), submission)
