from rest_framework import serializers

from curriculum.models import Lab, Track


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
        content_visible = self.context.get("content_visible")
        return content_visible is None or content_visible(lab)

    def get_content_available(self, lab) -> bool:
        return self._available(lab)

    def get_body(self, lab) -> str | None:
        return lab.body if self._available(lab) else None

    def get_deliverables(self, lab) -> list[str] | None:
        return lab.deliverables if self._available(lab) else None
