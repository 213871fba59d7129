"""Cohort exports in the API: the same files as the pages' download links
(`dashboards.exports`), for staff and the cohort's mentors.

`?format=csv|xlsx` chooses the file. DRF reads a `format` query parameter itself
(URL_FORMAT_OVERRIDE) to pick a renderer and answers 404 for one it has none of; these
views negotiate without it (`ExportNegotiation`), so the parameter is theirs, and errors
are still rendered as JSON.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation

from accounts.api.common import visible_or_404
from cohorts.models import Cohort
from cohorts.permissions import can_view_cohort_members, cohorts_visible_to
from dashboards import exports
from dashboards.views import _user_zone


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class ExportNegotiation(DefaultContentNegotiation):
    """Content negotiation that leaves `?format=` to the view; a client asking only for
    text/csv or a spreadsheet still gets the file (errors then come as JSON)."""

    settings = _NoFormatOverride()

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    enum=list(exports.FORMATS),
    default="csv",
    description="csv: UTF-8 with a BOM, a header row, one row per learner. xlsx: one sheet.",
)
FILE_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file."),
    (200, exports.CONTENT_TYPES["xlsx"]): OpenApiResponse(
        OpenApiTypes.BINARY, description="The XLSX workbook."
    ),
}  # 400 (unknown format), 403 (a learner of the cohort), 404: the shared error body


class CohortExportViewSet(viewsets.GenericViewSet):
    content_negotiation_class = ExportNegotiation
    filter_backends: list = []
    pagination_class = None
    queryset = Cohort.objects.none()

    def _export(self, request, cohort_pk, kind: str) -> HttpResponse:
        visible = Cohort.objects.filter(cohorts_visible_to(request.user))
        cohort = visible_or_404(visible, pk=cohort_pk)
        if not can_view_cohort_members(request.user, cohort):
            raise PermissionDenied("Only the cohort's mentors and staff can export it.")
        fmt = request.query_params.get("format", "csv")
        if fmt not in exports.FORMATS:
            raise ValidationError({"format": ['Use "csv" or "xlsx".']})
        return exports.export_response(
            cohort=cohort, kind=kind, fmt=fmt, zone=_user_zone(request.user)
        )

    @extend_schema(
        summary="Progress matrix as CSV or XLSX (the cohort's mentors and staff)",
        parameters=[FORMAT_PARAMETER],
        responses=FILE_RESPONSES,
    )
    @action(detail=False, methods=["get"])
    def progress(self, request, cohort_pk=None):
        return self._export(request, cohort_pk, "progress")

    @extend_schema(
        summary="Marks per learner, lab and deliverable as CSV or XLSX",
        parameters=[FORMAT_PARAMETER],
        responses=FILE_RESPONSES,
    )
    @action(detail=False, methods=["get"])
    def marks(self, request, cohort_pk=None):
        return self._export(request, cohort_pk, "marks")
