"""Each person's own clock: digests at 07:00 where the recipient lives, due-soon reminders
a fixed time before the due time. A learner in Los Angeles and one in Tokyo, across the
start of US daylight saving time (Sunday 8 March 2026, 02:00 in Los Angeles).

Beat is simulated by running the jobs at the instants it would (hourly, every 5 minutes)
with the clock frozen there: no sleeping, no real time.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from cohorts.models import Membership
from cohorts.selectors import schedule_entry
from notifications import services, tasks
from notifications.models import EmailDelivery, Event, Notification
from tests.factories import CohortFactory, LabFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC


def ticks(start: dt.datetime, end: dt.datetime, step: dt.timedelta):
    while start < end:
        yield start
        start += step


def test_digests_go_out_at_seven_on_each_recipients_clock_across_dst(monkeypatch):
    los_angeles = UserFactory(time_zone="America/Los_Angeles")
    tokyo = UserFactory(time_zone="Asia/Tokyo")
    for now in ticks(
        dt.datetime(2026, 3, 6, tzinfo=UTC),
        dt.datetime(2026, 3, 11, tzinfo=UTC),
        dt.timedelta(hours=1),
    ):
        monkeypatch.setattr(timezone, "now", lambda now=now: now)
        for user in (los_angeles, tokyo):  # something new waits for the digest every hour
            Notification.objects.create(
                recipient=user, kind="lab.released", text="A lab opened.", created_at=now,
                email_status=Notification.EmailStatus.DIGEST,
            )  # fmt: skip
        tasks.send_daily_digests.apply()

    def sent_at(user) -> list[dt.datetime]:
        return list(
            EmailDelivery.objects.filter(recipient=user, kind="digest")
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
        )

    # 07:00 PST is 15:00 UTC; from Sunday 8 March, 07:00 PDT is 14:00 UTC.
    assert sent_at(los_angeles) == [
        dt.datetime(2026, 3, 6, 15, tzinfo=UTC),
        dt.datetime(2026, 3, 7, 15, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 14, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 14, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 14, tzinfo=UTC),
    ]
    # 07:00 JST is 22:00 UTC the day before, whatever the US does.
    assert sent_at(tokyo) == [dt.datetime(2026, 3, d, 22, tzinfo=UTC) for d in range(6, 11)]
    # One digest per local day, keyed by that day.
    keys = set(EmailDelivery.objects.filter(recipient=tokyo).values_list("key", flat=True))
    assert keys == {f"digest:{tokyo.pk}:2026-03-{d:02d}" for d in range(7, 12)}
    assert len(mail.outbox) == 10


def test_weekly_summaries_go_out_on_monday_at_seven_local(monkeypatch):
    mentor = MembershipFactory(
        role=Membership.Role.MENTOR, user=UserFactory(time_zone="Asia/Tokyo")
    ).user
    # Monday 9 March 07:00 JST is Sunday 8 March 22:00 UTC.
    sunday_night_utc = dt.datetime(2026, 3, 8, 22, tzinfo=UTC)
    assert services.mentor_weekly_recipient_ids(now=sunday_night_utc) == [mentor.pk]
    assert services.mentor_weekly_recipient_ids(now=sunday_night_utc + dt.timedelta(hours=9)) == []
    monkeypatch.setattr(timezone, "now", lambda: sunday_night_utc)
    tasks.send_mentor_weekly_digests.apply()
    # The week is the mentor's: ISO week 11 in Tokyo (it is still week 10 in UTC).
    assert EmailDelivery.objects.get(recipient=mentor).key == f"mentor_weekly:{mentor.pk}:2026-W11"


def _learner_in(time_zone: str, *, start: dt.date):
    cohort = CohortFactory(time_zone=time_zone, start_date=start)
    lab = LabFactory(track=cohort.track, week=1)
    learner = MembershipFactory(cohort=cohort, user=UserFactory(time_zone=time_zone)).user
    return cohort, lab, learner


def test_due_soon_reminders_come_a_day_and_two_hours_before_across_dst(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.DUE_SOON_REMINDER_HOURS = [24.0, 2.0]
    # Los Angeles: due Sunday 8 March 23:59 PDT, the day the clocks go forward.
    la_cohort, la_lab, la_learner = _learner_in("America/Los_Angeles", start=dt.date(2026, 3, 1))
    # Tokyo: due Monday 9 March 23:59 JST.
    tk_cohort, tk_lab, tk_learner = _learner_in("Asia/Tokyo", start=dt.date(2026, 3, 2))
    la_due = schedule_entry(cohort=la_cohort, lab=la_lab).due_at
    tk_due = schedule_entry(cohort=tk_cohort, lab=tk_lab).due_at
    assert la_due.astimezone(LA).strftime("%a %d %b %H:%M %Z") == "Sun 08 Mar 23:59 PDT"
    assert tk_due.astimezone(TOKYO).strftime("%a %d %b %H:%M %Z") == "Mon 09 Mar 23:59 JST"

    step = dt.timedelta(minutes=5)  # beat's interval for this job
    # From a day and a half before the first due time to just after the last.
    for now in ticks(dt.datetime(2026, 3, 7, 18, tzinfo=UTC), tk_due + step, step):
        monkeypatch.setattr(timezone, "now", lambda now=now: now)
        with django_capture_on_commit_callbacks(execute=True):
            tasks.remind_due_soon.apply()

    for learner, due, zone_name in ((la_learner, la_due, "PDT"), (tk_learner, tk_due, "JST")):
        reminders = Notification.objects.filter(kind="lab.due_soon", recipient=learner)
        sent = sorted(((due - n.emailed_at), n.event.data["lead_hours"]) for n in reminders)
        assert [lead for _, lead in sent] == [2.0, 24.0]
        for before, lead in sent:
            # Within one beat interval after the lead time, never before it.
            assert dt.timedelta(hours=lead) - step < before <= dt.timedelta(hours=lead)
        emails = [m for m in mail.outbox if m.to == [learner.email]]
        assert len(emails) == 2  # emailed at once, not kept for a digest
        assert all(zone_name in m.body and "23:59" in m.body for m in emails)
        assert any("within 2 hours" in m.body for m in emails)
        assert any("within 24 hours" in m.body for m in emails)
    # The Los Angeles reminder a day before left at 23:00 PST on Saturday: 23 h 59 min
    # before a due time on the 23-hour Sunday, i.e. 24 real hours, to the beat tick.
    first = Notification.objects.filter(recipient=la_learner).earliest("emailed_at")
    assert first.emailed_at.astimezone(LA).strftime("%a %H:%M %Z") == "Sat 23:00 PST"


def test_a_late_start_gets_only_the_nearest_reminder(settings):
    settings.DUE_SOON_REMINDER_HOURS = [24.0, 2.0]
    cohort, lab, learner = _learner_in("America/Los_Angeles", start=dt.date(2026, 3, 1))
    due = schedule_entry(cohort=cohort, lab=lab).due_at
    an_hour_before = due - dt.timedelta(hours=1)
    assert services.lab_due_soon_record(now=an_hour_before) == 1
    assert services.lab_due_soon_record(now=an_hour_before + dt.timedelta(minutes=5)) == 0
    assert Event.objects.get(kind="lab.due_soon").data["lead_hours"] == 2.0
    # A new due time (an extension) reminds again.
    cohort.extensions.create(lab=lab, learner=learner, due_at=due + dt.timedelta(hours=25))
    assert services.lab_due_soon_record(now=an_hour_before) == 0  # 26 h away: not yet
    assert services.lab_due_soon_record(now=due + dt.timedelta(hours=2)) == 1
