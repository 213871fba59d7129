"""Stamp sources (core.fragments.Rows) of the submission pages that are cached whole: the
learner's lab page and the mentor's review page.

Both pages show one submission and everything hanging from it, so each source is the
rows of one table reached from that submission, digested over **every** column of the
table (`all_columns`: a column added later is in the stamp without anyone remembering
it) plus the names of the people the page names. A table read by a page and missing here
is a stale page; tests/submissions/test_page_cache_inputs.py changes each input through
its service and reads the page again.
"""

from __future__ import annotations

import functools

from django.contrib.postgres.search import SearchVectorField

from cohorts.models import CohortLabPin, Extension, ScheduleOverride
from core.fragments import Rows
from curriculum.models import Lab, LabRevision

from .models import (
    Assignment,
    Attachment,
    Comment,
    Iteration,
    Review,
    ReviewAcknowledgement,
    ReviewPoint,
    SavedReply,
)
from .selectors import THREAD_LATEST

# How a page names a person: User.display_name (name, else the address's local part).
PERSON = ("name", "email")


@functools.cache
def all_columns(model, *related: str) -> tuple[str, ...]:
    """Every concrete column of `model`, then `related` ("author__name", ...). Search
    vectors are left out: they are derived from the text columns, which are in."""
    return (
        *(
            field.attname
            for field in model._meta.concrete_fields
            if not isinstance(field, SearchVectorField)
        ),
        *related,
    )


def row_facts(instance) -> tuple:
    """Every concrete column of a row already loaded by the view, as a stamp part."""
    return tuple(getattr(instance, name) for name in all_columns(type(instance)))


def _person(relation: str) -> tuple[str, ...]:
    return tuple(f"{relation}__{column}" for column in PERSON)


# The two change times every write of a submission moves, a message in its thread included.
# Neither page shows them, and the thread is cached apart (`thread_stamp`): keyed on them,
# each message would draw the whole page again, not only its thread.
CHANGE_TIMES = ("updated_at", "last_activity_at")


def shown_columns(model, *related: str) -> tuple[str, ...]:
    """`all_columns` but the submission's `CHANGE_TIMES`."""
    return tuple(name for name in all_columns(model, *related) if name not in CHANGE_TIMES)


def submission_work_stamp(submission_id: int | None) -> list:
    """What hangs from one submission and both pages show, the thread aside: its
    iterations (with the lab revision each answered), files, reviews (and the reviewers'
    names), the learner's acknowledgements and ratings of them, and the review points.
    `submission_id` None (nothing started yet): no rows."""
    ids = [] if submission_id is None else [submission_id]
    return [
        Rows(Iteration, all_columns(Iteration), {"submission_id__in": ids}),
        Rows(Attachment, all_columns(Attachment), {"submission_id__in": ids}),
        Rows(Review, all_columns(Review, *_person("reviewer")), {"submission_id__in": ids}),
        Rows(
            ReviewAcknowledgement,
            all_columns(ReviewAcknowledgement),
            {"review__submission_id__in": ids},
        ),
        Rows(
            ReviewPoint, all_columns(ReviewPoint, *_person("waived_by")), {"submission_id__in": ids}
        ),
    ]


def thread_stamp(submission_id: int) -> Rows:
    """The submission's thread as the pages show it: how many messages there are, and the
    newest `selectors.THREAD_LATEST` of them (edits and deletions included) with their
    authors' names; the key of the thread fragment both pages hold. Earlier messages are
    shown only by the whole thread's page, never cached, so a long thread costs the stamp
    no more than a short one."""
    return Rows(
        Comment,
        all_columns(Comment, *_person("author")),
        {"submission_id": submission_id},
        latest=THREAD_LATEST,
        newest_first=("created_at",),
    )


def lab_text_stamp(*, cohort_id: int, lab_id: int) -> list:
    """The lab's text as a cohort reads it: the lab, its revisions (current, pinned, and
    those earlier iterations answered) and the cohort's pin of it."""
    return [
        Rows(Lab, all_columns(Lab), {"id": lab_id}),
        Rows(LabRevision, all_columns(LabRevision), {"lab_id": lab_id}),
        Rows(CohortLabPin, all_columns(CohortLabPin), {"cohort_id": cohort_id, "lab_id": lab_id}),
    ]


def learner_lab_stamp(*, cohort_id: int, lab_id: int, learner_id: int) -> list:
    """Everything the learner's lab page shows besides the cohort's and the track's own
    rows (the view keys on those as loaded), the navigation and the live parts (the
    expected review time, the form's idempotency key): the lab's text, the due date
    (the cohort's override, the learner's extension), the learner's submission of the lab
    (with the name of the mentor holding it). Its work and thread: `submission_work_stamp`,
    `thread_stamp`."""
    from .models import Submission

    return [
        *lab_text_stamp(cohort_id=cohort_id, lab_id=lab_id),
        Rows(
            ScheduleOverride,
            all_columns(ScheduleOverride),
            {"cohort_id": cohort_id, "lab_id": lab_id},
        ),
        Rows(
            Extension,
            all_columns(Extension),
            {"cohort_id": cohort_id, "lab_id": lab_id, "learner_id": learner_id},
        ),
        Rows(
            Submission,
            shown_columns(Submission, *_person("assigned_to")),
            {"cohort_id": cohort_id, "lab_id": lab_id, "learner_id": learner_id},
        ),
    ]


def review_page_stamp(submission) -> list:
    """What the mentor's review page shows besides the submission's work and thread, the rows the
    view loaded with the submission (its cohort, track, lab, learner, mentor) and the
    navigation: the submission itself as it is now, its assignments (the note of the open
    one), the lab's text and deliverables as the cohort reads them, and every saved reply
    of the lab (the "Insert a saved reply" menu: one's own, the cohort's and shared ones,
    with their use counts, which order them)."""
    from .models import Submission

    return [
        Rows(Submission, shown_columns(Submission), {"id": submission.pk}),
        Rows(Assignment, all_columns(Assignment), {"submission_id": submission.pk}),
        *lab_text_stamp(cohort_id=submission.cohort_id, lab_id=submission.lab_id),
        Rows(SavedReply, all_columns(SavedReply), {"lab_id": submission.lab_id}),
    ]
