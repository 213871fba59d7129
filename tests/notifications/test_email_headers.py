"""Names typed by people never break the e-mails that name them (issue 14, point 7).

A display name is one line: every way of setting one refuses line breaks and control
characters. And whatever a name in the database holds (older rows, direct writes), the
e-mails built from it keep a one-line subject and gain no header.
"""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from cohorts.models import Cohort, Invitation
from cohorts.services import invitation_send, join_link_create
from tests.factories import CohortFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

INJECTED = "Eve\r\nBcc: victim@evil.test\r\nSubject: pwned"


def _assert_one_clean_message(message, to):
    assert message.to == [to]
    assert message.bcc == []
    assert "\n" not in message.subject and "\r" not in message.subject
    mime = message.message()
    assert mime.get_all("Bcc") is None
    assert len(mime.get_all("Subject")) == 1
    assert "victim@evil.test" not in str(mime["To"])


def test_a_stored_name_with_line_breaks_does_not_break_the_notification_email(
    world, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=world.learner.pk).update(name=INJECTED)  # an older row
    with django_capture_on_commit_callbacks(execute=True):
        world.submit()
    assert len(mail.outbox) == 1
    _assert_one_clean_message(mail.outbox[0], world.mentor.email)
    assert "Eve Bcc: victim@evil.test Subject: pwned" in mail.outbox[0].subject


def test_a_cohort_name_with_line_breaks_does_not_break_the_invitation(
    django_capture_on_commit_callbacks,
):
    cohort = CohortFactory()
    Cohort.objects.filter(pk=cohort.pk).update(name="Spring\nBcc: victim@evil.test")
    invitee = UserFactory(password=None)
    invitee.set_unusable_password()
    invitee.save()
    invitation = Invitation.objects.create(user=invitee, cohort=cohort)
    assert invitation_send(invitation_id=invitation.pk) is True
    assert len(mail.outbox) == 1
    _assert_one_clean_message(mail.outbox[0], invitee.email)


# --- Every way of setting a name refuses a second line ----------------------------------------


def test_join_sign_up_refuses_a_name_with_a_line_break(client):
    link = join_link_create(actor=StaffFactory(), cohort=CohortFactory())
    response = client.post(
        reverse("cohorts:join", args=[link.token]),
        {
            "name": INJECTED,
            "email": "eve@example.com",
            "password1": "x-long-pass-99",
            "password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 400
    assert "one line" in response.content.decode()
    assert not User.objects.filter(email="eve@example.com").exists()


def test_member_page_and_api_refuse_a_name_with_a_line_break(client):
    staff = StaffFactory()
    cohort = CohortFactory()
    client.force_login(staff)
    response = client.post(
        reverse("cohorts:members", args=[cohort.slug]),
        {"email": "eve@example.com", "name": INJECTED, "role": "learner"},
    )
    assert response.status_code == 400
    api = APIClient()
    api.force_authenticate(staff)
    response = api.post(
        f"/api/v1/cohorts/{cohort.pk}/members/",
        {"email": "eve@example.com", "name": INJECTED, "role": "learner"},
        format="json",
    )
    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    assert not User.objects.filter(email="eve@example.com").exists()
    assert not cohort.memberships.exists()


def test_a_csv_name_with_a_line_break_is_a_row_error(client):
    staff = StaffFactory()
    cohort = CohortFactory()
    client.force_login(staff)
    source = 'email,name,role\neve@example.com,"Eve\nBcc: victim@evil.test",learner\n'
    response = client.post(
        reverse("cohorts:enrollment_upload", args=[cohort.slug]),
        {"file": SimpleUploadedFile("m.csv", source.encode())},
    )
    assert response.status_code == 400
    assert "one line" in response.content.decode()
    assert not User.objects.filter(email="eve@example.com").exists()


def test_admin_refuses_a_name_with_a_line_break(admin_client):
    user = UserFactory(name="Eve")
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {
            "email": user.email,
            "name": "Eve\nBcc: victim@evil.test",
            "time_zone": "UTC",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert "one line" in response.content.decode()
    user.refresh_from_db()
    assert user.name == "Eve"
