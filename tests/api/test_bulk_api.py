"""Issue 15.3 in the API: POST cohorts/{id}/extensions/bulk/, cohorts/{id}/schedule/shifts/,
cohorts/{id}/announcements/ — who may, what a refusal says, and that members see the
announcement in GET /api/v1/notifications/."""

import datetime as dt

import pytest
import yaml

from cohorts.models import Announcement, Cohort, Extension, ScheduleOverride, ScheduleShift
from cohorts.selectors import schedule_entry
from notifications.models import Event
from tests.api.conftest import token_client
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def bulk_url(cohort):
    return f"/api/v1/cohorts/{cohort.pk}/extensions/bulk/"


def shift_url(cohort):
    return f"/api/v1/cohorts/{cohort.pk}/schedule/shifts/"


def announce_url(cohort):
    return f"/api/v1/cohorts/{cohort.pk}/announcements/"


def _later(world, days=3):
    lab = world.labs[2]
    return lab, schedule_entry(cohort=world.cohort, lab=lab).due_at + dt.timedelta(days=days)


# --- Extension for everyone ----------------------------------------------------------------


def test_a_mentor_previews_then_extends_a_lab_for_everyone(world):
    lab, due = _later(world)
    keeper = world.learner
    Extension.objects.create(
        cohort=world.cohort, lab=lab, learner=keeper, due_at=due + dt.timedelta(days=5), reason="r"
    )
    client = world.client("mentor")
    body = {"lab": lab.pk, "due_at": due.isoformat(), "reason": "Holiday"}
    preview = client.post(bulk_url(world.cohort), {**body, "dry_run": True}, format="json")
    assert preview.status_code == 200, preview.json()
    data = preview.json()
    assert data["applied"] is False
    assert [u["id"] for u in data["granted"]] == [world.other_learner.pk]
    assert [k["learner"]["id"] for k in data["kept"]] == [keeper.pk]
    assert Extension.objects.count() == 1

    done = client.post(
        bulk_url(world.cohort), {**body, "fingerprint": data["fingerprint"]}, format="json"
    )
    assert done.status_code == 201, done.json()
    assert done.json()["applied"] is True
    assert Extension.objects.get(learner=world.other_learner).due_at == due
    assert Extension.objects.get(learner=keeper).due_at == due + dt.timedelta(days=5)

    # The same confirm again: the preview no longer holds.
    again = client.post(
        bulk_url(world.cohort), {**body, "fingerprint": data["fingerprint"]}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"


@pytest.mark.parametrize("who", ["learner", "other_mentor", "anonymous"])
def test_others_may_not_extend_for_everyone(world, who):
    lab, due = _later(world)
    response = world.client(who).post(
        bulk_url(world.cohort),
        {"lab": lab.pk, "due_at": due.isoformat(), "reason": "x"},
        format="json",
    )
    assert response.status_code == {"learner": 403, "other_mentor": 404, "anonymous": 401}[who]
    assert not Extension.objects.exists()


def test_bulk_extension_errors_name_the_field(world):
    lab, due = _later(world)
    client = world.client("staff")
    early = client.post(
        bulk_url(world.cohort),
        {"lab": lab.pk, "due_at": (due - dt.timedelta(days=10)).isoformat(), "reason": "x"},
        format="json",
    )
    assert early.status_code == 400 and "due_at" in early.json()["errors"]
    missing = client.post(bulk_url(world.cohort), {"lab": lab.pk}, format="json")
    assert missing.status_code == 400
    assert {"due_at", "reason"} <= set(missing.json()["errors"])
    other = client.post(
        bulk_url(world.cohort),
        {"lab": 99999999, "due_at": due.isoformat(), "reason": "x"},
        format="json",
    )
    assert other.status_code == 400 and "lab" in other.json()["errors"]
    assert not Extension.objects.exists()


# --- Schedule shift -------------------------------------------------------------------------


def test_staff_preview_then_shift_the_schedule_and_see_the_record(world):
    client = world.client("staff")
    preview = client.post(shift_url(world.cohort), {"days": 7, "dry_run": True}, format="json")
    assert preview.status_code == 200, preview.json()
    data = preview.json()
    assert data["applied"] is False and data["shift"] is None
    assert data["labs"], "the factory cohort started 14 days ago: week 3 is ahead"
    assert not ScheduleOverride.objects.exists()

    done = client.post(
        shift_url(world.cohort), {"days": 7, "fingerprint": data["fingerprint"]}, format="json"
    )
    assert done.status_code == 201, done.json()
    result = done.json()
    assert result["applied"] is True and result["shift"]["days"] == 7
    assert result["shift"]["shifted_by"]["id"] == world.staff.pk
    assert ScheduleShift.objects.get().labs_moved == len(data["labs"])

    history = client.get(shift_url(world.cohort))
    assert history.status_code == 200
    assert [row["days"] for row in history.json()["results"]] == [7]
    assert world.client("mentor").get(shift_url(world.cohort)).status_code == 200
    assert world.client("learner").get(shift_url(world.cohort)).status_code == 403


@pytest.mark.parametrize(
    ("who", "status"),
    [("mentor", 403), ("learner", 403), ("other_mentor", 404), ("anonymous", 401)],
)
def test_only_staff_shift_the_schedule(world, who, status):
    response = world.client(who).post(shift_url(world.cohort), {"days": 7}, format="json")
    assert response.status_code == status
    assert not ScheduleOverride.objects.exists() and not ScheduleShift.objects.exists()


@pytest.mark.parametrize("days", [0, 61, -61, "soon", None])
def test_a_bad_shift_is_a_400_on_days(world, days):
    response = world.client("staff").post(shift_url(world.cohort), {"days": days}, format="json")
    assert response.status_code == 400
    assert "days" in response.json()["errors"]
    assert not ScheduleOverride.objects.exists()


def test_an_ended_cohort_is_not_shifted(world):
    Cohort.objects.filter(pk=world.cohort.pk).update(status=Cohort.Status.FINISHED)
    response = world.client("staff").post(shift_url(world.cohort), {"days": 7}, format="json")
    assert response.status_code == 400 and "ended" in response.json()["detail"]


# --- Announcements --------------------------------------------------------------------------


def test_a_mentor_announces_and_every_member_sees_it_in_their_notifications(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("mentor").post(
            announce_url(world.cohort),
            {"title": "Holiday week", "body": "No labs **next week**. <script>x()</script>"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["title"] == "Holiday week"
    assert "<strong>next week</strong>" in data["body_html"] and "<script" not in data["body_html"]
    assert data["author"] == {"id": world.mentor.pk, "name": world.mentor.display_name}
    # Processed by the worker after commit (eager in tests).
    for who in ("learner", "other_learner"):
        notes = world.client(who).get("/api/v1/notifications/?kind=announcement.posted").json()
        [note] = notes["results"]
        assert "Holiday week" in note["text"]
        assert note["link"].endswith(f"#announcement-{data['id']}")
    assert world.client("mentor").get("/api/v1/notifications/").json()["count"] == 0
    assert world.client("other_mentor").get("/api/v1/notifications/").json()["count"] == 0
    # Members read the list; others do not reach it.
    assert world.client("learner").get(announce_url(world.cohort)).json()["count"] == 1
    assert world.client("other_mentor").get(announce_url(world.cohort)).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"), [("learner", 403), ("other_mentor", 404), ("anonymous", 401)]
)
def test_others_may_not_announce(world, who, status):
    response = world.client(who).post(
        announce_url(world.cohort), {"title": "t", "body": "b"}, format="json"
    )
    assert response.status_code == status
    assert not Announcement.objects.exists() and not Event.objects.exists()


def test_announcement_errors_name_the_fields(world):
    response = world.client("staff").post(
        announce_url(world.cohort), {"title": "", "body": ""}, format="json"
    )
    assert response.status_code == 400
    assert {"title", "body"} <= set(response.json()["errors"])
    blank = world.client("staff").post(
        announce_url(world.cohort), {"title": "   ", "body": "text"}, format="json"
    )
    assert blank.status_code == 400 and "title" in blank.json()["errors"]
    assert not Announcement.objects.exists()


def test_a_new_member_sees_past_announcements_but_was_not_notified(world):
    world.client("staff").post(
        announce_url(world.cohort), {"title": "Welcome", "body": "Hi"}, format="json"
    )
    newcomer = MembershipFactory(cohort=world.cohort).user

    client = token_client(newcomer)
    assert client.get(announce_url(world.cohort)).json()["count"] == 1
    assert client.get("/api/v1/notifications/").json()["count"] == 0


def test_the_schema_documents_the_bulk_endpoints(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]
    assert "post" in paths["/api/v1/cohorts/{cohort_pk}/extensions/bulk/"]
    assert {"get", "post"} <= set(paths["/api/v1/cohorts/{cohort_pk}/schedule/shifts/"])
    assert {"get", "post"} <= set(paths["/api/v1/cohorts/{cohort_pk}/announcements/"])
    components = schema["components"]["schemas"]
    for name, fields in {
        "BulkExtensionRequestRequest": ("lab", "due_at", "reason", "dry_run", "fingerprint"),
        "BulkExtensionResult": ("applied", "granted", "kept", "replaced", "fingerprint"),
        "ScheduleShiftRequestRequest": ("days", "dry_run", "fingerprint"),
        "ScheduleShiftResult": ("applied", "days", "labs", "extensions", "shift"),
        "LabMove": ("lab", "week", "release_from", "release_to", "due_from", "due_to"),
        "Announcement": ("id", "title", "body", "body_html", "author", "created_at"),
    }.items():
        assert set(fields) <= set(components[name]["properties"]), name
    described = [
        ("BulkExtensionRequestRequest", "dry_run"),
        ("BulkExtensionRequestRequest", "fingerprint"),
        ("BulkExtensionResult", "kept"),
        ("BulkExtensionResult", "replaced"),
        ("ScheduleShiftRequestRequest", "days"),
        ("LabMove", "release_to"),
        ("Announcement", "body"),
        ("Announcement", "body_html"),
    ]
    for name, field in described:
        assert components[name]["properties"][field].get("description"), (name, field)
    days = components["ScheduleShiftRequestRequest"]["properties"]["days"]
    assert (days["minimum"], days["maximum"]) == (-60, 60)
