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
