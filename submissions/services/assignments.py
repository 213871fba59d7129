"""Who reviews what: mentor loads and picking, claim, release, reassign and hand-over.

Every change ends the open ``Assignment`` and records an event, so the history of who
held a submission, and why, is never lost.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from cohorts.models import Cohort, Membership
from core.exceptions import ApplicationError
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
            submission__cohort=cohort, mentor_id__in=[m.user_id for m in memberships]
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


def pick_mentor(cohort: Cohort, *, exclude_user_ids=(), lock: bool = True):
    """The mentor with the fewest open reviews under capacity; ties to the least recently
    assigned (never assigned first), then the oldest membership. None when nobody has room."""
    candidates = [
        load
        for load in mentor_loads(cohort, lock=lock)
        if load.open_count < load.capacity and load.membership.user_id not in set(exclude_user_ids)
    ]
    if not candidates:
        return None
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    best = min(
        candidates,
        key=lambda load: (load.open_count, load.last_assigned_at or epoch, load.membership.pk),
    )
    return best.membership.user


def _assign(
    *,
    submission: Submission,
    mentor,
    reason: str,
    now: dt.datetime,
    due_at: dt.datetime,
    assigned_by=None,
) -> Assignment:
    _end_open_assignment(submission, now=now)
    assignment = Assignment.objects.create(
        submission=submission,
        mentor=mentor,
        reason=reason,
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
        kind,
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
    cohort = membership.cohort
    submission_ids = list(
        Assignment.objects.filter(
            mentor_id=membership.user_id, submission__cohort=cohort, ended_at__isnull=True
        ).values_list("submission_id", flat=True)
    )
    now = timezone.now()
    for submission_id in submission_ids:
        locked = _locked(Submission(pk=submission_id))
        current = _open_assignment(locked)
        if current is None or current.mentor_id != membership.user_id:
            continue
        mentor = pick_mentor(cohort, exclude_user_ids={membership.user_id, locked.learner_id})
        if mentor is not None and locked.state in sm.OPEN_STATES:
            _reassign(
                locked,
                mentor=mentor,
                actor=actor,
                reason="The mentor left the cohort.",
                kind=Assignment.Reason.REASSIGN,
                now=now,
            )
        elif locked.state == S.IN_REVIEW:
            _release(locked, now=now)
        else:
            _end_open_assignment(locked, now=now)
            locked.assigned_to = None
            locked.save()
    return len(submission_ids)
