"""GET and PATCH /api/v1/me/: one's own name and time zone (issue 15, point 1)."""

import pytest

from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def test_me_shows_who_you_are(user):
    body = token_client(user).get(ME).json()
    assert body == {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "time_zone": "UTC",
        "is_staff": False,
        "away": False,
    }


def test_patch_changes_name_and_zone_and_ignores_read_only_fields(user):
    client = token_client(user)
    response = client.patch(
        ME,
        {
            "name": "Ada",
            "time_zone": "europe/berlin",
            "email": "x@evil.test",
            "id": 1,
            "is_staff": True,
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["time_zone"] == "Europe/Berlin"
    user.refresh_from_db()
    assert (user.name, user.time_zone, user.email, user.is_staff) == (
        "Ada",
        "Europe/Berlin",
        user.email,
        False,
    )
    assert not user.email.startswith("x@")
    assert client.get(ME).json()["name"] == "Ada"


def test_patch_one_field_keeps_the_other(user):
    client = token_client(user)
    client.patch(ME, {"time_zone": "Asia/Tokyo"}, format="json")
    name = UserFactory._meta.model.objects.get(pk=user.pk).name
    assert name == user.name
    client.patch(ME, {"name": "Only Name"}, format="json")
    user.refresh_from_db()
    assert (user.name, user.time_zone) == ("Only Name", "Asia/Tokyo")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", None, 42, "UTC+9"])
def test_an_unknown_zone_is_a_400_naming_the_field(user, zone):
    response = token_client(user).patch(ME, {"name": "Ada", "time_zone": zone}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == ["time_zone"] and body["code"] == "invalid"
    user.refresh_from_db()
    assert (user.time_zone, user.name) == ("UTC", user.name)
    assert user.name != "Ada"


def test_a_name_on_two_lines_is_a_400_naming_the_field(user):
    response = token_client(user).patch(ME, {"name": "A\nB"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["name"]


def test_without_credentials_me_is_refused(anon):
    assert anon.get(ME).status_code in (401, 403)
    assert anon.patch(ME, {"time_zone": "Asia/Tokyo"}, format="json").status_code in (401, 403)


def test_the_schema_documents_the_writable_fields(staff):
    schema = token_client(staff).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/me/"]["patch"]
    assert "400" in operation["responses"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"name", "time_zone"}  # nothing else is writable
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    me = schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]
    assert me["id"].get("readOnly") is True and me["email"].get("readOnly") is True
