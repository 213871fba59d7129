from django.urls import reverse
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from cohorts.models import Cohort, Extension, JoinLink, Membership, ScheduleOverride
from curriculum.models import Track


class CohortSerializer(serializers.ModelSerializer):
    track = serializers.SlugRelatedField(
        slug_field="slug", queryset=Track.objects.all(), help_text="Track slug."
    )
    learner_count = serializers.IntegerField(read_only=True)
    mentor_count = serializers.IntegerField(read_only=True)
    your_role = serializers.SerializerMethodField(
        help_text="learner, mentor, or null (staff without a membership)."
    )

    class Meta:
        model = Cohort
        fields = [
            "id",
            "name",
            "slug",
            "track",
            "start_date",
            "time_zone",
            "pace_days",
            "status",
            "review_sla_hours",
            "mentor_capacity",
            "description",
            "learner_count",
            "mentor_count",
            "your_role",
            "created_at",
        ]
        read_only_fields = ["id", "learner_count", "mentor_count", "your_role", "created_at"]
        extra_kwargs = {
            "slug": {"required": False, "allow_blank": True, "validators": []},
            "time_zone": {"required": False},
            "pace_days": {"required": False},
            "status": {"required": False},
            "review_sla_hours": {"required": False},
            "mentor_capacity": {"required": False},
            "description": {"required": False},
        }

    def get_your_role(self, cohort) -> str | None:
        roles = self.context.get("roles") or {}
        return roles.get(cohort.pk)


class MemberSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "active", "joined_at"]
        read_only_fields = fields


class MemberAddSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class LabSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    module_title = serializers.CharField()


class ScheduleEntrySerializer(serializers.Serializer):
    lab = LabSummarySerializer()
    week = serializers.IntegerField()
    release_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    extension_due_at = serializers.DateTimeField(
        allow_null=True, help_text="Your extension on this lab, if you have one."
    )
    effective_due_at = serializers.DateTimeField()
    is_released = serializers.BooleanField()


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    active = serializers.BooleanField(required=False)


class ExtensionSerializer(serializers.ModelSerializer):
    learner = UserSummarySerializer(read_only=True)
    granted_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Extension
        fields = ["id", "lab", "learner", "due_at", "reason", "granted_by", "created_at"]
        read_only_fields = fields


class ExtensionGrantSerializer(serializers.Serializer):
    lab = serializers.IntegerField(help_text="Lab id (of the cohort's track).")
    learner = serializers.IntegerField(help_text="User id of a learner in the cohort.")
    due_at = serializers.DateTimeField(help_text="The new due time (after the lab's due time).")
    reason = serializers.CharField(max_length=500)


class OverrideSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScheduleOverride
        fields = ["id", "lab", "release_at", "due_at", "updated_at"]
        read_only_fields = fields


class OverrideSetSerializer(serializers.Serializer):
    lab = serializers.IntegerField(help_text="Lab id (of the cohort's track).")
    release_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class JoinLinkSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The page a new learner opens to join.")

    class Meta:
        model = JoinLink
        fields = ["id", "token", "url", "enabled", "expires_at", "created_at"]
        read_only_fields = fields

    def get_url(self, link) -> str:
        path = reverse("cohorts:join", kwargs={"token": link.token})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class JoinLinkCreateSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class JoinLinkUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class JoinSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64, help_text="The token of a join link.")


class JoinResultSerializer(serializers.Serializer):
    cohort = serializers.IntegerField(source="membership.cohort_id")
    role = serializers.CharField(source="membership.role")
    joined = serializers.BooleanField(help_text="false when you were already a member.")


class EnrollmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with columns email, name, role.")


class EnrollmentRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(allow_blank=True)
    role = serializers.CharField()
    action = serializers.CharField(
        help_text="new_account, new_member, already_member, reactivate or role_change."
    )
    current_role = serializers.CharField(allow_blank=True)


class EnrollmentPreviewSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="upload.pk", help_text="Apply with /{id}/apply/.")
    filename = serializers.CharField(allow_blank=True)
    can_apply = serializers.BooleanField()
    rows = EnrollmentRowSerializer(many=True)


class EnrollmentResultSerializer(serializers.Serializer):
    created_accounts = serializers.IntegerField()
    added = serializers.IntegerField()
    reactivated = serializers.IntegerField()
    role_changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()


# --- Bulk actions --------------------------------------------------------------------------


class BulkExtensionRequestSerializer(serializers.Serializer):
    lab = serializers.IntegerField(help_text="Lab id (of the cohort's track).")
    due_at = serializers.DateTimeField(help_text="The new due time (after the lab's due time).")
    reason = serializers.CharField(max_length=500)
    dry_run = serializers.BooleanField(
        default=False, help_text="true: only say what would change (the preview); change nothing."
    )
    fingerprint = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The preview's fingerprint: the apply is refused (409) if the cohort changed since.",
    )


class KeptExtensionSerializer(serializers.Serializer):
    learner = UserSummarySerializer()
    due_at = serializers.DateTimeField(help_text="Their own, later extension, which stays.")


class BulkExtensionResultSerializer(serializers.Serializer):
    applied = serializers.SerializerMethodField(help_text="false for a dry run.")
    lab = serializers.IntegerField(source="lab.pk")
    due_at = serializers.DateTimeField()
    reason = serializers.CharField()
    granted = UserSummarySerializer(
        source="grant", many=True, help_text="Learners who get (or got) the extension."
    )
    replaced = serializers.SerializerMethodField(
        help_text="How many of them had an earlier extension on the lab, now replaced."
    )
    kept = KeptExtensionSerializer(
        source="keep",
        many=True,
        help_text="Learners who already had an extension at or after due_at and keep theirs.",
    )
    fingerprint = serializers.CharField()

    def get_applied(self, preview) -> bool:
        return bool(self.context.get("applied"))

    def get_replaced(self, preview) -> int:
        return len(preview.replaces)


class ScheduleShiftRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=-60,
        max_value=60,
        help_text="Days to move every date still ahead: not 0, at most 60 either way.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="true: only say what would move (the preview); change nothing."
    )
    fingerprint = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The preview's fingerprint: the apply is refused (409) if the schedule changed since.",
    )


class LabMoveSerializer(serializers.Serializer):
    lab = LabSummarySerializer()
    week = serializers.IntegerField()
    release_from = serializers.DateTimeField()
    release_to = serializers.DateTimeField(
        allow_null=True, help_text="null: already released, the release time stays."
    )
    due_from = serializers.DateTimeField()
    due_to = serializers.DateTimeField()


class ExtensionMoveSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="extension.pk")
    lab = serializers.IntegerField(source="extension.lab_id")
    learner = UserSummarySerializer(source="extension.learner")
    due_from = serializers.DateTimeField()
    due_to = serializers.DateTimeField()


class ScheduleShiftRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    days = serializers.IntegerField()
    shifted_by = UserSummarySerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    labs_moved = serializers.IntegerField()
    extensions_moved = serializers.IntegerField()


class ScheduleShiftResultSerializer(serializers.Serializer):
    applied = serializers.BooleanField(help_text="false for a dry run.")
    days = serializers.IntegerField()
    labs = LabMoveSerializer(many=True)
    extensions = ExtensionMoveSerializer(many=True)
    fingerprint = serializers.CharField()
    shift = ScheduleShiftRecordSerializer(
        allow_null=True, help_text="The record of the shift (null for a dry run)."
    )


class AuthorSerializer(serializers.Serializer):
    """An announcement's author as every member sees them: no e-mail (the member list,
    with e-mails, is for mentors and staff)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class AnnouncementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(max_length=200, help_text="One line, at most 200 characters.")
    body = serializers.CharField(
        max_length=20_000,
        help_text="Markdown; shown sanitized (core.markdown) on pages and e-mails.",
    )
    body_html = serializers.SerializerMethodField(help_text="The body rendered and sanitized.")
    author = AuthorSerializer(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_body_html(self, announcement) -> str:
        from core.markdown import render_markdown

        return str(render_markdown(announcement.body))


class PinSerializer(serializers.Serializer):
    """A lab the cohort is kept on an older revision of, until it ends."""

    lab = serializers.IntegerField(source="lab.pk")
    week = serializers.IntegerField(source="lab.week")
    title = serializers.CharField(source="lab.title")
    revision = serializers.IntegerField(
        source="held", help_text="The revision number the cohort reads."
    )
    latest_revision = serializers.IntegerField(
        source="latest", allow_null=True, help_text="The lab's current revision number."
    )
    source_import = serializers.IntegerField(
        source="pin.source_import_id",
        allow_null=True,
        help_text="The import whose change it holds back (null: pinned on the cohort page).",
    )
    created_at = serializers.DateTimeField(source="pin.created_at")


@extend_schema_serializer(many=False)  # GET on the collection answers one object, not a list
class PinningSerializer(serializers.Serializer):
    """The cohort's pinning: `keep` while any lab is held on an older revision."""

    choice = serializers.ChoiceField(
        choices=["keep", "apply"],
        help_text="keep: stay on the revisions current now, until the cohort ends; apply: end "
        "the pins (the latest text now). In a response: keep while any pin is in force.",
    )
    lab = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        write_only=True,
        help_text="With apply: end only this lab's pin.",
    )
    ended = serializers.BooleanField(
        read_only=True, help_text="The cohort has ended (finished): it follows the latest."
    )
    pins = PinSerializer(many=True, read_only=True)
