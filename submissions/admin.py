"""Staff screens for submissions. Read-mostly: state changes go through the services (the
review page and the API), so the admin never sets ``state`` or freezes iterations itself."""

from django.contrib import admin

from .models import Assignment, Attachment, Comment, Iteration, Review, Submission


class IterationInline(admin.TabularInline):
    model = Iteration
    extra = 0
    can_delete = False
    fields = ("number", "submitted_at", "is_late", "repo_url", "commit_sha", "lab_revision")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fk_name = "submission"
    extra = 0
    can_delete = False
    fields = (
        "mentor",
        "reason",
        "assigned_at",
        "due_at",
        "ended_at",
        "reminded_at",
        "escalated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    can_delete = False
    fields = ("iteration", "reviewer", "verdict", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
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
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Iteration)
class IterationAdmin(admin.ModelAdmin):
    list_display = ("submission", "number", "submitted_at", "is_late")
    list_select_related = ("submission",)
    search_fields = ("submission__learner__email",)
    readonly_fields = [f.name for f in Iteration._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("submission", "iteration", "reviewer", "verdict", "created_at")
    list_filter = ("verdict",)
    list_select_related = ("submission", "iteration", "reviewer")
    search_fields = ("reviewer__email", "submission__learner__email")
    readonly_fields = [f.name for f in Review._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("submission", "author", "created_at")
    list_select_related = ("submission", "author")
    search_fields = ("author__email", "body")
    readonly_fields = ("submission", "author", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = (
        "submission",
        "mentor",
        "reason",
        "assigned_at",
        "due_at",
        "ended_at",
        "reminded_at",
        "escalated_at",
    )
    list_filter = ("reason", ("ended_at", admin.EmptyFieldListFilter))
    list_select_related = ("submission", "mentor")
    search_fields = ("mentor__email", "submission__learner__email")
    readonly_fields = [f.name for f in Assignment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
