"""Away mode: a mentor on holiday hands over their open reviews and gets no new ones.

Away is about the person, so it lives on `accounts.User` (`away_until`, `away_note`,
written by `accounts.services.user_set_away` / `user_end_away`). Moving the reviews is
submissions' work, so pages, the API and the admin call these services, which call the
accounts service and then hand over, in one transaction. `pick_mentor` skips anyone away,
which keeps them out of auto-assignment, resubmissions, overflow, escalation and hand-over.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_end_away, user_set_away
from cohorts.models import Cohort, Membership

from ..models import Assignment
from ..permissions import can_set_away, mentors_anywhere
from ._common import _forbidden
from .assignments import _hand_over_open_reviews, enqueue_fill


def _mentored_cohorts(user) -> list[Cohort]:
    return list(
        Cohort.objects.filter(
            memberships__user=user,
            memberships__role=Membership.Role.MENTOR,
            memberships__active=True,
        ).order_by("pk")
    )


def _check(actor, user) -> None:
    if not can_set_away(actor, user):
        if not mentors_anywhere(user):
            who = "you mentor" if actor.pk == user.pk else f"{user.display_name} mentors"
            raise _forbidden(f"Away mode is for mentors: {who} no cohort.")
        raise _forbidden("Only staff can set another mentor away.")


def away_note_for_reviews(user) -> str:
    """The note a review handed over on `user`'s behalf carries."""
    note = (user.away_note or "").strip()
    who = user.display_name
    return f"{who} is away" + (f": {note}" if note else ".")


@transaction.atomic
def mentor_set_away(*, actor, user, until: dt.date, note: str = "", zone=None, now=None) -> int:
    """Set `user` (a mentor) away through the day `until` (on `zone`'s calendar, by default
    the actor's) with a note, then hand each of their open reviews, in every cohort they
    mentor, to another mentor of that cohort with room (the assignment carries the note and
    reason ``away``; ``assignment.reassigned`` tells both mentors), or back to the cohort's
    queue when nobody has room. Until then `pick_mentor` gives them nothing new.

    A mentor for themself, staff for any mentor (`permissions.can_set_away`); a bad date or
    note changes nothing. Setting it again changes the date and note (reviews already moved
    stay where they are). Returns the number of reviews moved.
    """
    _check(actor, user)
    cohorts = _mentored_cohorts(user)
    # Lock every mentor row of those cohorts first, in the order `pick_mentor` locks them:
    # an assignment racing this call either commits before (and is handed over below) or
    # waits and then sees the mentor away. No review can slip through to them.
    list(
        Membership.objects.select_for_update(of=("self",))
        .filter(cohort__in=cohorts, role=Membership.Role.MENTOR, active=True, user__is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    user_set_away(actor=actor, user=user, until=until, note=note, zone=zone, now=now)
    note_text = away_note_for_reviews(user)
    return sum(
        _hand_over_open_reviews(
            mentor_id=user.pk,
            cohort=cohort,
            actor=actor,
            note=note_text,
            kind=Assignment.Reason.AWAY,
        )
        for cohort in cohorts
    )


@transaction.atomic
def mentor_end_away(*, actor, user) -> None:
    """End `user`'s away mode now (the same people as `mentor_set_away`); idempotent.
    Side effects: clears the away fields; after commit their cohorts' waiting work is
    offered to mentors with room (`assignments_fill`), them included."""
    _check(actor, user)
    was_away = user.is_away()
    user_end_away(actor=actor, user=user)
    if was_away:
        for cohort in _mentored_cohorts(user):
            enqueue_fill(cohort.pk)


def away_hand_over_pending(*, now: dt.datetime | None = None) -> int:
    """Open reviews still held by someone who is away (set through a path that did not hand
    over, or a claim that raced the hand-over) move as `mentor_set_away` moves them. Each
    mentor in its own transaction. Returns the number moved."""
    now = now or timezone.now()
    pending = (
        Assignment.objects.filter(
            ended_at__isnull=True, mentor__away_until__gt=now, mentor__is_active=True
        )
        .values_list("mentor_id", "submission__cohort_id")
        .distinct()
        .order_by("mentor_id", "submission__cohort_id")
    )
    moved = 0
    for mentor_id, cohort_id in list(pending):
        with transaction.atomic():
            cohort = Cohort.objects.get(pk=cohort_id)
            mentor = User.objects.get(pk=mentor_id)
            moved += _hand_over_open_reviews(
                mentor_id=mentor_id,
                cohort=cohort,
                actor=None,
                note=away_note_for_reviews(mentor),
                kind=Assignment.Reason.AWAY,
            )
    return moved
