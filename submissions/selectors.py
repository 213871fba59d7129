"""Reads of submissions shared by pages, the API, dashboards and tasks.

Each selector issues a fixed number of queries whatever the number of learners, labs or
submissions (the counts are noted in the docstrings and asserted in tests).
"""

import datetime as dt
import difflib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.utils import timezone

from cohorts.models import Cohort, Extension, Membership
from cohorts.selectors import active_learner_memberships, active_membership_roles
from core.fragments import Rows
from curriculum.models import Lab, LabRevision

from . import state as sm
from ._cohorts import ScheduleEntry, cohort_schedule, mentor_cohort_ids
from .commit_links import attach_commit_links
from .models import Assignment, Attachment, Comment, Iteration, Review, Submission
from .permissions import submissions_visible_to

S = Submission.State
NOT_STARTED = "not_started"
STATE_LABELS = {NOT_STARTED: "Not started", **dict(S.choices)}


# --- learner progress ---------------------------------------------------------------------
#
# The one derivation of where a learner stands on a lab. The learner's pages, the API's
# progress matrix and the dashboards all read these selectors, so they cannot disagree.

# Work with the cohort's staff: once handed in it is no longer the learner's to finish.
HANDED_IN_STATES = frozenset({S.SUBMITTED, S.IN_REVIEW, S.APPROVED})


def _lab_flags(
    *,
    state: str,
    handed_in_late: bool,
    iteration_count: int,
    is_released: bool,
    due_at: dt.datetime,
    now: dt.datetime,
) -> tuple[bool, bool]:
    """``(is_late, is_overdue)`` for one learner on one lab.

    Late: handed in after the due time, or never handed in once a released lab's due time
    has passed. Overdue: a released lab past its due time that is not with the reviewers
    (nothing, a draft, or changes still to make).
    """
    past_due = is_released and now > due_at
    is_late = handed_in_late if iteration_count else past_due
    return is_late, past_due and state not in HANDED_IN_STATES


@dataclass(frozen=True)
class LabProgress:
    lab: object
    entry: ScheduleEntry
    state: str  # a Submission.State value or "not_started"
    is_late: bool
    due_at: dt.datetime
    submission: Submission | None
    is_overdue: bool = False

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def is_released(self) -> bool:
        return self.entry.is_released


def learner_progress(
    *, cohort: Cohort, learner, now: dt.datetime | None = None
) -> dict[int, LabProgress]:
    """``{lab_id: LabProgress}`` for every active lab of the cohort, in week order.

    Four queries: labs, overrides, the learner's extensions, the learner's submissions.
    """
    now = now or timezone.now()
    entries = cohort_schedule(cohort=cohort, learner=learner, now=now)
    submissions = {s.lab_id: s for s in Submission.objects.filter(cohort=cohort, learner=learner)}
    progress: dict[int, LabProgress] = {}
    for entry in entries:
        submission = submissions.get(entry.lab.pk)
        state = submission.state if submission else NOT_STARTED
        is_late, is_overdue = _lab_flags(
            state=state,
            handed_in_late=bool(submission and submission.is_late),
            iteration_count=submission.iteration_count if submission else 0,
            is_released=entry.is_released,
            due_at=entry.effective_due_at,
            now=now,
        )
        progress[entry.lab.pk] = LabProgress(
            lab=entry.lab,
            entry=entry,
            state=state,
            is_late=is_late,
            due_at=entry.effective_due_at,
            submission=submission,
            is_overdue=is_overdue,
        )
    return progress


# Not frozen: a cohort has learners x labs cells, and a frozen init costs ~4x per cell.
@dataclass(slots=True)
class MatrixCell:
    lab_id: int
    state: str
    is_late: bool
    is_released: bool
    submission_id: int | None
    is_overdue: bool = False
    due_at: dt.datetime | None = None  # with the learner's extension, if any
    handed_in_late: bool = False
    iteration_count: int = 0

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class MatrixRow:
    learner: object
    cells: list[MatrixCell] = field(default_factory=list)
    membership: object = None
    # The latest of joining the cohort and touching any submission in it.
    last_activity_at: dt.datetime | None = None

    @property
    def approved(self) -> int:
        return sum(cell.state == S.APPROVED for cell in self.cells)

    @property
    def released(self) -> int:
        return sum(cell.is_released for cell in self.cells)

    @property
    def late(self) -> int:
        return sum(cell.is_late for cell in self.cells)

    @property
    def overdue(self) -> int:
        return sum(cell.is_overdue for cell in self.cells)


@dataclass(frozen=True)
class ProgressMatrix:
    entries: list[ScheduleEntry]
    rows: list[MatrixRow]
    # The due times of the cohort's extensions (instants at which a cell may turn overdue).
    extension_due_times: tuple = ()


MATRIX_ORDERS = {
    "name": ("user__email",),
    "progress": ("user__email",),
    "display_name": ("user__name", "user__email"),
}


def cohort_progress_matrix(
    *, cohort: Cohort, now: dt.datetime | None = None, order: str = "name"
) -> ProgressMatrix:
    """Learners by labs with each cell's state, late and overdue flags.

    Five queries whatever the size: labs, overrides, learners (with when each last touched
    their work), extensions, submissions. ``order``: "name" (email), "display_name" (name,
    then email) or "progress" (fewest approved first, so who needs help is on top).
    """
    now = now or timezone.now()
    entries = cohort_schedule(cohort=cohort, now=now)
    lab_ids = [entry.lab.pk for entry in entries]
    # A learner's latest activity on the labs of the schedule, read per learner (a hundred
    # values) rather than with each of their submissions (thousands of datetimes to parse).
    touched = (
        Submission.objects.filter(
            cohort_id=cohort.pk, learner_id=OuterRef("user_id"), lab_id__in=lab_ids
        )
        .order_by()
        .values("learner_id")
        .annotate(latest=Max("last_activity_at"))
        .values("latest")
    )
    memberships = active_learner_memberships(cohort).order_by(
        *MATRIX_ORDERS.get(order, MATRIX_ORDERS["name"])
    )
    if lab_ids:
        memberships = memberships.annotate(touched_at=Subquery(touched))
    extensions = dict(
        ((learner_id, lab_id), due_at)
        for learner_id, lab_id, due_at in Extension.objects.filter(cohort=cohort).values_list(
            "learner_id", "lab_id", "due_at"
        )
    )
    # Tuples, not model instances: a cohort has learners x labs rows, and only these columns
    # are needed.
    found_by_key = {
        (row[1], row[2]): row
        for row in Submission.objects.filter(cohort=cohort).values_list(
            "pk", "learner_id", "lab_id", "state", "is_late", "iteration_count"
        )
    }
    columns = [(entry.lab.pk, entry.due_at, entry.is_released) for entry in entries]
    not_started = (None, None, None, NOT_STARTED, False, 0)
    rows = []
    for membership in memberships:
        learner = membership.user
        learner_id = learner.pk
        touched_at = getattr(membership, "touched_at", None)
        last_activity = membership.joined_at
        if touched_at is not None and touched_at > last_activity:
            last_activity = touched_at
        cells = []
        for lab_id, cohort_due_at, is_released in columns:
            key = (learner_id, lab_id)
            due = extensions.get(key, cohort_due_at)
            pk, _, _, state, handed_in_late, iterations = found_by_key.get(key, not_started)
            # `_lab_flags`, inline: this loop runs learners x labs times.
            past_due = is_released and now > due
            cells.append(
                MatrixCell(
                    lab_id,
                    state,
                    handed_in_late if iterations else past_due,
                    is_released,
                    pk,
                    past_due and state not in HANDED_IN_STATES,
                    due,
                    handed_in_late,
                    iterations,
                )
            )
        rows.append(
            MatrixRow(
                learner=learner, cells=cells, membership=membership, last_activity_at=last_activity
            )
        )
    if order == "progress":
        rows.sort(key=lambda r: (r.approved, -r.late, r.learner.email))
    return ProgressMatrix(
        entries=entries, rows=rows, extension_due_times=tuple(extensions.values())
    )


# --- mentor queue -------------------------------------------------------------------------

QUEUE_TABS = ("mine", "unassigned", "overdue", "all")
QUEUE_STATES = tuple(s for s in S.values if s != S.DRAFT)


def _queue_base(*, user, cohort=None, lab=None, state=None, mentor=None) -> QuerySet[Submission]:
    qs = Submission.objects.exclude(state=S.DRAFT)
    if not user.is_staff:
        qs = qs.filter(cohort_id__in=mentor_cohort_ids(user))
    qs = qs.exclude(learner_id=user.pk)
    if cohort is not None:
        qs = qs.filter(cohort_id=getattr(cohort, "pk", cohort))
    if lab is not None:
        qs = qs.filter(lab_id=getattr(lab, "pk", lab))
    if mentor is not None:
        qs = qs.filter(assigned_to_id=getattr(mentor, "pk", mentor))
    if state in QUEUE_STATES:
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=list(sm.OPEN_STATES))
    return qs


def _tab_filter(tab: str, *, user, now: dt.datetime) -> Q:
    if tab == "mine":
        return Q(assigned_to_id=user.pk)
    if tab == "unassigned":
        return Q(assigned_to__isnull=True)
    if tab == "overdue":
        return Q(review_due_at__lt=now)
    return Q()


def mentor_queue(
    *,
    user,
    tab: str = "mine",
    cohort=None,
    lab=None,
    state: str | None = None,
    mentor=None,
    now: dt.datetime | None = None,
) -> QuerySet[Submission]:
    """Work waiting for review that ``user`` may review, oldest first.

    Tabs: ``mine`` (assigned to the user), ``unassigned`` (the cohorts' queues),
    ``overdue`` (past the review due time), ``all``. Without ``state`` only open work
    (submitted, in review) is listed; ``state`` picks any handed-in state instead;
    ``mentor`` keeps the work assigned to that mentor (the staff home's links). One query (plus one for the page count when paginated).
    """
    now = now or timezone.now()
    tab = tab if tab in QUEUE_TABS else "mine"
    return (
        _queue_base(user=user, cohort=cohort, lab=lab, state=state, mentor=mentor)
        .filter(_tab_filter(tab, user=user, now=now))
        .select_related("learner", "cohort", "lab", "assigned_to")
        # A queue row shows names, dates and states; lab bodies, notes and the like are
        # kilobytes each that no row reads.
        .defer(*QUEUE_ROW_DEFERRED)
        .order_by("submitted_at", "pk")
    )


def next_for_review(*, user, exclude_pk: int) -> Submission | None:
    """What ``user`` should review next: the oldest open work assigned to them, else the
    oldest in their cohorts' unassigned queues (at most two queries)."""
    for tab in ("mine", "unassigned"):
        found = mentor_queue(user=user, tab=tab).exclude(pk=exclude_pk).first()
        if found is not None:
            return found
    return None


QUEUE_ROW_DEFERRED = (
    "notes",
    "checklist",
    "lab__body",
    "lab__deliverables",
    "cohort__description",
    "learner__password",
    "assigned_to__password",
)


def mentor_queue_counts(
    *,
    user,
    cohort=None,
    lab=None,
    state: str | None = None,
    mentor=None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """``{tab: count}`` for the queue tabs under the same filters (one query)."""
    now = now or timezone.now()
    aggregates = {
        tab: Count("pk", filter=_tab_filter(tab, user=user, now=now)) for tab in QUEUE_TABS
    }
    return _queue_base(user=user, cohort=cohort, lab=lab, state=state, mentor=mentor).aggregate(
        **aggregates
    )


# What a queue row and the tab counts show of a submission (templates/submissions/queue.html
# "queue-row"), and what places it in the list and its tab.
QUEUE_ROW_COLUMNS = (
    "id",
    "state",
    "learner_id",
    "lab_id",
    "cohort_id",
    "assigned_to_id",
    "iteration_count",
    "submitted_at",
    "is_late",
    "review_due_at",
)


def queue_stamp(
    *,
    user,
    now: dt.datetime,
    cohort: int | None = None,
    lab: int | None = None,
    state=None,
    mentor: int | None = None,
) -> list[Rows]:
    """What the review queue shows for ``user`` under these filters, as stamp sources
    (core.fragments).

    A digest of the submissions the queue lists under the filters, in every tab, by the
    columns its rows and tabs show (QUEUE_ROW_COLUMNS: claims, releases, verdicts,
    reassignments and hand-ins change them; a comment, which the queue does not show,
    does not, so it leaves every mentor's queue cached); of the cohorts and labs in the
    user's scope (the filter menus); and the next review due time still to come, so the
    key changes when work turns overdue. Staff see every cohort. Only the queue's own rows
    are digested: open work, or the one state filtered on, which keeps the staff queue's
    stamp small however much history there is.
    """
    if user.is_staff:
        scope: dict = {}
        cohorts: dict = {}
    else:
        ids = sorted(
            cohort_id
            for cohort_id, role in active_membership_roles(user).items()
            if role == Membership.Role.MENTOR
        )
        scope = {"cohort_id__in": ids}
        cohorts = {"id__in": ids}
    listed = {
        **scope,
        "learner_id__ne": user.pk,
        "state__in": [state] if state in QUEUE_STATES else sorted(sm.OPEN_STATES),
    }
    if cohort is not None:
        listed["cohort_id"] = cohort
    if lab is not None:
        listed["lab_id"] = lab
    if mentor is not None:
        listed["assigned_to_id"] = mentor
    return [
        Rows(Submission, QUEUE_ROW_COLUMNS, listed),
        Rows(
            Submission,
            ("review_due_at",),
            {**scope, "state__in": sorted(sm.OPEN_STATES), "review_due_at__gt": now},
            "MIN",
        ),
        Rows(Cohort, ("id", "updated_at"), cohorts),
        Rows(Lab, ("id", "updated_at", "active", "week", "title", "track_id"), {}),
    ]


def queue_filter_choices(*, user) -> tuple[list[Cohort], list]:
    """Cohorts the user reviews for, and their labs, for the queue's filter menus (2 queries)."""
    cohorts = Cohort.objects.select_related("track").order_by("-start_date", "name")
    if not user.is_staff:
        cohorts = cohorts.filter(pk__in=mentor_cohort_ids(user))
    cohorts = list(cohorts)
    labs = list(
        Lab.objects.filter(track_id__in={c.track_id for c in cohorts}, active=True)
        .select_related("track")
        .only("id", "week", "title", "track_id", "track__name", "track__position")
        .order_by("track__position", "week")
    )
    return cohorts, labs


def queue_mentor(*, mentor_id: int, cohorts: list[Cohort]):
    """The user behind the queue's ``mentor`` filter if they mentor (or mentored) one of
    ``cohorts``, else None (the filter is dropped). One query."""
    membership = (
        Membership.objects.filter(
            user_id=mentor_id, cohort_id__in=[c.pk for c in cohorts], role=Membership.Role.MENTOR
        )
        .select_related("user")
        .first()
    )
    return membership.user if membership is not None else None


# --- review scheduling queries ------------------------------------------------------------


def open_assignments(*, cohort=None) -> QuerySet[Assignment]:
    """Assignments of work still waiting for a verdict, oldest due first."""
    qs = Assignment.objects.filter(
        ended_at__isnull=True, submission__state__in=list(sm.OPEN_STATES)
    )
    if cohort is not None:
        qs = qs.filter(submission__cohort=cohort)
    return qs.select_related(
        "mentor", "submission", "submission__learner", "submission__lab", "submission__cohort"
    ).order_by("due_at", "pk")


def overdue_assignments(*, now: dt.datetime | None = None, cohort=None) -> QuerySet[Assignment]:
    return open_assignments(cohort=cohort).filter(due_at__lt=now or timezone.now())


def open_reviews(*, cohort=None) -> QuerySet[Submission]:
    """Submissions waiting for a verdict (assigned or not), oldest first."""
    qs = Submission.objects.filter(state__in=list(sm.OPEN_STATES))
    if cohort is not None:
        qs = qs.filter(cohort=cohort)
    return qs.select_related("learner", "lab", "cohort", "assigned_to").order_by(
        "submitted_at", "pk"
    )


def overdue_reviews(*, now: dt.datetime | None = None, cohort=None) -> QuerySet[Submission]:
    return open_reviews(cohort=cohort).filter(review_due_at__lt=now or timezone.now())


def open_reviews_by_mentor(*, cohort, now: dt.datetime | None = None) -> list[dict]:
    """``[{mentor_id, open, overdue}]`` for the cohort's open assignments (one query)."""
    now = now or timezone.now()
    return list(
        Assignment.objects.filter(
            ended_at__isnull=True,
            submission__cohort=cohort,
            submission__state__in=list(sm.OPEN_STATES),
        )
        .values("mentor_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
        .order_by("mentor_id")
    )


# --- pages --------------------------------------------------------------------------------


def submission_for_user(*, user, pk: int) -> Submission | None:
    """The submission if ``user`` may see it (one query), with cohort, lab and learner."""
    return (
        Submission.objects.filter(submissions_visible_to(user), pk=pk)
        .select_related(
            "cohort", "cohort__track", "lab", "lab__current_revision", "learner", "assigned_to"
        )
        .first()
    )


# The thread shows its newest messages; a link opens the whole of it. A page drawn after
# every message must not grow with the thread (a long discussion drew the lab page in
# 40 ms, and in minutes for thousands).
THREAD_LATEST = 30


def thread_comments(submission: Submission, *, whole: bool = False) -> tuple[list[Comment], int]:
    """The thread's newest THREAD_LATEST messages (all of them when `whole`), oldest first,
    with their authors, and how many earlier ones are left out. One query: the count rides
    on each row (a window over the whole thread, computed before the limit)."""
    rows = (
        Comment.objects.filter(submission=submission)
        .select_related("author")
        .annotate(thread_size=Window(Count("pk")))
        .order_by("-created_at", "-pk")
    )
    comments = list(rows if whole else rows[:THREAD_LATEST])
    comments.reverse()
    return comments, (comments[0].thread_size - len(comments)) if comments else 0


def submission_history(
    submission: Submission, *, thread: bool = True, whole_thread: bool = False
) -> dict:
    """Iterations (newest first, with attachments, ``commit_url`` and ``compare_url``),
    reviews, and unless `thread` is False the thread (`thread_comments`: ``comments`` and
    ``earlier_comments``; four queries, three without the thread)."""
    iterations = list(
        Iteration.objects.filter(submission=submission)
        .select_related("lab_revision")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
        )
        .order_by("-number")
    )
    reviews = list(
        Review.objects.filter(submission=submission)
        .select_related("reviewer", "iteration", "acknowledgement")
        .order_by("created_at", "pk")
    )
    attach_commit_links(iterations)
    reviews_by_iteration: dict[int, list[Review]] = defaultdict(list)
    for review in reviews:
        reviews_by_iteration[review.iteration_id].append(review)
    history = {
        "iterations": iterations,
        "reviews": reviews,
        "reviews_by_iteration": reviews_by_iteration,
    }
    if thread:
        comments, earlier_comments = thread_comments(submission, whole=whole_thread)
        history.update(comments=comments, earlier_comments=earlier_comments)
    return history


def draft_attachments(submission: Submission) -> list[Attachment]:
    return list(
        Attachment.objects.filter(submission=submission, iteration__isnull=True).order_by(
            "created_at", "pk"
        )
    )


@dataclass(frozen=True)
class IterationDiff:
    notes: list[tuple[str, str]]  # ("add" | "del" | "same", line)
    checklist: list[dict]  # {"text", "before", "after"} for items whose tick changed
    repo_changed: bool
    commit_changed: bool
    files_added: list[Attachment] = field(default_factory=list)
    files_removed: list[Attachment] = field(default_factory=list)

    @property
    def notes_changed(self) -> bool:
        return any(op != "same" for op, _ in self.notes)

    @property
    def has_changes(self) -> bool:
        return (
            self.notes_changed
            or bool(self.checklist)
            or self.repo_changed
            or self.commit_changed
            or bool(self.files_added)
            or bool(self.files_removed)
        )


def _files_of(iteration: Iteration) -> list[Attachment]:
    # An iteration not yet saved has no files.
    return list(iteration.attachments.all()) if iteration.pk else []


def iteration_diff(previous: Iteration | None, current: Iteration) -> IterationDiff | None:
    """What changed since the previous iteration: link, commit, notes, checklist and files.

    No queries when both iterations come with their attachments prefetched (as from
    ``submission_history``). A file carried over from the previous iteration names the
    same stored file, so it is neither added nor removed; a file uploaded again (even
    under the same name) is both.
    """
    if previous is None:
        return None
    notes: list[tuple[str, str]] = []
    for line in difflib.ndiff(previous.notes.splitlines(), current.notes.splitlines()):
        code, text = line[:2], line[2:]
        if code == "+ ":
            notes.append(("add", text))
        elif code == "- ":
            notes.append(("del", text))
        elif code == "  ":
            notes.append(("same", text))
    before = {item.get("text"): bool(item.get("done")) for item in previous.checklist or []}
    changes = []
    for item in current.checklist or []:
        text, done = item.get("text"), bool(item.get("done"))
        if before.get(text) != done:
            changes.append({"text": text, "before": before.get(text), "after": done})
    previous_files, current_files = _files_of(previous), _files_of(current)
    before_files = {a.file.name for a in previous_files}
    after_files = {a.file.name for a in current_files}
    return IterationDiff(
        notes=notes,
        checklist=changes,
        repo_changed=previous.repo_url != current.repo_url,
        commit_changed=previous.commit_sha != current.commit_sha,
        files_added=[a for a in current_files if a.file.name not in before_files],
        files_removed=[a for a in previous_files if a.file.name not in after_files],
    )


@dataclass(frozen=True)
class LabChange:
    """The lab changed since the learner started or last handed in (the lab page says so)."""

    current: LabRevision
    baseline: LabRevision
    answered: Iteration | None  # the last iteration (it answered `baseline`), if any
    title_changed: bool
    body_diff: list


def lab_change(
    *,
    submission: Submission | None,
    lab: Lab,
    iterations: list,
    current: LabRevision | None = None,
) -> LabChange | None:
    """What changed in `lab` since the revision the learner's work answered (one query).

    Only for open work (a draft, or handed in and not yet approved). The baseline is the
    revision the last iteration answered; for a draft never handed in, the revision that was
    current when the draft was started. `current` is the revision the learner's cohort
    reads (`cohorts.selectors.lab_revision_for`: a pinned cohort stays on an older one, so
    nothing changed for it until the pin ends); computed when not given.
    """
    from cohorts.selectors import lab_revision_for
    from curriculum.textdiff import word_diff

    if current is None and submission is not None:
        current = lab_revision_for(cohort=submission.cohort, lab=lab)
    if submission is None or current is None or submission.state == Submission.State.APPROVED:
        return None
    answered = iterations[0] if iterations else None  # newest first
    if answered is not None and answered.lab_revision_id:
        baseline = answered.lab_revision
    elif answered is None:
        baseline = (
            LabRevision.objects.filter(lab=lab, created_at__lte=submission.created_at)
            .order_by("-number")
            .first()
        )
    else:
        baseline = None
    if baseline is None or baseline.number >= current.number:
        return None
    return LabChange(
        current=current,
        baseline=baseline,
        answered=answered,
        title_changed=baseline.title != current.title,
        body_diff=word_diff(baseline.body, current.body),
    )


def review_for_user(*, user, pk: int) -> Review | None:
    """A review of a submission ``user`` may see, with its acknowledgement, or None."""
    return (
        Review.objects.filter(
            pk=pk,
            submission__in=Submission.objects.filter(submissions_visible_to(user)).values("pk"),
        )
        .select_related("submission", "reviewer", "iteration", "acknowledgement")
        .first()
    )
