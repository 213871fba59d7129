"""New messages in a submission's thread (edit and delete live in ``submissions.comments``)."""

from django.db import transaction
from django.utils import timezone

from notifications.events import record

from ..models import Comment, Submission
from ..permissions import can_comment_submission
from ..validation import MAX_BODY_CHARS
from ._common import _forbidden, _invalid


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
