"""Files on a draft: checked, stored, and removed again if the transaction fails."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError

from .. import state as sm
from ..models import Attachment, Submission
from ..permissions import can_edit_submission
from ..validation import check_content, clean_filename, extension_of
from ._common import _forbidden, _invalid, _locked


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
