"""A curriculum, cohorts on it and work at every stage, for the impact of an update and
pinning (tests/curriculum/test_impact.py, tests/cohorts/test_pins.py, the browser test)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from cohorts.models import Cohort, Membership
from curriculum.models import Lab, Track
from curriculum.services import import_curriculum_file, import_preview
from submissions import services as work
from tests.curriculum.conftest import labs_index, simple_track
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

NEW_STEP = "Write up what you found."


def curriculum(*, changed_weeks=(), weeks: int = 3) -> bytes:
    """The Alpha path (and a Beta path); `changed_weeks` of Alpha get a third step."""
    labs = simple_track(weeks)
    for index, (week, module, title, body) in enumerate(labs):
        if week in changed_weeks:
            labs[index] = (week, module, title, body + f"\n3. {NEW_STEP}")
    return labs_index({"Alpha": labs, "Beta": simple_track(2)})


@dataclass
class PinWorld:
    staff: object
    track: Track
    labs: dict[int, Lab]
    running: Cohort  # active, will be kept (pinned) in the tests
    other: Cohort  # active, gets the new text
    draft_cohort: Cohort  # not started yet, still "running" the path
    finished: Cohort
    beta: Cohort  # another path
    mentor: object
    people: dict[str, object] = field(default_factory=dict)
    submissions: dict[str, object] = field(default_factory=dict)

    def learner(self, cohort, name):
        user = UserFactory(name=name)
        MembershipFactory(cohort=cohort, user=user)
        self.people[name] = user
        return user

    def draft(self, name, cohort, week=2, checklist=(0,)):
        user = self.learner(cohort, name)
        submission = work.submission_get_or_create_draft(
            learner=user, cohort=cohort, lab=self.labs[week]
        )
        work.submission_save_draft(
            actor=user,
            submission=submission,
            repo_url="https://github.com/example/lab",
            commit_sha="",
            notes="notes",
            checklist=list(checklist),
        )
        self.submissions[name] = submission
        return submission

    def handed_in(self, name, cohort, week=2):
        submission = self.draft(name, cohort, week)
        work.submission_submit(actor=submission.learner, submission=submission)
        submission.refresh_from_db()
        return submission

    def preview(self, *, changed_weeks=(2,)):
        return import_preview(
            actor=self.staff, source=curriculum(changed_weeks=changed_weeks), filename="c.txt"
        )


def make_pin_world(*, with_work: bool = True) -> PinWorld:
    import_curriculum_file(actor=None, source=curriculum(), filename="c.txt")
    track = Track.objects.get(name="Alpha")
    labs = {lab.week: lab for lab in Lab.objects.filter(track=track)}
    start = timezone.localdate() - dt.timedelta(days=14)
    running = CohortFactory(name="Spring Go", track=track, start_date=start)
    other = CohortFactory(name="Summer Go", track=track, start_date=start)
    draft_cohort = CohortFactory(
        name="Autumn Go",
        track=track,
        start_date=timezone.localdate() + dt.timedelta(days=30),
        status=Cohort.Status.DRAFT,
    )
    finished = CohortFactory(
        name="Old Go", track=track, start_date=start, status=Cohort.Status.FINISHED
    )
    beta = CohortFactory(name="Beta cohort", track=Track.objects.get(name="Beta"), start_date=start)
    mentor = UserFactory(name="Mona Mentor")
    MentorMembershipFactory(cohort=running, user=mentor)
    MentorMembershipFactory(cohort=other, user=UserFactory(name="Otto Mentor"))
    world = PinWorld(
        staff=StaffFactory(),
        track=track,
        labs=labs,
        running=running,
        other=other,
        draft_cohort=draft_cohort,
        finished=finished,
        beta=beta,
        mentor=mentor,
    )
    if not with_work:
        return world
    world.draft("Ada Draft", running)
    world.handed_in("Ben Waiting", running)
    claimed = world.handed_in("Cy Claimed", running)
    work.submission_claim(actor=mentor, submission=claimed)
    approved = world.handed_in("Dee Approved", running)
    work.review_create(actor=mentor, submission=approved, verdict="approve", body="Good.")
    gone = world.draft("Eve Left", running)
    Membership.objects.filter(user=gone.learner, cohort=running).update(active=False)
    world.draft("Fay Other", other)
    world.draft("Gus Week3", running, week=3)
    # A finished cohort's learner: the update does not reach them.
    world.draft("Hal Finished", finished)
    return world
