"""Races that only a real database with parallel transactions can show (PostgreSQL)."""

import pytest
from django.core import mail

from cohorts.models import Invitation, JoinLink
from cohorts.services import (
    enrollment_apply,
    enrollment_preview,
    invitation_send,
    join_cohort_via_link,
)
from tests.factories import CohortFactory, StaffFactory, UserFactory
from tests.parallel import postgres_only, run_in_parallel  # noqa: F401 - autouse fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_send_an_invitation_once():
    cohort = CohortFactory()
    user = UserFactory(password=None)
    user.set_unusable_password()
    user.save()
    invitation = Invitation.objects.create(user=user, cohort=cohort)
    results = run_in_parallel(
        lambda: invitation_send(invitation_id=invitation.pk),
        lambda: invitation_send(invitation_id=invitation.pk),
    )
    assert sorted(results) == [False, True]
    assert len(mail.outbox) == 1


def test_double_click_on_join_makes_one_membership():
    cohort = CohortFactory()
    link = JoinLink.objects.create(cohort=cohort)
    user = UserFactory()
    results = run_in_parallel(
        lambda: join_cohort_via_link(user=user, token=link.token),
        lambda: join_cohort_via_link(user=user, token=link.token),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.joined for r in results) == [False, True]
    assert cohort.memberships.count() == 1


def test_double_apply_of_an_enrollment_enrolls_once():
    staff = StaffFactory()
    cohort = CohortFactory()
    preview = enrollment_preview(
        actor=staff, cohort=cohort, file=b"email,name,role\nn1@example.com,N,learner\n"
    )
    results = run_in_parallel(
        lambda: enrollment_apply(actor=staff, upload=preview.upload),
        lambda: enrollment_apply(actor=staff, upload=preview.upload),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert cohort.memberships.count() == 1
    assert Invitation.objects.count() == 1
