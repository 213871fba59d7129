from rest_framework import serializers

from curriculum.models import CurriculumImport, Lab, Track
from curriculum.parsers import FORMATS


class TrackSerializer(serializers.ModelSerializer):
    lab_count = serializers.IntegerField(read_only=True, help_text="Active labs in the track.")

    class Meta:
        model = Track
        fields = ["id", "slug", "name", "position", "active", "lab_count"]
        read_only_fields = fields


class LabSerializer(serializers.ModelSerializer):
    track = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    revision = serializers.IntegerField(
        source="current_revision.number", read_only=True, allow_null=True, default=None
    )
    body = serializers.SerializerMethodField(
        help_text="Markdown; null while the lab is not yet released to you."
    )
    deliverables = serializers.SerializerMethodField()
    content_available = serializers.SerializerMethodField()

    class Meta:
        model = Lab
        fields = [
            "id",
            "slug",
            "track",
            "week",
            "module_title",
            "title",
            "body",
            "deliverables",
            "revision",
            "active",
            "content_available",
        ]
        read_only_fields = fields

    def _available(self, lab) -> bool:
        # The view passes the rule (cohorts.permissions.LabAccess); without it, titles only.
        content_visible = self.context.get("content_visible")
        return content_visible is not None and content_visible(lab)

    def get_content_available(self, lab) -> bool:
        return self._available(lab)

    def get_body(self, lab) -> str | None:
        return lab.body if self._available(lab) else None

    def get_deliverables(self, lab) -> list[str] | None:
        return lab.deliverables if self._available(lab) else None


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The curriculum file (any supported format).")
    format = serializers.ChoiceField(
        choices=["auto", *FORMATS], default="auto", help_text="auto, or the format to parse as."
    )
    dry_run = serializers.BooleanField(
        default=True,
        help_text="true: preview only (apply later with /apply/); false: preview and apply now.",
    )


class ImportApplySerializer(serializers.Serializer):
    take_file = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text="Ids of labs edited in the app (the preview's labs.conflicts) that take the "
        "file's text; every other conflict keeps its app edit.",
    )


class ImportSerializer(serializers.ModelSerializer):
    """An import and its diff. `applied`, `totals`, `tracks`, `labs`, `resolution`, `repairs`
    and `suspects` are exactly the object `manage.py import_curriculum --json` prints."""

    applied = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    tracks = serializers.SerializerMethodField()
    labs = serializers.SerializerMethodField()
    resolution = serializers.SerializerMethodField()
    repairs = serializers.SerializerMethodField()
    suspects = serializers.SerializerMethodField()
    format = serializers.CharField(source="detected_format", read_only=True)
    # Null for imports made by `manage.py import_curriculum` (no user) or whose user is gone.
    created_by = serializers.EmailField(
        source="created_by.email", read_only=True, allow_null=True, default=None
    )
    applied_by = serializers.EmailField(
        source="applied_by.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = CurriculumImport
        fields = [
            "id",
            "filename",
            "status",
            "format",
            "created_at",
            "created_by",
            "applied_at",
            "applied_by",
            "errors",
            "applied",
            "totals",
            "tracks",
            "labs",
            "resolution",
            "repairs",
            "suspects",
        ]
        read_only_fields = fields

    def get_applied(self, record) -> bool:
        return record.status == CurriculumImport.Status.APPLIED

    def get_totals(self, record) -> dict:
        return (record.diff or {}).get("totals") or {}

    def get_tracks(self, record) -> dict:
        return (record.diff or {}).get("tracks") or {}

    def get_labs(self, record) -> dict:
        return (record.diff or {}).get("labs") or {}

    def get_resolution(self, record) -> list:
        """Per lab edited in the app: the choice made at apply ("edit" kept, or "file")."""
        return (record.diff or {}).get("resolution") or []

    def get_repairs(self, record) -> dict:
        """Glued inline code the import split and marked: `{"count", "labs": [{..., "pairs":
        [[before, after], ...]}]}` (labs-index files only; curriculum/repair/)."""
        return (record.diff or {}).get("repairs") or {"count": 0, "labs": []}

    def get_suspects(self, record) -> dict:
        """Tokens that still look glued and were left as written: `{"count", "labs"}`."""
        return (record.diff or {}).get("suspects") or {"count": 0, "labs": []}
