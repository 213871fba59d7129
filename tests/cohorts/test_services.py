import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Cohort, Membership
from cohorts.services import (
    cohort_create,
    cohort_update,
    join_cohort_via_link,
    join_link_create,
    join_link_disable,
    join_link_enable,
    join_signup,
)
from core.exceptions import ApplicationError
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    StaffFactory,
    TrackFactory,
    UserFactory,
)


@pytest.fixture
def staff(db):
    return StaffFactory()


def create_kwargs(**overrides):
    kwargs = {
        "name": "Spring 2026",
        "track": TrackFactory(),
        "start_date": dt.date(2026, 3, 2),
        "time_zone": "Europe/Paris",
        "pace_days": 7,
    }
    kwargs.update(overrides)
    return kwargs


def test_cohort_create_with_generated_unique_slug(staff):
    first = cohort_create(actor=staff, **create_kwargs())
    second = cohort_create(actor=staff, **create_kwargs())
    assert first.slug == "spring-2026" and second.slug == "spring-2026-2"
    assert first.status == Cohort.Status.DRAFT and first.time_zone == "Europe/Paris"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"track": 999999}, "track"),
        ({"track": None}, "track"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"pace_days": 0}, "pace_days"),
        ({"pace_days": 1000}, "pace_days"),
        ({"name": "  "}, "name"),
        ({"start_date": None}, "start_date"),
        ({"review_sla_hours": 0}, "review_sla_hours"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"status": "paused"}, "status"),
    ],
)
def test_cohort_create_bad_input_changes_nothing(staff, overrides, field):
    with pytest.raises(ApplicationError) as err:
        cohort_create(actor=staff, **create_kwargs(**overrides))
    assert err.value.extra.get("field") == field
    assert not Cohort.objects.exists()


def test_archived_track_is_refused(staff):
    with pytest.raises(ApplicationError) as err:
        cohort_create(actor=staff, **create_kwargs(track=TrackFactory(active=False)))
    assert "archived" in err.value.message


def test_only_staff_create(db):
    with pytest.raises(ApplicationError) as err:
        cohort_create(actor=UserFactory(), **create_kwargs())
    assert err.value.code == "forbidden"


def test_cohort_update(staff):
    cohort = CohortFactory()
    other = CohortFactory()
    cohort_update(actor=staff, cohort=cohort, name="Renamed", pace_days=14, time_zone="Asia/Tokyo")
    cohort.refresh_from_db()
    assert (cohort.name, cohort.pace_days, cohort.time_zone) == ("Renamed", 14, "Asia/Tokyo")
    with pytest.raises(ApplicationError):
        cohort_update(actor=staff, cohort=cohort, slug=other.slug)
    with pytest.raises(ApplicationError):
        cohort_update(actor=staff, cohort=cohort, time_zone="Nowhere/Land")
    cohort.refresh_from_db()
    assert cohort.time_zone == "Asia/Tokyo"


# --- Join links ---------------------------------------------------------------------------


def test_join_link_adds_learner_once(staff):
    cohort = CohortFactory()
    link = join_link_create(actor=staff, cohort=cohort)
    user = UserFactory()
    result = join_cohort_via_link(user=user, token=link.token)
    assert result.joined and result.membership.role == Membership.Role.LEARNER
    again = join_cohort_via_link(user=user, token=link.token)
    assert not again.joined and again.membership.pk == result.membership.pk
    assert cohort.memberships.count() == 1


def test_mentor_joining_stays_mentor(staff):
    cohort = CohortFactory()
    mentor = MembershipFactory(cohort=cohort, role="mentor")
    link = join_link_create(actor=staff, cohort=cohort)
    result = join_cohort_via_link(user=mentor.user, token=link.token)
    assert not result.joined and result.membership.role == "mentor"


@pytest.mark.parametrize(
    ("state", "needle"),
    [
        ("expired", "expired"),
        ("disabled", "turned off"),
        ("unknown", "does not exist"),
        ("finished", "finished"),
    ],
)
def test_unusable_links_explain_themselves(staff, state, needle):
    cohort = CohortFactory()
    link = join_link_create(actor=staff, cohort=cohort)
    token = link.token
    if state == "expired":
        link.expires_at = timezone.now() - dt.timedelta(minutes=1)
        link.save()
    elif state == "disabled":
        join_link_disable(actor=staff, link=link)
    elif state == "unknown":
        token = "x" + token
    elif state == "finished":
        Cohort.objects.filter(pk=cohort.pk).update(status=Cohort.Status.FINISHED)
    with pytest.raises(ApplicationError) as err:
        join_cohort_via_link(user=UserFactory(), token=token)
    assert needle in err.value.message
    assert not cohort.memberships.exists()


def test_removed_member_cannot_rejoin_with_a_link(staff):
    cohort = CohortFactory()
    membership = MembershipFactory(cohort=cohort, active=False)
    link = join_link_create(actor=staff, cohort=cohort)
    with pytest.raises(ApplicationError):
        join_cohort_via_link(user=membership.user, token=link.token)
    membership.refresh_from_db()
    assert not membership.active


def test_join_link_expiry_must_be_future_and_staff_only(staff):
    cohort = CohortFactory()
    with pytest.raises(ApplicationError):
        join_link_create(
            actor=staff, cohort=cohort, expires_at=timezone.now() - dt.timedelta(days=1)
        )
    with pytest.raises(ApplicationError):
        join_link_create(actor=UserFactory(), cohort=cohort)
    assert not cohort.join_links.exists()


def test_disable_then_enable(staff):
    link = join_link_create(actor=staff, cohort=CohortFactory())
    join_link_disable(actor=staff, link=link)
    link.refresh_from_db()
    assert not link.enabled
    join_link_enable(actor=staff, link=link)
    link.refresh_from_db()
    assert link.enabled


def test_signup_through_link(staff):
    cohort = CohortFactory()
    link = join_link_create(actor=staff, cohort=cohort)
    user, result = join_signup(
        token=link.token, email="New@Example.com", name="New", password="a-long-passphrase-1"
    )
    assert user.email == "new@example.com" and user.check_password("a-long-passphrase-1")
    assert result.joined and result.membership.cohort == cohort


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("taken@example.com", "a-long-passphrase-1", "email"),
        ("bad-email", "a-long-passphrase-1", "email"),
        ("ok@example.com", "123", "password"),
    ],
)
def test_signup_bad_input_changes_nothing(staff, email, password, field):
    UserFactory(email="taken@example.com")
    cohort = CohortFactory()
    link = join_link_create(actor=staff, cohort=cohort)
    with pytest.raises(ApplicationError) as err:
        join_signup(token=link.token, email=email, name="X", password=password)
    assert err.value.extra["field"] == field
    assert not cohort.memberships.exists()
    assert not user_exists("ok@example.com")


def user_exists(email):
    from accounts.models import User

    return User.objects.filter(email=email).exists()
