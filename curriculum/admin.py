from django.contrib import admin

from .models import CurriculumImport, Lab, LabRevision, Track


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "active"]
    list_filter = ["active"]
    search_fields = ["name", "slug"]
    ordering = ["position"]
    # Paths come and go through imports (which archive their labs too); here only the
    # display name and order may be corrected.
    readonly_fields = ["slug", "active", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LabRevisionInline(admin.TabularInline):
    model = LabRevision
    fields = ["number", "title", "origin", "edited_by", "note", "source_import", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edited_by", "source_import")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ["title", "track", "week", "module_title", "active"]
    list_filter = ["active", "track"]
    search_fields = ["title", "module_title", "slug"]
    list_select_related = ["track"]
    raw_id_fields = ["current_revision"]
    inlines = [LabRevisionInline]
    ordering = ["track__position", "week"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Lab content changes only through an import or the staff edit page, which make a new
        # revision and tell learners; an edit here would change what submitted work answered.
        return False

    def has_delete_permission(self, request, obj=None):
        # Labs are archived (active = False), never deleted: submissions point at them.
        return False


@admin.register(LabRevision)
class LabRevisionAdmin(admin.ModelAdmin):
    """Revisions are immutable snapshots: read-only here."""

    list_display = [
        "lab",
        "number",
        "title",
        "origin",
        "edited_by",
        "note",
        "created_at",
        "source_import",
    ]
    list_filter = ["origin"]
    list_select_related = ["lab__track", "source_import", "edited_by"]
    search_fields = ["title", "lab__title", "note"]
    readonly_fields = [f.name for f in LabRevision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CurriculumImport)
class CurriculumImportAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "filename",
        "status",
        "detected_format",
        "created_by",
        "created_at",
        "summary",
    ]
    list_filter = ["status", "detected_format"]
    list_select_related = ["created_by"]
    search_fields = ["filename", "summary"]
    exclude = ["source"]
    readonly_fields = [
        "created_by", "created_at", "filename", "source_hash", "requested_format", "detected_format",
        "status", "progress", "summary", "diff", "errors", "applied_at", "applied_by",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # imports go through the upload page or the command, which preview first
