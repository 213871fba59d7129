"""Staff screens for submissions. View-only: every change goes through the services (the
review page and the API), so the admin never sets ``state``, rewrites an iteration or
deletes a review."""

from django.contrib import admin

from core.admin import ViewOnlyAdmin, ViewOnlyInline

from .models import (
    Assignment,
    Attachment,
    Comment,
    Iteration,
    Review,
    ReviewPoint,
    SavedReply,
    Submission,
)


class IterationInline(ViewOnlyInline):
    model = Iteration
    fields = ("number", "submitted_at", "is_late", "repo_url", "commit_sha", "lab_revision")
    readonly_fields = fields


# An assignment's history, on the submission's page and in the assignments list.
ASSIGNMENT_COLUMNS = (
    "mentor",
    "reason",
    "assigned_at",
    "due_at",
    "ended_at",
    "reminded_at",
    "escalated_at",
)


class AssignmentInline(ViewOnlyInline):
    model = Assignment
    fk_name = "submission"
    fields = ASSIGNMENT_COLUMNS
    readonly_fields = fields


class ReviewInline(ViewOnlyInline):
    model = Review
    fields = ("iteration", "reviewer", "verdict", "created_at")
    readonly_fields = fields


@admin.register(Submission)
class SubmissionAdmin(ViewOnlyAdmin):
    list_display = (
        "pk",
        "learner",
        "cohort",
        "lab",
        "state",
        "iteration_count",
        "assigned_to",
        "review_due_at",
        "is_late",
        "submitted_at",
    )
    list_filter = ("state", "is_late", "cohort")
    search_fields = ("learner__email", "learner__name", "lab__title", "cohort__name")
    list_select_related = ("learner", "cohort", "lab", "assigned_to")
    date_hierarchy = "submitted_at"
    inlines = [IterationInline, ReviewInline, AssignmentInline]


@admin.register(Iteration)
class IterationAdmin(ViewOnlyAdmin):
    list_display = ("submission", "number", "submitted_at", "is_late")
    list_select_related = ("submission",)
    search_fields = ("submission__learner__email",)


@admin.register(Attachment)
class AttachmentAdmin(ViewOnlyAdmin):
    list_display = (
        "original_name",
        "submission",
        "iteration",
        "content_type",
        "size",
        "created_at",
    )
    list_select_related = ("submission", "iteration")
    search_fields = ("original_name", "submission__learner__email")
    # No file field: downloads go through the permission-checked view only.
    exclude = ("file",)
    readonly_fields = (
        "submission",
        "iteration",
        "original_name",
        "content_type",
        "size",
        "uploaded_by",
        "created_at",
    )


@admin.register(Review)
class ReviewAdmin(ViewOnlyAdmin):
    list_display = ("submission", "iteration", "reviewer", "verdict", "created_at")
    list_filter = ("verdict",)
    list_select_related = ("submission", "iteration", "reviewer")
    search_fields = ("reviewer__email", "submission__learner__email")


@admin.register(ReviewPoint)
class ReviewPointAdmin(ViewOnlyAdmin):
    list_display = ("submission", "review", "state", "deliverable", "addressed_in", "created_at")
    list_filter = ("state",)
    list_select_related = ("submission", "review", "addressed_in")
    search_fields = ("text", "submission__learner__email")


@admin.register(Comment)
class CommentAdmin(ViewOnlyAdmin):
    list_display = ("submission", "author", "created_at")
    list_select_related = ("submission", "author")
    search_fields = ("author__email", "body")
    readonly_fields = ("submission", "author", "created_at")


@admin.register(Assignment)
class AssignmentAdmin(ViewOnlyAdmin):
    list_display = ("submission", *ASSIGNMENT_COLUMNS)
    list_filter = ("reason", ("ended_at", admin.EmptyFieldListFilter))
    list_select_related = ("submission", "mentor")
    search_fields = ("mentor__email", "submission__learner__email")


@admin.register(SavedReply)
class SavedReplyAdmin(ViewOnlyAdmin):
    """Read-only: saved replies change through submissions.saved_replies (the pages, the API)."""

    list_display = (
        "title",
        "lab",
        "deliverable",
        "cohort",
        "shared_with_all",
        "author",
        "usage_count",
    )
    list_filter = ("shared_with_all",)
    list_select_related = ("lab", "cohort", "author")
    search_fields = ("title", "body", "lab__title")
