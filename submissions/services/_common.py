"""Helpers shared by the submission services: row locks, refusals, the open assignment."""

import datetime as dt
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Exists, OuterRef

from cohorts.models import Cohort
from cohorts.selectors import (
    has_schedule_context,
    lab_revision_for,
    lab_revision_from,
    schedule_context_annotations,
    schedule_entry,
    schedule_entry_from,
)
from core.exceptions import ApplicationError
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab, LabRevision

from ..models import Assignment, Attachment, Submission
from ..permissions import own_or_mentored_submissions, submission_visible_to_filter

S = Submission.State


# Not the assignee: a row re-read after waiting for the lock would keep the joined
# assignee of before the wait (PostgreSQL re-checks only the locked row).
LOCKED_RELATED = ("cohort", "lab", "lab__current_revision", "learner")


def lock_query(queryset=None, *, context: bool = False):
    """Rows of ``queryset`` (default: every submission) locked until the transaction ends,
    with cohort, lab, learner and assignee; with ``context``, also the schedule, the
    learner's extension and membership and the cohort's pin, read in the same statement
    (``cohorts.selectors.schedule_context_annotations``)."""
    queryset = Submission.objects.all() if queryset is None else queryset
    queryset = queryset.select_for_update(of=("self",)).select_related(*LOCKED_RELATED)
    if context:
        queryset = queryset.annotate(**schedule_context_annotations())
    return queryset


@contextmanager
def holding_lock(queryset, *, not_found=None, **lookup):
    """A transaction in which the one row of ``queryset`` matching ``lookup`` is locked (with
    its schedule context), e.g. a visibility-filtered queryset: the check and the lock are
    one statement. Services given this row inside the block use it as their locked row
    instead of selecting it again. Raises ``Submission.DoesNotExist`` (or ValueError for a
    malformed lookup) before anything is changed, or ``not_found()`` when given."""
    with transaction.atomic():
        try:
            row = lock_query(queryset, context=True).get(**lookup)
        except (Submission.DoesNotExist, ValueError, TypeError) as exc:
            if not_found is None:
                raise
            raise not_found() from exc
        yield from _held(row)


def _held(row: Submission):
    row._lock_held = True
    try:
        yield row
    finally:
        row._lock_held = False


# `holding_lock(Submission.objects.filter(submission_visible_to_filter(user)), pk=...)` for a
# signed-in user who is not staff (learner's own work, or a cohort they actively mentor),
# compiled once: the hand-in's first statement. It also says whether the draft has files
# (`ctx_has_draft_files`), so a hand-in without any does not look for them.
_LOCK_VISIBLE = PreparedQuery(
    lambda: lock_query(
        Submission.objects.filter(own_or_mentored_submissions(Param("user")), pk=Param("pk")),
        context=True,
    ).annotate(
        ctx_has_draft_files=Exists(
            Attachment.objects.filter(submission_id=OuterRef("pk"), iteration__isnull=True)
        )
    )
)


@contextmanager
def holding_visible_lock(user, pk: int, *, not_found):
    """``holding_lock`` of the submission ``pk`` among those ``user`` may see
    (``submissions.permissions.submission_visible_to_filter``), in one statement compiled
    once per process; raises ``not_found()`` when there is no such row for them."""
    if user.is_staff or not (user.is_authenticated and user.is_active):
        visible = Submission.objects.filter(submission_visible_to_filter(user))
        with holding_lock(visible, not_found=not_found, pk=pk) as row:
            yield row
        return
    with transaction.atomic():
        row = _LOCK_VISIBLE.first(user=user.pk, pk=pk)
        if row is None:
            raise not_found()
        yield from _held(row)


def _locked(submission: Submission, *, context: bool = False) -> Submission:
    """The submission's row, locked until the transaction ends, with cohort and lab (and the
    schedule context with ``context``). A row already locked by ``holding_lock`` in this
    transaction is returned as it is."""
    if getattr(submission, "_lock_held", False) and (
        not context or has_schedule_context(submission)
    ):
        return submission
    return lock_query(context=context).get(pk=submission.pk)


def schedule_of(locked: Submission, *, now: dt.datetime | None = None):
    """The lab's dates for the submission's learner (``schedule_entry``), from the locked
    row's context when it has one."""
    if has_schedule_context(locked):
        return schedule_entry_from(
            locked, cohort=locked.cohort, lab=locked.lab, learner=locked.learner, now=now
        )
    return schedule_entry(cohort=locked.cohort, lab=locked.lab, learner=locked.learner, now=now)


def revision_of(locked: Submission) -> LabRevision | None:
    """``lab_revision_of`` for the submission's lab and cohort, from the locked row's context
    when it has one."""
    if has_schedule_context(locked):
        return lab_revision_from(locked, cohort=locked.cohort, lab=locked.lab)
    return lab_revision_of(locked.lab, cohort=locked.cohort)


def _refresh_caller(target: Submission, source: Submission) -> None:
    """Let the caller's instance reflect what the service saved."""
    if target is source:
        return
    for field in Submission._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def deliverables_of_locked(locked: Submission) -> list:
    """``deliverables_of`` for the submission's lab and cohort (``revision_of``)."""
    revision = revision_of(locked)
    return list(revision.deliverables if revision is not None else locked.lab.deliverables or [])


def lab_revision_of(lab: Lab, *, cohort: Cohort | None = None) -> LabRevision | None:
    """The revision of `lab` the cohort's learners answer (a pinned cohort's older one):
    `cohorts.selectors.lab_revision_for`, the one reader of lab text for a cohort."""
    return lab_revision_for(cohort=cohort, lab=lab)


def deliverables_of(lab: Lab, *, cohort: Cohort | None = None) -> list:
    """The deliverables the cohort's learners tick (the pinned revision's for a kept
    cohort); without a cohort, the lab's current ones."""
    revision = lab_revision_of(lab, cohort=cohort)
    return list(revision.deliverables if revision is not None else lab.deliverables or [])


def _invalid(errors: dict[str, str]) -> ApplicationError:
    message = " ".join(errors.values())
    return ApplicationError(message, code="invalid", extra={"errors": errors})


def _forbidden(message: str) -> ApplicationError:
    return ApplicationError(message, code="forbidden")


def _open_assignment(submission: Submission) -> Assignment | None:
    return Assignment.objects.filter(submission=submission, ended_at__isnull=True).first()


def _end_open_assignment(submission: Submission, *, now: dt.datetime) -> Assignment | None:
    assignment = _open_assignment(submission)
    if assignment is not None:
        assignment.ended_at = now
        assignment.save(update_fields=["ended_at"])
    return assignment
