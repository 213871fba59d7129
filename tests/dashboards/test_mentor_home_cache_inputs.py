"""The mentor's home is cached whole, keyed on what its matrix and at-risk list show
(`selectors.matrix_shown`): the cells' columns of each submission, who was active in the
last week, the learners, labs, extensions and overrides. Not on the submissions' change
times: a message in a thread (5 % of what people do, and every one of them saves its
submission) must not draw the page again for each of the cohort's mentors. Everything the
page does show must still draw it again at once, and the clock alone ("no activity for N
days") at the instant it changes."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Membership
from dashboards import selectors
from submissions import services
from submissions.models import Submission
from tests.dashboards.conftest import without_csrf
from tests.factories import MembershipFactory, MentorMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(two_lab_world):
    return two_lab_world


def mentor_home(client, world) -> str:
    client.force_login(world.mentor)
    response = client.get(reverse("dashboard:mentor"), {"cohort": world.cohort.pk})
    assert response.status_code == 200
    return response.content.decode()


def shown(world) -> tuple:
    world.cohort.refresh_from_db()
    return selectors.mentor_home_stamp(
        world.mentor, world.cohort, reviewer_ids=(), now=timezone.now()
    ).shown


def pages_drawn(recording) -> list[str]:
    return [key for key in recording.stored if ":mentor-" in key]


def at_risk(html: str) -> list[str]:
    """The at-risk list's entries, in order: 'name: reasons'."""
    section = html[html.index('id="risk-heading"') :]
    items = re.findall(r'<li><a href="[^"]*">([^<]*)</a>\s*<span[^>]*>([^<]*)</span>', section)
    return [f"{name}: {reasons}" for name, reasons in items]


# Each column a matrix cell shows, changed alone (a queryset update, which leaves
# `updated_at` as it was).
SUBMISSION_CHANGES = {
    "id": None,  # a row coming or going: the hand-in test below
    "learner_id": lambda s, world: {"learner_id": world.other_learner.pk},
    "lab_id": lambda s, world: {"lab_id": world.second_lab.pk},
    "state": lambda s, world: {"state": Submission.State.APPROVED},
    "is_late": lambda s, world: {"is_late": not s.is_late},
    "iteration_count": lambda s, world: {"iteration_count": s.iteration_count + 1},
}


def test_every_shown_submission_column_has_a_change_test():
    assert set(SUBMISSION_CHANGES) == set(selectors.MATRIX_SUBMISSION_COLUMNS)


@pytest.mark.parametrize("column", [c for c, change in SUBMISSION_CHANGES.items() if change])
def test_a_change_to_a_shown_submission_column_changes_the_key(world, column):
    submission = world.submitted()
    world.other_learner = MembershipFactory(cohort=world.cohort).user
    before = shown(world)
    changes = SUBMISSION_CHANGES[column](submission, world)
    assert Submission.objects.filter(pk=submission.pk).update(**changes) == 1
    assert shown(world) != before


def test_a_hand_in_shows_at_once(client, world):
    cell = f"{world.learner.display_name} · Week 1 · {world.lab.title}: "
    assert cell + "Overdue" in mentor_home(client, world)
    world.submitted()
    assert cell + "Submitted" in mentor_home(client, world)


def test_a_message_in_a_thread_draws_nothing_again(client, world, recording):
    """Learner and mentor write back and forth on work in review: the matrix, the at-risk
    list and the feedback table show none of it, so the cached page is served as it is."""
    submission = world.submitted()
    first = mentor_home(client, world)
    drawn = len(pages_drawn(recording))
    assert drawn >= 2  # the page and its matrix
    services.comment_create(actor=world.learner, submission=submission, body="A question")
    services.comment_create(actor=world.mentor, submission=submission, body="An answer")
    assert without_csrf(mentor_home(client, world)) == without_csrf(first)
    assert len(pages_drawn(recording)) == drawn


def test_an_idle_learner_who_writes_again_leaves_the_at_risk_list(client, world):
    """Their message changes only the submission's last activity, which the key names
    through who was active in the last week."""
    submission = world.submitted()
    Submission.objects.filter(pk=submission.pk).update(last_activity_at=timezone.now() - 9 * DAY)
    Membership.objects.filter(user=world.learner).update(joined_at=timezone.now() - 20 * DAY)
    name = world.learner.display_name
    assert f"{name}: no activity for 9 days" in at_risk(mentor_home(client, world))
    services.comment_create(actor=world.learner, submission=submission, body="Back at it")
    assert not any(entry.startswith(name) for entry in at_risk(mentor_home(client, world)))


def test_the_clock_alone_makes_a_learner_idle_and_counts_the_days(client, world, monkeypatch):
    """No write happens: the cached page ends at the instant the learner has been idle a
    week, and again at each further day."""
    submission = world.submitted()
    last = timezone.now() - 6 * DAY
    Submission.objects.filter(pk=submission.pk).update(last_activity_at=last)
    Membership.objects.filter(user=world.learner).update(joined_at=last - DAY)
    name = world.learner.display_name
    real_now = timezone.now

    def at(instant):
        monkeypatch.setattr(timezone, "now", lambda: instant)
        return at_risk(mentor_home(client, world))

    # Seconds apart, well within the cache's bound (MATRIX_MAX_AGE): only the end of
    # validity the page was drawn with makes it be drawn again.
    moment = dt.timedelta(seconds=5)
    assert not any(entry.startswith(name) for entry in at(real_now()))
    assert not any(entry.startswith(name) for entry in at(last + 7 * DAY - moment))
    assert f"{name}: no activity for 7 days" in at(last + 7 * DAY)
    assert f"{name}: no activity for 7 days" in at(last + 8 * DAY - moment)
    assert f"{name}: no activity for 8 days" in at(last + 8 * DAY)


def test_the_at_risk_list_reads_most_behind_then_longest_idle_then_by_name(client, world):
    """Its order comes from what it shows, so a newer message from someone on it, which
    moves nothing it shows, does not reorder it either."""
    cohort = world.cohort
    now = timezone.now()
    # Both labs are past due for everyone who joined long ago and handed nothing in.
    cohort.start_date = (now - 30 * DAY).date()
    cohort.save(update_fields=["start_date"])

    def person(name: str, *, idle_days: int, handed_in: bool):
        user = UserFactory(name=name)
        MembershipFactory(cohort=cohort, user=user, joined_at=now - 40 * DAY)
        if handed_in:  # one lab handed in: one behind, so only idleness can flag them
            draft = services.submission_get_or_create_draft(
                learner=user, cohort=cohort, lab=world.lab
            )
            Submission.objects.filter(pk=draft.pk).update(
                state=Submission.State.APPROVED,
                iteration_count=1,
                last_activity_at=now - idle_days * DAY,
            )
        return user

    person("Zed Behind", idle_days=40, handed_in=False)
    person("Amy Behind", idle_days=40, handed_in=False)
    person("Bo Idle Long", idle_days=12, handed_in=True)
    person("Al Idle Short", idle_days=8, handed_in=True)
    person("Cy Idle Short", idle_days=8, handed_in=True)
    # The world's own learner has handed in week 1 today: one lab behind, not idle.
    world.submitted()
    order = [entry.split(":")[0] for entry in at_risk(mentor_home(client, world))]
    assert order == ["Amy Behind", "Zed Behind", "Bo Idle Long", "Al Idle Short", "Cy Idle Short"]


def test_the_matrix_is_shared_by_the_cohorts_mentors(client, world, recording):
    """One mentor draws the matrix after a change; the next one reads it from the cache."""
    world.submitted()
    mentor_home(client, world)
    other = MentorMembershipFactory(cohort=world.cohort).user
    matrices = [key for key in recording.stored if ":mentor-matrix:" in key]
    client.force_login(other)
    assert client.get(reverse("dashboard:mentor"), {"cohort": world.cohort.pk}).status_code == 200
    assert [key for key in recording.stored if ":mentor-matrix:" in key] == matrices
