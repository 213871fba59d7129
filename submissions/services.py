"""Every write to submissions: drafts, attachments, submits, claims, reviews, comments and
review scheduling.

All services are keyword-only and atomic, and refuse with ``ApplicationError``:
``invalid`` (bad input, per-field messages in ``extra["errors"]``), ``forbidden`` (the
actor may not), ``invalid_transition`` (wrong state, see ``state.py``) and ``conflict``
(someone else got there first). State changes go through ``state.apply`` only.

Services that change a submission lock its row first (``select_for_update``), so a double
click, a retried request or two mentors at once are serialised by the database.
"""

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import dateformat, timezone

from cohorts.models import Cohort, Membership
from core.exceptions import ApplicationError
from curriculum.models import Lab
from notifications.events import record

from . import state as sm
from ._cohorts import has_active_membership, schedule_entry
from .comments import (  # noqa: F401 - the thread's edit/delete services, re-exported
    COMMENT_EDIT_WINDOW,
    WINDOW_CLOSED,
    can_change_comment,
    comment_delete,
    comment_update,
)
from .models import Assignment, Attachment, Comment, Iteration, Review, Submission
from .permissions import (
    can_comment_submission,
    can_edit_submission,
    can_reassign_submission,
    can_review_submission,
    is_cohort_learner,
)
from .validation import (
    MAX_BODY_CHARS,
    MAX_NOTES_CHARS,
    check_content,
    clean_checklist,
    clean_commit_sha,
    clean_filename,
    clean_repo_url,
    extension_of,
    frozen_checklist,
)

logger = logging.getLogger(__name__)

S = Submission.State
MARK_VALUES = ("met", "not_met", "na")


# --- helpers ------------------------------------------------------------------------------


def _locked(submission: Submission) -> Submission:
    """The submission's row, locked until the transaction ends, with cohort and lab."""
    return (
        Submission.objects.select_for_update(of=("self",))
        .select_related("cohort", "lab", "lab__current_revision", "learner")
        .get(pk=submission.pk)
    )


def _refresh_caller(target: Submission, source: Submission) -> None:
    """Let the caller's instance reflect what the service saved."""
    if target is source:
        return
    for field in Submission._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def deliverables_of(lab: Lab) -> list:
    revision = lab.current_revision
    return list(revision.deliverables if revision is not None else lab.deliverables or [])


def _invalid(errors: dict[str, str]) -> ApplicationError:
    message = " ".join(errors.values())
    return ApplicationError(message, code="invalid", extra={"errors": errors})


def _forbidden(message: str) -> ApplicationError:
    return ApplicationError(message, code="forbidden")


def _mentor_capacity(membership: Membership, cohort: Cohort) -> int:
    return membership.capacity if membership.capacity is not None else cohort.mentor_capacity


def _open_assignment(submission: Submission) -> Assignment | None:
    return Assignment.objects.filter(submission=submission, ended_at__isnull=True).first()


def _end_open_assignment(submission: Submission, *, now: dt.datetime) -> Assignment | None:
    assignment = _open_assignment(submission)
    if assignment is not None:
        assignment.ended_at = now
        assignment.save(update_fields=["ended_at"])
    return assignment


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


def _last_changes_requester(submission: Submission):
    review = (
        Review.objects.filter(submission=submission, verdict=Review.Verdict.REQUEST_CHANGES)
        .select_related("reviewer")
        .order_by("-created_at", "-pk")
        .first()
    )
    return review.reviewer if review else None


# --- drafts -------------------------------------------------------------------------------


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


def validate_draft_fields(
    *, lab: Lab, repo_url: str | None, commit_sha: str | None, notes: str | None, checklist
) -> tuple[dict, dict[str, str]]:
    """Cleaned draft fields and per-field errors (used for inline validation too)."""
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
        cleaned["checklist"] = clean_checklist(checklist, deliverables_of(lab))
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
    locked = _locked(submission)
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
    cleaned, errors = validate_draft_fields(lab=locked.lab, **fields)
    if for_submit and not cleaned.get("repo_url") and "repo_url" not in errors:
        errors["repo_url"] = "Add the link to your repository before submitting."
    draft_files = {a.pk: a for a in Attachment.objects.filter(submission=locked, iteration=None)}
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


# --- attachments --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    data: bytes


def _check_upload(uploaded_file) -> CheckedFile:
    """An uploaded file's cleaned name, content type and bytes, or ValueError saying why
    it is refused (size limit, type checked by content)."""
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    too_large = f"The file is larger than {max_bytes // (1024 * 1024)} MB."
    if (uploaded_file.size or 0) > max_bytes:
        raise ValueError(too_large)
    name = clean_filename(getattr(uploaded_file, "name", ""))
    uploaded_file.seek(0)
    data = uploaded_file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(too_large)
    return CheckedFile(name=name, content_type=check_content(data, extension_of(name)), data=data)


@contextmanager
def _files_removed_on_failure() -> Iterator[list]:
    """Collects ``(storage, name)`` of files written; removes them if the block fails, so
    a refused save or submit leaves no stored file behind."""
    stored: list = []
    try:
        yield stored
    except BaseException:
        for storage, name in stored:
            storage.delete(name)
        raise


def _store_attachment(*, locked: Submission, checked: CheckedFile, actor, stored: list):
    attachment = Attachment(
        submission=locked,
        original_name=checked.name,
        content_type=checked.content_type,
        size=len(checked.data),
        uploaded_by=actor,
    )
    # The file is written first under a random name; a row that cannot be written takes
    # the file with it (see _files_removed_on_failure).
    attachment.file.save(checked.name, ContentFile(checked.data), save=False)
    stored.append((attachment.file.storage, attachment.file.name))
    attachment.save()
    return attachment


def _delete_draft_file(attachment: Attachment) -> None:
    """Delete a draft file's row; its stored file goes too once no row names it (a file
    carried over from an earlier iteration is shared with that iteration's row)."""
    name, storage = attachment.file.name, attachment.file.storage
    attachment.delete()
    if not Attachment.objects.filter(file=name).exists():
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def attachment_add(*, actor, submission: Submission, uploaded_file) -> Attachment:
    """Attach a file to the draft (frozen into the next iteration on submit).

    At most ``ATTACHMENT_MAX_PER_ITERATION`` files of ``ATTACHMENT_MAX_BYTES`` each, of an
    allowed type checked by content. The file is written through Django's default storage
    under a random name; if the row cannot be written the file is removed again.
    """
    locked = _locked(submission)
    if not can_edit_submission(actor, locked):
        raise _forbidden("Only the learner can add files to this work.")
    if locked.state not in sm.EDITABLE_STATES:
        raise ApplicationError(
            "Files can be added while the work is a draft or after changes are requested.",
            code="invalid_transition",
        )
    if uploaded_file is None:
        raise _invalid({"file": "Choose a file to upload."})
    max_files = settings.ATTACHMENT_MAX_PER_ITERATION
    if Attachment.objects.filter(submission=locked, iteration__isnull=True).count() >= max_files:
        raise _invalid({"file": f"At most {max_files} files can be attached to one submission."})
    try:
        checked = _check_upload(uploaded_file)
    except ValueError as exc:
        raise _invalid({"file": str(exc)}) from None
    with _files_removed_on_failure() as stored:
        attachment = _store_attachment(locked=locked, checked=checked, actor=actor, stored=stored)
        locked.last_activity_at = timezone.now()
        locked.save(update_fields=["last_activity_at", "updated_at"])
    return attachment


@transaction.atomic
def attachment_remove(*, actor, attachment: Attachment) -> None:
    """Remove a file from the draft. Files of a submitted iteration never change."""
    locked = _locked(attachment.submission)
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if not can_edit_submission(actor, locked):
        raise _forbidden("Only the learner can remove files from this work.")
    if attachment.iteration_id is not None:
        raise ApplicationError(
            "This file was handed in with an iteration and cannot be removed.",
            code="invalid_transition",
        )
    _delete_draft_file(attachment)


# --- submit, claim, release, reassign -----------------------------------------------------


@transaction.atomic
def submission_submit(
    *, actor, submission: Submission, idempotency_key: str | None = None
) -> Iteration:
    """Freeze the draft into a new ``Iteration`` and send it for review.

    Locks the row, so a double click or a retried request makes one iteration: with the same
    ``idempotency_key`` the earlier iteration is returned; without one the second attempt
    finds the work already submitted and is refused. Marks it late after the effective due
    time (with any extension), assigns a mentor (see ``pick_mentor``; a resubmission goes
    back to the mentor who requested changes while they are still an active mentor) and
    records ``submission.submitted`` and, when a mentor was found, ``assignment.created``.
    """
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    locked = _locked(submission)
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
    entry = schedule_entry(cohort=cohort, lab=lab, learner=locked.learner)
    if not entry.is_released:
        raise _forbidden("This lab is not released yet.")
    cleaned, errors = validate_draft_fields(
        lab=lab,
        repo_url=locked.repo_url,
        commit_sha=locked.commit_sha,
        notes=locked.notes,
        checklist=locked.checklist,
    )
    if not cleaned.get("repo_url") and "repo_url" not in errors:
        errors["repo_url"] = "Add the link to your repository before submitting."
    if errors:
        raise _invalid(errors)

    now = timezone.now()
    number = locked.iteration_count + 1
    is_late = now > entry.effective_due_at
    iteration = Iteration.objects.create(
        submission=locked,
        number=number,
        repo_url=cleaned["repo_url"],
        commit_sha=cleaned["commit_sha"],
        notes=cleaned["notes"],
        checklist=frozen_checklist(cleaned["checklist"], deliverables_of(lab)),
        lab_revision=lab.current_revision,
        submitted_at=now,
        due_at=entry.effective_due_at,
        is_late=is_late,
        idempotency_key=idempotency_key,
    )
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
    sm.apply(locked, "submit")
    locked.iteration_count = number
    locked.submitted_at = now
    locked.first_submitted_at = locked.first_submitted_at or now
    locked.is_late = is_late
    locked.approved_at = None
    locked.claimed_at = None
    locked.last_activity_at = now

    due_at = now + dt.timedelta(hours=cohort.review_sla_hours)
    _end_open_assignment(locked, now=now)
    mentor, reason = None, Assignment.Reason.AUTO
    if was_resubmission:
        previous = _last_changes_requester(locked)
        if previous is not None and has_active_membership(previous, cohort, Membership.Role.MENTOR):
            mentor, reason = previous, Assignment.Reason.RESUBMIT
    if mentor is None:
        mentor = pick_mentor(cohort)
    assignment = None
    if mentor is not None:
        assignment = _assign(
            submission=locked, mentor=mentor, reason=reason, now=now, due_at=due_at
        )
    else:
        locked.assigned_to = None
        locked.review_due_at = due_at
    locked.save()
    record(
        "submission.submitted",
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
    if assignment is not None:
        _record_assignment(
            "assignment.created", actor=actor, submission=locked, assignment=assignment
        )
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
        iteration = submission_submit(actor=actor, submission=locked, idempotency_key=key)
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
) -> tuple[Submission, Iteration | None]:
    """The lab page's form: save the actor's draft for ``lab`` (made the first time) and,
    with ``submit``, hand it in. One transaction: a refusal creates no draft and changes
    nothing. Returns the submission and the new iteration (None when only saved)."""
    submission = submission_get_or_create_draft(learner=actor, cohort=cohort, lab=lab)
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
            actor=actor, submission=submission, idempotency_key=idempotency_key, **values
        )
        return submission, iteration
    submission_save_draft(actor=actor, submission=submission, **values)
    return submission, None


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


# --- reviews and comments -----------------------------------------------------------------


def clean_marks(marks, deliverable_count: int) -> dict[str, str]:
    if not marks:
        return {}
    if not isinstance(marks, dict):
        raise ValueError("Marks must map deliverable numbers to met, not_met or na.")
    cleaned: dict[str, str] = {}
    for key, value in marks.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"{key!r} is not a deliverable of this lab.") from None
        if not 0 <= index < deliverable_count:
            raise ValueError(f"{key!r} is not a deliverable of this lab.")
        if value in ("", None):
            continue
        if value not in MARK_VALUES:
            raise ValueError(f"A mark is one of {', '.join(MARK_VALUES)}.")
        cleaned[str(index)] = value
    return cleaned


VERDICTS = (Review.Verdict.APPROVE, Review.Verdict.REQUEST_CHANGES)


def _verdict_phrase(review: Review, *, actor) -> str:
    who = "you" if review.reviewer_id == actor.pk else review.reviewer.display_name
    what = "approved it" if review.verdict == Review.Verdict.APPROVE else "requested changes"
    when = dateformat.format(timezone.localtime(review.created_at), "j M Y, H:i")
    return f"{who} {what} on {when}"


@transaction.atomic
def review_create(
    *,
    actor,
    submission: Submission,
    verdict: str,
    body: str = "",
    marks: dict | None = None,
    revise: bool = False,
) -> Review:
    """A mentor's review of the latest iteration.

    ``approve`` moves the work to approved, ``request_changes`` to changes_requested (the
    learner edits and resubmits), ``comment`` changes nothing. An iteration gets one
    verdict: a second one (a double click, a stale page, another mentor at the same time)
    is refused with code ``conflict`` saying who gave the first, unless ``revise`` says the
    mentor means to change it; then both reviews are kept and the state follows the later
    one (see ``state.py``). Ends the open assignment on a verdict. Records
    ``review.posted`` (data: verdict).
    """
    locked = _locked(submission)
    if not can_review_submission(actor, locked):
        raise _forbidden("Only mentors of this cohort can review this work.")
    if locked.state == S.DRAFT or locked.iteration_count == 0:
        raise ApplicationError(
            "This work has not been submitted yet, so it cannot be reviewed.",
            code="invalid_transition",
        )
    errors: dict[str, str] = {}
    if verdict not in Review.Verdict.values:
        errors["verdict"] = "Choose approve, request changes or comment."
    body = (body or "").strip()
    if len(body) > MAX_BODY_CHARS:
        errors["body"] = f"A review is limited to {MAX_BODY_CHARS:,} characters."
    iteration = (
        Iteration.objects.select_related("lab_revision")
        .filter(submission=locked)
        .order_by("-number")
        .first()
    )
    deliverables = (
        iteration.lab_revision.deliverables
        if iteration.lab_revision_id
        else deliverables_of(locked.lab)
    )
    try:
        cleaned_marks = clean_marks(marks, len(deliverables))
    except ValueError as exc:
        errors["marks"] = str(exc)
        cleaned_marks = {}
    if verdict == Review.Verdict.COMMENT and not body and "body" not in errors:
        errors["body"] = "Write the comment."
    if (
        verdict == Review.Verdict.REQUEST_CHANGES
        and not body
        and "not_met" not in cleaned_marks.values()
    ):
        errors["body"] = "Say what needs to change (or mark a deliverable as not met)."
    if errors:
        raise _invalid(errors)
    if verdict in VERDICTS and not revise:
        earlier = (
            Review.objects.filter(iteration=iteration, verdict__in=VERDICTS)
            .select_related("reviewer")
            .order_by("-created_at", "-pk")
            .first()
        )
        if earlier is not None:
            raise ApplicationError(
                f"Iteration {iteration.number} already has a verdict: "
                f"{_verdict_phrase(earlier, actor=actor)}. "
                "To change it, revise the verdict.",
                code="conflict",
                extra={"review_id": earlier.pk, "verdict": earlier.verdict},
            )

    now = timezone.now()
    action = sm.verdict_action(locked.state, verdict)
    if action is not None:
        sm.apply(locked, action)
    review = Review.objects.create(
        submission=locked,
        iteration=iteration,
        reviewer=actor,
        verdict=verdict,
        body=body,
        marks=cleaned_marks,
        created_at=now,
    )
    locked.first_reviewed_at = locked.first_reviewed_at or now
    locked.last_activity_at = now
    if verdict != Review.Verdict.COMMENT:
        _end_open_assignment(locked, now=now)
        locked.assigned_to = actor
        locked.review_due_at = None
        locked.claimed_at = None
        locked.approved_at = now if locked.state == S.APPROVED else None
    locked.save()
    record(
        "review.posted",
        actor=actor,
        target=locked,
        data={
            "verdict": verdict,
            "review_id": review.pk,
            "iteration": iteration.number,
            "state": locked.state,
            "cohort_id": locked.cohort_id,
            "lab_id": locked.lab_id,
            "learner_id": locked.learner_id,
        },
    )
    _refresh_caller(submission, locked)
    return review


@transaction.atomic
def comment_create(*, actor, submission: Submission, body: str) -> Comment:
    """A message in the submission's thread (learner, cohort mentors, staff).

    Records ``comment.added``.
    """
    if not can_comment_submission(actor, submission):
        raise _forbidden("Only the learner and the cohort's mentors can take part in this thread.")
    body = (body or "").strip()
    if not body:
        raise _invalid({"body": "Write a message."})
    if len(body) > MAX_BODY_CHARS:
        raise _invalid({"body": f"A message is limited to {MAX_BODY_CHARS:,} characters."})
    now = timezone.now()
    comment = Comment.objects.create(submission=submission, author=actor, body=body, created_at=now)
    # updated_at too: pages cached by the submission's change time show last activity.
    Submission.objects.filter(pk=submission.pk).update(last_activity_at=now, updated_at=now)
    record(
        "comment.added",
        actor=actor,
        target=submission,
        data={
            "comment_id": comment.pk,
            "cohort_id": submission.cohort_id,
            "lab_id": submission.lab_id,
            "learner_id": submission.learner_id,
        },
    )
    return comment


# --- review scheduling (periodic tasks) ---------------------------------------------------


def _open_review_filter() -> Q:
    return Q(ended_at__isnull=True, submission__state__in=list(sm.OPEN_STATES))


def assignments_remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Record ``review.overdue`` once per overdue assignment (and once per overdue review
    still waiting in a cohort's unassigned queue). Safe to run twice: the conditional update
    of ``reminded_at`` (and the event's dedupe key) decides, not the caller."""
    now = now or timezone.now()
    count = 0
    overdue = Assignment.objects.filter(
        _open_review_filter(), reminded_at__isnull=True, due_at__lte=now
    ).values_list("pk", "submission_id", "mentor_id", "due_at")
    for assignment_id, submission_id, mentor_id, due_at in list(overdue):
        with transaction.atomic():
            won = Assignment.objects.filter(pk=assignment_id, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not won:
                continue
            submission = Submission.objects.get(pk=submission_id)
            record(
                "review.overdue",
                target=submission,
                data={
                    "assignment_id": assignment_id,
                    "mentor_id": mentor_id,
                    "due_at": due_at.isoformat(),
                    "cohort_id": submission.cohort_id,
                    "lab_id": submission.lab_id,
                },
                dedupe_key=f"review.overdue:assignment:{assignment_id}",
            )
            count += 1
    unassigned = Submission.objects.filter(
        state__in=list(sm.OPEN_STATES), assigned_to__isnull=True, review_due_at__lte=now
    )
    for submission in list(unassigned):
        with transaction.atomic():
            event = record(
                "review.overdue",
                target=submission,
                data={
                    "assignment_id": None,
                    "mentor_id": None,
                    "due_at": submission.review_due_at.isoformat(),
                    "cohort_id": submission.cohort_id,
                    "lab_id": submission.lab_id,
                },
                dedupe_key=(
                    f"review.overdue:unassigned:{submission.pk}:{submission.iteration_count}"
                ),
            )
            count += event is not None
    return count


def assignments_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Reassign reviews overdue by more than half the cohort's SLA to another mentor with
    room, and tell staff (``review.escalated``; ``assignment.reassigned`` when moved).

    Each assignment is escalated once (conditional update of ``escalated_at``), so running
    twice has the effect of once. Returns the number of escalations.
    """
    now = now or timezone.now()
    candidates = Assignment.objects.filter(
        _open_review_filter(), escalated_at__isnull=True, due_at__lte=now
    ).values_list("pk", "submission_id", "due_at", "submission__cohort__review_sla_hours")
    count = 0
    for assignment_id, submission_id, due_at, sla_hours in list(candidates):
        if due_at + dt.timedelta(hours=sla_hours / 2) > now:
            continue
        with transaction.atomic():
            locked = _locked(Submission(pk=submission_id))
            won = Assignment.objects.filter(
                pk=assignment_id, ended_at__isnull=True, escalated_at__isnull=True
            ).update(escalated_at=now)
            if not won or locked.state not in sm.OPEN_STATES:
                continue
            previous = Assignment.objects.get(pk=assignment_id)
            mentor = pick_mentor(
                locked.cohort, exclude_user_ids={previous.mentor_id, locked.learner_id}
            )
            new_assignment = None
            if mentor is not None:
                new_assignment = _reassign(
                    locked,
                    mentor=mentor,
                    actor=None,
                    reason="The review was overdue.",
                    kind=Assignment.Reason.ESCALATION,
                    now=now,
                )
            record(
                "review.escalated",
                target=locked,
                data={
                    "assignment_id": assignment_id,
                    "previous_mentor_id": previous.mentor_id,
                    "mentor_id": mentor.pk if mentor else None,
                    "new_assignment_id": new_assignment.pk if new_assignment else None,
                    "due_at": due_at.isoformat(),
                    "cohort_id": locked.cohort_id,
                    "lab_id": locked.lab_id,
                },
                dedupe_key=f"review.escalated:{assignment_id}",
            )
            count += 1
    return count


def claims_release_abandoned(*, now: dt.datetime | None = None) -> int:
    """Release claims with no review within the cohort's SLA after the claim, so the work
    goes back to the unassigned queue. Records ``assignment.released``. Idempotent: a
    released submission is no longer in review."""
    now = now or timezone.now()
    candidates = Submission.objects.filter(
        state=S.IN_REVIEW, claimed_at__isnull=False, claimed_at__lte=now
    ).values_list("pk", "claimed_at", "cohort__review_sla_hours")
    count = 0
    for submission_id, claimed_at, sla_hours in list(candidates):
        if claimed_at + dt.timedelta(hours=sla_hours) > now:
            continue
        with transaction.atomic():
            locked = _locked(Submission(pk=submission_id))
            if locked.state != S.IN_REVIEW or locked.claimed_at != claimed_at:
                continue
            if Review.objects.filter(submission=locked, created_at__gte=claimed_at).exists():
                continue
            mentor_id = locked.assigned_to_id
            _release(locked, now=now)
            record(
                "assignment.released",
                target=locked,
                data={
                    "mentor_id": mentor_id,
                    "claimed_at": claimed_at.isoformat(),
                    "cohort_id": locked.cohort_id,
                    "lab_id": locked.lab_id,
                },
                dedupe_key=f"assignment.released:{locked.pk}:{claimed_at.isoformat()}",
            )
            count += 1
    return count
