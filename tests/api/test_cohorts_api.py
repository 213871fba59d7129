import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Cohort, Extension, Membership, ScheduleOverride
from tests.api.conftest import ROLES
from tests.factories import LabFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _status_by_role(world, method, url, body=None):
    statuses = {}
    for who in ROLES:
        client = world.client(who)
        response = (
            getattr(client, method)(url, body, format="json")
            if body
            else getattr(client, method)(url)
        )
        assert set(response.json()) >= {"detail"} if response.status_code >= 400 else True
        statuses[who] = response.status_code
    return statuses


def test_cohort_detail_matrix(world):
    url = f"/api/v1/cohorts/{world.cohort.pk}/"
    assert _status_by_role(world, "get", url) == {
        "learner": 200,
        "other_learner": 200,
        "mentor": 200,
        "other_mentor": 404,
        "staff": 200,
        "anonymous": 401,
    }


def test_cohort_list_shows_only_own_cohorts(world):
    assert [
        c["id"] for c in world.client("other_mentor").get("/api/v1/cohorts/").json()["results"]
    ] == [world.other_cohort.pk]
    mine = world.client("learner").get("/api/v1/cohorts/").json()["results"]
    assert [(c["id"], c["your_role"]) for c in mine] == [(world.cohort.pk, "learner")]
    assert world.client("staff").get("/api/v1/cohorts/").json()["count"] == 2


def test_ended_membership_hides_the_cohort(world):
    Membership.objects.filter(user=world.learner).update(active=False)
    assert world.client("learner").get(f"/api/v1/cohorts/{world.cohort.pk}/").status_code == 404


def test_members_matrix(world):
    url = f"/api/v1/cohorts/{world.cohort.pk}/members/"
    assert _status_by_role(world, "get", url) == {
        "learner": 403,
        "other_learner": 403,
        "mentor": 200,
        "other_mentor": 404,
        "staff": 200,
        "anonymous": 401,
    }
    body = world.client("mentor").get(url + "?role=mentor").json()
    assert [m["user"]["id"] for m in body["results"]] == [world.mentor.pk]


def test_only_staff_add_members(world):
    url = f"/api/v1/cohorts/{world.cohort.pk}/members/"
    statuses = {}
    for n, who in enumerate(ROLES):
        response = world.client(who).post(
            url, {"email": f"new{n}@example.com", "name": "New", "role": "learner"}, format="json"
        )
        statuses[who] = response.status_code
    assert statuses == {
        "learner": 403,
        "other_learner": 403,
        "mentor": 403,
        "other_mentor": 404,
        "staff": 201,
        "anonymous": 401,
    }
    assert (
        Membership.objects.filter(cohort=world.cohort, user__email__startswith="new").count() == 1
    )


def test_add_member_errors(world):
    client = world.client("staff")
    url = f"/api/v1/cohorts/{world.cohort.pk}/members/"
    bad_role = client.post(url, {"email": "a@example.com", "role": "owner"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()["errors"]
    bad_email = client.post(url, {"email": "not-an-email", "role": "learner"}, format="json")
    assert bad_email.status_code == 400 and "email" in bad_email.json()["errors"]
    again = client.post(url, {"email": world.learner.email, "role": "mentor"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert "email" in again.json()["errors"]


def test_staff_create_cohort_and_errors(world):
    client = world.client("staff")
    body = {
        "name": "Spring",
        "track": world.cohort.track.slug,
        "start_date": "2026-03-02",
        "time_zone": "Europe/Paris",
        "review_sla_hours": 24,
    }
    created = client.post("/api/v1/cohorts/", body, format="json")
    assert created.status_code == 201, created.content
    cohort = Cohort.objects.get(pk=created.json()["id"])
    assert (cohort.time_zone, cohort.review_sla_hours, cohort.slug) == (
        "Europe/Paris",
        24,
        "spring",
    )

    bad_zone = client.post("/api/v1/cohorts/", {**body, "time_zone": "Mars/Olympus"}, format="json")
    assert bad_zone.status_code == 400
    assert list(bad_zone.json()["errors"]) == ["time_zone"]
    bad_track = client.post("/api/v1/cohorts/", {**body, "track": "nope"}, format="json")
    assert bad_track.status_code == 400 and "track" in bad_track.json()["errors"]
    missing = client.post("/api/v1/cohorts/", {}, format="json")
    assert set(missing.json()["errors"]) >= {"name", "track", "start_date"}
    assert Cohort.objects.count() == 3

    for who in ["learner", "mentor"]:
        assert world.client(who).post("/api/v1/cohorts/", body, format="json").status_code == 403
    assert (
        world.client("anonymous").post("/api/v1/cohorts/", body, format="json").status_code == 401
    )


def test_staff_update_cohort(world):
    url = f"/api/v1/cohorts/{world.cohort.pk}/"
    assert world.client("mentor").patch(url, {"name": "X"}, format="json").status_code == 403
    response = world.client("staff").patch(url, {"name": "Renamed", "pace_days": 0}, format="json")
    assert response.status_code == 400
    world.cohort.refresh_from_db()
    assert world.cohort.name != "Renamed"
    ok = world.client("staff").patch(url, {"name": "Renamed"}, format="json")
    assert ok.status_code == 200 and ok.json()["name"] == "Renamed"


def test_schedule_includes_the_callers_extension(world):
    lab = world.labs[1]
    due = timezone.now() + dt.timedelta(days=30)
    Extension.objects.create(
        cohort=world.cohort, lab=lab, learner=world.learner, due_at=due, reason="ill"
    )
    url = f"/api/v1/cohorts/{world.cohort.pk}/schedule/"
    mine = {e["lab"]["id"]: e for e in world.client("learner").get(url).json()["results"]}
    theirs = {e["lab"]["id"]: e for e in world.client("other_learner").get(url).json()["results"]}
    assert mine[lab.pk]["extension_due_at"] is not None
    assert mine[lab.pk]["effective_due_at"] == mine[lab.pk]["extension_due_at"]
    assert theirs[lab.pk]["extension_due_at"] is None
    assert [e["week"] for e in mine.values()] == [1, 2, 3]
    assert world.client("other_mentor").get(url).status_code == 404


def test_labs_hide_unreleased_content_from_learners(world):
    future = world.labs[2]
    ScheduleOverride.objects.create(
        cohort=world.cohort, lab=future, release_at=timezone.now() + dt.timedelta(days=60)
    )
    learner_view = world.client("learner").get(f"/api/v1/labs/{future.pk}/").json()
    assert learner_view["content_available"] is False
    assert learner_view["body"] is None and learner_view["deliverables"] is None
    mentor_view = world.client("mentor").get(f"/api/v1/labs/{future.pk}/").json()
    assert mentor_view["body"] == future.body
    released = world.client("learner").get(f"/api/v1/labs/{world.labs[0].pk}/").json()
    assert released["body"] == world.labs[0].body and released["revision"] == 1


def test_lab_matrix_and_filters(world):
    url = f"/api/v1/labs/{world.labs[0].pk}/"
    assert _status_by_role(world, "get", url) == {
        "learner": 200,
        "other_learner": 200,
        "mentor": 200,
        "other_mentor": 404,
        "staff": 200,
        "anonymous": 401,
    }
    client = world.client("staff")
    by_track = client.get(f"/api/v1/labs/?track={world.cohort.track.slug}&week=2").json()
    assert [lab["id"] for lab in by_track["results"]] == [world.labs[1].pk]
    assert client.get("/api/v1/labs/?active=false").json()["count"] == 0
    assert client.get("/api/v1/labs/?week=abc").status_code == 400
    assert client.get("/api/v1/labs/not-a-number/").status_code == 404


def test_tracks(world):
    slug = world.cohort.track.slug
    assert world.client("learner").get(f"/api/v1/tracks/{slug}/").json()["lab_count"] == 3
    assert world.client("other_mentor").get(f"/api/v1/tracks/{slug}/").status_code == 404
    assert world.client("staff").get("/api/v1/tracks/").json()["count"] == 2


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cohorts/",
        "/api/v1/labs/",
        "/api/v1/tracks/",
        "/api/v1/cohorts/{cohort}/members/",
        "/api/v1/cohorts/{cohort}/schedule/",
        "/api/v1/cohorts/{cohort}/",
    ],
)
@pytest.mark.parametrize("who", ["staff", "learner"])
def test_query_count_does_not_depend_on_size(world, url, who, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = getattr(world, who)
    url = url.format(cohort=world.cohort.pk)

    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url + ("&" if "?" in url else "?") + "page_size=2").status_code in {
            200,
            403,
        }
    for week in range(4, 30):
        LabFactory(track=world.cohort.track, week=week)
    for _ in range(25):
        MembershipFactory(cohort=world.cohort)
    for _ in range(5):
        MembershipFactory(user=user, cohort__track=world.cohort.track) if who == "learner" else None
    # Fresh user object: per-request caches (membership roles) must not hide queries.
    client.force_authenticate(type(user).objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as large:
        assert client.get(url + "?page_size=50").status_code in {200, 403}
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
