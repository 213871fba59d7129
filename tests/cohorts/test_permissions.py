"""The cohort policy, table-driven over every role: predicates, the queryset filter, pages."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from cohorts import permissions
from cohorts.models import Cohort
from cohorts.selectors import clear_role_cache
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)

ROLES = [
    "anonymous",
    "learner",
    "other_learner",
    "learner_other_cohort",
    "mentor",
    "mentor_other_cohort",
    "staff",
]


@pytest.fixture
def world(db):
    cohort = CohortFactory(slug="main")
    other = CohortFactory(slug="other")
    for week in (1, 2):
        LabFactory(track=cohort.track, week=week)
    people = {
        "anonymous": AnonymousUser(),
        "learner": MembershipFactory(cohort=cohort).user,
        "other_learner": MembershipFactory(cohort=cohort).user,
        "learner_other_cohort": MembershipFactory(cohort=other).user,
        "mentor": MentorMembershipFactory(cohort=cohort).user,
        "mentor_other_cohort": MentorMembershipFactory(cohort=other).user,
        "staff": StaffFactory(),
    }
    return {"cohort": cohort, "other": other, "people": people}


T, F = True, False

PREDICATES = {
    #                     anon learner other  l-oth  mentor m-oth  staff
    "is_learner_of": (F, T, T, F, F, F, F),
    "is_mentor_of": (F, F, F, F, T, F, F),
    "can_view_cohort": (F, T, T, F, T, F, T),
    "can_manage_cohort": (F, F, F, F, F, F, T),
    "can_grant_extension": (F, F, F, F, T, F, T),
    "can_view_cohort_members": (F, F, F, F, T, F, T),
    "can_view_full_schedule": (F, F, F, F, T, F, T),
}


@pytest.mark.parametrize("predicate", PREDICATES)
@pytest.mark.parametrize("role", ROLES)
def test_predicates(world, predicate, role):
    expected = PREDICATES[predicate][ROLES.index(role)]
    user = world["people"][role]
    assert getattr(permissions, predicate)(user, world["cohort"]) is expected


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("anonymous", set()),
        ("learner", {"main"}),
        ("other_learner", {"main"}),
        ("learner_other_cohort", {"other"}),
        ("mentor", {"main"}),
        ("mentor_other_cohort", {"other"}),
        ("staff", {"main", "other"}),
    ],
)
def test_cohorts_visible_to(world, role, visible):
    user = world["people"][role]
    slugs = set(
        Cohort.objects.filter(permissions.cohorts_visible_to(user)).values_list("slug", flat=True)
    )
    assert slugs == visible


def test_removed_member_loses_access(world):
    learner = world["people"]["learner"]
    learner.memberships.update(active=False)
    clear_role_cache(learner)
    assert not permissions.can_view_cohort(learner, world["cohort"])
    assert not Cohort.objects.filter(permissions.cohorts_visible_to(learner)).exists()


def test_inactive_staff_account_has_no_rights(world):
    staff = world["people"]["staff"]
    staff.is_active = False
    assert not permissions.can_manage_cohort(staff, world["cohort"])
    assert not Cohort.objects.filter(permissions.cohorts_visible_to(staff)).exists()


def test_predicates_share_one_query_per_request(world, django_assert_num_queries):
    learner = world["people"]["learner"]
    cohort = world["cohort"]
    with django_assert_num_queries(1):
        for _ in range(5):
            permissions.can_view_cohort(learner, cohort)
            permissions.is_mentor_of(learner, cohort)
            permissions.can_grant_extension(learner, cohort)
            Cohort.objects.filter(permissions.cohorts_visible_to(learner)).query  # noqa: B018


# --- Pages --------------------------------------------------------------------------------

LOGIN = "login"
# Expected status per role: anon, learner, other learner, learner elsewhere, mentor,
# mentor elsewhere, staff. LOGIN means a redirect to the sign-in page.
PAGES = {
    ("cohorts:list", False): (LOGIN, 403, 403, 403, 403, 403, 200),
    ("cohorts:mine", False): (LOGIN, 200, 200, 200, 200, 200, 200),
    ("cohorts:create", False): (LOGIN, 403, 403, 403, 403, 403, 200),
    ("cohorts:detail", True): (LOGIN, 302, 302, 404, 302, 404, 302),
    ("cohorts:schedule", True): (LOGIN, 200, 200, 404, 200, 404, 200),
    ("cohorts:edit", True): (LOGIN, 403, 403, 404, 403, 404, 200),
    ("cohorts:members", True): (LOGIN, 403, 403, 404, 403, 404, 200),
    ("cohorts:links", True): (LOGIN, 403, 403, 404, 403, 404, 200),
}


@pytest.mark.parametrize(("name", "needs_slug"), PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_pages(client, world, name, needs_slug, role):
    expected = PAGES[(name, needs_slug)][ROLES.index(role)]
    user = world["people"][role]
    if role != "anonymous":
        client.force_login(user)
    url = reverse(name, args=["main"] if needs_slug else [])
    response = client.get(url)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected


def _post_targets(world):
    cohort = world["cohort"]
    lab = cohort.track.labs.first()
    learner = world["people"]["learner"]
    due = (timezone.now() + dt.timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    membership = learner.memberships.get()
    return {
        "override": (
            reverse("cohorts:override", args=["main", lab.pk]),
            {"due_at": due},
            (LOGIN, 403, 403, 404, 403, 404, 302),
        ),
        "extension": (
            reverse("cohorts:extension_grant", args=["main"]),
            {"learner": learner.pk, "lab": lab.pk, "due_at": due, "reason": "ill"},
            (LOGIN, 403, 403, 404, 302, 404, 302),
        ),
        "deactivate": (
            reverse("cohorts:member_deactivate", args=["main", membership.pk]),
            {},
            (LOGIN, 403, 403, 404, 403, 404, 302),
        ),
        "add_member": (
            reverse("cohorts:members", args=["main"]),
            {"email": "new@example.com", "role": "mentor"},
            (LOGIN, 403, 403, 404, 403, 404, 302),
        ),
        "link": (
            reverse("cohorts:links", args=["main"]),
            {},
            (LOGIN, 403, 403, 404, 403, 404, 302),
        ),
    }


@pytest.mark.parametrize("action", ["override", "extension", "deactivate", "add_member", "link"])
@pytest.mark.parametrize("role", ROLES)
def test_writes(client, world, action, role):
    url, data, statuses = _post_targets(world)[action]
    expected = statuses[ROLES.index(role)]
    if role != "anonymous":
        client.force_login(world["people"][role])
    response = client.post(url, data)
    cohort = world["cohort"]
    changed = {
        "override": cohort.overrides.exists(),
        "extension": cohort.extensions.exists(),
        "deactivate": cohort.memberships.filter(active=False).exists(),
        "add_member": cohort.memberships.filter(user__email="new@example.com").exists(),
        "link": cohort.join_links.exists(),
    }[action]
    if expected == LOGIN:
        assert response.status_code == 302 and reverse("login") in response["Location"]
        assert not changed
    elif expected == 302:
        assert response.status_code == 302, response.content[:2000]
        assert changed
    else:
        assert response.status_code == expected
        assert not changed
