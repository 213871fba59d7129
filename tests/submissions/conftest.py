import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from cohorts.models import Membership
from submissions import services
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    UserFactory,
)


@dataclass
class World:
    cohort: object
    lab: object
    learner: object
    mentor: object
    other_mentor: object

    def draft(self, learner=None, lab=None, **fields):
        submission = services.submission_get_or_create_draft(
            learner=learner or self.learner, cohort=self.cohort, lab=lab or self.lab
        )
        values = {
            "repo_url": "https://github.com/example/lab",
            "commit_sha": "",
            "notes": "My notes",
            "checklist": [0],
        }
        values.update(fields)
        services.submission_save_draft(actor=submission.learner, submission=submission, **values)
        return submission

    def submitted(self, learner=None, lab=None, **fields):
        submission = self.draft(learner=learner, lab=lab, **fields)
        services.submission_submit(actor=submission.learner, submission=submission)
        submission.refresh_from_db()
        return submission

    def add_learner(self):
        return MembershipFactory(cohort=self.cohort, role=Membership.Role.LEARNER).user

    def add_mentor(self, **kwargs):
        return MentorMembershipFactory(cohort=self.cohort, **kwargs).user


def make_world(*, mentors: int = 2, capacity: int = 10, start_days_ago: int = 3) -> World:
    cohort = CohortFactory(
        start_date=timezone.localdate() - dt.timedelta(days=start_days_ago),
        mentor_capacity=capacity,
        review_sla_hours=48,
    )
    lab = LabFactory(track=cohort.track, week=1)
    learner = MembershipFactory(cohort=cohort).user
    mentor_users = [MentorMembershipFactory(cohort=cohort).user for _ in range(mentors)]
    mentor_users += [None] * (2 - len(mentor_users))
    return World(
        cohort=cohort,
        lab=lab,
        learner=learner,
        mentor=mentor_users[0],
        other_mentor=mentor_users[1],
    )


@pytest.fixture
def world(db) -> World:
    return make_world(mentors=1)


@pytest.fixture
def outsider(db):
    return UserFactory()


def add_messages(
    submission, count: int, *, start: int = 1, mentor=None, body: str = "Message number {n}."
) -> None:
    """`count` messages numbered from `start` (`body` formatted with n), alternately from
    the learner and `mentor` (default: the one holding the work), a minute apart."""
    from submissions.models import Comment

    base = timezone.now() - dt.timedelta(days=1)
    Comment.objects.bulk_create(
        Comment(
            submission=submission,
            author=submission.learner if n % 2 else (mentor or submission.assigned_to),
            body=body.format(n=n),
            created_at=base + dt.timedelta(minutes=n),
        )
        for n in range(start, start + count)
    )
