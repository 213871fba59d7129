import pytest

from accounts.models import User
from cohorts.models import Cohort
from core import fragments
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


class RecordingCache:
    """The page cache, recording the key of every entry stored (a page drawn)."""

    def __init__(self, cache):
        self.cache = cache
        self.stored = []

    def get(self, key, *args, **kwargs):
        return self.cache.get(key, *args, **kwargs)

    def set(self, key, *args, **kwargs):
        self.stored.append(key)
        return self.cache.set(key, *args, **kwargs)


@pytest.fixture
def recording(monkeypatch):
    """The keys of the pages and fragments drawn during the test (`recording.stored`)."""
    recorder = RecordingCache(fragments.cache)
    monkeypatch.setattr(fragments, "cache", recorder)
    return recorder
