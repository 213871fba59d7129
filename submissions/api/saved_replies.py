"""``/api/v1/saved-replies/``: the saved replies of ``submissions.saved_replies`` over HTTP,
through the same services and visibility rule as the pages.

A reply the caller cannot see is a 404 (``saved_replies_visible_to``); a visible reply the
caller may not change is a 403; learners and anyone who mentors no cohort get a 403 on
every endpoint. Inserting a reply counts a use: ``POST /saved-replies/{id}/use/``.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from accounts.api.common import visible_or_404
from cohorts.models import Cohort
from cohorts.permissions import cohorts_visible_to
from core.converters import parse_id
from curriculum.models import Lab
from submissions import saved_replies
from submissions.models import SavedReply, Submission
from submissions.permissions import can_use_saved_replies, saved_reply_editor

from .views import visible_submissions

# --- serializers ---------------------------------------------------------------------------


class SavedReplyAuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class SavedReplySerializer(serializers.ModelSerializer):
    lab = serializers.IntegerField(source="lab_id", read_only=True, help_text="The lab's id.")
    deliverable = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Index (from 0) of the lab's deliverable it is about; null for the whole lab.",
    )
    cohort = serializers.IntegerField(
        source="cohort_id",
        read_only=True,
        allow_null=True,
        help_text="The cohort whose mentors share it; null when shared with every cohort.",
    )
    shared_with_all = serializers.BooleanField(
        read_only=True, help_text="Shared by staff with the mentors of every cohort."
    )
    author = SavedReplyAuthorSerializer(read_only=True, allow_null=True)
    usage_count = serializers.IntegerField(
        read_only=True, help_text="How many times it was inserted into a review."
    )
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)
    can_edit = serializers.SerializerMethodField(
        help_text="Whether you may change or delete it (its author, or staff)."
    )

    class Meta:
        model = SavedReply
        fields = [
            "id",
            "title",
            "body",
            "lab",
            "deliverable",
            "cohort",
            "shared_with_all",
            "author",
            "usage_count",
            "last_used_at",
            "can_edit",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_can_edit(self, reply) -> bool:
        editor = self.context.get("editor")
        return bool(editor and editor(reply))


class SavedReplyCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=SavedReply.TITLE_MAX_LENGTH)
    body = serializers.CharField(max_length=SavedReply.BODY_MAX_LENGTH)
    lab = serializers.IntegerField(min_value=1, help_text="The lab's id.")
    deliverable = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1000,
        help_text="Index (from 0) of one of the lab's deliverables; null or absent for the "
        "whole lab.",
    )
    cohort = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="A cohort you mentor (staff: any), whose mentors share the reply. "
        "Leave out with shared_with_all.",
    )
    shared_with_all = serializers.BooleanField(
        required=False, default=False, help_text="Staff only: share with every cohort."
    )

    def __init__(self, *args, cohorts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cohorts = cohorts

    def validate_lab(self, value):
        lab = Lab.objects.select_related("current_revision").filter(pk=value).first()
        if lab is None:
            raise serializers.ValidationError("No such lab.")
        return lab

    def validate_cohort(self, value):
        if value is None:
            return None
        cohort = self.cohorts.filter(pk=value).first() if self.cohorts is not None else None
        if cohort is None:
            raise serializers.ValidationError("No such cohort.")
        return cohort


class SavedReplyUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=SavedReply.TITLE_MAX_LENGTH, required=False)
    body = serializers.CharField(max_length=SavedReply.BODY_MAX_LENGTH, required=False)
    deliverable = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1000,
        help_text="Index (from 0) of one of the lab's deliverables; null for the whole lab.",
    )


class SavedReplyUseSerializer(serializers.Serializer):
    submission = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The submission whose review it was inserted into (optional): it must be "
        "one you review, of the reply's lab and cohort.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_submission(self, value):
        if value is None:
            return None
        submission = visible_submissions(self.user).filter(pk=value).first()
        if submission is None:
            raise serializers.ValidationError("No such submission.")
        return submission


# --- the viewset -----------------------------------------------------------------------------


class UsesSavedReplies(BasePermission):
    message = "Saved replies are for mentors and staff."

    def has_permission(self, request, view):
        return can_use_saved_replies(request.user)


LAB_PARAMETER = OpenApiParameter(
    "lab", int, description="Only the replies for this lab (its id).", required=False
)


@extend_schema_view(
    list=extend_schema(
        summary="Saved replies you may use: your cohorts' and staff's shared ones (mentors, staff)",
        parameters=[LAB_PARAMETER],
    ),
    retrieve=extend_schema(summary="One saved reply"),
    create=extend_schema(
        summary="Save a reply for a lab, shared with a cohort's mentors (staff: or with all)",
        request=SavedReplyCreateSerializer,
        responses={201: SavedReplySerializer},
    ),
    partial_update=extend_schema(
        summary="Change a reply's title, text or deliverable (its author, or staff)",
        request=SavedReplyUpdateSerializer,
        responses=SavedReplySerializer,
    ),
    update=extend_schema(
        summary="Change a reply's title, text or deliverable (its author, or staff)",
        request=SavedReplyUpdateSerializer,
        responses=SavedReplySerializer,
    ),
    destroy=extend_schema(summary="Delete a reply (its author, or staff)"),
)
class SavedReplyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SavedReplySerializer
    permission_classes = [UsesSavedReplies]
    filter_backends: list = []
    queryset = SavedReply.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SavedReply.objects.none()
        replies = saved_replies.saved_replies_for(self.request.user).order_by(
            "lab_id", "-usage_count", "title", "pk"
        )
        raw = self.request.query_params.get("lab")
        if self.action == "list" and raw is not None:
            lab_id = parse_id(raw)
            if lab_id is None:
                raise ValidationError({"lab": ["Use a lab's id (a whole number)."]})
            replies = replies.filter(lab_id=lab_id)
        return replies

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["editor"] = saved_reply_editor(self.request.user)
        return context

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _fresh(self, reply: SavedReply) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=reply.pk)).data

    def create(self, request, *args, **kwargs):
        serializer = SavedReplyCreateSerializer(
            data=request.data, cohorts=Cohort.objects.filter(cohorts_visible_to(request.user))
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reply = saved_replies.saved_reply_create(
            actor=request.user,
            lab=data["lab"],
            title=data["title"],
            body=data["body"],
            cohort=data.get("cohort"),
            shared_with_all=data.get("shared_with_all", False),
            deliverable=data.get("deliverable"),
        )
        return Response(self._fresh(reply), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        reply = self.get_object()
        serializer = SavedReplyUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reply = saved_replies.saved_reply_update(
            actor=request.user,
            reply=reply,
            title=data.get("title", reply.title),
            body=data.get("body", reply.body),
            deliverable=data.get("deliverable", reply.deliverable),
        )
        return Response(self._fresh(reply))

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        saved_replies.saved_reply_delete(actor=request.user, reply=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Count one insert of the reply into a review (mentors, staff)",
        request=SavedReplyUseSerializer,
        responses=SavedReplySerializer,
    )
    @action(detail=True, methods=["post"])
    def use(self, request, pk=None):
        reply = self.get_object()
        serializer = SavedReplyUseSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        submission: Submission | None = serializer.validated_data.get("submission")
        reply = saved_replies.saved_reply_use(
            actor=request.user, reply=reply, submission=submission
        )
        return Response(self._fresh(reply))
