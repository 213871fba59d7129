import datetime as dt
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cohorts.models import EnrollmentUpload, Invitation, JoinLink
from cohorts.services import extension_grant, join_link_create, join_link_disable
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

UTC = dt.UTC


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def cohort(db):
    today = timezone.localdate()
    cohort = CohortFactory(start_date=today - dt.timedelta(days=8))
    for week in range(1, 5):
        LabFactory(track=cohort.track, week=week, title=f"Lab number {week}")
    return cohort


# --- Schedule page ------------------------------------------------------------------------


def test_learner_sees_own_extension_and_future_labs_by_title_only(client, cohort):
    learner = MembershipFactory(cohort=cohort).user
    other = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    lab1 = cohort.track.labs.get(week=1)
    extension_grant(
        actor=mentor,
        cohort=cohort,
        lab=lab1,
        learner=learner,
        due_at=timezone.now() + dt.timedelta(days=30),
        reason="Family matters",
    )
    url = reverse("cohorts:schedule", args=[cohort.slug])
    client.force_login(learner)
    page = client.get(url).content.decode()
    assert "Family matters" in page
    lab_url = reverse("curriculum:lab", args=[cohort.track.slug, lab1.slug])
    assert lab_url in page
    future = cohort.track.labs.get(week=4)
    assert "Lab number 4" in page
    assert reverse("curriculum:lab", args=[cohort.track.slug, future.slug]) not in page
    assert "Grant an extension" not in page and "override-form" not in page

    client.force_login(other)
    page = client.get(url).content.decode()
    assert "Family matters" not in page and learner.email not in page

    client.force_login(mentor)
    page = client.get(url).content.decode()
    assert "Family matters" in page and "Grant an extension" in page
    assert "override-form" not in page


def test_times_are_shown_in_the_viewers_time_zone(client, cohort):
    learner = MembershipFactory(cohort=cohort, user=UserFactory(time_zone="Asia/Tokyo")).user
    client.force_login(learner)
    page = client.get(reverse("cohorts:schedule", args=[cohort.slug])).content.decode()
    # Week 1 releases at 00:00 UTC, which is 09:00 in Tokyo.
    release = dt.datetime.combine(cohort.start_date, dt.time(9, 0))
    assert f"{release:%a} {release.day} {release:%b %Y}, 09:00" in page
    assert "Asia/Tokyo" in page


def test_staff_override_is_read_in_the_viewers_time_zone(client, cohort):
    staff = StaffFactory(time_zone="America/New_York")
    client.force_login(staff)
    lab = cohort.track.labs.get(week=2)
    response = client.post(
        reverse("cohorts:override", args=[cohort.slug, lab.pk]),
        {"action": "set", "release_at": "2030-07-01T09:00", "due_at": "2030-07-10T17:30"},
    )
    assert response.status_code == 302
    override = cohort.overrides.get()
    assert override.release_at == dt.datetime(2030, 7, 1, 13, 0, tzinfo=UTC)  # EDT = UTC-4
    assert override.due_at == dt.datetime(2030, 7, 10, 21, 30, tzinfo=UTC)
    page = client.get(reverse("cohorts:schedule", args=[cohort.slug])).content.decode()
    assert 'value="2030-07-01T09:00"' in page

    response = client.post(
        reverse("cohorts:override", args=[cohort.slug, lab.pk]), {"action": "clear"}
    )
    assert not cohort.overrides.exists()


def test_override_with_due_before_release_is_refused_with_a_message(client, cohort, staff):
    client.force_login(staff)
    lab = cohort.track.labs.get(week=2)
    response = client.post(
        reverse("cohorts:override", args=[cohort.slug, lab.pk]),
        {"action": "set", "release_at": "2030-07-10T09:00", "due_at": "2030-07-01T09:00"},
        follow=True,
    )
    assert "must be after the release" in response.content.decode()
    assert not cohort.overrides.exists()


def test_extension_form_errors_are_shown(client, cohort):
    mentor = MentorMembershipFactory(cohort=cohort).user
    learner = MembershipFactory(cohort=cohort).user
    client.force_login(mentor)
    response = client.post(
        reverse("cohorts:extension_grant", args=[cohort.slug]),
        {
            "learner": learner.pk,
            "lab": cohort.track.labs.get(week=1).pk,
            "due_at": "2000-01-01T10:00",
            "reason": "x",
        },
    )
    assert response.status_code == 400
    assert "later than the lab" in response.content.decode()
    assert not cohort.extensions.exists()


def test_schedule_page_query_count_does_not_grow_with_labs(
    client, cohort, django_assert_max_num_queries
):
    learner = MembershipFactory(cohort=cohort).user
    client.force_login(learner)
    url = reverse("cohorts:schedule", args=[cohort.slug])
    # The learner's page drawn: 11 (the latest announcements and the pinned labs are one
    # query each); what matters is that it stays put as labs are added.
    with django_assert_max_num_queries(11) as small:
        client.get(url)
    for week in range(5, 40):
        LabFactory(track=cohort.track, week=week)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


def test_staff_schedule_page_query_count(client, cohort, staff, django_assert_max_num_queries):
    client.force_login(staff)
    url = reverse("cohorts:schedule", args=[cohort.slug])
    client.get(url)
    for _ in range(10):
        learner = MembershipFactory(cohort=cohort).user
        extension_grant(
            actor=staff,
            cohort=cohort,
            lab=cohort.track.labs.get(week=3),
            learner=learner,
            due_at=timezone.now() + dt.timedelta(days=60),
            reason="r",
        )
    # 13: the page also lists the latest announcements, the schedule shifts and the pinned
    # labs (one query each); it must stay put as labs and extensions are added.
    with django_assert_max_num_queries(13) as few:
        client.get(url)
    for week in range(5, 30):
        LabFactory(track=cohort.track, week=week)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# --- Members page -------------------------------------------------------------------------


def test_members_page_query_count_and_pagination(
    client, cohort, staff, django_assert_max_num_queries
):
    client.force_login(staff)
    url = reverse("cohorts:members", args=[cohort.slug])
    MembershipFactory.create_batch(3, cohort=cohort)
    with django_assert_max_num_queries(10) as few:
        client.get(url)
    MembershipFactory.create_batch(60, cohort=cohort)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["page"].object_list) == 50
    assert "Page 1 of 2" in response.content.decode()
    assert len(client.get(url + "?page=2").context["page"].object_list) == 13


def test_members_search_and_htmx_partial(client, cohort, staff):
    MembershipFactory(cohort=cohort, user=UserFactory(email="findme@example.com"))
    MembershipFactory(cohort=cohort, user=UserFactory(email="other@example.com"))
    client.force_login(staff)
    url = reverse("cohorts:members", args=[cohort.slug])
    response = client.get(url, {"q": "findme"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "findme@example.com" in body and "other@example.com" not in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_add_member_page_invites_new_account(
    client, cohort, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("cohorts:members", args=[cohort.slug]),
            {"email": "newbie@example.com", "name": "New Bie", "role": "learner"},
        )
    assert response.status_code == 302
    assert cohort.memberships.filter(user__email="newbie@example.com").exists()
    assert [m.to for m in mail.outbox] == [["newbie@example.com"]]


def test_add_member_bad_input_shows_errors(client, cohort, staff):
    client.force_login(staff)
    response = client.post(
        reverse("cohorts:members", args=[cohort.slug]),
        {"email": "not an email", "role": "owner"},
    )
    assert response.status_code == 400
    assert not cohort.memberships.exists()
    assert 'aria-invalid="true"' in response.content.decode()


def test_role_change_and_remove_through_pages(client, cohort, staff):
    membership = MembershipFactory(cohort=cohort)
    client.force_login(staff)
    client.post(
        reverse("cohorts:member_role", args=[cohort.slug, membership.pk]), {"role": "mentor"}
    )
    membership.refresh_from_db()
    assert membership.role == "mentor"
    client.post(reverse("cohorts:member_deactivate", args=[cohort.slug, membership.pk]))
    membership.refresh_from_db()
    assert not membership.active
    # A membership of another cohort is out of reach through this cohort's address.
    foreign = MembershipFactory()
    response = client.post(reverse("cohorts:member_deactivate", args=[cohort.slug, foreign.pk]))
    assert response.status_code == 404


def test_csv_upload_preview_and_apply_through_pages(
    client, cohort, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    source = b"email,name,role\nnew@example.com,New,learner\n"
    response = client.post(
        reverse("cohorts:enrollment_upload", args=[cohort.slug]),
        {"file": SimpleUploadedFile("people.csv", source, content_type="text/csv")},
    )
    upload = EnrollmentUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cohorts:enrollment", args=[cohort.slug, upload.pk])
    page = client.get(response["Location"]).content.decode()
    assert "new@example.com" in page and "New account" in page
    assert not User.objects.filter(email="new@example.com").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cohorts:enrollment", args=[cohort.slug, upload.pk]))
    assert response.status_code == 302
    assert cohort.memberships.filter(user__email="new@example.com").exists()
    assert len(mail.outbox) == 1
    # Posting the apply again (back button, double click) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("cohorts:enrollment", args=[cohort.slug, upload.pk]))
    assert len(mail.outbox) == 1 and Invitation.objects.count() == 1


def test_csv_with_bad_rows_shows_lines_and_changes_nothing(client, cohort, staff):
    client.force_login(staff)
    source = b"email,name,role\nbad,New,learner\nok@example.com,Ok,boss\n"
    response = client.post(
        reverse("cohorts:enrollment_upload", args=[cohort.slug]),
        {"file": SimpleUploadedFile("people.csv", source, content_type="text/csv")},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Line 2:" in body and "Line 3:" in body and "Nothing was changed" in body
    assert not EnrollmentUpload.objects.exists() and not cohort.memberships.exists()


def test_ten_megabyte_upload_is_refused(client, cohort, staff):
    client.force_login(staff)
    big = SimpleUploadedFile("big.csv", b"a" * (10 * 1024 * 1024), content_type="text/csv")
    response = client.post(reverse("cohorts:enrollment_upload", args=[cohort.slug]), {"file": big})
    # Refused from its Content-Length, before the body is read (core.middleware).
    assert response.status_code == 413
    assert "The file is too large: at most 1 MB" in response.content.decode()
    assert not EnrollmentUpload.objects.exists()


def test_enrollment_preview_of_another_cohort_is_404(client, cohort, staff):
    other = CohortFactory()
    upload = EnrollmentUpload.objects.create(cohort=other, source=b"", source_hash="x")
    client.force_login(staff)
    response = client.get(reverse("cohorts:enrollment", args=[cohort.slug, upload.pk]))
    assert response.status_code == 404


# --- Cohort list, create, edit ------------------------------------------------------------


def test_create_cohort_through_page(client, staff, cohort):
    client.force_login(staff)
    response = client.post(
        reverse("cohorts:create"),
        {
            "name": "Autumn",
            "track": cohort.track.pk,
            "start_date": "2026-09-07",
            "time_zone": "Europe/Lisbon",
            "pace_days": 7,
            "status": "draft",
            "review_sla_hours": 48,
            "mentor_capacity": 10,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cohorts:members", args=["autumn"])


def test_create_cohort_with_unknown_track_shows_error(client, staff):
    client.force_login(staff)
    response = client.post(
        reverse("cohorts:create"),
        {
            "name": "X",
            "track": 99999,
            "start_date": "2026-09-07",
            "time_zone": "UTC",
            "pace_days": 7,
            "status": "draft",
            "review_sla_hours": 48,
            "mentor_capacity": 10,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["track"]


def test_cohort_list_query_count(client, staff, django_assert_max_num_queries):
    client.force_login(staff)
    CohortFactory.create_batch(2)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("cohorts:list"))
    for c in CohortFactory.create_batch(15):
        MembershipFactory.create_batch(2, cohort=c)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("cohorts:list"))
    assert response.context["page"].object_list[0].learner_count in (0, 2)


def test_my_cohorts_lists_only_active_memberships(client, cohort):
    membership = MembershipFactory(cohort=cohort)
    gone = MembershipFactory(user=membership.user, active=False)
    client.force_login(membership.user)
    page = client.get(reverse("cohorts:mine")).content.decode()
    assert cohort.name in page and gone.cohort.name not in page


def test_my_cohorts_empty_state(client, db):
    client.force_login(UserFactory())
    assert "not in any cohort yet" in client.get(reverse("cohorts:mine")).content.decode()


# --- Join landing -------------------------------------------------------------------------


def test_signed_in_user_joins_with_a_post(client, cohort, staff):
    link = join_link_create(actor=staff, cohort=cohort)
    user = UserFactory()
    client.force_login(user)
    url = reverse("cohorts:join", args=[link.token])
    assert client.get(url).status_code == 200
    assert not cohort.memberships.filter(user=user).exists()  # GET changes nothing
    response = client.post(url)
    assert response["Location"] == reverse("cohorts:schedule", args=[cohort.slug])
    assert cohort.memberships.filter(user=user, role="learner", active=True).exists()
    response = client.post(url, follow=True)
    assert "already a member" in response.content.decode()
    assert cohort.memberships.filter(user=user).count() == 1


def test_anonymous_is_offered_sign_in_and_sign_up(client, cohort, staff):
    link = join_link_create(actor=staff, cohort=cohort)
    url = reverse("cohorts:join", args=[link.token])
    page = client.get(url).content.decode()
    assert f"{reverse('login')}?next={url}" in page
    response = client.post(
        url,
        {
            "name": "Newcomer",
            "email": "newcomer@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="newcomer@example.com")
    assert cohort.memberships.filter(user=user).exists()
    # Signed in straight away.
    assert client.get(reverse("cohorts:schedule", args=[cohort.slug])).status_code == 200


def test_sign_up_with_existing_email_is_refused(client, cohort, staff):
    existing = UserFactory(email="mine@example.com")
    link = join_link_create(actor=staff, cohort=cohort)
    response = client.post(
        reverse("cohorts:join", args=[link.token]),
        {
            "name": "Impostor",
            "email": "MINE@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    existing.refresh_from_db()
    assert existing.check_password("correct-horse-battery-staple")
    assert not cohort.memberships.exists()


@pytest.mark.parametrize(
    ("state", "status", "needle"),
    [
        ("expired", 410, "expired"),
        ("disabled", 410, "turned off"),
        ("unknown", 404, "does not exist"),
    ],
)
def test_unusable_link_landing_explains(client, cohort, staff, state, status, needle):
    link = join_link_create(actor=staff, cohort=cohort)
    token = link.token
    if state == "expired":
        JoinLink.objects.filter(pk=link.pk).update(
            expires_at=timezone.now() - dt.timedelta(hours=1)
        )
    elif state == "disabled":
        join_link_disable(actor=staff, link=link)
    else:
        token = "nope"
    user = UserFactory()
    client.force_login(user)
    url = reverse("cohorts:join", args=[token])
    response = client.get(url)
    assert response.status_code == status and needle in response.content.decode()
    response = client.post(url)
    assert response.status_code == status
    assert not cohort.memberships.exists()


def test_join_links_page_lists_and_toggles(client, cohort, staff):
    client.force_login(staff)
    response = client.post(reverse("cohorts:links", args=[cohort.slug]), {"expires_at": ""})
    assert response.status_code == 302
    link = cohort.join_links.get()
    page = client.get(reverse("cohorts:links", args=[cohort.slug])).content.decode()
    assert link.token in page
    client.post(reverse("cohorts:link_toggle", args=[cohort.slug, link.pk]), {"action": "disable"})
    link.refresh_from_db()
    assert not link.enabled
    response = client.post(
        reverse("cohorts:links", args=[cohort.slug]), {"expires_at": "2001-01-01T00:00"}
    )
    assert response.status_code == 400 and cohort.join_links.count() == 1


@pytest.mark.parametrize(
    ("status", "days_from_now", "expected"),
    [
        ("active", -8, "Started"),
        ("active", 30, "Starts"),
        ("draft", -8, "Starts"),  # a draft has not started, whatever its date
        ("finished", -400, "Started"),
    ],
)
def test_every_page_says_the_same_start(client, staff, status, days_from_now, expected):
    """Join page, schedule, my cohorts and the staff overview agree on the start, and only
    a cohort under way (not a draft, not a future one) reads "Started"."""
    start = timezone.localdate() + dt.timedelta(days=days_from_now)
    cohort = CohortFactory(status=status, start_date=start)
    LabFactory(track=cohort.track, week=1)
    learner = MembershipFactory(cohort=cohort).user
    said = f"{expected} {start:%a} {start.day} {start:%b %Y}"
    pages = [
        (learner, reverse("cohorts:schedule", args=[cohort.slug])),
        (learner, reverse("cohorts:mine")),
        (staff, reverse("dashboard:staff-cohort", args=[cohort.pk])),
    ]
    if status == "active":  # people join active cohorts only
        link = join_link_create(actor=staff, cohort=cohort)
        pages.append((UserFactory(), reverse("cohorts:join", args=[link.token])))
    for user, url in pages:
        client.force_login(user)
        html = client.get(url).content.decode()
        text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        assert said in text, url
        if expected == "Starts":
            assert "Started" not in text, url
