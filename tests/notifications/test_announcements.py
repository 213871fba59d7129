"""Issue 15.3: an announcement reaches every active member of the cohort, in the app and by
e-mail as each person's preference for "Announcements" says, as sanitized Markdown."""

import pytest
from django.core import mail

from cohorts.models import Announcement
from cohorts.services import announcement_send, membership_deactivate
from core.exceptions import ApplicationError
from notifications import tasks
from notifications.handlers import KINDS
from notifications.models import Event, Notification, Preference
from notifications.services import notification_email_send
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

from .conftest import process_all

pytestmark = pytest.mark.django_db

BODY = (
    "Hello **everyone**.\n\n- no class on Monday\n- see https://example.org/plan\n\n"
    '<script>alert("x")</script><a href="javascript:alert(1)" hx-get="/x">bad</a>'
)


@pytest.fixture
def cohort_people():
    cohort = CohortFactory()
    learners = [MembershipFactory(cohort=cohort).user for _ in range(3)]
    mentor = MentorMembershipFactory(cohort=cohort).user
    other_mentor = MentorMembershipFactory(cohort=cohort).user
    outsider = MembershipFactory().user  # a learner of another cohort
    return cohort, learners, mentor, other_mentor, outsider


def _send(actor, cohort, **kwargs):
    return announcement_send(
        actor=actor, cohort=cohort, title=kwargs.get("title", "Holiday week"), body=BODY
    )


def test_every_active_member_is_told_but_not_the_author_nor_outsiders(cohort_people):
    cohort, learners, mentor, other_mentor, outsider = cohort_people
    gone = MembershipFactory(cohort=cohort, active=False).user
    staff = StaffFactory()  # staff who is not a member: not in the cohort's audience
    announcement = _send(mentor, cohort)
    process_all()
    told = {n.recipient_id: n for n in Notification.objects.filter(kind="announcement.posted")}
    assert set(told) == {*(u.pk for u in learners), other_mentor.pk}
    assert mentor.pk not in told and outsider.pk not in told and gone.pk not in told
    assert staff.pk not in told
    note = told[learners[0].pk]
    assert note.text == f"{mentor.display_name} to {cohort.name}: Holiday week"
    assert note.link == f"/cohorts/{cohort.slug}/announcements/#announcement-{announcement.pk}"


def test_email_follows_each_persons_preference_and_carries_the_sanitized_body(cohort_people):
    cohort, learners, mentor, _, _ = cohort_people
    Preference.objects.create(user=learners[1], kind="announcement.posted", channel="digest")
    Preference.objects.create(user=learners[2], kind="announcement.posted", channel="off")
    assert KINDS["announcement.posted"].default == "email"
    _send(StaffFactory(), cohort)
    process_all()
    rows = {n.recipient_id: n for n in Notification.objects.filter(kind="announcement.posted")}
    assert rows[learners[0].pk].email_status == Notification.EmailStatus.PENDING
    assert rows[learners[1].pk].email_status == Notification.EmailStatus.DIGEST
    assert learners[2].pk not in rows  # off: not even in the app
    assert notification_email_send(notification_id=rows[learners[0].pk].pk)
    [email] = mail.outbox
    assert email.to == [learners[0].email]
    assert "Holiday week" in email.subject
    html = email.alternatives[0][0]
    assert "<strong>everyone</strong>" in html and "<li>no class on Monday</li>" in html
    assert "<script" not in html and "javascript:" not in html and "hx-get" not in html
    assert "no class on Monday" in email.body
    assert "List-Unsubscribe" in email.extra_headers


def test_the_event_is_enqueued_only_after_commit(
    cohort_people, django_capture_on_commit_callbacks, monkeypatch
):
    cohort, _, mentor, _, _ = cohort_people
    enqueued = []
    monkeypatch.setattr(tasks, "enqueue_outbox", lambda: enqueued.append("outbox"))
    with django_capture_on_commit_callbacks() as callbacks:
        announcement = _send(mentor, cohort)
        assert enqueued == []
    for callback in callbacks:
        callback()
    event = Event.objects.get(kind="announcement.posted")
    # One delivery task for the transaction; it takes every event waiting.
    assert enqueued == ["outbox"]
    assert (event.target_type, event.target_id) == ("cohorts.announcement", announcement.pk)


def test_a_member_who_leaves_before_delivery_hears_nothing(cohort_people):
    cohort, learners, mentor, _, _ = cohort_people
    _send(mentor, cohort)
    process_all()
    note = Notification.objects.get(kind="announcement.posted", recipient=learners[0])
    membership = learners[0].memberships.get(cohort=cohort)
    membership_deactivate(actor=StaffFactory(), membership=membership)
    assert not notification_email_send(notification_id=note.pk)
    assert mail.outbox == []


def test_only_staff_and_the_cohorts_mentors_announce(cohort_people):
    cohort, learners, _, _, outsider = cohort_people
    other_cohort_mentor = MentorMembershipFactory().user
    for actor in (learners[0], outsider, other_cohort_mentor, UserFactory()):
        with pytest.raises(ApplicationError) as error:
            _send(actor, cohort)
        assert error.value.code == "forbidden"
    assert not Announcement.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    ("title", "body", "fields"),
    [
        ("", "text", {"title"}),
        ("   ", "", {"title", "body"}),
        ("x" * 201, "text", {"title"}),
        ("ok", "x" * 20_001, {"body"}),
    ],
)
def test_bad_input_names_the_field_and_sends_nothing(cohort_people, title, body, fields):
    cohort, _, mentor, _, _ = cohort_people
    with pytest.raises(ApplicationError) as error:
        announcement_send(actor=mentor, cohort=cohort, title=title, body=body)
    assert error.value.code == "invalid"
    assert set(error.value.extra["errors"]) == fields
    assert not Announcement.objects.exists() and not Event.objects.exists()


def test_a_title_is_one_line(cohort_people):
    cohort, _, mentor, _, _ = cohort_people
    announcement = announcement_send(
        actor=mentor, cohort=cohort, title="Holiday\r\nBcc: x@example.com", body="b"
    )
    assert announcement.title == "Holiday Bcc: x@example.com"
