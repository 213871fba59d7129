"""Feedback that lands: the learner acknowledges reviews, unacknowledged ones get one reminder.

The services of this sub-domain live here, beside the ``services`` package; the permissions
and models are the app's own.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cohorts.models import Membership
from core.exceptions import ApplicationError
from notifications.events import record

from .models import Review, ReviewAcknowledgement
from .permissions import can_acknowledge_review

# A review not acknowledged this long after it was posted gets one reminder.
ACK_REMINDER_AFTER = dt.timedelta(days=3)
# Reviews older than this past the reminder time are never reminded: a beat that was down,
# or the first run after this feature ships, must not send reminders about old reviews.
ACK_REMINDER_WINDOW = dt.timedelta(days=7)


@transaction.atomic
def review_acknowledge(
    *, actor, review: Review, helpful: bool | None = None, note: str = ""
) -> ReviewAcknowledgement:
    """The submission's learner says they saw ``review``, optionally rating it helpful or
    not with a short note. Only that learner, while their membership is active.

    A second call replaces the rating and note and keeps the first ``acknowledged_at``.
    Writes one ``ReviewAcknowledgement`` row; tells nobody (the mentor reads the figures on
    the dashboards), and from then on the review gets no reminder.
    """
    if not can_acknowledge_review(actor, review):
        raise ApplicationError(
            "Only the learner whose work was reviewed can acknowledge this review.",
            code="forbidden",
        )
    if helpful not in (True, False, None):
        raise ApplicationError(
            "Helpful must be true, false or null.",
            code="invalid",
            extra={"errors": {"helpful": "Must be true, false or null."}},
        )
    note = (note or "").strip()
    limit = ReviewAcknowledgement.NOTE_MAX_LENGTH
    if len(note) > limit:
        message = f"Keep the note to {limit} characters (it has {len(note)})."
        raise ApplicationError(message, code="invalid", extra={"errors": {"note": message}})
    now = timezone.now()
    acknowledgement, created = ReviewAcknowledgement.objects.select_for_update().get_or_create(
        review=review,
        defaults={
            "learner_id": actor.pk,
            "acknowledged_at": now,
            "updated_at": now,
            "helpful": helpful,
            "note": note,
        },
    )
    if not created:
        acknowledgement.helpful = helpful
        acknowledgement.note = note
        acknowledgement.updated_at = now
        acknowledgement.save(update_fields=["helpful", "note", "updated_at"])
    return acknowledgement


def reviews_remind_unacknowledged(*, now: dt.datetime | None = None) -> int:
    """Record ``review.unacknowledged`` once per review its learner has not acknowledged
    ``ACK_REMINDER_AFTER`` after it was posted (reviews past the window are left alone),
    for learners whose membership in the cohort is still active. Exactly once per review,
    by the event's dedupe key, so two runs at once are harmless. Returns how many events
    were recorded."""
    from notifications.models import Event

    now = now or timezone.now()
    due_before = now - ACK_REMINDER_AFTER
    still_learning = Membership.objects.filter(
        cohort_id=OuterRef("submission__cohort_id"),
        user_id=OuterRef("submission__learner_id"),
        role=Membership.Role.LEARNER,
        active=True,
    )
    candidates = dict(
        Review.objects.filter(
            created_at__lte=due_before,
            created_at__gt=due_before - ACK_REMINDER_WINDOW,
            acknowledgement__isnull=True,
        )
        .filter(Exists(still_learning))
        .values_list("pk", "submission_id")
    )
    keys = {f"review.unacknowledged:{pk}": pk for pk in candidates}
    done = set(Event.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
    recorded = 0
    for key, review_id in keys.items():
        if key in done:
            continue
        with transaction.atomic():
            review = Review.objects.select_related("submission").get(pk=review_id)
            event = record(
                "review.unacknowledged",
                target=review.submission,
                data={"review_id": review.pk, "cohort_id": review.submission.cohort_id},
                dedupe_key=key,
            )
            recorded += event is not None
    return recorded
