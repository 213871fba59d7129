"""Overflow and away mode under real parallel transactions (PostgreSQL, like
test_concurrency.py): each piece of waiting work goes to exactly one mentor, nobody goes
over capacity, and no review reaches a mentor who is going away at the same moment."""

import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Membership
from submissions import services
from submissions.models import Assignment, Submission
from tests.parallel import postgres_only, run_in_parallel  # noqa: F401 - autouse fixture

from .conftest import make_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _fill(cohort_id):
    return lambda: services.assignments_fill(cohort_id=cohort_id)


def _open_count(mentor) -> int:
    return Assignment.objects.filter(mentor=mentor, ended_at__isnull=True).count()


def test_parallel_fills_give_one_free_slot_once():
    world = make_world(mentors=1, capacity=1)
    held = world.submitted(learner=world.add_learner())
    waiting = [world.submitted(learner=world.add_learner()) for _ in range(3)]
    assert all(s.assigned_to_id is None for s in waiting)
    assert held.assigned_to_id == world.mentor.pk
    # One more slot, written without the service (so no fill ran yet): four fills race for it.
    Membership.objects.filter(user=world.mentor, cohort=world.cohort).update(capacity=2)
    results = run_in_parallel(*[_fill(world.cohort.pk) for _ in range(4)])
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 1
    assert _open_count(world.mentor) == 2
    # The oldest waiting hand-in got the slot.
    assert Submission.objects.get(pk=waiting[0].pk).assigned_to_id == world.mentor.pk


def test_parallel_fills_give_each_piece_to_exactly_one_mentor():
    world = make_world(mentors=0, capacity=1)
    waiting = [world.submitted(learner=world.add_learner()) for _ in range(2)]
    mentors = [world.add_mentor() for _ in range(3)]
    results = run_in_parallel(*[_fill(world.cohort.pk) for _ in range(3)])
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 2
    for submission in waiting:
        assert Assignment.objects.filter(submission=submission, ended_at__isnull=True).count() == 1
    assert sorted(_open_count(m) for m in mentors) == [0, 1, 1]


@pytest.mark.parametrize("round_", range(3))  # a few rounds: either order must end the same
def test_going_away_while_work_is_being_assigned_leaves_the_mentor_nothing(round_):
    world = make_world(mentors=2, capacity=1)
    busy = world.submitted(learner=world.add_learner())
    leaving = busy.assigned_to
    other = world.other_mentor if leaving.pk == world.mentor.pk else world.mentor
    assert world.submitted(learner=world.add_learner()).assigned_to_id == other.pk
    queued = world.submitted(learner=world.add_learner())
    assert queued.assigned_to_id is None
    # The leaving mentor gets room (raw write: no fill yet) just as they go away.
    Membership.objects.filter(user=leaving, cohort=world.cohort).update(capacity=2)
    until = timezone.localdate() + dt.timedelta(days=7)
    results = run_in_parallel(
        _fill(world.cohort.pk),
        lambda: services.mentor_set_away(
            actor=leaving, user=type(leaving).objects.get(pk=leaving.pk), until=until, note="Off"
        ),
    )
    assert all(isinstance(r, int) for r in results), results
    assert _open_count(leaving) == 0, "nothing reached the mentor who went away"
    assert _open_count(other) == 1, "the other mentor stays within capacity"
    queued.refresh_from_db()
    assert queued.assigned_to_id is None
