import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cohorts.models import Extension, ScheduleOverride
from submissions import selectors, services
from submissions.models import Iteration
from tests.factories import LabFactory, StaffFactory

from .conftest import make_world

pytestmark = pytest.mark.django_db


def test_learner_progress_states_and_late_flags(world):
    later_lab = LabFactory(track=world.cohort.track, week=4)
    overdue_lab = LabFactory(track=world.cohort.track, week=2)
    past = timezone.now() - dt.timedelta(hours=2)
    ScheduleOverride.objects.create(
        cohort=world.cohort, lab=overdue_lab, release_at=past - dt.timedelta(days=7), due_at=past
    )
    submission = world.submitted()
    progress = selectors.learner_progress(cohort=world.cohort, learner=world.learner)
    assert list(progress) == [world.lab.pk, overdue_lab.pk, later_lab.pk]
    assert progress[world.lab.pk].state == "submitted"
    assert progress[world.lab.pk].submission == submission
    assert not progress[world.lab.pk].is_late
    assert progress[overdue_lab.pk].state == "not_started" and progress[overdue_lab.pk].is_late
    assert progress[later_lab.pk].state == "not_started"
    assert not progress[later_lab.pk].is_late and not progress[later_lab.pk].is_released
    # An extension moves the due time the page shows and the late flag.
    Extension.objects.create(
        cohort=world.cohort,
        lab=overdue_lab,
        learner=world.learner,
        due_at=timezone.now() + dt.timedelta(days=2),
        reason="travel",
    )
    progress = selectors.learner_progress(cohort=world.cohort, learner=world.learner)
    assert not progress[overdue_lab.pk].is_late


def _grow(world, learners, labs):
    for week in range(2, 2 + labs):
        LabFactory(track=world.cohort.track, week=week + 10)
    for _ in range(learners):
        world.submitted(learner=world.add_learner())


def test_progress_selectors_use_a_fixed_number_of_queries(db):
    world = make_world(mentors=1)
    world.submitted()
    with CaptureQueriesContext(connection) as small_progress:
        selectors.learner_progress(cohort=world.cohort, learner=world.learner)
    with CaptureQueriesContext(connection) as small_matrix:
        small = selectors.cohort_progress_matrix(cohort=world.cohort)
    _grow(world, learners=15, labs=6)
    with CaptureQueriesContext(connection) as big_progress:
        selectors.learner_progress(cohort=world.cohort, learner=world.learner)
    with CaptureQueriesContext(connection) as big_matrix:
        big = selectors.cohort_progress_matrix(cohort=world.cohort, order="progress")
    assert len(big_progress) == len(small_progress) <= 4
    assert len(big_matrix) == len(small_matrix) <= 5
    assert len(small.rows) == 1 and len(big.rows) == 16
    assert len(big.entries) == 7 and all(len(row.cells) == 7 for row in big.rows)
    states = {cell.state for row in big.rows for cell in row.cells}
    assert states == {"submitted", "not_started"}


def test_matrix_orders_by_progress(db):
    world = make_world(mentors=1)
    ahead = world.add_learner()
    submission = world.submitted(learner=ahead)
    services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    matrix = selectors.cohort_progress_matrix(cohort=world.cohort, order="progress")
    assert [row.learner for row in matrix.rows] == [world.learner, ahead]
    assert matrix.rows[1].approved == 1


def test_mentor_queue_tabs(db):
    world = make_world(mentors=2, capacity=1)
    a = world.submitted()
    b = world.submitted(learner=world.add_learner())
    c = world.submitted(learner=world.add_learner())
    mine_owner = a.assigned_to
    counts = selectors.mentor_queue_counts(user=mine_owner)
    assert counts == {"mine": 1, "unassigned": 1, "overdue": 0, "all": 3}
    assert list(selectors.mentor_queue(user=mine_owner, tab="unassigned")) == [c]
    assert list(selectors.mentor_queue(user=mine_owner, tab="all")) == [a, b, c]  # oldest first
    later = timezone.now() + dt.timedelta(hours=49)
    assert selectors.mentor_queue_counts(user=mine_owner, now=later)["overdue"] == 3
    # Another cohort's mentor sees none of it; staff see all.
    other = make_world(mentors=1)
    assert selectors.mentor_queue_counts(user=other.mentor)["all"] == 0
    assert selectors.mentor_queue_counts(user=StaffFactory())["all"] == 3
    # Reviewed work leaves the default view but a state filter finds it.
    services.review_create(actor=mine_owner, submission=a, verdict="approve")
    assert a not in selectors.mentor_queue(user=mine_owner, tab="all")
    assert list(selectors.mentor_queue(user=mine_owner, tab="mine", state="approved")) == [a]


def test_review_scheduling_queries(db):
    world = make_world(mentors=2, capacity=1)
    world.submitted()
    world.submitted(learner=world.add_learner())
    world.submitted(learner=world.add_learner())
    later = timezone.now() + dt.timedelta(hours=49)
    assert selectors.open_assignments(cohort=world.cohort).count() == 2
    assert selectors.overdue_assignments(now=later, cohort=world.cohort).count() == 2
    assert selectors.open_reviews(cohort=world.cohort).count() == 3
    assert selectors.overdue_reviews(now=later).count() == 3
    by_mentor = selectors.open_reviews_by_mentor(cohort=world.cohort, now=later)
    assert sorted(r["mentor_id"] for r in by_mentor) == sorted(
        [world.mentor.pk, world.other_mentor.pk]
    )
    assert all(r["open"] == 1 and r["overdue"] == 1 for r in by_mentor)


def test_iteration_diff():
    before = Iteration(
        notes="a\nb\nc",
        checklist=[{"text": "x", "done": True}, {"text": "y", "done": False}],
        repo_url="https://a.example",
        commit_sha="abc1234",
    )
    after = Iteration(
        notes="a\nB\nc",
        checklist=[{"text": "x", "done": True}, {"text": "y", "done": True}],
        repo_url="https://a.example",
        commit_sha="def5678",
    )
    diff = selectors.iteration_diff(before, after)
    assert ("del", "b") in diff.notes and ("add", "B") in diff.notes and ("same", "a") in diff.notes
    assert diff.checklist == [{"text": "y", "before": False, "after": True}]
    assert diff.commit_changed and not diff.repo_changed and diff.has_changes
    assert selectors.iteration_diff(None, after) is None
