from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from cohorts.models import Cohort, Membership
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
