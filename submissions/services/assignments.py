"""Who reviews what: mentor loads and picking, claim, release, reassign and hand-over.

Every change ends the open ``Assignment`` and records an event, so the history of who
held a submission, and why, is never lost.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from cohorts.models import Cohort, Membership
from core.exceptions import ApplicationError
from core.prepared import Param, PreparedQuery
from notifications.events import record

from .. import state as sm
from .._cohorts import has_active_membership
from ..models import Assignment, Submission
from ..permissions import can_reassign_submission, can_review_submission
from ._common import (
    S,
    _end_open_assignment,
    _forbidden,
    _invalid,
    _locked,
    _open_assignment,
    _refresh_caller,
)


def _mentor_capacity(membership: Membership, cohort: Cohort) -> int:
    return membership.capacity if membership.capacity is not None else cohort.mentor_capacity


@dataclass(frozen=True)
class MentorLoad:
    membership: Membership
    open_count: int
    capacity: int
    last_assigned_at: dt.datetime | None


def mentor_loads(cohort: Cohort, *, lock: bool = False) -> list[MentorLoad]:
    """Active mentors of ``cohort`` with their open reviews in it (two queries).

    With ``lock``, the mentors' membership rows are locked so that two submits in the same
    cohort cannot both give the last free slot of one mentor.
    """
    memberships = Membership.objects.filter(
        cohort=cohort, role=Membership.Role.MENTOR, active=True, user__is_active=True
    ).order_by("pk")
    if lock:
        memberships = memberships.select_for_update(of=("self",))
    memberships = list(memberships.select_related("user"))
    if not memberships:
        return []
    stats = {
        row["mentor_id"]: row
        for row in Assignment.objects.filter(
            cohort=cohort, mentor_id__in=[m.user_id for m in memberships]
        )
        .values("mentor_id")
        .annotate(open_count=Count("pk", filter=Q(ended_at__isnull=True)), last=Max("assigned_at"))
    }
    return [
        MentorLoad(
            membership=m,
            open_count=stats.get(m.user_id, {}).get("open_count", 0),
            capacity=_mentor_capacity(m, cohort),
            last_assigned_at=stats.get(m.user_id, {}).get("last"),
        )
        for m in memberships
    ]


def _active_mentors(*, lock: bool):
    memberships = Membership.objects.filter(
        cohort_id=Param("cohort"), role=Membership.Role.MENTOR, active=True, user__is_active=True
    ).order_by("pk")
    return memberships.select_for_update(of=("self",)) if lock else memberships


def _mentor_users_with_loads():
    # Per mentor, two index lookups that do not read their whole history (every assignment
    # they ever had): their open ones, and their latest in the cohort.
    in_cohort = Assignment.objects.filter(
        mentor_id=OuterRef("pk"), cohort_id=Param("cohort")
    ).order_by()
    open_count = (
        in_cohort.filter(ended_at__isnull=True)
        .values("mentor_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    latest = in_cohort.order_by("-assigned_at").values("assigned_at")[:1]
    mentors = Membership.objects.filter(
        cohort_id=Param("cohort"), role=Membership.Role.MENTOR, active=True
    ).values("user_id")
    return User.objects.filter(pk__in=mentors).annotate(
        open_count=Coalesce(Subquery(open_count), 0),
        last_assigned_at=Subquery(latest),
    )


# pick_mentor's two statements, compiled once (every hand-in runs them).
_ACTIVE_MENTORS_LOCKED = PreparedQuery(lambda: _active_mentors(lock=True))
_ACTIVE_MENTORS = PreparedQuery(lambda: _active_mentors(lock=False))
_MENTOR_USERS = PreparedQuery(_mentor_users_with_loads)


def pick_mentor(cohort: Cohort, *, exclude_user_ids=(), lock: bool = True, now=None):
    """The mentor with the fewest open reviews under capacity; ties to the least recently
    assigned (never assigned first), then the oldest membership. None when nobody has room.
    A mentor who is away (`User.away_until` still ahead) is never picked.

    Two queries: the active mentors' memberships (locked with ``lock``), then, after the
    lock, each one's open reviews and last assignment in the cohort with their away time.
    """
    now = now or timezone.now()
    excluded = set(exclude_user_ids)
    mentors = _ACTIVE_MENTORS_LOCKED if lock else _ACTIVE_MENTORS
    memberships = [m for m in mentors.models(cohort=cohort.pk) if m.user_id not in excluded]
    if not memberships:
        return None
    # Read after the lock, in a statement of its own: a mentor who went away while we waited
    # for the lock (`mentor_set_away` holds the same rows) is seen as away, and the loads
    # are those the mentor holds now.
    users = {user.pk: user for user in _MENTOR_USERS.models(cohort=cohort.pk)}
    candidates = []
    for membership in memberships:
        user = users.get(membership.user_id)
        if user is None or user.is_away(now):
            continue
        if user.open_count >= _mentor_capacity(membership, cohort):
            continue
        candidates.append((user.open_count, user.last_assigned_at, membership.pk, user))
    if not candidates:
        return None
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    best = min(candidates, key=lambda c: (c[0], c[1] or epoch, c[2]))
    return best[3]


def _assign(
    *,
    submission: Submission,
    mentor,
    reason: str,
    now: dt.datetime,
    due_at: dt.datetime,
    assigned_by=None,
    note: str = "",
    open_ended: bool = False,
) -> Assignment:
    """``open_ended``: the caller has just ended the open assignment in this transaction."""
    if not open_ended:
        _end_open_assignment(submission, now=now)
    assignment = Assignment.objects.create(
        submission=submission,
        cohort_id=submission.cohort_id,
        mentor=mentor,
        reason=reason,
        note=(note or "")[:500],
        assigned_by=assigned_by if getattr(assigned_by, "pk", None) else None,
        assigned_at=now,
        due_at=due_at,
    )
    submission.assigned_to = mentor
    submission.review_due_at = due_at
    return assignment


def _record_assignment(
    kind: str, *, actor, submission: Submission, assignment: Assignment, **extra
):
    record(
        **_assignment_event(
            kind, actor=actor, submission=submission, assignment=assignment, **extra
        )
    )


def _assignment_event(
    kind: str, *, actor, submission: Submission, assignment: Assignment, **extra
) -> dict:
    """The arguments of ``record`` for an assignment event."""
    return dict(
        kind=kind,
        actor=actor,
        target=submission,
        data={
            "assignment_id": assignment.pk,
            "mentor_id": assignment.mentor_id,
            "reason": assignment.reason,
            "due_at": assignment.due_at.isoformat(),
            "cohort_id": submission.cohort_id,
            "lab_id": submission.lab_id,
            **extra,
        },
    )


@transaction.atomic
def submission_claim(*, actor, submission: Submission) -> Submission:
    """Take a submitted piece of work into review (state ``in_review``, assigned to actor).

    Two mentors claiming at once are serialised by the row lock: the second finds it in
    review and is told who has it. Work assigned to another mentor can only be reassigned.
    """
    locked = _locked(submission)
    if not can_review_submission(actor, locked):
        raise _forbidden("Only mentors of this cohort can review this work.")
    if locked.state == S.IN_REVIEW and locked.assigned_to_id is not None:
        who = "you" if locked.assigned_to_id == actor.pk else locked.assigned_to.display_name
        raise ApplicationError(
            f"Already claimed by {who}.",
            code="invalid_transition",
            extra={"assigned_to_id": locked.assigned_to_id},
        )
    sm.target_of(locked.state, "claim")
    if actor.is_away():
        raise ApplicationError(
            "You are in away mode: end it (on your home page) before taking on a review.",
            code="conflict",
        )
    if locked.assigned_to_id not in (None, actor.pk) and not actor.is_staff:
        raise ApplicationError(
            f"This work is assigned to {locked.assigned_to.display_name}.",
            code="conflict",
            extra={"assigned_to_id": locked.assigned_to_id},
        )
    now = timezone.now()
    current = _open_assignment(locked)
    if current is None or current.mentor_id != actor.pk:
        due_at = locked.review_due_at or now + dt.timedelta(hours=locked.cohort.review_sla_hours)
        assignment = _assign(
            submission=locked,
            mentor=actor,
            reason=Assignment.Reason.CLAIM,
            now=now,
            due_at=due_at,
            assigned_by=actor,
        )
        _record_assignment(
            "assignment.created", actor=actor, submission=locked, assignment=assignment
        )
    sm.apply(locked, "claim")
    locked.claimed_at = now
    locked.save()
    _refresh_caller(submission, locked)
    return locked


@transaction.atomic
def submission_release(*, actor, submission: Submission) -> Submission:
    """Give work in review back to the cohort's unassigned queue (state ``submitted``)."""
    locked = _locked(submission)
    if not can_review_submission(actor, locked):
        raise _forbidden("Only mentors of this cohort can review this work.")
    sm.target_of(locked.state, "release")
    if locked.assigned_to_id not in (None, actor.pk) and not actor.is_staff:
        raise _forbidden("Only the mentor who claimed this work (or staff) can release it.")
    _release(locked, now=timezone.now())
    enqueue_fill(locked.cohort_id)
    _refresh_caller(submission, locked)
    return locked


def _release(locked: Submission, *, now: dt.datetime) -> None:
    _end_open_assignment(locked, now=now)
    sm.apply(locked, "release")
    locked.assigned_to = None
    locked.claimed_at = None
    locked.save()


@transaction.atomic
def submission_reassign(*, actor, submission: Submission, mentor, reason: str = "") -> Assignment:
    """Staff hand the open review to another active mentor of the cohort (state kept).

    ``actor=None`` is the escalation job (the assignment is then marked as an escalation).
    Records ``assignment.reassigned`` (data: mentor_id, previous_mentor_id, reason).
    """
    locked = _locked(submission)
    if actor is not None and not can_reassign_submission(actor, locked):
        raise _forbidden("Only staff can reassign reviews.")
    if locked.state not in sm.OPEN_STATES:
        raise ApplicationError(
            "Only work waiting for review or in review can be reassigned.",
            code="invalid_transition",
        )
    if mentor is None or not has_active_membership(mentor, locked.cohort, Membership.Role.MENTOR):
        raise _invalid({"mentor": "Choose an active mentor of this cohort."})
    if mentor.pk == locked.learner_id:
        raise _invalid({"mentor": "Learners cannot review their own work."})
    if mentor.is_away():
        raise _invalid(
            {
                "mentor": f"{mentor.display_name} is away until "
                f"{timezone.localtime(mentor.away_until):%-d %b %Y, %H:%M}; choose another mentor."
            }
        )
    reason = (reason or "").strip()[:500]
    kind = Assignment.Reason.REASSIGN if actor is not None else Assignment.Reason.ESCALATION
    return _reassign(locked, mentor=mentor, actor=actor, reason=reason, kind=kind)


def _reassign(
    locked: Submission, *, mentor, actor, reason: str, kind: str, now: dt.datetime | None = None
) -> Assignment:
    now = now or timezone.now()
    previous = locked.assigned_to_id
    assignment = _assign(
        submission=locked,
        mentor=mentor,
        reason=kind,
        now=now,
        due_at=now + dt.timedelta(hours=locked.cohort.review_sla_hours),
        assigned_by=actor,
        note=reason,
    )
    if locked.state == S.IN_REVIEW:
        locked.claimed_at = now
    locked.save()
    _record_assignment(
        "assignment.reassigned",
        actor=actor,
        submission=locked,
        assignment=assignment,
        previous_mentor_id=previous,
        note=reason,
    )
    return assignment


def assignments_hand_over(*, actor, membership: Membership, role: str) -> int:
    """Move every open review of a mentor who stopped mentoring `membership.cohort` (the
    membership ended or became a learner's): to the mentor with the most room (as
    `pick_mentor` chooses; recorded as ``assignment.reassigned``), or, when nobody has room,
    back to the cohort's unassigned queue. Runs inside the caller's transaction (registered
    with `cohorts.services.on_role_ended`). Returns the number of reviews moved.
    """
    if role != Membership.Role.MENTOR:
        return 0
    return _hand_over_open_reviews(
        mentor_id=membership.user_id,
        cohort=membership.cohort,
        actor=actor,
        note="The mentor left the cohort.",
        kind=Assignment.Reason.REASSIGN,
    )


def _hand_over_open_reviews(*, mentor_id: int, cohort: Cohort, actor, note: str, kind: str) -> int:
    """Each open review `mentor_id` holds in `cohort` goes to the mentor `pick_mentor` picks
    (the assignment carries `note`), else back to the unassigned queue (released when in
    review). Locks each submission, then the mentors (the order every service uses)."""
    submission_ids = list(
        Assignment.objects.filter(
            mentor_id=mentor_id, submission__cohort=cohort, ended_at__isnull=True
        ).values_list("submission_id", flat=True)
    )
    now = timezone.now()
    for submission_id in submission_ids:
        locked = _locked(Submission(pk=submission_id))
        current = _open_assignment(locked)
        if current is None or current.mentor_id != mentor_id:
            continue
        mentor = pick_mentor(cohort, exclude_user_ids={mentor_id, locked.learner_id}, now=now)
        if mentor is not None and locked.state in sm.OPEN_STATES:
            _reassign(locked, mentor=mentor, actor=actor, reason=note, kind=kind, now=now)
        elif locked.state == S.IN_REVIEW:
            _release(locked, now=now)
        else:
            _end_open_assignment(locked, now=now)
            locked.assigned_to = None
            locked.save()
    return len(submission_ids)


# --- Overflow: waiting work assigned as soon as a mentor has room --------------------------


def enqueue_fill(cohort_id: int) -> None:
    """After commit, ask a worker to assign the cohort's waiting work (`assignments_fill`).
    Never raises: with the broker down the periodic sweep does it later."""
    from core import broker

    def _publish():
        from ..tasks import assign_waiting_work

        broker.publish(assign_waiting_work, cohort_id)

    transaction.on_commit(_publish)


def mentor_room_fill(*, cohort: Cohort) -> None:
    """The hook `cohorts.services.on_mentor_room` calls: fill the cohort after commit."""
    enqueue_fill(cohort.pk)


def _waiting_ids(cohort_id: int) -> list[int]:
    """The cohort's unassigned work waiting for review, oldest hand-in first."""
    return list(
        Submission.objects.filter(cohort_id=cohort_id, state=S.SUBMITTED, assigned_to__isnull=True)
        .order_by("submitted_at", "pk")
        .values_list("pk", flat=True)
    )


def assignments_fill(*, cohort_id: int, now: dt.datetime | None = None) -> int:
    """Give the cohort's unassigned waiting work (overflow: nobody had room when it came in,
    or it came back to the queue) to mentors with room, oldest hand-in first, until nobody
    has room. Returns the number assigned.

    Each piece is its own transaction: lock the submission, check it is still waiting and
    unassigned, then pick a mentor with the mentors' rows locked (`pick_mentor`), the same
    order as a submit, so two runs at once (or a run and a submit) never give one piece to
    two mentors nor one mentor more than their capacity. A mentor who held this iteration
    and gave it back (released it, or it was taken from them) is not given it again. Records
    ``assignment.created`` (reason ``overflow``; the mentor is notified). Idempotent.
    """
    count = 0
    for submission_id in _waiting_ids(cohort_id):
        with transaction.atomic():
            locked = _locked(Submission(pk=submission_id))
            if locked.state != S.SUBMITTED or locked.assigned_to_id is not None:
                continue
            when = now or timezone.now()
            gave_back = set(
                Assignment.objects.filter(
                    submission=locked, ended_at__isnull=False, assigned_at__gte=locked.submitted_at
                ).values_list("mentor_id", flat=True)
            )
            mentor = pick_mentor(
                locked.cohort, exclude_user_ids={locked.learner_id, *gave_back}, now=when
            )
            if mentor is None:
                if gave_back:
                    continue  # someone else may still take the next piece
                break  # nobody has room: the rest waits for the next freed slot
            due_at = locked.review_due_at or when + dt.timedelta(
                hours=locked.cohort.review_sla_hours
            )
            assignment = _assign(
                submission=locked,
                mentor=mentor,
                reason=Assignment.Reason.OVERFLOW,
                now=when,
                due_at=due_at,
            )
            locked.save()
            _record_assignment(
                "assignment.created", actor=None, submission=locked, assignment=assignment
            )
            count += 1
    return count
