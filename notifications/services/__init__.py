"""Every write of the notifications app: turning outbox rows into notifications, sending
email exactly once, digests, the periodic reminders, marking read and preferences.

Delivery guarantees, and where they come from:
- An event becomes notifications once: the row is locked and `processed_at` is set in the
  same transaction as the notifications, which are unique per (event, recipient).
  Events are processed in batches (`delivery.events_process`, SKIP LOCKED claims).
- An email goes at most once per key: `EmailDelivery.key` is inserted in the transaction
  that sends and commits only after the backend accepted the message (see
  `_claim_and_send`, and `delivery.py` for batches over one mail connection). Killed
  mid-send, the transaction (and the claim) rolls back, so the retry sends it; run twice,
  the second sender waits on the key and then finds it taken.
- Periodic jobs record events with a `dedupe_key` or claim an `EmailDelivery` key: the
  unique constraint, not timing, makes a second run a no-op.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.exceptions import ApplicationError

from .. import emails
from ..events import record
from ..handlers import KINDS, load_target, still_concerned
from ..models import EmailDelivery, Event, Notification, Preference
from ..selectors import channels_for
from .delivery import (  # noqa: F401 - the package's public names
    EVENT_BATCH,
    Batch,
    Sent,
    _claim_and_send,
    event_process,
    event_record_failure,
    events_process,
    notification_email_send,
    notification_emails_send,
)

logger = logging.getLogger(__name__)

MAX_EVENT_ATTEMPTS = 5
SWEEP_GRACE = dt.timedelta(minutes=1)
SWEEP_BATCH = 1000
DIGEST_MAX_ITEMS = 50
# Digests and weekly summaries go out in this hour of each recipient's own day (beat runs
# the jobs hourly; each picks the people whose local clock is in this hour).
DIGEST_LOCAL_HOUR = 7
MONDAY = 0

Channel = Preference.Channel
EmailStatus = Notification.EmailStatus


def _enqueue_emails_after_commit(notification_ids: list[int]) -> None:
    """Enqueue email tasks once the caller's transaction commits (never before)."""
    if not notification_ids:
        return

    def enqueue() -> None:
        from ..tasks import enqueue_notification_email

        for pk in notification_ids:
            enqueue_notification_email(pk)

    transaction.on_commit(enqueue)


# --- Outbox sweep (processing and sending: delivery.py) ----------------------------------


@dataclass(frozen=True)
class SweepResult:
    event_ids: list[int]
    notification_ids: list[int]


def outbox_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """What was recorded over a minute ago and still waits: events never processed (their
    enqueue was lost, e.g. the broker was down) and emails never sent. Reads only; the task
    enqueues the ids, and processing is idempotent, so overlapping sweeps are harmless."""
    now = now or timezone.now()
    cutoff = now - SWEEP_GRACE
    event_ids = list(
        Event.objects.filter(
            processed_at__isnull=True, created_at__lt=cutoff, attempts__lt=MAX_EVENT_ATTEMPTS
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    notification_ids = list(
        Notification.objects.filter(email_status=EmailStatus.PENDING, created_at__lt=cutoff)
        .filter(Q(email_retry_at__isnull=True) | Q(email_retry_at__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return SweepResult(event_ids, notification_ids)


# --- Sending email -----------------------------------------------------------------------


def _still_concerned(event: Event | None, user_ids: list[int]) -> bool:
    """Every one of `user_ids` may still hear about `event` (see handlers.still_concerned)."""
    if event is None:
        return True
    return still_concerned(event, load_target(event), user_ids) == set(user_ids)


def notification_email_attempts(*, notification_id: int) -> int:
    return (
        Notification.objects.filter(pk=notification_id)
        .values_list("email_attempts", flat=True)
        .first()
        or 0
    )


@transaction.atomic
def notification_email_record_failure(
    *, notification_id: int, error: str, retry_at: dt.datetime | None
) -> None:
    """Note a failed send: a retry is due at `retry_at`, or (None) the email has failed for good.

    Failed rows are listed in the admin under "Email status: Email failed"."""
    notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
    if notification is None or notification.email_status != EmailStatus.PENDING:
        return
    notification.email_attempts += 1
    notification.email_error = error[:2000]
    notification.email_retry_at = retry_at
    if retry_at is None:
        notification.email_status = EmailStatus.FAILED
    notification.save(
        update_fields=["email_attempts", "email_error", "email_retry_at", "email_status"]
    )


@transaction.atomic
def notification_email_retry(*, actor, notification: Notification) -> None:
    """Staff put a failed email back in the queue (the admin action)."""
    if not actor.is_staff:
        raise ApplicationError("Only staff can retry emails.", code="forbidden")
    updated = Notification.objects.filter(
        pk=notification.pk, email_status=EmailStatus.FAILED
    ).update(email_status=EmailStatus.PENDING, email_retry_at=None, email_error="")
    if updated:
        _enqueue_emails_after_commit([notification.pk])


# --- Digests ----------------------------------------------------------------------------


def local_time(now: dt.datetime, time_zone: str) -> dt.datetime:
    """`now` on the wall clock of `time_zone` (UTC when the name is unknown)."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return now.astimezone(zone)


def _at_digest_hour(
    rows, now: dt.datetime, *, weekday: int | None = None
) -> list[tuple[int, dt.date]]:
    """(user id, their local date) for the `(id, time_zone)` rows whose local clock is in
    DIGEST_LOCAL_HOUR now (and on `weekday`, when given)."""
    due = []
    for pk, time_zone in rows:
        local = local_time(now, time_zone)
        if local.hour == DIGEST_LOCAL_HOUR and weekday in (None, local.weekday()):
            due.append((pk, local.date()))
    return due


def digest_recipients(*, now: dt.datetime) -> list[tuple[int, dt.date]]:
    """Who gets a daily digest in this hour, with the local day it is for: people with
    updates waiting whose own clock says 07:xx. Beat runs this hourly; the digest's key
    (one per person per local day) makes a second run in the same hour a no-op."""
    rows = (
        Notification.objects.filter(email_status=EmailStatus.DIGEST)
        .values_list("recipient_id", "recipient__time_zone")
        .distinct()
        .order_by("recipient_id")
    )
    return _at_digest_hour(rows, now)


def digest_send(*, user_id: int, day: dt.date) -> bool:
    """Email the user one digest of everything waiting for it; at most one per user per day.

    Side effects: one email, one `EmailDelivery` ("digest:<user>:<day>"), the digested
    notifications marked sent.
    """
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or not user.email:
            return False
        waiting = Notification.objects.select_for_update().filter(
            recipient=user, email_status=EmailStatus.DIGEST
        )
        event_of = dict(waiting.values_list("pk", "event_id"))
        events = Event.objects.in_bulk({pk for pk in event_of.values() if pk})
        concerned = {pk: _still_concerned(event, [user.pk]) for pk, event in events.items()}
        stale = [pk for pk, event_id in event_of.items() if not concerned.get(event_id, True)]
        if stale:
            # About cohorts the user has left since: never mailed.
            Notification.objects.filter(pk__in=stale).update(email_status=EmailStatus.NONE)
        items = list(waiting.order_by("-created_at", "-pk")[:DIGEST_MAX_ITEMS])
        if not items:
            return False
        ids = list(waiting.values_list("pk", flat=True))
        more = len(ids) - len(items)

        def mark_sent() -> None:
            Notification.objects.filter(pk__in=ids).update(
                email_status=EmailStatus.SENT, emailed_at=timezone.now()
            )

        return _claim_and_send(
            key=f"digest:{user.pk}:{day.isoformat()}",
            kind=EmailDelivery.Kind.DIGEST,
            user=user,
            build=lambda: emails.digest_email(user=user, items=items, more=more, day=day),
            on_sent=mark_sent,
        )


def _iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _wants_weekly(user_ids: list[int], kind: str) -> list[int]:
    channels = channels_for(user_ids, kind)
    return [pk for pk in user_ids if channels[pk] != Channel.OFF]


def mentor_weekly_recipient_ids(*, now: dt.datetime) -> list[int]:
    """Mentors of active cohorts whose own clock says Monday 07:xx (beat runs hourly)."""
    from cohorts.models import Cohort, Membership

    rows = (
        Membership.objects.filter(
            role=Membership.Role.MENTOR,
            active=True,
            user__is_active=True,
            cohort__status=Cohort.Status.ACTIVE,
        )
        .values_list("user_id", "user__time_zone")
        .distinct()
        .order_by("user_id")
    )
    ids = [pk for pk, _day in _at_digest_hour(rows, now, weekday=MONDAY)]
    return _wants_weekly(ids, "digest.mentor_weekly")


def staff_weekly_recipient_ids(*, now: dt.datetime) -> list[int]:
    """Active staff whose own clock says Monday 07:xx (beat runs hourly)."""
    rows = (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .values_list("pk", "time_zone")
        .order_by("pk")
    )
    ids = [pk for pk, _day in _at_digest_hour(rows, now, weekday=MONDAY)]
    return _wants_weekly(ids, "digest.staff_weekly")


@dataclass(frozen=True)
class CohortProgress:
    cohort: object
    learners: int
    released_labs: int
    approved: int

    @property
    def percent(self) -> int:
        expected = self.learners * self.released_labs
        return round(100 * self.approved / expected) if expected else 0


def _cohort_progress(cohorts, now: dt.datetime) -> list[CohortProgress]:
    from cohorts.models import Membership
    from cohorts.selectors import cohort_schedule
    from submissions.models import Submission

    cohort_ids = [c.pk for c in cohorts]
    learners = dict(
        Membership.objects.filter(
            cohort_id__in=cohort_ids, role=Membership.Role.LEARNER, active=True
        )
        .values("cohort_id")
        .annotate(n=Count("pk"))
        .values_list("cohort_id", "n")
    )
    approved = dict(
        Submission.objects.filter(cohort_id__in=cohort_ids, state=Submission.State.APPROVED)
        .values("cohort_id")
        .annotate(n=Count("pk"))
        .values_list("cohort_id", "n")
    )
    result = []
    for cohort in cohorts:
        released = sum(1 for e in cohort_schedule(cohort=cohort, now=now) if e.is_released)
        result.append(
            CohortProgress(cohort, learners.get(cohort.pk, 0), released, approved.get(cohort.pk, 0))
        )
    return result


def mentor_weekly_send(*, user_id: int, now: dt.datetime | None = None) -> bool:
    """The mentor's weekly summary: their queue, what is overdue, progress of their cohorts.
    At most once per mentor per ISO week of their own calendar."""
    from cohorts.models import Cohort
    from submissions.models import Submission

    now = now or timezone.now()
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or not user.email:
            return False
        cohorts = list(
            Cohort.objects.filter(
                memberships__user=user,
                memberships__role="mentor",
                memberships__active=True,
                status=Cohort.Status.ACTIVE,
            ).order_by("name")
        )
        if not cohorts:
            return False
        open_states = [Submission.State.SUBMITTED, Submission.State.IN_REVIEW]
        queue = Submission.objects.filter(assigned_to=user, state__in=open_states)
        counts = queue.aggregate(
            total=Count("pk"), overdue=Count("pk", filter=Q(review_due_at__lt=now))
        )
        unassigned = Submission.objects.filter(
            cohort__in=cohorts, state=Submission.State.SUBMITTED, assigned_to__isnull=True
        ).count()
        context = {
            "queue_size": counts["total"],
            "overdue": counts["overdue"],
            "unassigned": unassigned,
            "progress": _cohort_progress(cohorts, now),
            "week": _iso_week(local_time(now, user.time_zone).date()),
        }
        return _claim_and_send(
            key=f"mentor_weekly:{user.pk}:{context['week']}",
            kind=EmailDelivery.Kind.MENTOR_WEEKLY,
            user=user,
            build=lambda: emails.weekly_email(
                name="mentor_weekly",
                user=user,
                subject=f"Cohort Labs · your week: {counts['total']} to review, {counts['overdue']} overdue",
                context=context,
            ),
            on_sent=lambda: None,
        )


@dataclass(frozen=True)
class CohortSla:
    cohort: object
    reviews: int
    on_time: int
    overdue_now: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.on_time / self.reviews) if self.reviews else None


def sla_compliance(*, now: dt.datetime, days: int = 7) -> list[CohortSla]:
    """Per active cohort: first reviews of iterations in the last `days`, how many came
    within the cohort's review SLA, and how many reviews are overdue right now."""
    from cohorts.models import Cohort
    from submissions.models import Review, Submission

    since = now - dt.timedelta(days=days)
    cohorts = list(Cohort.objects.filter(status=Cohort.Status.ACTIVE).order_by("name"))
    first_reviews: dict[int, tuple[int, dt.datetime, dt.datetime, int]] = {}
    rows = (
        Review.objects.filter(created_at__gte=since, submission__cohort__in=cohorts)
        .order_by("created_at", "pk")
        .values_list(
            "iteration_id",
            "submission__cohort_id",
            "created_at",
            "iteration__submitted_at",
            "submission__cohort__review_sla_hours",
        )
    )
    for iteration_id, cohort_id, reviewed_at, submitted_at, sla_hours in rows:
        first_reviews.setdefault(iteration_id, (cohort_id, reviewed_at, submitted_at, sla_hours))
    reviews: dict[int, int] = defaultdict(int)
    on_time: dict[int, int] = defaultdict(int)
    for cohort_id, reviewed_at, submitted_at, sla_hours in first_reviews.values():
        reviews[cohort_id] += 1
        if reviewed_at - submitted_at <= dt.timedelta(hours=sla_hours):
            on_time[cohort_id] += 1
    overdue = dict(
        Submission.objects.filter(
            cohort__in=cohorts,
            state__in=[Submission.State.SUBMITTED, Submission.State.IN_REVIEW],
            review_due_at__lt=now,
        )
        .values("cohort_id")
        .annotate(n=Count("pk"))
        .values_list("cohort_id", "n")
    )
    return [
        CohortSla(c, reviews.get(c.pk, 0), on_time.get(c.pk, 0), overdue.get(c.pk, 0))
        for c in cohorts
    ]


def staff_weekly_send(*, user_id: int, now: dt.datetime | None = None) -> bool:
    """Staff's weekly summary of review SLA compliance per cohort; once per ISO week of
    their own calendar."""
    now = now or timezone.now()
    with transaction.atomic():
        user = get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first()
        if user is None or not user.email:
            return False
        rows = sla_compliance(now=now)
        week = _iso_week(local_time(now, user.time_zone).date())
        return _claim_and_send(
            key=f"staff_weekly:{user.pk}:{week}",
            kind=EmailDelivery.Kind.STAFF_WEEKLY,
            user=user,
            build=lambda: emails.weekly_email(
                name="staff_weekly",
                user=user,
                subject=f"Cohort Labs · review SLA, week {week}",
                context={"rows": rows, "week": week},
            ),
            on_sent=lambda: None,
        )


# --- Periodic reminders (events with a dedupe key) -----------------------------------------


def lab_due_soon_record(
    *, now: dt.datetime | None = None, leads_hours: list[float] | None = None
) -> int:
    """Record `lab.due_soon` for each learner who has not handed in a released lab, a fixed
    time before its due time (their extension's when they have one): each of `leads_hours`
    (settings.DUE_SOON_REMINDER_HOURS, e.g. 24 and 2 hours). Beat runs this every few
    minutes, so a reminder leaves within minutes of its lead time.

    Once per learner, lab, lead and due time, by the event's dedupe key (a new due time
    reminds again). A run that finds several lead times passed (a learner who joined late,
    an extension, beat was down) records only the nearest one. Returns how many events
    were recorded.
    """
    from cohorts.models import Cohort, Extension, Membership
    from cohorts.selectors import cohort_schedule
    from submissions.models import Submission

    now = now or timezone.now()
    leads = sorted(leads_hours or settings.DUE_SOON_REMINDER_HOURS)
    horizon = now + dt.timedelta(hours=leads[-1])
    recorded = 0
    for cohort in Cohort.objects.filter(status=Cohort.Status.ACTIVE).select_related("track"):
        entries = {e.lab.pk: e for e in cohort_schedule(cohort=cohort, now=now) if e.is_released}
        if not entries:
            continue
        extensions = {
            (e.learner_id, e.lab_id): e.due_at
            for e in Extension.objects.filter(cohort=cohort, lab_id__in=list(entries))
        }
        learners = list(
            Membership.objects.filter(
                cohort=cohort, role=Membership.Role.LEARNER, active=True, user__is_active=True
            ).values_list("user_id", flat=True)
        )
        handed_in = set(
            Submission.objects.filter(cohort=cohort, lab_id__in=list(entries))
            .exclude(state=Submission.State.DRAFT)
            .values_list("learner_id", "lab_id")
        )
        reminders = {}
        for lab_id, entry in entries.items():
            for learner_id in learners:
                if (learner_id, lab_id) in handed_in:
                    continue
                due = extensions.get((learner_id, lab_id), entry.due_at)
                if not (now < due <= horizon):
                    continue
                lead = next(h for h in leads if due - now <= dt.timedelta(hours=h))
                key = (
                    f"lab.due_soon:{cohort.pk}:{lab_id}:{learner_id}"
                    f":{lead:g}h:{int(due.timestamp())}"
                )
                reminders[key] = (entry.lab, learner_id, due, lead)
        # The job runs every few minutes: skip the reminders already recorded in one query
        # (the key's unique constraint still decides between two concurrent runs).
        sent = set(
            Event.objects.filter(dedupe_key__in=list(reminders)).values_list(
                "dedupe_key", flat=True
            )
        )
        todo = {key: reminder for key, reminder in reminders.items() if key not in sent}
        if not todo:
            continue
        with transaction.atomic():
            for key, (lab, learner_id, due, lead) in todo.items():
                event = record(
                    "lab.due_soon",
                    actor=None,
                    target=lab,
                    data={
                        "cohort_id": cohort.pk,
                        "learner_id": learner_id,
                        "due_at": due.isoformat(),
                        "lead_hours": lead,
                    },
                    dedupe_key=key,
                )
                recorded += event is not None
    return recorded


def lab_released_record(*, now: dt.datetime | None = None, within_days: int = 7) -> int:
    """Record `lab.released` for each lab released in a cohort in the last `within_days`;
    once per cohort per lab (a cohort releases one lab a week), by the dedupe key."""
    from cohorts.models import Cohort
    from cohorts.selectors import cohort_schedule

    now = now or timezone.now()
    since = now - dt.timedelta(days=within_days)
    recorded = 0
    for cohort in Cohort.objects.filter(status=Cohort.Status.ACTIVE).select_related("track"):
        with transaction.atomic():
            for entry in cohort_schedule(cohort=cohort, now=now):
                if not (since < entry.release_at <= now):
                    continue
                event = record(
                    "lab.released",
                    actor=None,
                    target=entry.lab,
                    data={"cohort_id": cohort.pk, "release_at": entry.release_at.isoformat()},
                    dedupe_key=f"lab.released:{cohort.pk}:{entry.lab.pk}",
                )
                recorded += event is not None
    return recorded


# --- In-app reads and preferences ----------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read (no-op when already read)."""
    if notification.recipient_id != actor.pk:
        raise ApplicationError("That notification is not yours.", code="forbidden")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


@transaction.atomic
def notifications_mark_all_read(*, actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def email_unsubscribe(*, user, kind: str) -> list[str]:
    """Stop one kind of email for `user` (the one-click link in every email; no sign-in).

    A kind emailed at once or in the digest becomes in-app only; a weekly summary is
    turned off; `unsubscribe.DIGEST` moves every kind waiting for the daily digest to
    in-app only. Notifications of those kinds still waiting for an email are not emailed.
    Idempotent: returns the kinds that changed (none the second time).
    Side effects: writes the user's `Preference` rows and notifications' email status.
    """
    from ..unsubscribe import DIGEST

    if kind != DIGEST and kind not in KINDS:
        raise ApplicationError(f"Unknown notification kind {kind!r}.")
    chosen = dict(Preference.objects.filter(user=user).values_list("kind", "channel"))
    current = {k: chosen.get(k, info.default) for k, info in KINDS.items()}
    if kind == DIGEST:
        changes = {k: Channel.IN_APP for k, ch in current.items() if ch == Channel.DIGEST}
    elif current[kind] in (Channel.EMAIL, Channel.DIGEST):
        changes = {kind: Channel.OFF if KINDS[kind].email_only else Channel.IN_APP}
    else:
        changes = {}
    if changes:
        preferences_update(actor=user, channels=changes)
        Notification.objects.filter(
            recipient=user,
            kind__in=list(changes),
            email_status__in=[EmailStatus.PENDING, EmailStatus.DIGEST],
        ).update(email_status=EmailStatus.NONE)
    return sorted(changes)


@transaction.atomic
def preferences_update(*, actor, channels: dict[str, str]) -> None:
    """Set the actor's channel per kind. A kind set to its default stores no row."""
    valid = set(Channel.values)
    for kind, channel in channels.items():
        info = KINDS.get(kind)
        if info is None:
            raise ApplicationError(f"Unknown notification kind {kind!r}.")
        if channel not in valid:
            raise ApplicationError(f"Unknown channel {channel!r} for {info.label}.")
        if info.email_only and channel not in (Channel.EMAIL, Channel.OFF):
            raise ApplicationError(f"{info.label} can only be emailed or turned off.")
    for kind, channel in channels.items():
        if channel == KINDS[kind].default:
            Preference.objects.filter(user=actor, kind=kind).delete()
        else:
            Preference.objects.update_or_create(
                user=actor, kind=kind, defaults={"channel": channel}
            )
