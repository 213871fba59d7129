"""Fuzz every API operation from its own OpenAPI schema, as staff, a mentor and a learner.

Asserts no 5xx and that every response matches the schema it documents. Runs in the normal
suite (so in CI); `-m "not schemathesis"` leaves it out locally. Examples are kept modest
so the whole module finishes in a few minutes.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import api_token_create
from config.wsgi import application
from submissions import services
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Explicit examples and random fuzzing; the exhaustive coverage phase alone takes longer
# than the rest put together, and the stateful phase needs links the schema does not have.
schema.config.phases.update(phases=["examples", "fuzzing"])

EXAMPLES = 10


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Calling the WSGI app directly fires request_started/finished, whose
    close_old_connections would close the test's connection mid-transaction (Django's
    test client disconnects it the same way). SQLite hides this; PostgreSQL does not."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "user": "100000/min",
            "ip": "100000/min",
            "auth_token": "100000/min",
        },
    }
    cohort = CohortFactory()
    labs = [LabFactory(track=cohort.track, week=week) for week in (1, 2)]
    learner = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    submission = services.submission_get_or_create_draft(
        learner=learner, cohort=cohort, lab=labs[0]
    )
    services.submission_save_draft(
        actor=learner,
        submission=submission,
        repo_url="https://github.com/l/lab",
        commit_sha="abcdef1",
        notes="n",
        checklist=[0],
    )
    services.submission_submit(actor=learner, submission=submission)
    services.comment_create(actor=mentor, submission=submission, body="Looks good so far.")
    return {
        role: api_token_create(user=user, name="fuzz")[1]
        for role, user in (("staff", StaffFactory()), ("mentor", mentor), ("learner", learner))
    }


@pytest.mark.parametrize("role", ["staff", "mentor", "learner"])
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_honours_its_schema(case, role, tokens):
    case.call_and_validate(
        headers={"Authorization": f"Token {tokens[role]}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
