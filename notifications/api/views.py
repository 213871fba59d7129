import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.common import visible_or_404
from notifications.models import Notification
from notifications.selectors import notifications_for, preferences_for
from notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
    preferences_update,
)

from .serializers import (
    NotificationSerializer,
    PreferenceSerializer,
    PreferencesUpdateSerializer,
    ReadAllResultSerializer,
)


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: only unread."
    )
    kind = django_filters.CharFilter()

    class Meta:
        model = Notification
        fields = ["unread", "kind"]


@extend_schema_view(
    list=extend_schema(summary="Your notifications, unread first"),
    retrieve=extend_schema(summary="One of your notifications"),
)
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return notifications_for(self.request.user)

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        summary="Mark one notification read", request=None, responses=NotificationSerializer
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = notification_mark_read(actor=request.user, notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        summary="Mark all your notifications read", request=None, responses=ReadAllResultSerializer
    )
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request):
        return Response({"marked_read": notifications_mark_all_read(actor=request.user)})


class PreferenceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """notifications/preferences/: how you are told about each kind of event."""

    serializer_class = PreferenceSerializer
    filter_backends: list = []
    pagination_class = None  # one row per kind: a short, fixed list

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        return preferences_for(self.request.user)

    @extend_schema(summary="Your channel for each kind of notification")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Change channels (kinds left out keep theirs)",
        request=PreferencesUpdateSerializer,
        responses=PreferenceSerializer(many=True),
    )
    def patch(self, request, *args, **kwargs):
        serializer = PreferencesUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences_update(actor=request.user, channels=serializer.validated_data["channels"])
        return Response(PreferenceSerializer(preferences_for(request.user), many=True).data)
