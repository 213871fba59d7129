import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from cohorts.models import Membership
from notifications.models import Event
from notifications.services import event_process
from submissions import services as submissions
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)


@dataclass
class World:
    cohort: object
    lab: object
    learner: object
    mentor: object
    other_mentor: object
    staff: object

    def draft(self, learner=None, lab=None):
        submission = submissions.submission_get_or_create_draft(
            learner=learner or self.learner, cohort=self.cohort, lab=lab or self.lab
        )
        submissions.submission_save_draft(
            actor=submission.learner,
            submission=submission,
            repo_url="https://github.com/example/lab",
            commit_sha="",
            notes="",
            checklist=[],
        )
        return submission

    def submit(self, learner=None, lab=None):
        submission = self.draft(learner=learner, lab=lab)
        submissions.submission_submit(actor=submission.learner, submission=submission)
        submission.refresh_from_db()
        return submission

    def add_learner(self):
        return MembershipFactory(cohort=self.cohort, role=Membership.Role.LEARNER).user


def make_world() -> World:
    cohort = CohortFactory(
        start_date=timezone.localdate() - dt.timedelta(days=10), review_sla_hours=48
    )
    lab = LabFactory(track=cohort.track, week=1)
    learner = MembershipFactory(cohort=cohort).user
    # Capacity 1 each, so that assignment is predictable: the first submit goes to one
    # mentor, a second learner's to the other.
    mentor = MentorMembershipFactory(cohort=cohort, capacity=1).user
    other = MentorMembershipFactory(cohort=cohort, capacity=1).user
    return World(cohort, lab, learner, mentor, other, StaffFactory())


@pytest.fixture
def world(db) -> World:
    return make_world()


def freeze_at_seven_utc(monkeypatch, *, monday: bool = False) -> dt.datetime:
    """Make it 07:10 UTC today (on this ISO week's Monday with `monday`), the hour the
    digest jobs pick people on UTC (every factory user's zone) in."""
    today = timezone.now().date()
    if monday:
        today -= dt.timedelta(days=today.weekday())
    frozen = dt.datetime.combine(today, dt.time(7, 10), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    return frozen


def process_all() -> None:
    """Process every outbox row now (what the worker does after commit)."""
    for pk in Event.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
        event_process(event_id=pk)
