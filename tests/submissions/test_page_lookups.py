"""The lab and review pages read what decides 404 and the locked page in one statement
(submissions.page_lookups): the answers must be the ones the separate lookups give."""

import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Extension, Membership, ScheduleOverride
from cohorts.selectors import schedule_entry
from submissions import page_lookups
from submissions.models import Submission
from submissions.permissions import can_review_submission
from submissions.selectors import submission_for_user
from tests.factories import (
    CohortFactory,
    LabFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _rows(world, user=None, lab=None, cohort=None):
    return page_lookups.lab_page_rows(
        user=user or world.learner,
        cohort_id=(cohort or world.cohort).pk,
        lab_id=(lab or world.lab).pk,
    )


def test_the_lab_page_rows_are_what_the_separate_lookups_give(world):
    submission = world.submitted()
    ScheduleOverride.objects.create(
        cohort=world.cohort,
        lab=world.lab,
        release_at=timezone.now() - dt.timedelta(days=2),
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    Extension.objects.create(
        cohort=world.cohort,
        lab=world.lab,
        learner=world.learner,
        due_at=timezone.now() + dt.timedelta(days=5),
        reason="Ill",
    )
    rows = _rows(world)
    assert rows.cohort == world.cohort and rows.cohort.name == world.cohort.name
    assert rows.cohort.track.pk == world.cohort.track_id
    assert rows.lab == world.lab and rows.lab.body == world.lab.body
    assert rows.lab.deliverables == world.lab.deliverables
    assert rows.lab.current_revision_id == world.lab.current_revision_id
    assert rows.submission == submission
    assert rows.submission.state == Submission.State.SUBMITTED
    assert rows.submission.submitted_at == submission.submitted_at
    expected = schedule_entry(cohort=world.cohort, lab=world.lab, learner=world.learner)
    for name in (
        "release_at",
        "due_at",
        "extension_due_at",
        "effective_due_at",
        "is_released",
        "release_overridden",
        "due_overridden",
    ):
        assert getattr(rows.entry, name) == getattr(expected, name), name


def test_a_lab_not_started_has_no_submission(world):
    rows = _rows(world)
    assert rows.submission is None
    assert rows.entry.extension_due_at is None


def test_no_lab_page_for_anyone_but_an_active_learner_of_the_cohort(world):
    assert _rows(world, user=world.mentor) is None
    assert _rows(world, user=UserFactory()) is None
    assert _rows(world, user=StaffFactory()) is None
    Membership.objects.filter(user=world.learner).update(active=False)
    assert _rows(world) is None


def test_no_lab_page_for_a_lab_of_another_track_or_no_such_cohort(world):
    assert _rows(world, lab=LabFactory()) is None
    other = CohortFactory(track=world.cohort.track)
    assert _rows(world, cohort=other) is None  # not a learner there
    assert (
        page_lookups.lab_page_rows(user=world.learner, cohort_id=10**6, lab_id=world.lab.pk) is None
    )


def test_the_review_lookup_sees_what_submission_for_user_sees(world):
    submission = world.submitted()
    other_cohort_mentor = MentorMembershipFactory(cohort=CohortFactory()).user
    staff = StaffFactory()
    for user in (world.mentor, world.learner, other_cohort_mentor, staff, UserFactory()):
        found = page_lookups.submission_for_review(user=user, pk=submission.pk)
        expected = submission_for_user(user=user, pk=submission.pk)
        assert found == expected, user
        if found is not None:
            assert page_lookups.can_review(user, found) == can_review_submission(user, found)
            assert found.cohort.track == expected.cohort.track
            assert found.lab.current_revision == expected.lab.current_revision
            assert found.learner == expected.learner


def test_an_ended_mentor_membership_ends_the_review_page(world):
    submission = world.submitted()
    assert page_lookups.submission_for_review(user=world.mentor, pk=submission.pk)
    Membership.objects.filter(user=world.mentor).update(active=False)
    assert page_lookups.submission_for_review(user=world.mentor, pk=submission.pk) is None
