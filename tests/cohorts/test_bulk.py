"""Issue 15.3: an extension for every learner of a cohort, and moving the rest of its
schedule by N days (a holiday week). Real database, through the services."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cohorts.models import Cohort, Extension, ScheduleOverride, ScheduleShift
from cohorts.selectors import cohort_schedule, schedule_entry
from cohorts.services import (
    extension_grant,
    extension_grant_all,
    extension_grant_all_preview,
    membership_add,
    schedule_override_set,
    schedule_shift,
    schedule_shift_preview,
)
from core.exceptions import ApplicationError
from notifications.models import Event
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    TrackFactory,
    UserFactory,
)

UTC = dt.UTC


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def world(db):
    track = TrackFactory()
    labs = [LabFactory(track=track, week=week) for week in range(1, 6)]
    # Week 1 released Mon 5 Jan, week 2 on 12 Jan ... (UTC, weekly)
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 1, 5), time_zone="UTC")
    learners = [MembershipFactory(cohort=cohort).user for _ in range(4)]
    mentor = MentorMembershipFactory(cohort=cohort).user
    return {
        "cohort": cohort,
        "labs": labs,
        "learners": learners,
        "mentor": mentor,
        "staff": StaffFactory(),
    }


# --- Extension for everyone ---------------------------------------------------------------


def test_every_learner_gets_their_own_extension_and_a_later_one_is_kept(world):
    cohort, lab, learners = world["cohort"], world["labs"][3], world["learners"]
    due = schedule_entry(cohort=cohort, lab=lab).due_at
    later = due + dt.timedelta(days=10)
    earlier = due + dt.timedelta(days=1)
    extension_grant(
        actor=world["mentor"],
        cohort=cohort,
        lab=lab,
        learner=learners[0],
        due_at=later,
        reason="ill",
    )
    extension_grant(
        actor=world["mentor"],
        cohort=cohort,
        lab=lab,
        learner=learners[1],
        due_at=earlier,
        reason="x",
    )
    # A learner who left and a deactivated account are not extended.
    gone = MembershipFactory(cohort=cohort, active=False).user
    inactive = MembershipFactory(cohort=cohort, user=UserFactory(is_active=False)).user
    Event.objects.all().delete()
    new_due = due + dt.timedelta(days=5)

    result = extension_grant_all(
        actor=world["mentor"], cohort=cohort, lab=lab, due_at=new_due, reason="Holiday"
    )

    assert {u.pk for u in result.grant} == {learners[1].pk, learners[2].pk, learners[3].pk}
    assert [e.learner_id for e in result.keep] == [learners[0].pk]
    assert result.replaces == {learners[1].pk: earlier}
    rows = {e.learner_id: e for e in Extension.objects.filter(cohort=cohort, lab=lab)}
    assert set(rows) == {u.pk for u in learners}
    assert rows[learners[0].pk].due_at == later and rows[learners[0].pk].reason == "ill"
    for learner in learners[1:]:
        assert rows[learner.pk].due_at == new_due
        assert rows[learner.pk].reason == "Holiday"
        assert rows[learner.pk].granted_by == world["mentor"]
    assert gone.pk not in rows and inactive.pk not in rows
    # Each one recorded: one event per learner extended, none for the one who kept theirs.
    events = Event.objects.filter(kind="extension.granted")
    assert sorted(e.data["learner_id"] for e in events) == sorted(u.pk for u in learners[1:])


def test_bulk_extension_refusals_change_nothing(world):
    cohort, lab = world["cohort"], world["labs"][3]
    due = schedule_entry(cohort=cohort, lab=lab).due_at
    other_mentor = MentorMembershipFactory().user
    for actor in (world["learners"][0], other_mentor):
        with pytest.raises(ApplicationError) as error:
            extension_grant_all(
                actor=actor, cohort=cohort, lab=lab, due_at=due + dt.timedelta(days=1), reason="x"
            )
        assert error.value.code == "forbidden"
    cases = [
        ({"due_at": due}, "due_at"),
        ({"due_at": due - dt.timedelta(days=1)}, "due_at"),
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"lab": LabFactory()}, None),  # another track's lab
    ]
    for change, field in cases:
        arguments = {
            "actor": world["staff"],
            "cohort": cohort,
            "lab": lab,
            "due_at": due + dt.timedelta(days=2),
            "reason": "Holiday",
            **change,
        }
        with pytest.raises(ApplicationError) as error:
            extension_grant_all(**arguments)
        assert error.value.code == "invalid"
        assert error.value.extra.get("field") == field
    assert not Extension.objects.exists()
    assert not Event.objects.filter(kind="extension.granted").exists()


def test_bulk_extension_is_all_or_nothing(world, monkeypatch):
    cohort, lab = world["cohort"], world["labs"][3]
    due = schedule_entry(cohort=cohort, lab=lab).due_at
    from cohorts.services import bulk

    calls = []
    real = bulk._record_granted

    def failing(**kwargs):
        calls.append(kwargs["extension"])
        if len(calls) == 3:
            raise RuntimeError("outbox down")
        return real(**kwargs)

    monkeypatch.setattr(bulk, "_record_granted", failing)
    with pytest.raises(RuntimeError):
        extension_grant_all(
            actor=world["staff"],
            cohort=cohort,
            lab=lab,
            due_at=due + dt.timedelta(days=3),
            reason="x",
        )
    assert len(calls) == 3
    assert not Extension.objects.exists()
    assert not Event.objects.filter(kind="extension.granted").exists()


def test_bulk_extension_refuses_a_stale_preview(world):
    cohort, lab = world["cohort"], world["labs"][3]
    due = schedule_entry(cohort=cohort, lab=lab).due_at + dt.timedelta(days=3)
    preview = extension_grant_all_preview(
        actor=world["staff"], cohort=cohort, lab=lab, due_at=due, reason="x"
    )
    assert len(preview.grant) == 4
    membership_add(actor=world["staff"], cohort=cohort, email="late@example.com", role="learner")
    with pytest.raises(ApplicationError) as error:
        extension_grant_all(
            actor=world["staff"],
            cohort=cohort,
            lab=lab,
            due_at=due,
            reason="x",
            fingerprint=preview.fingerprint,
        )
    assert error.value.code == "conflict"
    assert not Extension.objects.exists()
    fresh = extension_grant_all_preview(
        actor=world["staff"], cohort=cohort, lab=lab, due_at=due, reason="x"
    )
    result = extension_grant_all(
        actor=world["staff"],
        cohort=cohort,
        lab=lab,
        due_at=due,
        reason="x",
        fingerprint=fresh.fingerprint,
    )
    assert len(result.grant) == 5 == Extension.objects.count()


def test_bulk_extension_of_a_hundred_learners_is_quick(world, django_assert_max_num_queries):
    cohort, lab = world["cohort"], world["labs"][3]
    for _ in range(96):
        MembershipFactory(cohort=cohort)
    due = schedule_entry(cohort=cohort, lab=lab).due_at + dt.timedelta(days=3)
    # Checked once; then one event row per learner and a few statements in all.
    with django_assert_max_num_queries(100 + 12):
        result = extension_grant_all(
            actor=world["staff"], cohort=cohort, lab=lab, due_at=due, reason="x"
        )
    assert len(result.grant) == 100 == Extension.objects.count()


# --- Schedule shift -------------------------------------------------------------------------

# Wed 14 Jan 2026 noon: week 1 (5-12 Jan) is due, week 2 (released 12 Jan) is open,
# weeks 3-5 are not released yet.
NOW = utc(2026, 1, 14, 12)


def test_shift_moves_what_is_ahead_and_keeps_what_passed(world):
    cohort, labs, learners = world["cohort"], world["labs"], world["learners"]
    before = {e.lab.pk: e for e in cohort_schedule(cohort=cohort, now=NOW)}
    # An override on week 4 and two extensions: one still ahead, one already passed.
    schedule_override_set(
        actor=world["staff"], cohort=cohort, lab=labs[3], due_at=utc(2026, 2, 6, 18)
    )
    ahead = Extension.objects.create(
        cohort=cohort, lab=labs[1], learner=learners[0], due_at=utc(2026, 1, 22, 23, 59), reason="a"
    )
    passed = Extension.objects.create(
        cohort=cohort, lab=labs[0], learner=learners[0], due_at=utc(2026, 1, 13, 23, 59), reason="b"
    )

    preview = schedule_shift_preview(actor=world["staff"], cohort=cohort, days=7, now=NOW)
    assert [m.week for m in preview.labs] == [2, 3, 4, 5]
    assert preview.labs[0].release_to is None  # week 2 is released: it stays released
    assert [m.extension.pk for m in preview.extensions] == [ahead.pk]
    assert not ScheduleOverride.objects.filter(lab=labs[2]).exists()  # a preview writes nothing

    shift = schedule_shift(actor=world["staff"], cohort=cohort, days=7, now=NOW)

    after = {e.lab.pk: e for e in cohort_schedule(cohort=cohort, now=NOW)}
    week = dt.timedelta(days=7)
    assert after[labs[0].pk].release_at == before[labs[0].pk].release_at
    assert after[labs[0].pk].due_at == before[labs[0].pk].due_at
    assert after[labs[1].pk].release_at == before[labs[1].pk].release_at
    assert after[labs[1].pk].due_at == before[labs[1].pk].due_at + week
    for lab in labs[2:]:
        assert after[lab.pk].release_at == before[lab.pk].release_at + week
    assert after[labs[2].pk].due_at == before[labs[2].pk].due_at + week
    assert after[labs[3].pk].due_at == utc(2026, 2, 13, 18)  # the override moved with it
    ahead.refresh_from_db()
    passed.refresh_from_db()
    assert ahead.due_at == utc(2026, 1, 29, 23, 59)
    assert passed.due_at == utc(2026, 1, 13, 23, 59)
    # Recorded: who, when, how many days, what moved.
    assert ScheduleShift.objects.get() == shift
    assert (shift.days, shift.shifted_by, shift.created_at) == (7, world["staff"], NOW)
    assert (shift.labs_moved, shift.extensions_moved) == (4, 1)
    assert [row["week"] for row in shift.detail] == [2, 3, 4, 5]
    assert shift.detail[0]["release_to"] is None


def test_shift_keeps_local_wall_clock_across_daylight_saving(db):
    track = TrackFactory()
    lab = LabFactory(track=track, week=3)
    # Europe/Berlin goes to summer time on 29 Mar 2026; week 3 releases 30 Mar 00:00 CEST.
    cohort = CohortFactory(track=track, start_date=dt.date(2026, 3, 16), time_zone="Europe/Berlin")
    staff = StaffFactory()
    schedule_shift(actor=staff, cohort=cohort, days=-7, now=utc(2026, 3, 17))
    entry = schedule_entry(cohort=cohort, lab=lab)
    berlin = ZoneInfo("Europe/Berlin")
    assert entry.release_at.astimezone(berlin).replace(tzinfo=None) == dt.datetime(2026, 3, 23)
    assert entry.due_at.astimezone(berlin).replace(tzinfo=None) == dt.datetime(2026, 3, 30, 23, 59)


@pytest.mark.parametrize("days", [0, 61, -61, "x", None])
def test_shift_refuses_bad_days(world, days):
    with pytest.raises(ApplicationError) as error:
        schedule_shift(actor=world["staff"], cohort=world["cohort"], days=days, now=NOW)
    assert error.value.code == "invalid" and error.value.extra["field"] == "days"
    assert not ScheduleOverride.objects.exists() and not ScheduleShift.objects.exists()


def test_shift_back_may_not_put_dates_in_the_past(world):
    # Week 2 is due Mon 19 Jan 23:59; moving back 6 days puts it before now (14 Jan noon).
    with pytest.raises(ApplicationError) as error:
        schedule_shift(actor=world["staff"], cohort=world["cohort"], days=-6, now=NOW)
    assert "week 2" in error.value.message
    assert not ScheduleOverride.objects.exists() and not ScheduleShift.objects.exists()
    shift = schedule_shift(actor=world["staff"], cohort=world["cohort"], days=-2, now=NOW)
    assert shift.labs_moved == 4


def test_shift_refuses_an_ended_cohort_and_one_with_nothing_ahead(world):
    cohort = world["cohort"]
    Cohort.objects.filter(pk=cohort.pk).update(status=Cohort.Status.FINISHED)
    cohort.refresh_from_db()
    with pytest.raises(ApplicationError, match="ended"):
        schedule_shift(actor=world["staff"], cohort=cohort, days=7, now=NOW)
    Cohort.objects.filter(pk=cohort.pk).update(status=Cohort.Status.ACTIVE)
    cohort.refresh_from_db()
    with pytest.raises(ApplicationError, match="Nothing is left"):
        schedule_shift(actor=world["staff"], cohort=cohort, days=7, now=utc(2026, 6, 1))
    assert not ScheduleShift.objects.exists()


def test_only_staff_shift(world):
    for actor in (world["mentor"], world["learners"][0]):
        with pytest.raises(ApplicationError) as error:
            schedule_shift(actor=actor, cohort=world["cohort"], days=7, now=NOW)
        assert error.value.code == "forbidden"
    assert not ScheduleOverride.objects.exists()


def test_shift_refuses_a_stale_preview(world):
    cohort = world["cohort"]
    preview = schedule_shift_preview(actor=world["staff"], cohort=cohort, days=7, now=NOW)
    Extension.objects.create(
        cohort=cohort,
        lab=world["labs"][2],
        learner=world["learners"][0],
        due_at=utc(2026, 2, 20),
        reason="r",
    )
    with pytest.raises(ApplicationError) as error:
        schedule_shift(
            actor=world["staff"], cohort=cohort, days=7, now=NOW, fingerprint=preview.fingerprint
        )
    assert error.value.code == "conflict"
    assert not ScheduleOverride.objects.exists() and not ScheduleShift.objects.exists()


def test_shift_is_all_or_nothing(world, monkeypatch):
    from cohorts.services import bulk

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk.ScheduleShift.objects, "create", broken)
    Extension.objects.create(
        cohort=world["cohort"],
        lab=world["labs"][2],
        learner=world["learners"][0],
        due_at=utc(2026, 2, 20),
        reason="r",
    )
    with pytest.raises(RuntimeError):
        schedule_shift(actor=world["staff"], cohort=world["cohort"], days=7, now=NOW)
    assert not ScheduleOverride.objects.exists()
    assert Extension.objects.get().due_at == utc(2026, 2, 20)


def test_shift_uses_the_real_clock_by_default(world):
    cohort = CohortFactory(
        track=world["cohort"].track, start_date=timezone.localdate() + dt.timedelta(days=3)
    )
    shift = schedule_shift(actor=world["staff"], cohort=cohort, days=7)
    assert shift.labs_moved == 5
