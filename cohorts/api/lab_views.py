"""Tracks and labs as the caller may see them.

They live in the cohorts layer (not curriculum/api) because who may read a lab, and when
its content is released, depends on cohort memberships and schedules, and curriculum must
not import cohorts. The rule is `cohorts.permissions.LabAccess`, the same the pages use.
"""

import django_filters
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from accounts.api.common import SmallNumberFilter, visible_or_404
from cohorts.permissions import LabAccess, labs_visible_to, tracks_visible_to
from curriculum.api.serializers import LabSerializer, TrackSerializer
from curriculum.models import Lab, Track


@extend_schema_view(
    list=extend_schema(summary="Tracks you study or mentor in (all for staff)"),
    retrieve=extend_schema(summary="One track by slug"),
)
class TrackViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TrackSerializer
    lookup_field = "slug"
    lookup_value_converter = "slug"
    ordering_fields = ["position", "name"]
    filterset_fields = ["active"]

    queryset = Track.objects.none()  # for the schema; get_queryset is the truth

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Track.objects.none()
        visible = Track.objects.filter(tracks_visible_to(self.request.user)).values("pk")
        return (
            Track.objects.filter(pk__in=visible)
            .annotate(lab_count=Count("labs", filter=Q(labs__active=True)))
            .order_by("position", "name")
        )

    def get_object(self):
        return visible_or_404(self.get_queryset(), slug=self.kwargs["slug"])


class LabFilter(django_filters.FilterSet):
    track = django_filters.CharFilter(field_name="track__slug", help_text="Track slug.")
    week = SmallNumberFilter(field_name="week")
    active = django_filters.BooleanFilter(field_name="active")

    class Meta:
        model = Lab
        fields = ["track", "week", "active"]


@extend_schema_view(
    list=extend_schema(summary="Labs of your tracks (filter by track slug, week, active)"),
    retrieve=extend_schema(summary="One lab"),
)
class LabViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = LabSerializer
    filterset_class = LabFilter
    ordering_fields = ["week", "title", "id"]

    queryset = Lab.objects.none()  # for the schema; get_queryset is the truth

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lab.objects.none()
        return (
            Lab.objects.filter(labs_visible_to(self.request.user))
            .select_related("track", "current_revision")
            .order_by("track__position", "track_id", "week", "position", "pk")
        )

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "content_visible": LabAccess(self.request.user),
        }
