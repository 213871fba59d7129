from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_token_create
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    """An API client sending a real token for `user` (the same path a CI job takes)."""
    _, secret = api_token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.fixture
def anon():
    return APIClient()


@dataclass
class World:
    """One cohort with its people, and a second cohort whose mentor must see nothing here."""

    cohort: object
    other_cohort: object
    labs: list
    learner: object
    other_learner: object
    mentor: object
    other_mentor: object
    staff: object

    def client(self, who: str) -> APIClient:
        if who == "anonymous":
            return APIClient()
        return token_client(getattr(self, who))


ROLES = ["learner", "other_learner", "mentor", "other_mentor", "staff", "anonymous"]


@pytest.fixture
def world(db):
    cohort = CohortFactory()
    other_cohort = CohortFactory()
    labs = [LabFactory(track=cohort.track, week=week) for week in (1, 2, 3)]
    LabFactory(track=other_cohort.track, week=1)
    learner = MembershipFactory(cohort=cohort).user
    other_learner = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    other_mentor = MentorMembershipFactory(cohort=other_cohort).user
    return World(
        cohort=cohort,
        other_cohort=other_cohort,
        labs=labs,
        learner=learner,
        other_learner=other_learner,
        mentor=mentor,
        other_mentor=other_mentor,
        staff=StaffFactory(),
    )


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def plain_user(db):
    return UserFactory()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "schemathesis: fuzzes the API from its OpenAPI schema (slow; runs in CI)"
    )
