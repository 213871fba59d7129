import pytest
from django.urls import reverse

from cohorts.models import Cohort, Membership
from cohorts.selectors import active_mentor_memberships, user_roles
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "cohort",
    "membership",
    "scheduleoverride",
    "extension",
    "joinlink",
    "invitation",
    "enrollmentupload",
]


@pytest.mark.parametrize("model", ADMIN_PAGES)
def test_admin_changelists_render(client, model):
    MembershipFactory()
    client.force_login(StaffFactory())
    assert client.get(reverse(f"admin:cohorts_{model}_changelist")).status_code == 200


def test_admin_creates_cohorts_through_the_service(client):
    client.force_login(StaffFactory())
    track = TrackFactory()
    data = {
        "name": "Admin made",
        "slug": "",
        "track": track.pk,
        "start_date": "2026-05-04",
        "time_zone": "Mars/Base",
        "pace_days": 7,
        "status": "draft",
        "review_sla_hours": 48,
        "mentor_capacity": 10,
        "description": "",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
    }
    response = client.post(reverse("admin:cohorts_cohort_add"), data)
    assert response.status_code == 200 and not Cohort.objects.exists()
    data["time_zone"] = "Europe/Rome"
    data["slug"] = "admin-made"
    response = client.post(reverse("admin:cohorts_cohort_add"), data)
    assert response.status_code == 302, response.content[:3000]
    assert Cohort.objects.get().time_zone == "Europe/Rome"


def test_admin_action_deactivates_through_the_service(client):
    membership = MembershipFactory()
    client.force_login(StaffFactory())
    client.post(
        reverse("admin:cohorts_membership_changelist"),
        {"action": "deactivate", "_selected_action": [membership.pk]},
    )
    membership.refresh_from_db()
    assert not membership.active


def test_active_mentor_memberships():
    cohort = CohortFactory()
    mentor = MentorMembershipFactory(cohort=cohort)
    MentorMembershipFactory(cohort=cohort, active=False)
    MentorMembershipFactory(cohort=cohort, user=UserFactory(is_active=False))
    MentorMembershipFactory()  # another cohort
    MembershipFactory(cohort=cohort)  # a learner
    assert list(active_mentor_memberships(cohort)) == [mentor]


def test_user_roles_across_cohorts(db):
    user = UserFactory()
    MembershipFactory(user=user)
    MentorMembershipFactory(user=user)
    roles = user_roles(user)
    assert roles.is_learner and roles.is_mentor
    other = UserFactory()
    MembershipFactory(user=other, active=False, role=Membership.Role.MENTOR)
    assert not user_roles(other).is_mentor and not user_roles(other).is_learner
