"""Every periodic job run twice has the effect of once; reminders reach the right people."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from cohorts.models import Cohort, Extension, ScheduleOverride
from cohorts.selectors import schedule_entry
from notifications import services, tasks
from notifications.models import EmailDelivery, Event, Notification
from submissions import services as submissions
from tests.factories import LabFactory

from .conftest import freeze_at_seven_utc, process_all

pytestmark = pytest.mark.django_db

# One active cohort: cohorts, its schedule (labs, overrides), extensions, learners,
# hand-ins, reminders already recorded.
DUE_SOON_RUN_QUERIES = 7


def _due_in(world, lab, hours: float) -> dt.datetime:
    """Move `lab`'s due time for the cohort to `hours` from now (a staff override)."""
    due = timezone.now() + dt.timedelta(hours=hours)
    ScheduleOverride.objects.update_or_create(
        cohort=world.cohort,
        lab=lab,
        defaults={"due_at": due, "release_at": timezone.now() - dt.timedelta(days=1)},
    )
    return due


def test_due_soon_reminds_each_learner_who_has_not_submitted_once(world):
    due = _due_in(world, world.lab, 5)
    submitted = world.add_learner()
    world.submit(learner=submitted)
    drafting = world.add_learner()
    world.draft(learner=drafting)
    assert services.lab_due_soon_record() == 2  # world.learner and the one with a draft
    assert services.lab_due_soon_record() == 0
    assert tasks.remind_due_soon.apply().get() == 0
    process_all()
    reminded = set(
        Notification.objects.filter(kind="lab.due_soon").values_list("recipient_id", flat=True)
    )
    assert reminded == {world.learner.pk, drafting.pk}
    text = Notification.objects.filter(kind="lab.due_soon").first().text
    assert "within 24 hours" in text and due.strftime("%d %b") in text


def test_due_soon_ignores_labs_due_later_or_already_past_and_honours_extensions(world):
    _due_in(world, world.lab, 30)
    assert services.lab_due_soon_record() == 0
    _due_in(world, world.lab, -1)
    assert services.lab_due_soon_record() == 0
    extended = Extension.objects.create(
        cohort=world.cohort,
        lab=world.lab,
        learner=world.learner,
        due_at=timezone.now() + dt.timedelta(hours=3),
        reason="Travel",
    )
    assert services.lab_due_soon_record() == 1
    event = Event.objects.get(kind="lab.due_soon")
    assert event.data["learner_id"] == world.learner.pk
    assert event.data["due_at"] == extended.due_at.isoformat()


def test_due_soon_skips_cohorts_that_are_not_active(world):
    _due_in(world, world.lab, 5)
    Cohort.objects.filter(pk=world.cohort.pk).update(status=Cohort.Status.FINISHED)
    assert services.lab_due_soon_record() == 0


def test_lab_released_once_per_cohort_and_lab(world):
    week2 = LabFactory(track=world.cohort.track, week=2)
    entry = schedule_entry(cohort=world.cohort, lab=week2)
    assert entry.is_released
    other_learner = world.add_learner()
    assert services.lab_released_record() == 1  # week 1 was released more than a week ago
    assert services.lab_released_record() == 0
    assert tasks.announce_released_labs.apply().get() == 0
    process_all()
    told = set(
        Notification.objects.filter(kind="lab.released").values_list("recipient_id", flat=True)
    )
    assert told == {world.learner.pk, other_learner.pk}
    assert not Notification.objects.filter(kind="lab.released", recipient=world.mentor).exists()


def test_daily_digest_task_twice_sends_once(world, django_capture_on_commit_callbacks, monkeypatch):
    LabFactory(track=world.cohort.track, week=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.lab_released_record()
    freeze_at_seven_utc(monkeypatch)
    tasks.send_daily_digests.apply()
    # A second run the same day finds nothing waiting; even forcing the task again does
    # nothing because the day's key is taken.
    tasks.send_daily_digests.apply()
    tasks.send_digest.apply(args=(world.learner.pk, timezone.now().date().isoformat()))
    assert len(mail.outbox) == 1
    assert EmailDelivery.objects.filter(kind="digest").count() == 1


def test_mentor_weekly_digest_counts_queue_overdue_and_progress_once(world, monkeypatch):
    submission = world.submit()
    second_learner = world.add_learner()
    approved = world.submit(learner=second_learner)
    submissions.review_create(
        actor=approved.assigned_to, submission=approved, verdict="approve", body=""
    )
    assert submission.assigned_to_id == world.mentor.pk
    # The review has been waiting past its due time.
    type(submission).objects.filter(pk=submission.pk).update(
        review_due_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.mentor_weekly_send(user_id=world.mentor.pk) is True
    assert services.mentor_weekly_send(user_id=world.mentor.pk) is False
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Reviews assigned to you: 1" in body
    assert "Overdue: 1" in body
    # Two learners, one lab released, one approved.
    assert f"{world.cohort.name}: 1 of 2 learners x 1 labs (50%)" in body
    freeze_at_seven_utc(monkeypatch, monday=True)  # this week's Monday, 07:10 on their clock
    assert tasks.send_mentor_weekly_digests.apply().get() == 2  # both mentors asked
    assert len(mail.outbox) == 2  # the other mentor's; this mentor's week is already sent


def test_weekly_digests_honour_the_off_preference(world):
    services.preferences_update(actor=world.mentor, channels={"digest.mentor_weekly": "off"})
    services.preferences_update(actor=world.staff, channels={"digest.staff_weekly": "off"})
    monday_seven = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
    assert world.other_mentor.pk in services.mentor_weekly_recipient_ids(now=monday_seven)
    assert world.mentor.pk not in services.mentor_weekly_recipient_ids(now=monday_seven)
    assert world.staff.pk not in services.staff_weekly_recipient_ids(now=monday_seven)


def test_staff_weekly_sla_compliance_per_cohort_once(world, monkeypatch):
    on_time = world.submit()
    submissions.review_create(actor=world.mentor, submission=on_time, verdict="approve", body="")
    late = world.submit(learner=world.add_learner())
    Event.objects.all().delete()
    # Its iteration was submitted three days ago: the review comes after the 48 h SLA.
    late.iterations.update(submitted_at=timezone.now() - dt.timedelta(days=3))
    submissions.review_create(
        actor=late.assigned_to, submission=late, verdict="comment", body="Sorry for the wait"
    )
    rows = {row.cohort.pk: row for row in services.sla_compliance(now=timezone.now())}
    row = rows[world.cohort.pk]
    assert (row.reviews, row.on_time, row.percent) == (2, 1, 50)
    assert services.staff_weekly_send(user_id=world.staff.pk) is True
    assert services.staff_weekly_send(user_id=world.staff.pk) is False
    freeze_at_seven_utc(monkeypatch, monday=True)
    assert tasks.send_staff_weekly_digests.apply().get() == 1
    assert len(mail.outbox) == 1
    assert f"{world.cohort.name}: 1 of 2 on time (50%)" in mail.outbox[0].body


def test_review_scheduling_jobs_twice_notify_once(world):
    world.submit()
    later = timezone.now() + dt.timedelta(hours=48 + 25)
    for _ in range(2):
        submissions.assignments_remind_overdue(now=later)
        submissions.assignments_escalate_overdue(now=later)
        process_all()
    assert Notification.objects.filter(kind="review.overdue").count() == 1
    assert Notification.objects.filter(kind="review.escalated").count() == 1
    assert Notification.objects.filter(kind="assignment.reassigned").count() == 2


def test_every_sweep_of_lost_enqueues_is_on_the_beat_schedule():
    """What could not be enqueued while the broker was down is sent once it is back only
    if beat runs the sweep that finds it."""
    from config.celery import BEAT_SCHEDULE

    scheduled = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {"notifications.sweep_outbox", "cohorts.send_pending_invitations"} <= scheduled


def test_beat_schedule_names_tasks_that_exist():
    from config.celery import BEAT_SCHEDULE, app

    app.loader.import_default_modules()
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_beat_seeds_missing_rows_and_keeps_staff_edits(db, monkeypatch):
    from django_celery_beat import schedulers
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    # The scheduler closes "old" connections, which inside the test's transaction means
    # closing it (on PostgreSQL); beat runs outside any transaction.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)

    from config.celery import BEAT_SCHEDULE, app
    from notifications.beat import CodeDefaultsScheduler

    CodeDefaultsScheduler(app=app, lazy=True).setup_schedule()
    assert set(BEAT_SCHEDULE) <= set(PeriodicTask.objects.values_list("name", flat=True))
    sweep = PeriodicTask.objects.get(name="notifications: sweep the outbox")
    sweep.interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    sweep.save()
    CodeDefaultsScheduler(app=app, lazy=True).setup_schedule()
    sweep.refresh_from_db()
    assert sweep.interval.every == 5  # the staff edit survived a restart


@pytest.mark.parametrize("learners", [2, 40])
def test_due_soon_runs_cost_the_same_queries_for_any_cohort_size(world, learners):
    """Beat runs the job every 5 minutes: a run with nothing new to record must not try
    each learner's reminder again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _due_in(world, world.lab, 5)
    for _ in range(learners):
        world.add_learner()
    assert services.lab_due_soon_record() == learners + 1
    with CaptureQueriesContext(connection) as queries:
        assert services.lab_due_soon_record() == 0
    assert len(queries) <= DUE_SOON_RUN_QUERIES, [q["sql"][:60] for q in queries]
