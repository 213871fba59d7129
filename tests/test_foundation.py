import logging

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory


@pytest.mark.django_db
def test_healthz_needs_no_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_cache_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


SECRET_IN_ERROR = "password authentication failed for user cl_secret_owner at 10.9.8.7"


def _failing_database(execute, sql, params, many, context):
    raise OperationalError(SECRET_IN_ERROR)


@pytest.mark.django_db
def test_readyz_names_a_failing_database_but_not_its_error(client, caplog):
    with connection.execute_wrapper(_failing_database), caplog.at_level(logging.ERROR):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["failing"] == ["database"]
    assert "cl_secret_owner" not in response.content.decode()
    # The operator still finds out why, in the log.
    assert SECRET_IN_ERROR in caplog.text


@pytest.mark.django_db
def test_readyz_stays_ready_without_the_broker_and_names_it_but_not_its_address(
    client, monkeypatch, caplog
):
    """Pages and the API answer while the broker is down (tests/core/test_redis_outage.py):
    a load balancer must keep routing here."""
    from config.celery import app

    # A real connection attempt to a port where nothing listens.
    monkeypatch.setattr(app.conf, "broker_url", "redis://cl-broker-user:s3cret@127.0.0.1:1/0")
    with caplog.at_level(logging.ERROR):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["failing"] == ["broker"]
    body = response.content.decode()
    for leak in ("127.0.0.1", ":1/", "s3cret", "cl-broker-user", "refused", "Error"):
        assert leak not in body
    assert "broker" in caplog.text


@pytest.mark.django_db
def test_login_page_renders_with_csrf_header_for_htmx(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "/static/vendor/htmx/htmx-2.0.11.min.js" in body


@pytest.mark.django_db
def test_learner_signs_in_by_email_and_lands_on_dashboard(client):
    membership = MembershipFactory(user=UserFactory(email="ada@example.com"))
    response = client.post(
        reverse("login"), {"username": "ADA@example.com", "password": DEFAULT_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("dashboard:learner")
    assert membership.cohort.name in response.content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboard:learner"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_password_reset_sends_email(client, mailoutbox):
    UserFactory(email="grace@example.com")
    response = client.post(reverse("password_reset"), {"email": "grace@example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body


@pytest.mark.django_db
def test_times_render_in_the_viewers_time_zone(client, rf):
    from django.http import HttpResponse
    from django.utils import timezone

    from core.middleware import UserTimezoneMiddleware

    seen = {}

    def view(request):
        seen["tz"] = timezone.get_current_timezone_name()
        return HttpResponse()

    def through_middleware(request):
        middleware = UserTimezoneMiddleware(
            lambda r: middleware.process_view(r, view, (), {}) or view(r)
        )
        return middleware(request)

    request = rf.get("/")
    request.user = UserFactory(time_zone="America/New_York")
    through_middleware(request)
    assert seen["tz"] == "America/New_York"
    request.user.time_zone = "Not/AZone"
    through_middleware(request)
    assert seen["tz"] == "UTC"


@pytest.mark.django_db
def test_healthz_does_not_load_a_signed_in_users_session(client, django_assert_num_queries):
    client.force_login(UserFactory(time_zone="Europe/Berlin"))
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_navigation_shows_what_the_roles_allow(client):
    learner = MembershipFactory().user
    client.force_login(learner)
    body = client.get(reverse("dashboard:learner")).content.decode()
    assert reverse("cohorts:mine") in body
    assert reverse("admin:index") not in body
    assert reverse("dashboard:mentor") not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method,kwargs",
    [
        ("get", {"path": "/api/v1/labs/?track=a%00b"}),
        ("post", {"path": "/accounts/login/", "data": "username=a%00b&password=x",
                  "content_type": "application/x-www-form-urlencoded"}),
        ("post", {"path": "/api/v1/cohorts/", "data": '{"track": "a\\u0000b"}',
                  "content_type": "application/json"}),
    ],
)  # fmt: skip
def test_nul_characters_are_refused_with_a_clear_400(client, method, kwargs):
    client.force_login(UserFactory(is_staff=True))
    response = getattr(client, method)(**kwargs)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["field", "field name"])
def test_nul_characters_in_a_multipart_form_are_refused_and_change_nothing(client, where):
    """A form with files (multipart) carries its fields as text too."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cohorts.models import Cohort

    client.force_login(UserFactory(is_staff=True))
    upload = SimpleUploadedFile("notes.txt", b"hello", "text/plain")
    fields = {"name": "New cohort", "slug": "new-cohort", "file": upload}
    if where == "field":
        fields["track"] = "\x00-track"
    else:
        fields["tr\x00ack"] = "1"
    response = client.post("/api/v1/cohorts/", fields)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert not Cohort.objects.filter(slug="new-cohort").exists()


@pytest.mark.django_db
def test_file_uploads_may_contain_nul_bytes(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(UserFactory(is_staff=True))
    upload = SimpleUploadedFile("x.bin", b"\x00\x01", content_type="application/octet-stream")
    response = client.post("/api/v1/curriculum/imports/", {"file": upload})
    # The upload reaches the importer, which names the file and line in its own refusal.
    assert response.status_code == 400
    assert "x.bin:1" in response.json()["detail"]
