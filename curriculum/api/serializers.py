from drf_spectacular.utils import extend_schema_field
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
    revision = serializers.SerializerMethodField(
        help_text="The revision number whose text you read: your cohort's, when it is kept on "
        "an older revision until it ends; else the lab's current one."
    )
    latest_revision = serializers.IntegerField(
        source="current_revision.number",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The lab's current revision number (differs from `revision` while your "
        "cohort is kept on an older one).",
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
            "latest_revision",
            "active",
            "content_available",
        ]
        read_only_fields = fields

    def _available(self, lab) -> bool:
        # The view passes the rule (cohorts.permissions.LabAccess); without it, titles only.
        content_visible = self.context.get("content_visible")
        return content_visible is not None and content_visible(lab)

    def _text(self, lab):
        """The revision (or the lab) whose text this reader is shown: a cohort kept on an
        older revision reads that one (`curriculum.permissions.lab_revision_shown`)."""
        from curriculum.permissions import lab_revision_shown

        pinned = lab_revision_shown(self.context.get("content_visible"), lab)
        return pinned or lab

    def get_content_available(self, lab) -> bool:
        return self._available(lab)

    def get_revision(self, lab) -> int | None:
        text = self._text(lab) if self._available(lab) else lab
        if text is lab:
            return lab.current_revision.number if lab.current_revision_id else None
        return text.number

    def get_body(self, lab) -> str | None:
        return self._text(lab).body if self._available(lab) else None

    def get_deliverables(self, lab) -> list[str] | None:
        return self._text(lab).deliverables if self._available(lab) else None


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
    keep_cohorts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        default=list,
        max_length=10_000,
        help_text="Ids of cohorts (from the preview's impact) that stay on their current "
        "revisions until they end; every other cohort gets the new text now. A cohort that "
        "runs no changed lab refuses the whole apply (400, nothing imported).",
    )


class ImpactCohortSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField(help_text="draft or active (finished cohorts are left out).")
    url = serializers.CharField(help_text="The cohort's schedule page.")
    pinned = serializers.BooleanField(
        help_text="Already kept on an older revision of this lab (stays so whatever you choose)."
    )
    pinned_revision = serializers.IntegerField(
        allow_null=True, help_text="The revision number it is kept on, if pinned."
    )


class ImpactLearnerSerializer(serializers.Serializer):
    submission_id = serializers.IntegerField()
    name = serializers.CharField()
    cohort = serializers.CharField()
    state = serializers.CharField(help_text="draft, submitted, in_review or changes_requested.")
    state_label = serializers.CharField()
    url = serializers.CharField(help_text="The submission's review page.")


class ImpactLearnersSerializer(serializers.Serializer):
    drafts = serializers.IntegerField(help_text="Learners with a draft on the lab.")
    open = serializers.IntegerField(
        help_text="Learners with work handed in and not approved (submitted, in review, "
        "changes requested)."
    )
    listed = ImpactLearnerSerializer(many=True, help_text="At most 10, most recently active.")
    more = serializers.IntegerField(help_text="How many are not listed.")


class ImpactReviewSerializer(serializers.Serializer):
    submission_id = serializers.IntegerField()
    learner = serializers.CharField()
    cohort = serializers.CharField()
    mentor = serializers.CharField(allow_null=True, help_text="Who claimed the review.")
    claimed_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()


class ImpactReviewsSerializer(serializers.Serializer):
    claimed = serializers.IntegerField(help_text="Reviews in progress (claimed by a mentor).")
    listed = ImpactReviewSerializer(many=True, help_text="At most 10.")
    more = serializers.IntegerField()


class ImpactLabSerializer(serializers.Serializer):
    lab_id = serializers.IntegerField()
    track = serializers.CharField()
    week = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField(help_text="changed, renamed or moved (with new text).")
    cohorts = ImpactCohortSerializer(many=True, help_text="Cohorts running it, not finished.")
    learners = ImpactLearnersSerializer()
    reviews = ImpactReviewsSerializer()


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
    impact = serializers.SerializerMethodField(
        help_text="Previewed imports, in one import's payload: per lab whose text changes, the "
        "cohorts running it, the learners with a draft or open work on it and the claimed "
        "reviews, as of now. Null in lists and once applied or discarded."
    )
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
            "impact",
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

    @extend_schema_field(ImpactLabSerializer(many=True, allow_null=True))
    def get_impact(self, record):
        from curriculum.impact import import_impact

        if not self.context.get("with_impact"):
            return None
        if record.status != CurriculumImport.Status.PREVIEWED:
            return None
        return import_impact(record.diff or {})

    def get_suspects(self, record) -> dict:
        """Tokens that still look glued and were left as written: `{"count", "labs"}`."""
        return (record.diff or {}).get("suspects") or {"count": 0, "labs": []}
