"""Every write to submissions: drafts, attachments, submits, claims, reviews, comments and
review scheduling.

All services are keyword-only and atomic, and refuse with ``ApplicationError``:
``invalid`` (bad input, per-field messages in ``extra["errors"]``), ``forbidden`` (the
actor may not), ``invalid_transition`` (wrong state, see ``state.py``) and ``conflict``
(someone else got there first). State changes go through ``state.apply`` only.

Services that change a submission lock its row first (``select_for_update``), so a double
click, a retried request or two mentors at once are serialised by the database.

Split by sub-domain (``drafts``, ``attachments``, ``assignments``, ``reviews``, ``comments``,
``sweeps``, ``away``, ``points``); callers import from this package, which also re-exports the thread's edit and
delete services from ``submissions.comments``.
"""

from ..comments import (
    COMMENT_EDIT_WINDOW,
    WINDOW_CLOSED,
    can_change_comment,
    comment_delete,
    comment_update,
)
from ._common import S, deliverables_of, holding_lock, holding_visible_lock, lab_revision_of
from .assignments import (
    MentorLoad,
    assignments_fill,
    assignments_hand_over,
    mentor_loads,
    pick_mentor,
    submission_claim,
    submission_reassign,
    submission_release,
)
from .attachments import CheckedFile, attachment_add, attachment_remove
from .away import away_hand_over_pending, mentor_end_away, mentor_set_away
from .comments import comment_create
from .drafts import (
    submission_get_or_create_draft,
    submission_put_draft,
    submission_save_and_submit,
    submission_save_draft,
    submission_save_work,
    submission_submit,
    validate_draft_fields,
)
from .points import (
    MAX_POINTS_PER_REVIEW,
    clean_points,
    open_points_count,
    point_address,
    points_address,
)
from .reviews import MARK_VALUES, VERDICTS, clean_marks, review_create
from .sweeps import (
    assignments_escalate_overdue,
    assignments_remind_overdue,
    assignments_sweep,
    claims_release_abandoned,
)

__all__ = [
    "COMMENT_EDIT_WINDOW",
    "CheckedFile",
    "MARK_VALUES",
    "MAX_POINTS_PER_REVIEW",
    "MentorLoad",
    "S",
    "VERDICTS",
    "WINDOW_CLOSED",
    "assignments_escalate_overdue",
    "assignments_fill",
    "assignments_hand_over",
    "assignments_remind_overdue",
    "assignments_sweep",
    "away_hand_over_pending",
    "attachment_add",
    "attachment_remove",
    "can_change_comment",
    "claims_release_abandoned",
    "clean_marks",
    "clean_points",
    "comment_create",
    "comment_delete",
    "comment_update",
    "deliverables_of",
    "lab_revision_of",
    "mentor_end_away",
    "mentor_loads",
    "mentor_set_away",
    "open_points_count",
    "pick_mentor",
    "point_address",
    "points_address",
    "review_create",
    "submission_claim",
    "submission_get_or_create_draft",
    "holding_lock",
    "holding_visible_lock",
    "submission_put_draft",
    "submission_reassign",
    "submission_release",
    "submission_save_and_submit",
    "submission_save_draft",
    "submission_save_work",
    "submission_submit",
    "validate_draft_fields",
]
