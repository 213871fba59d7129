"""What a failed request answers, page or API: the cause decides the status, and nothing of
the exception reaches the client (the end-to-end outages are in the other tests here)."""

import pytest
from django.test import Client


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = "tests.resilience.urls_failing"
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("path", "status", "code", "title"),
    [
        ("database", 503, "unavailable", "Briefly unavailable"),
        ("disk", 507, "insufficient_storage", "No room for the file"),
        ("bug", 500, "server_error", "Something went wrong"),
    ],
)
def test_pages_and_api_name_the_kind_of_failure_and_nothing_else(client, path, status, code, title):
    page = client.get(f"/{path}")
    api = client.get(f"/api/v1/{path}")
    assert page.status_code == api.status_code == status
    assert title in page.content.decode()
    assert api.json()["code"] == code
    for answer in (page, api):
        body = answer.content.decode()
        for leak in ("Traceback", "10.0.0.5", "/srv/media", "secret internals", "Errno"):
            assert leak not in body
        assert answer["Cache-Control"] == "no-store"
        assert answer.has_header("Retry-After") == (status != 500)
