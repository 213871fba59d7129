import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import User
from cohorts.models import EnrollmentUpload, Invitation, Membership
from cohorts.services import (
    enrollment_apply,
    enrollment_preview,
    invitation_send,
    membership_add,
    membership_change_role,
    membership_deactivate,
)
from core.exceptions import ApplicationError
from notifications.models import Event
from tests.factories import CohortFactory, MembershipFactory, StaffFactory, UserFactory


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def cohort(db):
    return CohortFactory()


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_preview_lists_new_accounts_existing_users_and_changes(staff, cohort):
    existing = UserFactory(email="known@example.com")
    member = MembershipFactory(cohort=cohort, user=UserFactory(email="member@example.com"))
    removed = MembershipFactory(
        cohort=cohort, user=UserFactory(email="removed@example.com"), active=False
    )
    source = csv_bytes(
        "email,name,role",
        "new@example.com,New Person,learner",
        "KNOWN@example.com,Known,mentor",
        "member@example.com,Member,learner",
        "removed@example.com,Removed,learner",
    )
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source, filename="m.csv")
    assert preview.errors == []
    assert [(r.line, r.action) for r in preview.rows] == [
        (2, "new_account"),
        (3, "new_member"),
        (4, "already_member"),
        (5, "reactivate"),
    ]
    assert [r.email for r in preview.new_accounts] == ["new@example.com"]
    assert {r.email for r in preview.existing_users} == {
        existing.email,
        member.user.email,
        removed.user.email,
    }
    assert preview.can_apply
    # A preview changes no account and no membership.
    assert not User.objects.filter(email="new@example.com").exists()
    assert cohort.memberships.filter(active=True).count() == 1


def test_preview_reports_bad_rows_with_line_numbers(staff, cohort):
    source = csv_bytes(
        "email,name,role",
        "ok@example.com,Ok,learner",
        "not-an-email,Bad,learner",
        "two@example.com,Two,teacher",
        "",
        "ok@example.com,Again,learner",
        "three@example.com,Three",
        "four@example.com,Four,mentor,extra",
    )
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source)
    lines = {line: message for line, message in preview.errors}
    assert set(lines) == {3, 4, 6, 7, 8}
    assert "not a valid email" in lines[3]
    assert "Unknown role" in lines[4]
    assert "Duplicate of line 2" in lines[6]
    assert "Expected 3 values" in lines[7] and "Expected 3 values" in lines[8]
    assert not preview.can_apply and preview.upload is None
    assert not EnrollmentUpload.objects.exists()


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        (b"mail,fullname,role\na@example.com,A,learner\n", "Expected the columns"),
        (b"email,name\na@example.com,A\n", "Expected the columns"),
        (b"", "empty"),
        (b"email,name,role\n", "no rows"),
        (b"\xff\xfe\x00e\x00m", "UTF-8"),
    ],
)
def test_wrong_files_explain_themselves(staff, cohort, source, needle):
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source)
    assert any(needle in message for _, message in preview.errors)
    assert not preview.can_apply


def test_columns_in_any_order_and_a_bom_are_accepted(staff, cohort):
    source = "\ufeffRole, Email ,Name\nmentor,a@example.com,Ann\n".encode()
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source)
    assert preview.errors == []
    assert (preview.rows[0].email, preview.rows[0].role, preview.rows[0].name) == (
        "a@example.com",
        "mentor",
        "Ann",
    )


def test_ten_megabyte_file_is_refused_before_parsing(staff, cohort):
    big = b"email,name,role\n" + b"x" * (10 * 1024 * 1024)
    with pytest.raises(ApplicationError) as err:
        enrollment_preview(actor=staff, cohort=cohort, file=big)
    assert err.value.code == "too_large"
    assert not EnrollmentUpload.objects.exists()


@override_settings(ENROLLMENT_CSV_MAX_BYTES=100)
def test_size_limit_is_a_setting(staff, cohort):
    with pytest.raises(ApplicationError):
        enrollment_preview(actor=staff, cohort=cohort, file=b"email,name,role\n" + b"a" * 100)


def test_apply_enrolls_everyone_and_invites_new_accounts_once_after_commit(
    staff, cohort, django_capture_on_commit_callbacks
):
    UserFactory(email="known@example.com")
    source = csv_bytes(
        "email,name,role",
        "new1@example.com,New One,learner",
        "new2@example.com,New Two,mentor",
        "known@example.com,Known,learner",
    )
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = enrollment_apply(actor=staff, upload=preview.upload)
        # Nothing is sent before the transaction commits.
        assert len(mail.outbox) == 0
    assert result == {
        "created_accounts": 2,
        "added": 3,
        "reactivated": 0,
        "role_changed": 0,
        "unchanged": 0,
    }
    assert len(mail.outbox) == 0
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == ["new1@example.com", "new2@example.com"]
    assert Event.objects.filter(kind="invitation.sent").count() == 2
    roles = dict(cohort.memberships.values_list("user__email", "role"))
    assert roles == {
        "new1@example.com": "learner",
        "new2@example.com": "mentor",
        "known@example.com": "learner",
    }
    # Running the callbacks again (a redelivered task) sends nothing more.
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 2

    # Re-uploading the same file changes nothing and sends nothing.
    again = enrollment_preview(actor=staff, cohort=cohort, file=source)
    assert {r.action for r in again.rows} == {"already_member"}
    assert not again.can_apply
    with django_capture_on_commit_callbacks(execute=True):
        result = enrollment_apply(actor=staff, upload=again.upload)
    assert result["unchanged"] == 3 and result["added"] == 0
    assert cohort.memberships.count() == 3
    assert User.objects.count() == 4
    assert len(mail.outbox) == 2
    # Applying the same upload twice (a double click) is also harmless.
    assert enrollment_apply(actor=staff, upload=preview.upload)["created_accounts"] == 2
    assert Invitation.objects.count() == 2


def test_invitation_email_holds_a_single_use_set_password_link(
    client, staff, cohort, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        membership_add(
            actor=staff, cohort=cohort, email="Fresh@Example.com", name="Fresh", role="learner"
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fresh@example.com"]
    assert cohort.name in message.subject
    link = next(word for word in message.body.split() if "/accounts/reset/" in word)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    set_url = response.redirect_chain[-1][0]
    response = client.post(
        set_url,
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="fresh@example.com").check_password("a-long-new-passphrase")
    # Used once: the same link no longer works.
    client.logout()
    response = client.get("/" + path, follow=True)
    assert not response.context["validlink"]


def test_apply_is_all_or_nothing(staff, cohort, monkeypatch, django_capture_on_commit_callbacks):
    source = csv_bytes(
        "email,name,role",
        "a@example.com,A,learner",
        "b@example.com,B,learner",
    )
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source)
    # enrollment_apply looks the name up in its own module, so patch it there.
    import cohorts.services.enrollment as enrollment_services

    calls = {"n": 0}
    real = enrollment_services.user_get_or_create

    def failing_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(enrollment_services, "user_get_or_create", failing_second)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        enrollment_apply(actor=staff, upload=preview.upload)
    assert not User.objects.filter(email_key__in=["a@example.com", "b@example.com"]).exists()
    assert not cohort.memberships.exists()
    assert not Invitation.objects.exists()
    assert len(mail.outbox) == 0
    preview.upload.refresh_from_db()
    assert preview.upload.applied_at is None


def test_only_staff_apply(staff, cohort):
    preview = enrollment_preview(
        actor=staff, cohort=cohort, file=csv_bytes("email,name,role", "a@example.com,A,learner")
    )
    with pytest.raises(ApplicationError):
        enrollment_apply(actor=UserFactory(), upload=preview.upload)
    assert not cohort.memberships.exists()


def test_role_change_and_reactivation_through_csv(staff, cohort):
    learner = MembershipFactory(cohort=cohort, user=UserFactory(email="l@example.com"))
    removed = MembershipFactory(
        cohort=cohort, user=UserFactory(email="r@example.com"), active=False
    )
    source = csv_bytes("email,name,role", "l@example.com,L,mentor", "r@example.com,R,learner")
    preview = enrollment_preview(actor=staff, cohort=cohort, file=source)
    assert [r.action for r in preview.rows] == ["role_change", "reactivate"]
    result = enrollment_apply(actor=staff, upload=preview.upload)
    assert result["role_changed"] == 1 and result["reactivated"] == 1
    learner.refresh_from_db()
    removed.refresh_from_db()
    assert learner.role == "mentor" and removed.active


def test_only_staff_preview(cohort):
    mentor = MembershipFactory(cohort=cohort, role="mentor").user
    with pytest.raises(ApplicationError) as err:
        enrollment_preview(actor=mentor, cohort=cohort, file=b"email,name,role\n")
    assert err.value.code == "forbidden"


# --- Single members -----------------------------------------------------------------------


def test_membership_add_existing_user_sends_no_invitation(
    staff, cohort, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        membership = membership_add(actor=staff, cohort=cohort, email=user.email, role="mentor")
    assert membership.user == user and membership.role == "mentor"
    assert len(mail.outbox) == 0
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("email", "role"), [("nope", "learner"), ("a@example.com", "teacher"), ("", "learner")]
)
def test_membership_add_bad_input(staff, cohort, email, role):
    with pytest.raises(ApplicationError):
        membership_add(actor=staff, cohort=cohort, email=email, role=role)
    assert not cohort.memberships.exists()
    assert User.objects.count() == 1


def test_membership_add_twice_is_a_clear_conflict(staff, cohort):
    membership_add(actor=staff, cohort=cohort, email="a@example.com", role="learner")
    with pytest.raises(ApplicationError) as err:
        membership_add(actor=staff, cohort=cohort, email="A@example.com", role="mentor")
    assert err.value.code == "conflict"
    assert cohort.memberships.get().role == "learner"


def test_deactivate_keeps_the_row_and_add_reactivates(staff, cohort):
    membership = MembershipFactory(cohort=cohort)
    membership_deactivate(actor=staff, membership=membership)
    membership.refresh_from_db()
    assert not membership.active
    again = membership_add(actor=staff, cohort=cohort, email=membership.user.email, role="mentor")
    assert again.pk == membership.pk and again.active and again.role == "mentor"


def test_change_role(staff, cohort):
    membership = MembershipFactory(cohort=cohort)
    membership_change_role(actor=staff, membership=membership, role="mentor")
    membership.refresh_from_db()
    assert membership.role == Membership.Role.MENTOR
    with pytest.raises(ApplicationError):
        membership_change_role(actor=staff, membership=membership, role="owner")


def test_invitation_send_is_idempotent(staff, cohort, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        membership_add(actor=staff, cohort=cohort, email="x@example.com", role="learner")
    invitation = Invitation.objects.get()
    assert invitation_send(invitation_id=invitation.pk) is True
    assert invitation_send(invitation_id=invitation.pk) is False
    assert len(mail.outbox) == 1
    assert Event.objects.filter(kind="invitation.sent", target_id=invitation.pk).count() == 1


def test_sweep_sends_invitations_whose_enqueue_was_lost(
    staff, cohort, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from cohorts.tasks import send_pending_invitations

    with django_capture_on_commit_callbacks(execute=False):  # the enqueue is "lost"
        membership_add(actor=staff, cohort=cohort, email="lost@example.com", role="learner")
    invitation = Invitation.objects.get()
    assert send_pending_invitations() == 0  # too recent: its own enqueue may still run
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert send_pending_invitations() == 1
    assert [m.to for m in mail.outbox] == [["lost@example.com"]]
    assert send_pending_invitations() == 0
    assert len(mail.outbox) == 1


def test_invitation_not_sent_to_someone_who_already_chose_a_password(
    staff, cohort, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        membership_add(actor=staff, cohort=cohort, email="quick@example.com", role="learner")
    user = User.objects.get(email="quick@example.com")
    user.set_password("chosen-through-forgot-password")
    user.save()
    assert invitation_send(invitation_id=Invitation.objects.get().pk) is False
    assert len(mail.outbox) == 0


def test_too_many_rows_is_refused(staff, cohort):
    from cohorts.services import MAX_ENROLLMENT_ROWS

    rows = "\n".join(f"p{i}@example.com,P,learner" for i in range(MAX_ENROLLMENT_ROWS + 1))
    preview = enrollment_preview(
        actor=staff, cohort=cohort, file=("email,name,role\n" + rows + "\n").encode()
    )
    assert any("split the file" in message for _, message in preview.errors)
    assert not preview.can_apply
