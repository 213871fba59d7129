import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.api.common import visible_or_404
from accounts.models import User
from cohorts import permissions as policy
from cohorts.models import (
    Announcement,
    Cohort,
    EnrollmentUpload,
    Extension,
    JoinLink,
    Membership,
    ScheduleOverride,
    ScheduleShift,
)
from cohorts.selectors import (
    active_membership_roles,
    cohort_announcements,
    cohort_extensions,
    cohort_has_ended,
    cohort_join_links,
    cohort_list,
    cohort_members,
    cohort_pins,
    cohort_schedule,
    cohort_schedule_shifts,
)
from cohorts.services import (
    announcement_send,
    cohort_create,
    cohort_pins_end,
    cohort_set_pinning,
    cohort_update,
    enrollment_apply,
    enrollment_check_size,
    enrollment_preview,
    extension_grant,
    extension_grant_all,
    extension_grant_all_preview,
    extension_revoke,
    join_cohort_via_link,
    join_link_create,
    join_link_disable,
    join_link_enable,
    membership_add,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
    schedule_override_clear,
    schedule_override_set,
    schedule_shift,
    schedule_shift_preview,
)
from curriculum.models import Lab

from .serializers import (
    AnnouncementSerializer,
    BulkExtensionRequestSerializer,
    BulkExtensionResultSerializer,
    CohortSerializer,
    EnrollmentPreviewSerializer,
    EnrollmentResultSerializer,
    EnrollmentUploadSerializer,
    ExtensionGrantSerializer,
    ExtensionSerializer,
    JoinLinkCreateSerializer,
    JoinLinkSerializer,
    JoinLinkUpdateSerializer,
    JoinResultSerializer,
    JoinSerializer,
    MemberAddSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OverrideSerializer,
    OverrideSetSerializer,
    PinningSerializer,
    ScheduleEntrySerializer,
    ScheduleShiftRecordSerializer,
    ScheduleShiftRequestSerializer,
    ScheduleShiftResultSerializer,
)


class CohortFilter(django_filters.FilterSet):
    track = django_filters.CharFilter(field_name="track__slug", help_text="Track slug.")
    status = django_filters.ChoiceFilter(choices=Cohort.Status.choices)

    class Meta:
        model = Cohort
        fields = ["track", "status"]


class MemberFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Membership.Role.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = Membership
        fields = ["role", "active"]


@extend_schema_view(
    list=extend_schema(summary="Cohorts you belong to (all for staff)"),
    retrieve=extend_schema(summary="One cohort"),
    create=extend_schema(summary="Create a cohort (staff)"),
    partial_update=extend_schema(summary="Change a cohort's settings (staff)"),
)
class CohortViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CohortSerializer
    filterset_class = CohortFilter
    ordering_fields = ["start_date", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return cohort_list(visible=policy.cohorts_visible_to(self.request.user))

    def get_object(self):
        cohort = visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, cohort)
        return cohort

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["roles"] = active_membership_roles(self.request.user)
        return context

    def create(self, request, *args, **kwargs):
        if not policy.can_manage_cohort(request.user):
            raise PermissionDenied("Only staff can create cohorts.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cohort = cohort_create(actor=request.user, **data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=cohort.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request, *args, **kwargs):
        cohort = self.get_object()
        if not policy.can_manage_cohort(request.user, cohort):
            raise PermissionDenied("Only staff can change cohorts.")
        serializer = self.get_serializer(cohort, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        cohort_update(actor=request.user, cohort=cohort, **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=cohort.pk)).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)


class CohortScopedMixin:
    """Views under cohorts/{cohort_pk}/: the cohort must be visible to the caller (else 404)."""

    def get_cohort(self) -> Cohort:
        if not hasattr(self, "_cohort"):
            visible = Cohort.objects.filter(policy.cohorts_visible_to(self.request.user))
            self._cohort = visible_or_404(
                visible.select_related("track"), pk=self.kwargs["cohort_pk"]
            )
        return self._cohort

    def cohort_if(self, allowed, message: str) -> Cohort:
        """The URL's cohort when `allowed(user, cohort)`, else 403 with `message`."""
        cohort = self.get_cohort()
        if not allowed(self.request.user, cohort):
            raise PermissionDenied(message)
        return cohort

    def get_queryset(self):
        # Schema generation has no cohort in the URL: the class's empty queryset stands in.
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.cohort_queryset()

    def cohort_queryset(self):
        """The rows under this cohort the caller may list (views that list override it)."""
        return super().get_queryset()


@extend_schema_view(
    list=extend_schema(summary="Members of a cohort (its mentors and staff)"),
    create=extend_schema(
        summary="Add a member by email (staff); a new account gets an invitation",
        request=MemberAddSerializer,
        responses={201: MemberSerializer},
    ),
)
class MemberViewSet(
    CohortScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    ordering_fields = ["joined_at"]
    queryset = Membership.objects.none()  # for the schema; get_queryset is the truth

    def cohort_queryset(self):
        cohort = self.cohort_if(
            policy.can_view_cohort_members,
            "Only the cohort's mentors and staff can see its members.",
        )
        return cohort_members(cohort)

    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(policy.can_manage_cohort, "Only staff can add members.")
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_add(actor=request.user, cohort=cohort, **serializer.validated_data)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="The cohort's schedule: per lab its release and due times, and your extension"
    )
)
class ScheduleViewSet(CohortScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ScheduleEntrySerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        cohort = self.get_cohort()
        learner = self.request.user if policy.is_learner_of(self.request.user, cohort) else None
        return cohort_schedule(cohort=cohort, learner=learner)


def _lab_of(cohort: Cohort, lab_id: int) -> Lab:
    lab = Lab.objects.filter(pk=lab_id, track_id=cohort.track_id).first()
    if lab is None:
        raise ValidationError({"lab": ["No such lab in this cohort's track."]})
    return lab


class MemberDetailViewSet(CohortScopedMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """cohorts/{cohort_pk}/members/{id}/: change a member's role or end/restore it (staff)."""

    serializer_class = MemberSerializer
    queryset = Membership.objects.none()
    http_method_names = ["patch", "options"]

    @extend_schema(
        summary="Change a member's role, or end or restore the membership (staff)",
        request=MemberUpdateSerializer,
        responses=MemberSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        cohort = self.get_cohort()
        if not policy.can_view_cohort_members(request.user, cohort):
            raise NotFound()
        membership = visible_or_404(cohort_members(cohort), pk=self.kwargs["pk"])
        if not policy.can_manage_cohort(request.user, cohort):
            raise PermissionDenied("Only staff can change memberships.")
        serializer = MemberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            if "role" in data:
                membership = membership_change_role(
                    actor=request.user, membership=membership, role=data["role"]
                )
            if data.get("active") is False:
                membership = membership_deactivate(actor=request.user, membership=membership)
            elif data.get("active") is True:
                membership = membership_reactivate(actor=request.user, membership=membership)
        return Response(MemberSerializer(cohort_members(cohort).get(pk=membership.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="Extensions granted in the cohort (its mentors and staff)"),
    create=extend_schema(
        summary="Grant a learner a later due time on one lab (the cohort's mentors, staff)",
        request=ExtensionGrantSerializer,
        responses={201: ExtensionSerializer},
    ),
    destroy=extend_schema(summary="Revoke an extension (the cohort's mentors, staff)"),
)
class ExtensionViewSet(
    CohortScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ExtensionSerializer
    filter_backends: list = []
    queryset = Extension.objects.none()

    def cohort_queryset(self):
        cohort = self.cohort_if(
            policy.can_grant_extension,
            "Only the cohort's mentors and staff can see its extensions.",
        )
        return cohort_extensions(cohort)

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(
            policy.can_grant_extension, "Only the cohort's mentors and staff can grant extensions."
        )
        serializer = ExtensionGrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        learner = User.objects.filter(pk=data["learner"]).first()
        if learner is None:
            raise ValidationError({"learner": ["No such learner in this cohort."]})
        extension = extension_grant(
            actor=request.user,
            cohort=cohort,
            lab=_lab_of(cohort, data["lab"]),
            learner=learner,
            due_at=data["due_at"],
            reason=data["reason"],
        )
        return Response(
            ExtensionSerializer(cohort_extensions(cohort).get(pk=extension.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_destroy(self, instance):
        extension_revoke(actor=self.request.user, extension=instance)


@extend_schema_view(
    list=extend_schema(summary="Schedule overrides of the cohort (its mentors and staff)"),
    create=extend_schema(
        summary="Set one lab's release and/or due time for the whole cohort (staff)",
        request=OverrideSetSerializer,
        responses={201: OverrideSerializer},
    ),
    destroy=extend_schema(summary="Return a lab to its default dates (staff); id is the lab id"),
)
class OverrideViewSet(
    CohortScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OverrideSerializer
    filter_backends: list = []
    queryset = ScheduleOverride.objects.none()

    def cohort_queryset(self):
        cohort = self.cohort_if(
            policy.can_view_full_schedule,
            "Only the cohort's mentors and staff can see its overrides.",
        )
        return ScheduleOverride.objects.filter(cohort=cohort).order_by("lab__week", "pk")

    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(policy.can_manage_cohort, "Only staff can change the schedule.")
        serializer = OverrideSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        override = schedule_override_set(
            actor=request.user,
            cohort=cohort,
            lab=_lab_of(cohort, data["lab"]),
            release_at=data["release_at"],
            due_at=data["due_at"],
        )
        return Response(OverrideSerializer(override).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        cohort = self.cohort_if(policy.can_manage_cohort, "Only staff can change the schedule.")
        lab = Lab.objects.filter(pk=self.kwargs["pk"], track_id=cohort.track_id).first()
        if lab is None or not schedule_override_clear(actor=request.user, cohort=cohort, lab=lab):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Join links of the cohort (staff)"),
    create=extend_schema(
        summary="Create a join link (staff)",
        request=JoinLinkCreateSerializer,
        responses={201: JoinLinkSerializer},
    ),
    partial_update=extend_schema(
        summary="Turn a join link on or off (staff)",
        request=JoinLinkUpdateSerializer,
        responses=JoinLinkSerializer,
    ),
)
class JoinLinkViewSet(
    CohortScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = JoinLinkSerializer
    filter_backends: list = []
    queryset = JoinLink.objects.none()
    http_method_names = ["get", "post", "patch", "options"]

    def cohort_queryset(self):
        cohort = self.cohort_if(policy.can_manage_cohort, "Only staff can manage join links.")
        return cohort_join_links(cohort).order_by("-created_at", "-pk")

    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(policy.can_manage_cohort, "Only staff can manage join links.")
        serializer = JoinLinkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = join_link_create(
            actor=request.user, cohort=cohort, expires_at=serializer.validated_data["expires_at"]
        )
        return Response(
            JoinLinkSerializer(link, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request, *args, **kwargs):
        link = visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        serializer = JoinLinkUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        toggle = join_link_enable if serializer.validated_data["enabled"] else join_link_disable
        link = toggle(actor=request.user, link=link)
        return Response(JoinLinkSerializer(link, context=self.get_serializer_context()).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)


class JoinViewSet(viewsets.GenericViewSet):
    """cohorts/join/: join a cohort as a learner with a join link's token."""

    serializer_class = JoinSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Join a cohort as a learner with a join link's token",
        request=JoinSerializer,
        responses={200: JoinResultSerializer, 201: JoinResultSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = JoinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = join_cohort_via_link(user=request.user, token=serializer.validated_data["token"])
        return Response(
            JoinResultSerializer(result).data,
            status=status.HTTP_201_CREATED if result.joined else status.HTTP_200_OK,
        )


class EnrollmentViewSet(CohortScopedMixin, viewsets.GenericViewSet):
    """cohorts/{cohort_pk}/enrollments/: enroll many people from a CSV (staff)."""

    serializer_class = EnrollmentPreviewSerializer
    filter_backends: list = []
    queryset = EnrollmentUpload.objects.none()  # for the schema's path parameter type
    parser_classes = [MultiPartParser, FormParser]

    def _require_staff(self) -> Cohort:
        return self.cohort_if(policy.can_manage_cohort, "Only staff can enroll members.")

    @extend_schema(
        summary="Preview a CSV of members (email, name, role): what applying it would do",
        request={"multipart/form-data": EnrollmentUploadSerializer},
        responses={201: EnrollmentPreviewSerializer},
    )
    def create(self, request, *args, **kwargs):
        cohort = self._require_staff()
        serializer = EnrollmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        enrollment_check_size(upload.size)
        preview = enrollment_preview(
            actor=request.user, cohort=cohort, file=upload.read(), filename=upload.name or ""
        )
        if preview.errors:
            lines = [
                f"line {line}: {message}" if line else message for line, message in preview.errors
            ]
            raise ValidationError({"file": lines})
        return Response(EnrollmentPreviewSerializer(preview).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Enroll every row of a previewed CSV, or nobody (staff)",
        request=None,
        responses=EnrollmentResultSerializer,
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, cohort_pk=None, pk=None):
        cohort = self._require_staff()
        upload = visible_or_404(EnrollmentUpload.objects.filter(cohort=cohort), pk=pk)
        return Response(enrollment_apply(actor=request.user, upload=upload))


# --- Bulk actions --------------------------------------------------------------------------


class BulkExtensionViewSet(CohortScopedMixin, viewsets.GenericViewSet):
    """cohorts/{cohort_pk}/extensions/bulk/: one lab's extension for every learner."""

    serializer_class = BulkExtensionResultSerializer
    filter_backends: list = []
    queryset = Extension.objects.none()

    @extend_schema(
        summary="Extend one lab for every learner of the cohort (the cohort's mentors, staff)",
        description=(
            "Each learner gets their own extension (and notification). A learner whose "
            "extension on the lab is already at or after `due_at` keeps it (`kept`). "
            "`dry_run: true` previews; pass its `fingerprint` when applying to be refused "
            "(409) if the cohort changed in between. One transaction: all or nothing."
        ),
        request=BulkExtensionRequestSerializer,
        responses={200: BulkExtensionResultSerializer, 201: BulkExtensionResultSerializer},
    )
    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(
            policy.can_grant_extension_to_all,
            "Only the cohort's mentors and staff can grant extensions.",
        )
        serializer = BulkExtensionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        arguments = {
            "actor": request.user,
            "cohort": cohort,
            "lab": _lab_of(cohort, data["lab"]),
            "due_at": data["due_at"],
            "reason": data["reason"],
        }
        if data["dry_run"]:
            result = extension_grant_all_preview(**arguments)
        else:
            result = extension_grant_all(fingerprint=data.get("fingerprint") or None, **arguments)
        body = BulkExtensionResultSerializer(result, context={"applied": not data["dry_run"]}).data
        return Response(
            body, status=status.HTTP_200_OK if data["dry_run"] else status.HTTP_201_CREATED
        )


class ScheduleShiftViewSet(CohortScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """cohorts/{cohort_pk}/schedule/shifts/: move the rest of the schedule; the record."""

    serializer_class = ScheduleShiftRecordSerializer
    filter_backends: list = []
    queryset = ScheduleShift.objects.none()

    def cohort_queryset(self):
        cohort = self.cohort_if(
            policy.can_view_full_schedule,
            "Only the cohort's mentors and staff can see its schedule shifts.",
        )
        return cohort_schedule_shifts(cohort)

    @extend_schema(summary="Past schedule shifts of the cohort (its mentors and staff)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Move every date still ahead by N days (staff; a holiday week)",
        description=(
            "Labs not yet released move their release and due times; released labs not yet "
            "due move their due time; extensions not yet due move too. `days` is not 0 and "
            "at most 60 either way; a finished cohort is refused. `dry_run: true` previews; "
            "pass its `fingerprint` when applying to be refused (409) if anything changed."
        ),
        request=ScheduleShiftRequestSerializer,
        responses={200: ScheduleShiftResultSerializer, 201: ScheduleShiftResultSerializer},
    )
    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(policy.can_shift_schedule, "Only staff can move the schedule.")
        serializer = ScheduleShiftRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        preview = schedule_shift_preview(actor=request.user, cohort=cohort, days=data["days"])
        shift = None
        if not data["dry_run"]:
            shift = schedule_shift(
                actor=request.user,
                cohort=cohort,
                days=data["days"],
                fingerprint=data.get("fingerprint") or None,
                now=preview.now,
            )
        body = {
            "applied": shift is not None,
            "days": preview.days,
            "labs": preview.labs,
            "extensions": preview.extensions,
            "fingerprint": preview.fingerprint,
            "shift": shift,
        }
        return Response(
            ScheduleShiftResultSerializer(body).data,
            status=status.HTTP_201_CREATED if shift is not None else status.HTTP_200_OK,
        )


@extend_schema_view(
    list=extend_schema(summary="The cohort's announcements, newest first (its members, staff)"),
    create=extend_schema(
        summary="Send an announcement to every member of the cohort (its mentors, staff)",
        description=(
            "Each active member is notified (kind `announcement.posted`) in the app and by "
            "e-mail as their preferences say; it shows in GET /api/v1/notifications/."
        ),
        request=AnnouncementSerializer,
        responses={201: AnnouncementSerializer},
    ),
)
class AnnouncementViewSet(
    CohortScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = AnnouncementSerializer
    filter_backends: list = []
    queryset = Announcement.objects.none()

    def cohort_queryset(self):
        return cohort_announcements(self.get_cohort())

    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(
            policy.can_announce, "Only the cohort's mentors and staff can send announcements."
        )
        serializer = AnnouncementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        announcement = announcement_send(
            actor=request.user, cohort=cohort, **serializer.validated_data
        )
        return Response(AnnouncementSerializer(announcement).data, status=status.HTTP_201_CREATED)


def _pinning_payload(cohort: Cohort) -> dict:
    pins = cohort_pins(cohort)
    return {
        "choice": "keep" if pins else "apply",
        "ended": cohort_has_ended(cohort),
        "pins": pins,
    }


@extend_schema_view(
    list=extend_schema(
        summary="The cohort's pinning: labs kept on older revisions until it ends "
        "(staff and the cohort's mentors)",
        responses=PinningSerializer,
    ),
    create=extend_schema(
        summary="Set the cohort's pinning (staff): keep its current revisions until it ends, "
        "or apply the latest now",
        request=PinningSerializer,
        responses=PinningSerializer,
    ),
)
class PinningViewSet(CohortScopedMixin, viewsets.GenericViewSet):
    serializer_class = PinningSerializer
    filter_backends: list = []
    pagination_class = None
    queryset = Cohort.objects.none()

    def list(self, request, *args, **kwargs):
        cohort = self.cohort_if(
            policy.can_view_full_schedule,
            "Only the cohort's mentors and staff can see its pinning.",
        )
        return Response(PinningSerializer(_pinning_payload(cohort)).data)

    def create(self, request, *args, **kwargs):
        cohort = self.cohort_if(policy.can_manage_cohort, "Only staff can change the pinning.")
        serializer = PinningSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("lab"):
            if data["choice"] != "apply":
                raise ValidationError({"lab": ["Only “apply” takes a lab (ends its pin)."]})
            cohort_pins_end(actor=request.user, cohort=cohort, lab=_lab_of(cohort, data["lab"]))
        else:
            cohort_set_pinning(actor=request.user, cohort=cohort, choice=data["choice"])
        cohort.refresh_from_db()
        return Response(PinningSerializer(_pinning_payload(cohort)).data)
