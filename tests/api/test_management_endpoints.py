"""What staff and mentors can do beyond reading: memberships, extensions, overrides,
reassignment and notification preferences (each through the owning app's service)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cohorts.models import Extension, Membership, ScheduleOverride
from notifications.models import Preference
from submissions import services
from tests.api.conftest import ROLES, token_client
from tests.factories import MentorMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _statuses(world, method, url, body=None, fmt="json"):
    out = {}
    for who in ROLES:
        client = world.client(who)
        call = getattr(client, method)
        out[who] = (call(url, body, format=fmt) if body is not None else call(url)).status_code
    return out


def test_member_role_change_and_deactivation(world):
    membership = Membership.objects.get(user=world.other_learner, cohort=world.cohort)
    url = f"/api/v1/cohorts/{world.cohort.pk}/members/{membership.pk}/"
    assert world.client("mentor").patch(url, {"role": "mentor"}, format="json").status_code == 403
    assert world.client("learner").patch(url, {"role": "mentor"}, format="json").status_code == 404
    assert (
        world.client("other_mentor").patch(url, {"active": False}, format="json").status_code == 404
    )
    bad = world.client("staff").patch(url, {"role": "boss"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()["errors"]
    changed = world.client("staff").patch(url, {"role": "mentor", "active": False}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["role"] == "mentor" and changed.json()["active"] is False
    restored = world.client("staff").patch(url, {"active": True}, format="json")
    assert restored.json()["active"] is True


def test_extensions(world):
    lab = world.labs[0]
    url = f"/api/v1/cohorts/{world.cohort.pk}/extensions/"
    due = (timezone.now() + dt.timedelta(days=40)).isoformat()
    body = {"lab": lab.pk, "learner": world.learner.pk, "due_at": due, "reason": "Ill"}
    assert world.client("learner").post(url, body, format="json").status_code == 403
    assert world.client("other_mentor").post(url, body, format="json").status_code == 404
    early = world.client("mentor").post(
        url, {**body, "due_at": "2000-01-01T00:00:00Z"}, format="json"
    )
    assert early.status_code == 400 and "due_at" in early.json()["errors"]
    not_learner = world.client("mentor").post(
        url, {**body, "learner": world.mentor.pk}, format="json"
    )
    assert not_learner.status_code == 400 and "learner" in not_learner.json()["errors"]
    granted = world.client("mentor").post(url, body, format="json")
    assert granted.status_code == 201, granted.content
    assert _statuses(world, "get", url) == {
        "learner": 403,
        "other_learner": 403,
        "mentor": 200,
        "other_mentor": 404,
        "staff": 200,
        "anonymous": 401,
    }
    extension_id = granted.json()["id"]
    assert world.client("learner").delete(f"{url}{extension_id}/").status_code == 403
    assert world.client("staff").delete(f"{url}{extension_id}/").status_code == 204
    assert not Extension.objects.exists()


def test_overrides(world):
    lab = world.labs[1]
    url = f"/api/v1/cohorts/{world.cohort.pk}/overrides/"
    release = timezone.now() + dt.timedelta(days=3)
    body = {"lab": lab.pk, "release_at": release.isoformat()}
    assert world.client("mentor").post(url, body, format="json").status_code == 403
    backwards = world.client("staff").post(
        url, {**body, "due_at": (release - dt.timedelta(days=1)).isoformat()}, format="json"
    )
    assert backwards.status_code == 400 and "due_at" in backwards.json()["errors"]
    assert world.client("staff").post(url, {"lab": lab.pk}, format="json").status_code == 400
    assert not ScheduleOverride.objects.exists()
    created = world.client("staff").post(url, body, format="json")
    assert created.status_code == 201, created.content
    schedule = world.client("learner").get(f"/api/v1/cohorts/{world.cohort.pk}/schedule/").json()
    week2 = next(e for e in schedule["results"] if e["lab"]["id"] == lab.pk)
    assert week2["is_released"] is False
    assert world.client("mentor").get(url).json()["count"] == 1
    assert world.client("learner").get(url).status_code == 403
    assert world.client("staff").delete(f"{url}{lab.pk}/").status_code == 204
    assert world.client("staff").delete(f"{url}{lab.pk}/").status_code == 404


def test_reassign(world):
    submission = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.labs[0]
    )
    services.submission_save_draft(
        actor=world.learner,
        submission=submission,
        repo_url="https://github.com/a/b",
        commit_sha="",
        notes="",
        checklist=[],
    )
    services.submission_submit(actor=world.learner, submission=submission)
    second = MentorMembershipFactory(cohort=world.cohort).user
    url = f"/api/v1/submissions/{submission.pk}/reassign/"
    body = {"mentor": second.pk, "reason": "Balance the load"}
    assert world.client("mentor").post(url, body, format="json").status_code == 403
    assert world.client("other_mentor").post(url, body, format="json").status_code == 404
    bad = world.client("staff").post(url, {"mentor": world.other_mentor.pk}, format="json")
    assert bad.status_code == 400 and "mentor" in bad.json()["errors"]
    done = world.client("staff").post(url, body, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["assigned_to"]["id"] == second.pk


def test_notification_preferences(world):
    client = world.client("learner")
    rows = client.get("/api/v1/notifications/preferences/").json()
    kinds = {row["kind"]: row for row in rows}
    assert "comment.added" in kinds and all(row["is_default"] for row in rows)
    updated = client.patch(
        "/api/v1/notifications/preferences/",
        {"channels": {"comment.added": "off"}},
        format="json",
    )
    assert updated.status_code == 200
    assert {r["kind"]: r["channel"] for r in updated.json()}["comment.added"] == "off"
    assert Preference.objects.filter(user=world.learner).count() == 1
    unknown = client.patch(
        "/api/v1/notifications/preferences/", {"channels": {"nope": "off"}}, format="json"
    )
    assert unknown.status_code == 400
    bad_channel = client.patch(
        "/api/v1/notifications/preferences/",
        {"channels": {"comment.added": "pigeon"}},
        format="json",
    )
    assert bad_channel.status_code == 400
    assert Preference.objects.filter(user=world.learner).count() == 1
    assert world.client("anonymous").get("/api/v1/notifications/preferences/").status_code == 401


@pytest.mark.parametrize("path", ["extensions/", "overrides/", "members/"])
def test_management_lists_have_fixed_query_counts(world, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from tests.factories import LabFactory, MembershipFactory

    client = APIClient()
    client.force_authenticate(world.staff)
    url = f"/api/v1/cohorts/{world.cohort.pk}/{path}"
    far = timezone.now() + dt.timedelta(days=400)

    def grow(count, start_week):
        for week in range(start_week, start_week + count):
            lab = LabFactory(track=world.cohort.track, week=week)
            learner = MembershipFactory(cohort=world.cohort).user
            Extension.objects.create(
                cohort=world.cohort,
                lab=lab,
                learner=learner,
                due_at=far,
                reason="r",
                granted_by=world.mentor,
            )
            ScheduleOverride.objects.create(cohort=world.cohort, lab=lab, due_at=far)

    grow(2, 10)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url + "?page_size=2").status_code == 200
    grow(20, 20)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url + "?page_size=20")
    assert len(response.json()["results"]) == 20
    assert len(large) == len(small)


def test_import_list_has_a_fixed_query_count(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from curriculum.models import CurriculumImport

    client = APIClient()
    client.force_authenticate(world.staff)
    CurriculumImport.objects.create(created_by=world.staff, filename="a", diff={"totals": {}})
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/curriculum/imports/?page_size=1")
    for n in range(15):
        CurriculumImport.objects.create(
            created_by=world.mentor, applied_by=world.staff, filename=str(n)
        )
    with CaptureQueriesContext(connection) as large:
        assert len(client.get("/api/v1/curriculum/imports/?page_size=15").json()["results"]) == 15
    assert len(large) == len(small)


def test_join_links_and_joining(world):
    url = f"/api/v1/cohorts/{world.cohort.pk}/join-links/"
    assert world.client("mentor").post(url, {}, format="json").status_code == 403
    assert world.client("mentor").get(url).status_code == 403
    assert world.client("other_mentor").get(url).status_code == 404
    past = world.client("staff").post(url, {"expires_at": "2001-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400 and "expires_at" in past.json()["errors"]
    link = world.client("staff").post(url, {}, format="json").json()
    assert link["enabled"] is True and link["url"].endswith(f"/join/{link['token']}/")

    newcomer = UserFactory()
    client = token_client(newcomer)
    joined = client.post("/api/v1/cohorts/join/", {"token": link["token"]}, format="json")
    assert joined.status_code == 201, joined.content
    assert joined.json() == {"cohort": world.cohort.pk, "role": "learner", "joined": True}
    again = client.post("/api/v1/cohorts/join/", {"token": link["token"]}, format="json")
    assert again.status_code == 200 and again.json()["joined"] is False

    off = world.client("staff").patch(f"{url}{link['id']}/", {"enabled": False}, format="json")
    assert off.status_code == 200 and off.json()["enabled"] is False
    late = token_client(UserFactory()).post(
        "/api/v1/cohorts/join/", {"token": link["token"]}, format="json"
    )
    assert late.status_code == 400 and late.json()["code"] == "link_disabled"
    unknown = client.post("/api/v1/cohorts/join/", {"token": "nope"}, format="json")
    assert unknown.status_code == 404
    assert (
        world.client("anonymous")
        .post("/api/v1/cohorts/join/", {"token": link["token"]}, format="json")
        .status_code
        == 401
    )


def _csv(client, cohort, content: bytes):
    return client.post(
        f"/api/v1/cohorts/{cohort.pk}/enrollments/",
        {"file": SimpleUploadedFile("people.csv", content)},
        format="multipart",
    )


def test_enrollment_preview_then_apply(world):
    content = b"email,name,role\nnew1@example.com,New One,learner\nnew2@example.com,,mentor\n"
    assert _csv(world.client("mentor"), world.cohort, content).status_code == 403
    assert _csv(world.client("other_mentor"), world.cohort, content).status_code == 404
    broken = _csv(world.client("staff"), world.cohort, b"email,name,role\nnot-an-email,,pilot\n")
    assert broken.status_code == 400 and broken.json()["errors"]["file"]
    preview = _csv(world.client("staff"), world.cohort, content)
    assert preview.status_code == 201, preview.content
    body = preview.json()
    assert body["can_apply"] is True
    assert [r["action"] for r in body["rows"]] == ["new_account", "new_account"]
    assert not Membership.objects.filter(user__email="new1@example.com").exists()

    url = f"/api/v1/cohorts/{world.cohort.pk}/enrollments/{body['id']}/apply/"
    assert world.client("mentor").post(url).status_code == 403
    applied = world.client("staff").post(url)
    assert applied.status_code == 200
    assert applied.json()["added"] == 2 and applied.json()["created_accounts"] == 2
    assert world.client("staff").post(url).json() == applied.json()
    assert (
        Membership.objects.filter(cohort=world.cohort, user__email__startswith="new").count() == 2
    )
    other = world.client("staff").post(
        f"/api/v1/cohorts/{world.other_cohort.pk}/enrollments/{body['id']}/apply/"
    )
    assert other.status_code == 404
