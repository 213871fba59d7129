from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiToken


class TokenObtainSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=1024)
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="A label to recognise the token by.",
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=366,
        help_text="Days until the token stops working; omit or null for no expiry.",
    )


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The secret; shown only this once.")
    id = serializers.IntegerField()
    prefix = serializers.CharField()
    name = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(source="is_usable", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = fields


class UserSummarySerializer(serializers.Serializer):
    """How one person appears inside other resources (no private fields)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)
    email = serializers.EmailField(read_only=True)


class MeSerializer(serializers.Serializer):
    """You. `name` and `time_zone` can be changed with PATCH; the rest is read-only."""

    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(
        max_length=150,
        allow_blank=True,
        required=False,
        help_text="Display name: one line of text; empty shows the part of the e-mail before @.",
    )
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        help_text="IANA time zone name (e.g. `Europe/Paris`, matched without regard to case). "
        "Dates on pages, in e-mails and in the calendar feed are shown in it.",
    )
    is_staff = serializers.BooleanField(read_only=True)
    away = serializers.SerializerMethodField(
        help_text="True while you are in away mode (mentors: no new reviews). Read and set it "
        "with `GET`/`PUT`/`DELETE /api/v1/me/away/`."
    )

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_away(self, obj) -> bool:
        return obj.is_away()
