"""A learner's work: the draft (fields and files), hand-in and re-submission."""

import datetime as dt
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohorts.models import Cohort, Membership
from cohorts.selectors import (
    SCHEDULE_CONTEXT_FIELDS,
    has_schedule_context,
    lab_revision_from,
    schedule_context_annotations,
    schedule_entry_from,
)
from core.exceptions import ApplicationError
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab
from notifications.events import record_many

from .. import state as sm
from .._cohorts import has_active_membership, schedule_entry
from ..models import Assignment, Attachment, Iteration, Review, Submission
from ..permissions import can_edit_submission, is_cohort_learner
from ..validation import (
    MAX_NOTES_CHARS,
    clean_checklist,
    clean_commit_sha,
    clean_filename,
    clean_repo_url,
    frozen_checklist,
)
from . import points as review_points
from ._common import (
    S,
    _forbidden,
    _invalid,
    _locked,
    _refresh_caller,
    deliverables_of,
    deliverables_of_locked,
    lock_query,
    revision_of,
    schedule_of,
)
from .assignments import _assign, _assignment_event, pick_mentor
from .attachments import (
    _check_upload,
    _delete_draft_file,
    _files_removed_on_failure,
    _store_attachment,
)


def _last_changes_requester(submission: Submission):
    review = (
        Review.objects.filter(submission=submission, verdict=Review.Verdict.REQUEST_CHANGES)
        .select_related("reviewer")
        .order_by("-created_at", "-pk")
        .first()
    )
    return review.reviewer if review else None


@transaction.atomic
def submission_get_or_create_draft(*, learner, cohort: Cohort, lab: Lab) -> Submission:
    """The learner's submission for this lab in this cohort, made as an empty draft the
    first time. Refused unless the learner is active in the cohort, the lab belongs to its
    track and the lab is released."""
    if lab.track_id != cohort.track_id:
        raise ApplicationError("This lab is not part of the cohort's track.", code="invalid")
    existing = Submission.objects.filter(learner=learner, cohort=cohort, lab=lab).first()
    if existing is not None:
        return existing
    if not is_cohort_learner(learner, cohort):
        raise _forbidden("Only learners of this cohort can hand in its labs.")
    if not lab.active:
        raise ApplicationError("This lab has been retired from the track.", code="invalid")
    entry = schedule_entry(cohort=cohort, lab=lab, learner=learner)
    if not entry.is_released:
        raise _forbidden("This lab is not released yet.")
    try:
        with transaction.atomic():
            return Submission.objects.create(learner=learner, cohort=cohort, lab=lab)
    except IntegrityError:
        # Two first visits at once: the other request made it.
        return Submission.objects.get(learner=learner, cohort=cohort, lab=lab)


def submission_put_draft(
    *, actor, cohort: Cohort, lab: Lab, fields: Mapping[str, object]
) -> tuple[Submission, bool]:
    """The API's "create or update your draft": the learner's draft for ``lab`` in
    ``cohort`` with ``fields`` (any of repo_url, commit_sha, notes, checklist; the others
    keep their value), made the first time. Returns the row, locked and saved, and whether
    it was made. The same checks as ``submission_get_or_create_draft`` followed by
    ``submission_save_draft``, all or nothing (a refused field makes no draft); a new draft
    is written in one INSERT.

    Two first drafts at once: the second INSERT fails on the unique constraint and the
    whole transaction is done again, finding the other request's row (inside a caller's
    transaction, a savepoint around the INSERT does that instead).
    """
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return _put_draft(actor=actor, cohort=cohort, lab=lab, fields=fields, nested=True)
    try:
        with transaction.atomic():
            return _put_draft(actor=actor, cohort=cohort, lab=lab, fields=fields, nested=False)
    except IntegrityError:
        with transaction.atomic():
            return _put_draft(actor=actor, cohort=cohort, lab=lab, fields=fields, nested=True)


_DRAFT_FIELDS = ("repo_url", "commit_sha", "notes", "checklist")


# `_put_draft`'s two reads, compiled once: the learner's row for the lab, locked with its
# context, and (when there is none yet) the context alone.
_LOCK_MINE = PreparedQuery(
    lambda: lock_query(
        Submission.objects.filter(
            learner_id=Param("learner"), cohort_id=Param("cohort"), lab_id=Param("lab")
        ).order_by(),
        context=True,
    )
)
_NEW_DRAFT_CONTEXT = PreparedQuery(
    lambda: (
        Cohort.objects.filter(pk=Param("cohort"))
        .annotate(
            **schedule_context_annotations(
                cohort=Param("cohort"), lab=Param("lab"), learner=Param("learner")
            )
        )
        .values(*SCHEDULE_CONTEXT_FIELDS)
    )
)


def _put_draft(*, actor, cohort, lab, fields, nested: bool) -> tuple[Submission, bool]:
    if lab.track_id != cohort.track_id:
        raise ApplicationError("This lab is not part of the cohort's track.", code="invalid")
    mine = Submission.objects.filter(learner=actor, cohort=cohort, lab=lab)
    locked = _LOCK_MINE.first(learner=actor.pk, cohort=cohort.pk, lab=lab.pk)
    if locked is not None:
        _save_existing_draft(actor=actor, locked=locked, fields=fields)
        return locked, False
    # The schedule, the membership and the pin in one statement (the row does not exist yet).
    context = SimpleNamespace(
        **_NEW_DRAFT_CONTEXT.dicts(cohort=cohort.pk, lab=lab.pk, learner=actor.pk)[0]
    )
    if not (context.ctx_learner_active and actor.is_active and actor.pk):
        raise _forbidden("Only learners of this cohort can hand in its labs.")
    if not lab.active:
        raise ApplicationError("This lab has been retired from the track.", code="invalid")
    if not schedule_entry_from(context, cohort=cohort, lab=lab, learner=actor).is_released:
        raise _forbidden("This lab is not released yet.")
    revision = lab_revision_from(context, cohort=cohort, lab=lab)
    deliverables = list(revision.deliverables if revision is not None else lab.deliverables or [])
    cleaned, errors = validate_draft_fields(
        lab=lab,
        cohort=cohort,
        deliverables=deliverables,
        **{name: fields.get(name, "" if name != "checklist" else []) for name in _DRAFT_FIELDS},
    )
    if errors:
        raise _invalid(errors)
    row = Submission(learner=actor, cohort=cohort, lab=lab, **cleaned)
    if not nested:
        row.save(force_insert=True)
        return row, True
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Two first drafts at once: the other request made it.
        locked = lock_query(mine, context=True).get()
        _save_existing_draft(actor=actor, locked=locked, fields=fields)
        return locked, False
    return row, True


def _save_existing_draft(*, actor, locked: Submission, fields) -> None:
    with _files_removed_on_failure() as stored:
        _save_draft_locked(
            actor=actor,
            locked=locked,
            fields={name: fields.get(name, getattr(locked, name)) for name in _DRAFT_FIELDS},
            files=(),
            remove_attachment_ids=(),
            stored=stored,
        )


def validate_draft_fields(
    *,
    lab: Lab,
    cohort: Cohort | None = None,
    repo_url: str | None,
    commit_sha: str | None,
    notes: str | None,
    checklist,
    deliverables: list | None = None,
) -> tuple[dict, dict[str, str]]:
    """Cleaned draft fields and per-field errors (used for inline validation too).
    `deliverables`: the ones the cohort ticks, when the caller has them already."""
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for name, cleaner, value in (
        ("repo_url", clean_repo_url, repo_url),
        ("commit_sha", clean_commit_sha, commit_sha),
    ):
        try:
            cleaned[name] = cleaner(value)
        except ValueError as exc:
            errors[name] = str(exc)
    notes = notes or ""
    if len(notes) > MAX_NOTES_CHARS:
        errors["notes"] = f"Notes are limited to {MAX_NOTES_CHARS:,} characters."
    cleaned["notes"] = notes
    try:
        if deliverables is None:
            deliverables = deliverables_of(lab, cohort=cohort)
        cleaned["checklist"] = clean_checklist(checklist, deliverables)
    except ValueError as exc:
        errors["checklist"] = str(exc)
    return cleaned, errors


@transaction.atomic
def submission_save_draft(
    *,
    actor,
    submission: Submission,
    repo_url: str | None,
    commit_sha: str | None,
    notes: str | None,
    checklist: list | None,
    files: Sequence = (),
    remove_attachment_ids: Sequence[int] = (),
) -> Submission:
    """Save the editable draft (state draft or changes_requested): its fields, the files
    chosen with it (``files``, checked like ``attachment_add``) and the draft files to
    remove. All or nothing: any invalid field or file stores nothing (no row, no file).
    ``checklist`` is the list of ticked deliverable indices."""
    locked = _locked(submission, context=True)
    with _files_removed_on_failure() as stored:
        _save_draft_locked(
            actor=actor,
            locked=locked,
            fields={
                "repo_url": repo_url,
                "commit_sha": commit_sha,
                "notes": notes,
                "checklist": checklist,
            },
            files=files,
            remove_attachment_ids=remove_attachment_ids,
            stored=stored,
        )
    _refresh_caller(submission, locked)
    return locked


def _save_draft_locked(
    *,
    actor,
    locked: Submission,
    fields: dict,
    files: Sequence,
    remove_attachment_ids: Sequence[int],
    stored: list,
    for_submit: bool = False,
) -> None:
    """Check everything first (collecting every error), then write. ``stored`` collects
    the names written to storage so that a later failure can remove them again."""
    if not can_edit_submission(actor, locked):
        raise _forbidden("Only the learner can edit this work.")
    if locked.state not in sm.EDITABLE_STATES:
        raise ApplicationError(
            sm.refusal_naming_state(
                locked.state, "it can be edited again if changes are requested."
            ),
            code="invalid_transition",
            extra={"state": str(locked.state)},
        )
    cleaned, errors = validate_draft_fields(
        lab=locked.lab,
        cohort=locked.cohort,
        deliverables=deliverables_of_locked(locked) if has_schedule_context(locked) else None,
        **fields,
    )
    if for_submit and not cleaned.get("repo_url") and "repo_url" not in errors:
        errors["repo_url"] = "Add the link to your repository before submitting."
    # The draft's files matter only to files added or removed.
    draft_files = {}
    if files or remove_attachment_ids:
        draft_files = {
            a.pk: a for a in Attachment.objects.filter(submission=locked, iteration=None)
        }
    remove_ids = set()
    for raw in remove_attachment_ids or ():
        try:
            remove_ids.add(int(raw))
        except (TypeError, ValueError):
            remove_ids.add(-1)
    if not remove_ids <= set(draft_files):
        errors["remove_files"] = "A file to remove is not one of this draft's files."
    checked, file_errors = [], []
    for uploaded_file in files or ():
        try:
            checked.append(_check_upload(uploaded_file))
        except ValueError as exc:
            file_errors.append(f"{clean_filename(getattr(uploaded_file, 'name', ''))}: {exc}")
    if file_errors:
        errors["files"] = " ".join(file_errors)
    elif checked:
        max_files = settings.ATTACHMENT_MAX_PER_ITERATION
        kept = len(draft_files) - len(remove_ids & set(draft_files))
        if kept + len(checked) > max_files:
            errors["files"] = (
                f"At most {max_files} files can be handed in at once: {kept} already "
                f"attached and {len(checked)} chosen. Remove some first."
            )
    if errors:
        raise _invalid(errors)
    for name, value in cleaned.items():
        setattr(locked, name, value)
    locked.last_activity_at = timezone.now()
    locked.save(update_fields=[*cleaned, "last_activity_at", "updated_at"])
    for pk in remove_ids:
        _delete_draft_file(draft_files[pk])
    for item in checked:
        _store_attachment(locked=locked, checked=item, actor=actor, stored=stored)


# The columns a hand-in changes (the draft's own fields were saved before).
_SUBMIT_CHANGES = (
    "state",
    "iteration_count",
    "submitted_at",
    "first_submitted_at",
    "is_late",
    "approved_at",
    "claimed_at",
    "last_activity_at",
    "assigned_to",
    "review_due_at",
    "updated_at",
)


def submission_submit(
    *,
    actor,
    submission: Submission,
    idempotency_key: str | None = None,
    leave_points_open: bool = False,
) -> Iteration:
    """Freeze the draft into a new ``Iteration`` and send it for review.

    Locks the row, so a double click or a retried request makes one iteration: with the same
    ``idempotency_key`` the earlier iteration is returned; without one the second attempt
    finds the work already submitted and is refused. Marks it late after the effective due
    time (with any extension), assigns a mentor (see ``pick_mentor``; a resubmission goes
    back to the mentor who requested changes while they are still an active mentor) and
    records ``submission.submitted`` and, when a mentor was found, ``assignment.created``.

    Review points (``services/points.py``): refused (``invalid``, error on ``points``) while
    a point is open, unless ``leave_points_open``; the answers given since the last hand-in
    are recorded as addressed in the new iteration.
    """
    # Given the row `holding_lock` holds, the caller's block is this transaction: no savepoint
    # of its own (an error rolls the whole block back).
    with transaction.atomic(savepoint=not getattr(submission, "_lock_held", False)):
        return _submit(
            actor=actor,
            submission=submission,
            idempotency_key=idempotency_key,
            leave_points_open=leave_points_open,
        )


def _submit(*, actor, submission, idempotency_key, leave_points_open) -> Iteration:
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    locked = _locked(submission, context=True)
    if idempotency_key:
        earlier = Iteration.objects.filter(
            submission=locked, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            _refresh_caller(submission, locked)
            return earlier
    if not can_edit_submission(actor, locked):
        raise _forbidden("Only the learner can submit this work.")
    sm.target_of(locked.state, "submit")
    lab, cohort = locked.lab, locked.cohort
    entry = schedule_of(locked)
    if not entry.is_released:
        raise _forbidden("This lab is not released yet.")
    revision = revision_of(locked)
    # A lab without revisions (never imported) answers its own text.
    revision_deliverables = list(
        (lab.deliverables or []) if revision is None else revision.deliverables
    )
    cleaned, errors = validate_draft_fields(
        lab=lab,
        cohort=cohort,
        repo_url=locked.repo_url,
        commit_sha=locked.commit_sha,
        notes=locked.notes,
        checklist=locked.checklist,
        deliverables=revision_deliverables,
    )
    if not cleaned.get("repo_url") and "repo_url" not in errors:
        errors["repo_url"] = "Add the link to your repository before submitting."
    if errors:
        raise _invalid(errors)
    # Points are raised by reviews, so a first hand-in has none to check or file.
    reviewed_before = locked.iteration_count > 0
    if reviewed_before:
        review_points.check_points_before_submit(locked, leave_points_open=leave_points_open)

    now = timezone.now()
    number = locked.iteration_count + 1
    is_late = now > entry.effective_due_at
    iteration = Iteration.objects.create(
        submission=locked,
        number=number,
        repo_url=cleaned["repo_url"],
        commit_sha=cleaned["commit_sha"],
        notes=cleaned["notes"],
        checklist=frozen_checklist(cleaned["checklist"], list(revision_deliverables)),
        # The revision the learner read: a pinned cohort's older one (lab_revision_of).
        lab_revision=revision,
        submitted_at=now,
        due_at=entry.effective_due_at,
        is_late=is_late,
        idempotency_key=idempotency_key,
    )
    if reviewed_before:
        review_points.hand_in_answers(locked, iteration)
    # The locking statement may have said whether the draft has files (`holding_visible_lock`).
    handed_in = []
    if getattr(locked, "ctx_has_draft_files", True):
        handed_in = list(Attachment.objects.filter(submission=locked, iteration__isnull=True))
    Attachment.objects.filter(pk__in=[a.pk for a in handed_in]).update(iteration=iteration)
    # The next draft starts with the files just handed in (rows naming the same stored
    # file), so a resubmission keeps them unless the learner removes them.
    Attachment.objects.bulk_create(
        Attachment(
            submission=locked,
            file=a.file.name,
            original_name=a.original_name,
            content_type=a.content_type,
            size=a.size,
            uploaded_by_id=a.uploaded_by_id,
            created_at=a.created_at,
        )
        for a in handed_in
    )

    was_resubmission = locked.state == S.CHANGES_REQUESTED
    # Nothing moves back to draft, so a draft was never handed in, nor assigned.
    was_assignable = locked.state != S.DRAFT
    sm.apply(locked, "submit")
    locked.iteration_count = number
    locked.submitted_at = now
    locked.first_submitted_at = locked.first_submitted_at or now
    locked.is_late = is_late
    locked.approved_at = None
    locked.claimed_at = None
    locked.last_activity_at = now

    due_at = now + dt.timedelta(hours=cohort.review_sla_hours)
    if was_assignable:
        Assignment.objects.filter(submission=locked, ended_at__isnull=True).update(ended_at=now)
    mentor, reason = None, Assignment.Reason.AUTO
    if was_resubmission:
        previous = _last_changes_requester(locked)
        if (
            previous is not None
            and not previous.is_away(now)
            and has_active_membership(previous, cohort, Membership.Role.MENTOR)
        ):
            mentor, reason = previous, Assignment.Reason.RESUBMIT
    if mentor is None:
        mentor = pick_mentor(cohort, now=now)
    assignment = None
    if mentor is not None:
        assignment = _assign(
            submission=locked,
            mentor=mentor,
            reason=reason,
            now=now,
            due_at=due_at,
            open_ended=True,
        )
    else:
        locked.assigned_to = None
        locked.review_due_at = due_at
    locked.save(update_fields=_SUBMIT_CHANGES)
    # Both events in one INSERT (one delivery enqueued after commit, as for `record`).
    events = [
        dict(
            kind="submission.submitted",
            actor=actor,
            target=locked,
            data={
                "iteration": number,
                "iteration_id": iteration.pk,
                "cohort_id": cohort.pk,
                "lab_id": lab.pk,
                "learner_id": locked.learner_id,
                "is_late": is_late,
                "resubmission": was_resubmission,
                "assigned_to_id": mentor.pk if mentor else None,
            },
        )
    ]
    if assignment is not None:
        events.append(
            _assignment_event(
                "assignment.created", actor=actor, submission=locked, assignment=assignment
            )
        )
    record_many(events)
    _refresh_caller(submission, locked)
    return iteration


@transaction.atomic
def submission_save_and_submit(
    *,
    actor,
    submission: Submission,
    repo_url: str | None,
    commit_sha: str | None,
    notes: str | None,
    checklist: list | None,
    files: Sequence = (),
    remove_attachment_ids: Sequence[int] = (),
    idempotency_key: str | None = None,
    leave_points_open: bool = False,
) -> Iteration:
    """Save the draft (fields, chosen ``files``, removals) and submit it, all or nothing
    (the lab page's Submit button): a refused field or file leaves no iteration, no row
    and no stored file, and every problem is reported at once.

    A repeat of the same ``idempotency_key`` (a double click: the second request waits for
    the first's lock) returns the first iteration instead of failing on the saved state.
    """
    locked = _locked(submission)
    key = (idempotency_key or "").strip()[:100] or None
    if key:
        earlier = Iteration.objects.filter(submission=locked, idempotency_key=key).first()
        if earlier is not None:
            _refresh_caller(submission, locked)
            return earlier
    with _files_removed_on_failure() as stored:
        _save_draft_locked(
            actor=actor,
            locked=locked,
            fields={
                "repo_url": repo_url,
                "commit_sha": commit_sha,
                "notes": notes,
                "checklist": checklist,
            },
            files=files,
            remove_attachment_ids=remove_attachment_ids,
            stored=stored,
            for_submit=True,
        )
        iteration = submission_submit(
            actor=actor,
            submission=locked,
            idempotency_key=key,
            leave_points_open=leave_points_open,
        )
    _refresh_caller(submission, locked)
    return iteration


@transaction.atomic
def submission_save_work(
    *,
    actor,
    cohort: Cohort,
    lab: Lab,
    submit: bool,
    repo_url: str | None,
    commit_sha: str | None,
    notes: str | None,
    checklist: list | None,
    files: Sequence = (),
    remove_attachment_ids: Sequence[int] = (),
    idempotency_key: str | None = None,
    point_replies: Mapping[int, str] | None = None,
    leave_points_open: bool = False,
) -> tuple[Submission, Iteration | None]:
    """The lab page's form: save the actor's draft for ``lab`` (made the first time) and,
    with ``submit``, hand it in. One transaction: a refusal creates no draft and changes
    nothing. ``point_replies`` (``{point id: reply}``) answer review points first, on save
    as on submit (``points_address``). Returns the submission and the new iteration (None
    when only saved)."""
    submission = submission_get_or_create_draft(learner=actor, cohort=cohort, lab=lab)
    if point_replies:
        review_points.points_address(actor=actor, submission=submission, replies=point_replies)
    values = {
        "repo_url": repo_url,
        "commit_sha": commit_sha,
        "notes": notes,
        "checklist": checklist,
        "files": files,
        "remove_attachment_ids": remove_attachment_ids,
    }
    if submit:
        iteration = submission_save_and_submit(
            actor=actor,
            submission=submission,
            idempotency_key=idempotency_key,
            leave_points_open=leave_points_open,
            **values,
        )
        return submission, iteration
    submission_save_draft(actor=actor, submission=submission, **values)
    return submission, None
