from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from notifications.models import Notification, Preference


class NotificationSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "actor", "text", "link", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_is_read(self, notification) -> bool:
        return notification.read_at is not None


class ReadAllResultSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField()


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(source="info.label")
    help = serializers.CharField(source="info.help")
    channel = serializers.CharField(help_text="in_app, email, digest or off.")
    default = serializers.CharField(source="info.default")
    is_default = serializers.BooleanField()
    email_only = serializers.BooleanField(source="info.email_only")


class PreferencesUpdateSerializer(serializers.Serializer):
    channels = serializers.DictField(
        child=serializers.ChoiceField(choices=Preference.Channel.choices),
        help_text='{kind: channel}, e.g. {"comment.added": "digest"}.',
    )
