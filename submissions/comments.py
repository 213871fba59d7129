"""Changing one's own comment: edit or delete within COMMENT_EDIT_WINDOW of posting.

Re-exported by submissions.services, so pages, the API and admin call one place.

A delete leaves a tombstone: the row stays (its body emptied, ``deleted_at`` set) and the
thread shows "Comment deleted". Notifications already sent for it name the submission and
``comment_id``, never the text, so they keep pointing at a real place in the thread and the
removed words are gone everywhere.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError

from .models import Comment, Submission
from .permissions import can_comment_submission
from .validation import MAX_BODY_CHARS

COMMENT_EDIT_WINDOW = dt.timedelta(minutes=15)
WINDOW_CLOSED = (
    f"A message can be changed only in the first "
    f"{int(COMMENT_EDIT_WINDOW.total_seconds() // 60)} minutes after posting."
)


def is_open_to_its_author(user, comment: Comment, *, now: dt.datetime) -> bool:
    """`user` wrote the comment, it is not deleted and the window has not closed (whether
    they may still write in the thread is `can_change_comment`'s question)."""
    return (
        comment.author_id == getattr(user, "pk", None)
        and comment.deleted_at is None
        and now - comment.created_at <= COMMENT_EDIT_WINDOW
    )


def can_change_comment(user, comment: Comment, *, now: dt.datetime | None = None) -> bool:
    """The author, still in the thread, within the window, of a comment not deleted."""
    return is_open_to_its_author(
        user, comment, now=now or timezone.now()
    ) and can_comment_submission(user, comment.submission)


def _locked_own_comment(*, actor, comment: Comment, now: dt.datetime) -> Comment:
    """The comment locked for a change, or a refusal that says why."""
    locked = Comment.objects.select_for_update().select_related("submission").get(pk=comment.pk)
    if locked.author_id != actor.pk or not can_comment_submission(actor, locked.submission):
        raise ApplicationError("You can change only your own messages.", code="forbidden")
    if locked.deleted_at is not None:
        raise ApplicationError("This message was deleted.", code="conflict")
    if now - locked.created_at > COMMENT_EDIT_WINDOW:
        raise ApplicationError(WINDOW_CLOSED, code="forbidden")
    return locked


def _touch(submission_id: int, now: dt.datetime) -> None:
    # Cached pages are stamped with the submission's updated_at; bump it so they redraw.
    Submission.objects.filter(pk=submission_id).update(updated_at=now)


@transaction.atomic
def comment_update(
    *, actor, comment: Comment, body: str, now: dt.datetime | None = None
) -> Comment:
    """The author rewrites their message within the window; sets ``edited_at``.

    Bumps the submission's ``updated_at``; nobody is notified of an edit.
    """
    now = now or timezone.now()
    locked = _locked_own_comment(actor=actor, comment=comment, now=now)
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write a message.", extra={"errors": {"body": "Write a message."}})
    if len(body) > MAX_BODY_CHARS:
        message = f"A message is limited to {MAX_BODY_CHARS:,} characters."
        raise ApplicationError(message, extra={"errors": {"body": message}})
    if body != locked.body:
        locked.body = body
        locked.edited_at = now
        locked.save(update_fields=["body", "edited_at"])
        _touch(locked.submission_id, now)
    return locked


@transaction.atomic
def comment_delete(*, actor, comment: Comment, now: dt.datetime | None = None) -> Comment:
    """The author removes their message within the window: its text is emptied and the
    thread shows "Comment deleted" in its place (see the module docstring).

    Bumps the submission's ``updated_at``; nobody is notified of a delete.
    """
    now = now or timezone.now()
    locked = _locked_own_comment(actor=actor, comment=comment, now=now)
    locked.body = ""
    locked.deleted_at = now
    locked.save(update_fields=["body", "deleted_at"])
    _touch(locked.submission_id, now)
    return locked
