from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from accounts.api.common import visible_or_404
from curriculum.models import CurriculumImport
from curriculum.parsers import CurriculumParseError
from curriculum.permissions import can_manage_curriculum
from curriculum.services import import_apply, import_discard, import_preview

from .serializers import ImportApplySerializer, ImportCreateSerializer, ImportSerializer


class CanManageCurriculum(BasePermission):
    message = "Only staff can import curricula."

    def has_permission(self, request, view):
        return can_manage_curriculum(request.user)


@extend_schema_view(
    list=extend_schema(summary="Curriculum imports, newest first (staff)"),
    retrieve=extend_schema(summary="One import and its diff (staff)"),
    create=extend_schema(
        summary="Upload a curriculum: preview its diff (dry_run, default) or apply it at once",
        request={"multipart/form-data": ImportCreateSerializer},
        responses={201: ImportSerializer},
    ),
)
class ImportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ImportSerializer
    permission_classes = [CanManageCurriculum]
    filterset_fields = ["status"]
    ordering_fields = ["created_at"]
    queryset = CurriculumImport.objects.none()
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        # `source` can be megabytes: lists never load it.
        return (
            CurriculumImport.objects.defer("source")
            .select_related("created_by", "applied_by")
            .order_by("-created_at", "-pk")
        )

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_serializer_context(self):
        # One import's payload carries its impact (a few queries); lists do not.
        return {**super().get_serializer_context(), "with_impact": self.action != "list"}

    def create(self, request, *args, **kwargs):
        serializer = ImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        limit = settings.CURRICULUM_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                {"file": [f"The file is larger than {limit // (1024 * 1024)} MB."]}
            )
        source = upload.read()
        try:
            with transaction.atomic():
                record = import_preview(
                    actor=request.user,
                    source=source,
                    filename=upload.name or "",
                    requested_format=serializer.validated_data["format"],
                )
                if not serializer.validated_data["dry_run"]:
                    record = import_apply(actor=request.user, curriculum_import=record)
        except CurriculumParseError as exc:
            raise ValidationError({"file": exc.lines(upload.name or "")}) from None
        return Response(self._fresh(record), status=status.HTTP_201_CREATED)

    def _fresh(self, record) -> dict:
        return ImportSerializer(
            self.get_queryset().get(pk=record.pk), context={"with_impact": True}
        ).data

    @extend_schema(
        summary="Apply a previewed import (staff); labs edited in the app keep their edit "
        "unless listed in take_file; cohorts in keep_cohorts stay on their current revisions",
        request={"multipart/form-data": ImportApplySerializer},
        responses=ImportSerializer,
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser, FormParser])
    def apply(self, request, pk=None):
        serializer = ImportApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = import_apply(
            actor=request.user,
            curriculum_import=self.get_object(),
            take_file=serializer.validated_data["take_file"],
            keep_cohorts=serializer.validated_data["keep_cohorts"],
        )
        return Response(self._fresh(record))

    @extend_schema(
        summary="Discard a previewed import (staff)", request=None, responses=ImportSerializer
    )
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        record = import_discard(actor=request.user, curriculum_import=self.get_object())
        return Response(self._fresh(record))
