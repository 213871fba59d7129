import re

import pytest

from accounts.models import User
from cohorts.models import Cohort
from demo.seeding import seed_demo
from tests.factories import LabFactory, TrackFactory


@pytest.fixture
def track(db):
    track = TrackFactory(name="Go Mastery", slug="go")
    for week in range(1, 11):
        LabFactory(track=track, week=week, slug=f"go-{week}", title=f"Go lab {week}")
    return track


@pytest.fixture
def seeded(track):
    """Seed a demo cohort of `learners` learners (bulk rows, as the services leave them)."""

    def make(learners: int = 5, **kwargs):
        kwargs.setdefault("progress", 0.7)
        seed_demo(learners=learners, mentors=2, use_services=False, **kwargs)
        cohort = Cohort.objects.get(slug="demo-1")
        return {
            "cohort": cohort,
            "learner": User.objects.get(email="learner1@demo.cohortlabs.local"),
            "mentor": User.objects.get(email="mentor1@demo.cohortlabs.local"),
            "admin": User.objects.get(email="admin@demo.cohortlabs.local"),
        }

    return make


@pytest.fixture
def two_lab_world(db):
    """A cohort ten days in with a mentor and a learner, and two labs (weeks 1 and 2)."""
    from tests.submissions.conftest import make_world

    world = make_world(mentors=1, start_days_ago=10)
    world.second_lab = LabFactory(track=world.cohort.track, week=2, title="Second lab")
    return world


def without_csrf(html: str) -> str:
    """The page without its CSRF tokens (every response masks the token afresh)."""
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "", html)
