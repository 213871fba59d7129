import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cohorts.selectors import cohort_schedule, schedule_entry
from cohorts.services import extension_grant, schedule_override_clear, schedule_override_set
from core.exceptions import ApplicationError
from notifications.models import Event
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    TrackFactory,
)

UTC = dt.UTC


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def track(db):
    track = TrackFactory()
    for week in range(1, 6):
        LabFactory(track=track, week=week)
    return track


def test_default_dates_in_utc_cohort(track):
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5), time_zone="UTC")
    entries = cohort_schedule(cohort=cohort, now=utc(2026, 1, 13))
    assert [e.week for e in entries] == [1, 2, 3, 4, 5]
    first, second = entries[0], entries[1]
    assert first.release_at == utc(2026, 1, 5, 0, 0)
    # Due seven calendar days after the release date, at 23:59 local.
    assert first.due_at == utc(2026, 1, 12, 23, 59)
    assert second.release_at == utc(2026, 1, 12, 0, 0)
    assert first.is_released and second.is_released
    assert not entries[2].is_released
    assert first.effective_due_at == first.due_at and first.extension_due_at is None
    assert first.release_at.tzinfo == UTC


def test_pace_spaces_weeks(track):
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5), pace_days=14)
    entries = cohort_schedule(cohort=cohort)
    assert entries[2].release_at == utc(2026, 2, 2)


def test_local_midnight_across_spring_dst_change(track):
    # Europe/Berlin moves from UTC+1 to UTC+2 on 2026-03-29.
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 3, 23), time_zone="Europe/Berlin")
    entries = cohort_schedule(cohort=cohort)
    berlin = ZoneInfo("Europe/Berlin")
    assert entries[0].release_at == utc(2026, 3, 22, 23, 0)  # 00:00 CET
    assert entries[1].release_at == utc(2026, 3, 29, 22, 0)  # 00:00 CEST on Mar 30
    # Week 1 is released before the change and due after it: still 23:59 local.
    assert entries[0].due_at == utc(2026, 3, 30, 21, 59)
    for entry in entries:
        local_release = entry.release_at.astimezone(berlin)
        local_due = entry.due_at.astimezone(berlin)
        assert (local_release.hour, local_release.minute) == (0, 0)
        assert (local_due.hour, local_due.minute) == (23, 59)
        assert (local_due.date() - local_release.date()).days == 7


def test_autumn_dst_change_in_new_york(track):
    # America/New_York returns to UTC-5 on 2026-11-01.
    cohort = CohortFactory(
        track=track, start_date=dt.date(2026, 10, 26), time_zone="America/New_York"
    )
    entries = cohort_schedule(cohort=cohort)
    assert entries[0].release_at == utc(2026, 10, 26, 4, 0)
    assert entries[1].release_at == utc(2026, 11, 2, 5, 0)
    assert entries[0].due_at == utc(2026, 11, 3, 4, 59)  # Nov 2 23:59 EST


def test_fixed_number_of_queries(django_assert_num_queries, track):
    cohort = CohortFactory(track=track)
    learner = MembershipFactory(cohort=cohort).user
    with django_assert_num_queries(3):
        few = cohort_schedule(cohort=cohort, learner=learner)
    for week in range(6, 30):
        LabFactory(track=track, week=week)
    with django_assert_num_queries(3):
        many = cohort_schedule(cohort=cohort, learner=learner)
    assert len(few) == 5 and len(many) == 29


def test_inactive_labs_and_other_tracks_are_left_out(track):
    cohort = CohortFactory(track=track)
    LabFactory(track=track, week=99, active=False)
    LabFactory(week=1)  # another track
    assert [e.week for e in cohort_schedule(cohort=cohort)] == [1, 2, 3, 4, 5]


def test_override_replaces_dates_for_the_whole_cohort(track):
    staff = StaffFactory()
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5))
    lab = track.labs.get(week=2)
    schedule_override_set(
        actor=staff,
        cohort=cohort,
        lab=lab,
        release_at=utc(2026, 1, 14, 9),
        due_at=utc(2026, 1, 30, 17),
    )
    entry = schedule_entry(cohort=cohort, lab=lab)
    assert entry.release_at == utc(2026, 1, 14, 9)
    assert entry.due_at == utc(2026, 1, 30, 17)
    assert entry.release_overridden and entry.due_overridden
    # Other labs keep their defaults; the full schedule agrees with the single entry.
    entries = {e.lab.pk: e for e in cohort_schedule(cohort=cohort)}
    assert (entries[lab.pk].release_at, entries[lab.pk].due_at) == (entry.release_at, entry.due_at)
    assert entries[track.labs.get(week=3).pk].release_at == utc(2026, 1, 19)

    assert schedule_override_clear(actor=staff, cohort=cohort, lab=lab)
    assert schedule_entry(cohort=cohort, lab=lab).release_at == utc(2026, 1, 12)


def test_release_only_override_moves_default_due(track):
    staff = StaffFactory()
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5))
    lab = track.labs.get(week=1)
    schedule_override_set(actor=staff, cohort=cohort, lab=lab, release_at=utc(2026, 1, 20, 10))
    entry = schedule_entry(cohort=cohort, lab=lab)
    assert entry.due_at == utc(2026, 1, 27, 23, 59)


@pytest.mark.parametrize(
    ("release_at", "due_at"),
    [
        (utc(2026, 2, 1), utc(2026, 1, 30)),  # due before release
        (utc(2026, 2, 1), utc(2026, 2, 1)),  # due equal to release
        (None, utc(2026, 1, 1)),  # due before the default release
        (None, None),  # nothing given
        (dt.datetime(2026, 2, 1), None),  # naive datetime
    ],
)
def test_bad_overrides_are_refused_and_change_nothing(track, release_at, due_at):
    staff = StaffFactory()
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5))
    lab = track.labs.get(week=1)
    with pytest.raises(ApplicationError):
        schedule_override_set(
            actor=staff, cohort=cohort, lab=lab, release_at=release_at, due_at=due_at
        )
    assert not cohort.overrides.exists()


def test_override_refused_for_non_staff_and_foreign_lab(track):
    cohort = CohortFactory(track=track)
    mentor = MentorMembershipFactory(cohort=cohort).user
    with pytest.raises(ApplicationError) as err:
        schedule_override_set(
            actor=mentor, cohort=cohort, lab=track.labs.first(), due_at=utc(2030, 1, 1)
        )
    assert err.value.code == "forbidden"
    with pytest.raises(ApplicationError):
        schedule_override_set(
            actor=StaffFactory(), cohort=cohort, lab=LabFactory(), due_at=utc(2030, 1, 1)
        )


def test_extension_replaces_due_for_one_learner(track, django_capture_on_commit_callbacks):
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5))
    mentor = MentorMembershipFactory(cohort=cohort).user
    learner = MembershipFactory(cohort=cohort).user
    other = MembershipFactory(cohort=cohort).user
    lab = track.labs.get(week=1)
    with django_capture_on_commit_callbacks(execute=False):
        extension = extension_grant(
            actor=mentor,
            cohort=cohort,
            lab=lab,
            learner=learner,
            due_at=utc(2026, 1, 16, 12),
            reason="Was ill",
        )
    mine = schedule_entry(cohort=cohort, lab=lab, learner=learner)
    assert mine.due_at == utc(2026, 1, 12, 23, 59)
    assert mine.extension_due_at == utc(2026, 1, 16, 12)
    assert mine.effective_due_at == utc(2026, 1, 16, 12)
    theirs = cohort_schedule(cohort=cohort, learner=other)[0]
    assert theirs.extension_due_at is None and theirs.effective_due_at == theirs.due_at
    assert cohort_schedule(cohort=cohort, learner=learner)[0].effective_due_at == utc(
        2026, 1, 16, 12
    )
    event = Event.objects.get(kind="extension.granted")
    assert event.target_id == extension.pk and event.actor == mentor
    assert event.data["learner_id"] == learner.pk

    # Granting again replaces it (one extension per learner and lab).
    extension_grant(
        actor=mentor,
        cohort=cohort,
        lab=lab,
        learner=learner,
        due_at=utc(2026, 1, 18),
        reason="More",
    )
    assert cohort.extensions.count() == 1
    assert schedule_entry(cohort=cohort, lab=lab, learner=learner).effective_due_at == utc(
        2026, 1, 18
    )


@pytest.mark.parametrize(
    "case", ["learner_actor", "other_mentor", "not_a_learner", "earlier", "no_reason", "naive"]
)
def test_bad_extensions_are_refused(track, case):
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5))
    mentor = MentorMembershipFactory(cohort=cohort).user
    learner = MembershipFactory(cohort=cohort).user
    kwargs = {
        "actor": mentor,
        "cohort": cohort,
        "lab": track.labs.get(week=1),
        "learner": learner,
        "due_at": utc(2026, 1, 20),
        "reason": "ok",
    }
    if case == "learner_actor":
        kwargs["actor"] = learner
    elif case == "other_mentor":
        kwargs["actor"] = MentorMembershipFactory().user
    elif case == "not_a_learner":
        kwargs["learner"] = MembershipFactory().user
    elif case == "earlier":
        kwargs["due_at"] = utc(2026, 1, 10)
    elif case == "no_reason":
        kwargs["reason"] = "   "
    elif case == "naive":
        kwargs["due_at"] = dt.datetime(2026, 1, 20)
    with pytest.raises(ApplicationError):
        extension_grant(**kwargs)
    assert not cohort.extensions.exists()
    assert not Event.objects.filter(kind="extension.granted").exists()


def test_staff_may_grant_extensions(track):
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5))
    learner = MembershipFactory(cohort=cohort).user
    extension_grant(
        actor=StaffFactory(),
        cohort=cohort,
        lab=track.labs.get(week=1),
        learner=learner,
        due_at=utc(2026, 1, 20),
        reason="Travel",
    )
    assert cohort.extensions.count() == 1


def test_bad_time_zone_in_row_falls_back_to_utc(track):
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5), time_zone="Not/AZone")
    assert cohort_schedule(cohort=cohort)[0].release_at == utc(2026, 1, 5)
