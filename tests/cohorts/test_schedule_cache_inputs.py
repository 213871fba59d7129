"""The learner's schedule page is cached whole (cohorts.views.schedule): what other work
added to it since (announcements, pinned labs) must be in its stamp, or a learner keeps
reading yesterday's page. Each test changes one input through its service and reads the
page again at once."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_update_profile
from cohorts import services as cohort_services
from curriculum.services import lab_edit
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort():
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    LabFactory(track=cohort.track, week=1, title="First lab")
    return cohort


def schedule_page(client, user, cohort) -> str:
    client.force_login(user)
    response = client.get(reverse("cohorts:schedule", args=[cohort.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_learner_schedule_shows_a_new_announcement_at_once(client, cohort):
    learner = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    assert "Room change on Friday" not in schedule_page(client, learner, cohort)
    cohort_services.announcement_send(
        actor=mentor, cohort=cohort, title="Room change on Friday", body="Room 4 instead."
    )
    assert "Room change on Friday" in schedule_page(client, learner, cohort)


def test_learner_schedule_follows_an_announcement_authors_new_name(client, cohort):
    learner = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    cohort_services.announcement_send(actor=mentor, cohort=cohort, title="Hello", body="Hi.")
    schedule_page(client, learner, cohort)
    user_update_profile(actor=mentor, user=mentor, name="Renamed Mentor")
    assert "Renamed Mentor" in schedule_page(client, learner, cohort)


def test_learner_schedule_shows_a_kept_lab_once_the_course_moves_on(client, cohort):
    learner = MembershipFactory(cohort=cohort).user
    staff = StaffFactory()
    lab = cohort.track.labs.get()
    lab_edit(actor=staff, lab=lab, title=lab.title, body="Version one.", note="first")
    cohort_services.cohort_keep_current(actor=staff, cohort=cohort)
    assert "Kept on revision" not in schedule_page(client, learner, cohort)
    lab_edit(actor=staff, lab=lab, title=lab.title, body="Version two.", note="second")
    assert "Kept on revision" in schedule_page(client, learner, cohort)
    cohort_services.cohort_pins_end(actor=staff, cohort=cohort)
    assert "Kept on revision" not in schedule_page(client, learner, cohort)
