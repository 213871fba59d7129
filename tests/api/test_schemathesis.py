"""Fuzz every API operation from its own OpenAPI schema, as staff, a mentor and a learner.

Asserts no 5xx and that every response matches the schema it documents. Runs in the normal
suite (so in CI); `-m "not schemathesis"` leaves it out locally. Examples are kept modest
so the whole module finishes in a few minutes.
"""

import datetime as dt
import io

import pytest
import schemathesis
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import api_token_create
from cohorts.models import Cohort
from cohorts.services import (
    announcement_send,
    enrollment_preview,
    extension_grant,
    join_link_create,
    membership_deactivate,
    schedule_override_set,
    schedule_shift,
)
from config.wsgi import application
from notifications.services import lab_released_record
from submissions import services
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)
from tests.security.world import CURRICULUM_SOURCE

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
def tokens(settings, tmp_path, django_capture_on_commit_callbacks):
    """Data made by every path the product has: the services (as pages and the API call
    them), a management command (no user), the admin's deletions (people gone, their
    references null), periodic jobs (events with no actor), ended memberships."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "user": "100000/min",
            "ip": "100000/min",
            "auth_token": "100000/min",
        },
    }
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        # A command-made import: applied, with no user behind it.
        source = tmp_path / "labs.txt"
        source.write_bytes(CURRICULUM_SOURCE)
        call_command("import_curriculum", str(source), stdout=io.StringIO())
        call_command("import_curriculum", str(source), "--dry-run", stdout=io.StringIO())
        cohort = CohortFactory(
            start_date=timezone.localdate() - dt.timedelta(days=10), status=Cohort.Status.ACTIVE
        )
        labs = [LabFactory(track=cohort.track, week=week) for week in (1, 2, 3)]
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
        submission.refresh_from_db()
        if submission.assigned_to_id != mentor.pk:
            services.submission_claim(actor=mentor, submission=submission)
        services.review_create(
            actor=mentor, submission=submission, verdict="approve", body="Well done."
        )
        # Ended memberships: a learner and a mentor who left, with work and reviews behind.
        gone_learner = MembershipFactory(cohort=cohort)
        gone_mentor = MentorMembershipFactory(cohort=cohort)
        membership_deactivate(actor=staff, membership=gone_learner)
        membership_deactivate(actor=staff, membership=gone_mentor)
        # Rows whose author was deleted in the admin: their references are null.
        departed = StaffFactory()
        extension_grant(
            actor=departed,
            cohort=cohort,
            lab=labs[1],
            learner=learner,
            due_at=timezone.now() + dt.timedelta(days=20),
            reason="ill",
        )
        schedule_override_set(
            actor=departed,
            cohort=cohort,
            lab=labs[2],
            release_at=timezone.now() + dt.timedelta(days=30),
            due_at=None,
        )
        join_link_create(actor=departed, cohort=cohort)
        enrollment_preview(
            actor=departed, cohort=cohort, file=b"email,name,role\nnew@example.com,New,learner\n"
        )
        announcement_send(actor=departed, cohort=cohort, title="Welcome", body="**Hello**")
        schedule_shift(actor=departed, cohort=cohort, days=1)
        departed.delete()
        # A periodic job's events: notifications with no actor.
        lab_released_record()
    return {
        role: api_token_create(user=user, name="fuzz")[1]
        for role, user in (("staff", staff), ("mentor", mentor), ("learner", learner))
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
