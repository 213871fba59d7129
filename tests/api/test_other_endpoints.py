import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from curriculum.models import CurriculumImport, Lab, LabRevision
from notifications.models import Notification
from submissions import services
from tests.api.conftest import ROLES, token_client
from tests.curriculum.conftest import labs_index, simple_track
from tests.factories import MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


# --- notifications ----------------------------------------------------------------------------


def _notify(user, n=1, **fields):
    return [
        Notification.objects.create(
            recipient=user, kind="comment.added", text=f"note {i}", **fields
        )
        for i in range(n)
    ]


def test_notifications_are_private_and_mark_read(world):
    mine = _notify(world.learner, 3)
    theirs = _notify(world.other_learner)[0]
    client = world.client("learner")
    listed = client.get("/api/v1/notifications/").json()
    assert sorted(n["id"] for n in listed["results"]) == sorted(n.pk for n in mine)
    assert client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    read = client.post(f"/api/v1/notifications/{mine[0].pk}/read/")
    assert read.status_code == 200 and read.json()["is_read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 2
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked_read": 2}
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert world.client("anonymous").get("/api/v1/notifications/").status_code == 401


def test_notification_list_query_count(world, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(world.learner)
    _notify(world.learner, 2, actor=world.mentor)
    with django_assert_num_queries(2):
        client.get("/api/v1/notifications/?page_size=2")
    _notify(world.learner, 30, actor=world.other_learner)
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/notifications/?page_size=30").json()["results"]) == 30


# --- progress ---------------------------------------------------------------------------------


def test_progress_matrix_matrix(world):
    submission = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.labs[0]
    )
    url = f"/api/v1/cohorts/{world.cohort.pk}/progress/"
    statuses = {who: world.client(who).get(url).status_code for who in ROLES}
    assert statuses == {
        "learner": 403,
        "other_learner": 403,
        "mentor": 200,
        "other_mentor": 404,
        "staff": 200,
        "anonymous": 401,
    }
    rows = {r["learner"]["id"]: r for r in world.client("mentor").get(url).json()["results"]}
    assert set(rows) == {world.learner.pk, world.other_learner.pk}
    cells = rows[world.learner.pk]["cells"]
    assert [c["lab"] for c in cells] == [lab.pk for lab in world.labs]
    assert cells[0]["state"] == "draft" and cells[0]["submission"] == submission.pk
    assert rows[world.other_learner.pk]["cells"][0]["state"] == "not_started"
    assert world.client("mentor").get(url + "?order=sideways").status_code == 400


def test_progress_query_count(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = APIClient()
    client.force_authenticate(world.staff)
    url = f"/api/v1/cohorts/{world.cohort.pk}/progress/"
    with CaptureQueriesContext(connection) as small:
        client.get(url + "?page_size=1")
    for _ in range(20):
        MembershipFactory(cohort=world.cohort)
    with CaptureQueriesContext(connection) as large:
        assert len(client.get(url + "?page_size=20").json()["results"]) == 20
    assert len(large) == len(small)


# --- curriculum imports ----------------------------------------------------------------------


def _upload(client, content: bytes, name="labs.txt", **fields):
    return client.post(
        "/api/v1/curriculum/imports/",
        {"file": SimpleUploadedFile(name, content), **fields},
        format="multipart",
    )


def test_import_dry_run_returns_the_cli_diff_then_applies(tmp_path, capsys):
    staff = StaffFactory()
    client = token_client(staff)
    source = labs_index({"Go Mastery": simple_track(3)})
    path = tmp_path / "labs.txt"
    path.write_bytes(source)
    call_command("import_curriculum", str(path), "--dry-run", "--json")
    cli = json.loads(capsys.readouterr().out)

    preview = _upload(client, source)
    assert preview.status_code == 201, preview.content
    body = preview.json()
    assert {key: body[key] for key in cli} == cli
    assert body["status"] == "previewed" and body["applied"] is False
    assert not Lab.objects.exists()

    applied = client.post(f"/api/v1/curriculum/imports/{body['id']}/apply/")
    assert applied.status_code == 200, applied.content
    assert applied.json()["applied"] is True
    assert Lab.objects.count() == 3 and LabRevision.objects.count() == 3
    again = client.post(f"/api/v1/curriculum/imports/{body['id']}/apply/")
    assert again.status_code == 409 and again.json()["code"] == "conflict"

    # Re-importing the same file changes nothing.
    direct = _upload(client, source, dry_run="false")
    assert direct.status_code == 201 and direct.json()["applied"] is True
    assert LabRevision.objects.count() == 3


def test_import_errors_and_permissions(world):
    staff = world.client("staff")
    assert _upload(staff, b"").status_code == 400
    broken = _upload(staff, b"Week without a track\n\x00")
    assert broken.status_code == 400
    assert broken.json()["errors"]["file"][0].startswith("labs.txt:")
    assert _upload(staff, b"x", format="klingon").status_code == 400
    assert staff.post("/api/v1/curriculum/imports/", {}, format="multipart").status_code == 400
    assert not CurriculumImport.objects.exists()
    source = labs_index({"Go Mastery": simple_track(1)})
    for who in ["learner", "mentor", "other_mentor"]:
        assert _upload(world.client(who), source).status_code == 403
        assert world.client(who).get("/api/v1/curriculum/imports/").status_code == 403
    assert _upload(world.client("anonymous"), source).status_code == 401
    assert not CurriculumImport.objects.exists()


def test_import_apply_conflict_when_curriculum_changed(world):
    staff = world.client("staff")
    first = _upload(staff, labs_index({"Go Mastery": simple_track(2)})).json()
    second = _upload(staff, labs_index({"Go Mastery": simple_track(3)})).json()
    assert staff.post(f"/api/v1/curriculum/imports/{first['id']}/apply/").status_code == 200
    stale = staff.post(f"/api/v1/curriculum/imports/{second['id']}/apply/")
    assert stale.status_code == 409
    discarded = staff.post(f"/api/v1/curriculum/imports/{second['id']}/discard/")
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    assert staff.get("/api/v1/curriculum/imports/999999/").status_code == 404
