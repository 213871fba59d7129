from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Submission(models.Model):
    """A learner's work on one lab in one cohort. `state` changes only in services."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    cohort = models.ForeignKey(
        "cohorts.Cohort", on_delete=models.PROTECT, related_name="submissions"
    )
    lab = models.ForeignKey("curriculum.Lab", on_delete=models.PROTECT, related_name="submissions")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    # The draft being edited; frozen into an Iteration on submit.
    repo_url = models.URLField(max_length=500, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    checklist = models.JSONField(default=list, blank=True)
    # Review scheduling: the mentor who has it now, and when the review is due.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_submissions",
    )
    review_due_at = models.DateTimeField(null=True, blank=True)
    # When the current reviewer claimed it (in_review); abandoned claims are released.
    claimed_at = models.DateTimeField(null=True, blank=True)
    iteration_count = models.PositiveIntegerField(default=0)
    first_submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    first_reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    last_activity_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "cohort", "lab"], name="submission_learner_cohort_lab_unique"
            )
        ]
        indexes = [
            models.Index(fields=["cohort", "state", "submitted_at"]),
            models.Index(fields=["assigned_to", "state", "submitted_at"]),
            models.Index(fields=["state", "review_due_at"]),
            # The review queue's "all"/"unassigned" tabs read open work oldest first; open
            # work is a small slice of all submissions, so a partial index stays small.
            models.Index(
                fields=["submitted_at", "id"],
                condition=Q(state__in=["submitted", "in_review"]),
                name="submission_open_queue_idx",
            ),
            # Cached pages key on a cohort's count and newest change of submissions
            # (core.fragments stamps): an index-only scan instead of reading every row.
            models.Index(fields=["cohort", "updated_at"], name="submission_cohort_changed_idx"),
            # ... and on who was active in the last week (the at-risk list): the recent rows
            # only, not the cohort's every submission.
            models.Index(
                fields=["cohort", "last_activity_at"], name="submission_cohort_active_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Submission #{self.pk} ({self.state})"


class Iteration(models.Model):
    """What the learner handed in at one submit. Never changes afterwards."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="iterations")
    number = models.PositiveIntegerField()
    repo_url = models.URLField(max_length=500)
    commit_sha = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    checklist = models.JSONField(default=list, blank=True)
    lab_revision = models.ForeignKey(
        "curriculum.LabRevision", null=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["submission", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "number"], name="iteration_number_unique"
            ),
            models.UniqueConstraint(
                fields=["submission", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="iteration_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Iteration {self.number} of submission #{self.submission_id}"


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # The stored name is random; the original name is kept in the row for downloads.
    import uuid

    return f"attachments/{instance.submission_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file handed in with a draft; frozen with the iteration it was submitted in."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="attachments")
    iteration = models.ForeignKey(
        Iteration, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.original_name


class Review(models.Model):
    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        REQUEST_CHANGES = "request_changes", "Request changes"
        COMMENT = "comment", "Comment"

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="reviews")
    iteration = models.ForeignKey(Iteration, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_given"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    body = models.TextField(blank=True)
    # {deliverable index (as str): "met" | "not_met" | "na"}
    marks = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} on submission #{self.submission_id}"


class Comment(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(blank=True)  # emptied when the author deletes the comment
    created_at = models.DateTimeField(default=timezone.now)
    # Set by submissions.comments: the author may edit or delete for COMMENT_EDIT_WINDOW.
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Comment #{self.pk} on submission #{self.submission_id}"


class Assignment(models.Model):
    """Who is (or was) responsible for reviewing a submission, and by when."""

    class Reason(models.TextChoices):
        AUTO = "auto", "Assigned automatically"
        RESUBMIT = "resubmit", "Back to the reviewer who asked for changes"
        CLAIM = "claim", "Claimed"
        REASSIGN = "reassign", "Reassigned by staff"
        ESCALATION = "escalation", "Reassigned after the review went overdue"
        OVERFLOW = "overflow", "Assigned when a mentor had room again"
        AWAY = "away", "Handed over: the mentor is away"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="assignments")
    # The submission's cohort (work never changes cohort), kept on the row so that a
    # mentor's load in one cohort is read by index from their assignments there alone,
    # not from their whole history joined to the submissions (`pick_mentor`, every submit).
    cohort = models.ForeignKey("cohorts.Cohort", on_delete=models.PROTECT, related_name="+")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    reason = models.CharField(max_length=12, choices=Reason.choices)
    # Why it moved, for the mentor who gets it (a staff reason, an away mentor's note).
    note = models.CharField(max_length=500, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_open_per_submission",
            )
        ]
        indexes = [
            models.Index(fields=["mentor", "ended_at"]),
            # A mentor's load in a cohort (`pick_mentor`, every submit), each an index probe
            # whatever their history: their latest assignment there, and their open ones.
            models.Index(
                fields=["mentor", "cohort", "assigned_at"], name="assignment_mentor_cohort_idx"
            ),
            models.Index(
                fields=["mentor", "cohort"],
                condition=Q(ended_at__isnull=True),
                name="assignment_open_by_mentor_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Submission #{self.submission_id} -> {self.mentor_id} ({self.reason})"


class ReviewAcknowledgement(models.Model):
    """The learner saw a review (an explicit click, not a page view), and may have rated it.

    One per review: a second acknowledgement updates the rating and note and keeps
    `acknowledged_at`, the first time the learner said they had seen it.
    """

    NOTE_MAX_LENGTH = 500

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="acknowledgement")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)
    # True: helpful, False: not helpful, None: seen without a rating.
    helpful = models.BooleanField(null=True, blank=True)
    note = models.TextField(blank=True, max_length=NOTE_MAX_LENGTH)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Review #{self.review_id} seen by {self.learner_id}"


class SavedReply(models.Model):
    """A mentor's reusable review text for one lab (optionally one of its deliverables).

    Shared with the mentors of one cohort (``cohort`` set), or, when staff made it, with
    the mentors of every cohort running the lab (``cohort`` null, ``shared_with_all``).
    ``usage_count`` is the number of times it was inserted into a review box (each insert
    is also a ``SavedReplyUse`` row, so staff can see when and for which lab).
    Written only by ``submissions.saved_replies``.
    """

    TITLE_MAX_LENGTH = 120
    BODY_MAX_LENGTH = 5000

    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    lab = models.ForeignKey("curriculum.Lab", on_delete=models.CASCADE, related_name="+")
    # Index into the lab's deliverables, or null for the lab as a whole.
    deliverable = models.PositiveSmallIntegerField(null=True, blank=True)
    cohort = models.ForeignKey(
        "cohorts.Cohort", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    shared_with_all = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    usage_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["lab_id", "-usage_count", "title", "pk"]
        constraints = [
            # Exactly one scope: one cohort's mentors, or every cohort (staff only).
            models.CheckConstraint(
                condition=Q(cohort__isnull=False, shared_with_all=False)
                | Q(cohort__isnull=True, shared_with_all=True),
                name="saved_reply_one_scope",
            )
        ]
        indexes = [models.Index(fields=["lab", "cohort"], name="saved_reply_lab_cohort_idx")]

    def __str__(self) -> str:
        return self.title


class SavedReplyUse(models.Model):
    """One insert of a saved reply into a review box. Keeps the lab and cohort when the
    reply is deleted later, so staff's "which labs need better instructions" stays true."""

    reply = models.ForeignKey(SavedReply, null=True, on_delete=models.SET_NULL, related_name="uses")
    lab = models.ForeignKey("curriculum.Lab", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "cohorts.Cohort", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["used_at", "lab"], name="saved_reply_use_time_lab_idx")]

    def __str__(self) -> str:
        return f"Saved reply #{self.reply_id} used at {self.used_at:%Y-%m-%d %H:%M}"


class ReviewPoint(models.Model):
    """One thing a mentor asked to change (``submissions.services.points``).

    Raised by a review that requests changes: a requested change in the mentor's words
    (``text``) and/or a deliverable marked not met (``deliverable``, its index in the
    reviewed iteration's checklist). The learner answers it (``addressed``, with a short
    reply, handed in with ``addressed_in``) or a mentor waives it, with a reason, to approve.
    """

    TEXT_MAX_LENGTH = 1000
    REPLY_MAX_LENGTH = 500
    WAIVE_REASON_MAX_LENGTH = 300

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ADDRESSED = "addressed", "Addressed"
        WAIVED = "waived", "Waived"

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="points")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="points")
    text = models.TextField(blank=True, max_length=TEXT_MAX_LENGTH)
    deliverable = models.PositiveIntegerField(null=True, blank=True)
    # The deliverable's text as the reviewed iteration listed it (curriculum edits later
    # never change what the point was about).
    deliverable_text = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    reply = models.TextField(blank=True, max_length=REPLY_MAX_LENGTH)
    addressed_at = models.DateTimeField(null=True, blank=True)
    # The iteration that handed in the answer (set when that iteration is submitted).
    addressed_in = models.ForeignKey(
        Iteration, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waived_at = models.DateTimeField(null=True, blank=True)
    waive_reason = models.TextField(blank=True, max_length=WAIVE_REASON_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(text="") | Q(deliverable__isnull=False),
                name="reviewpoint_text_or_deliverable",
            ),
            models.CheckConstraint(
                condition=Q(state="open")
                | Q(state="addressed", addressed_at__isnull=False)
                | Q(state="waived", waived_at__isnull=False),
                name="reviewpoint_state_consistent",
            ),
        ]
        indexes = [models.Index(fields=["submission", "state"])]

    def __str__(self) -> str:
        return f"Point #{self.pk} on submission #{self.submission_id} ({self.state})"

    @property
    def label(self) -> str:
        """What the point asks, in one line: the mentor's words, else the deliverable."""
        return self.text or self.deliverable_text
