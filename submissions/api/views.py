"""Submissions over HTTP: the same services and permission policy as the pages.

Every lookup goes through ``submissions_visible_to`` (so another learner's work is a 404);
what a visible caller may do is decided by the services, which refuse with
``ApplicationError`` (403 forbidden, 409 wrong state or someone else got there first).
"""

import datetime as dt

import django_filters
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import IdFilter, visible_or_404
from accounts.models import User
from cohorts.models import Cohort
from cohorts.permissions import cohorts_visible_to, is_mentor_of
from submissions import feedback, services
from submissions.models import Attachment, Comment, Iteration, Review, ReviewPoint, Submission
from submissions.permissions import (
    can_acknowledge_review,
    can_comment_submission,
    can_edit_submission,
    can_reassign_submission,
    can_review_submission,
    can_set_away,
    submissions_visible_to,
)
from submissions.review_points import points_of
from submissions.selectors import cohort_progress_matrix, review_for_user
from submissions.wait import waits_for

from .serializers import (
    AttachmentSerializer,
    AttachmentUploadSerializer,
    AwaySerializer,
    AwaySetResultSerializer,
    AwayWriteSerializer,
    CommentSerializer,
    DraftCreateSerializer,
    DraftFieldsSerializer,
    IterationSerializer,
    ProgressRowSerializer,
    ReassignSerializer,
    ReviewAcknowledgementSerializer,
    ReviewAcknowledgeSerializer,
    ReviewCreateSerializer,
    ReviewPointAddressSerializer,
    ReviewPointSerializer,
    ReviewSerializer,
    SubmissionSerializer,
    SubmitSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key returns the iteration the first call made.",
)


def visible_submissions(user):
    return Submission.objects.filter(submissions_visible_to(user)).select_related(
        "learner", "lab", "assigned_to"
    )


class SubmissionFilter(django_filters.FilterSet):
    cohort = IdFilter(field_name="cohort_id")
    lab = IdFilter(field_name="lab_id")
    learner = IdFilter(field_name="learner_id")
    state = django_filters.ChoiceFilter(choices=Submission.State.choices)
    assigned_to = django_filters.CharFilter(
        method="filter_assigned_to",
        help_text='"me", "none" (unassigned) or a user id.',
    )

    class Meta:
        model = Submission
        fields = ["cohort", "lab", "learner", "state", "assigned_to"]

    def filter_assigned_to(self, queryset, name, value):
        value = (value or "").strip().lower()
        if value == "me":
            return queryset.filter(assigned_to=self.request.user)
        if value == "none":
            return queryset.filter(assigned_to__isnull=True)
        if value.isdigit():
            return queryset.filter(assigned_to_id=int(value))
        raise ValidationError({"assigned_to": ['Use "me", "none" or a user id.']})


_DRAFT_INPUT = ("repo_url", "commit", "notes", "checklist")
_SERVICE_NAMES = {"commit": "commit_sha"}


def _draft_values(submission: Submission, data: dict) -> dict:
    """The service takes the whole draft; fields the client left out keep their value."""
    return {
        "repo_url": data.get("repo_url", submission.repo_url),
        "commit_sha": data.get("commit", submission.commit_sha),
        "notes": data.get("notes", submission.notes),
        "checklist": data.get("checklist", submission.checklist),
    }


@extend_schema_view(
    list=extend_schema(
        summary="Submissions you may see: your own; your cohorts' as a mentor; all as staff"
    ),
    retrieve=extend_schema(summary="One submission"),
    create=extend_schema(
        summary="Create or update your draft for a lab (learners)",
        request=DraftCreateSerializer,
        responses={200: SubmissionSerializer, 201: SubmissionSerializer},
    ),
    partial_update=extend_schema(
        summary="Update your draft (learners; while draft or changes requested)",
        request=DraftFieldsSerializer,
        responses=SubmissionSerializer,
    ),
)
class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SubmissionSerializer
    filterset_class = SubmissionFilter
    ordering_fields = ["submitted_at", "updated_at", "created_at", "last_activity_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Submission.objects.none()  # for the schema; get_queryset is the truth

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Submission.objects.none()
        return visible_submissions(self.request.user).order_by("-updated_at", "-pk")

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_serializer(self, *args, **kwargs):
        # Predicted waits for every row at once (submissions.wait: constant queries per page).
        instance = args[0] if args else kwargs.get("instance")
        if instance is not None:
            rows = instance if isinstance(instance, list | tuple) else [instance]
            kwargs["context"] = {**self.get_serializer_context(), "waits": waits_for(rows)}
            return SubmissionSerializer(*args, **kwargs)
        return super().get_serializer(*args, **kwargs)

    def _fresh(self, submission: Submission) -> dict:
        return self.get_serializer(
            visible_submissions(self.request.user).get(pk=submission.pk)
        ).data

    def create(self, request, *args, **kwargs):
        # Looked up among the cohorts the caller can see (theirs), so a slug or id of anyone
        # else's cohort is the same 400 as one that does not exist; the service then lets
        # only the cohort's learners hand in (403 for its mentors and staff).
        serializer = DraftCreateSerializer(
            data=request.data, member_id=None if request.user.is_staff else request.user.pk
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # One transaction: a draft made for input that is then refused is not left behind.
        submission, created = services.submission_put_draft(
            actor=request.user,
            cohort=data["cohort"],
            lab=data["lab"],
            fields={
                _SERVICE_NAMES.get(name, name): data[name] for name in _DRAFT_INPUT if name in data
            },
        )
        # The saved row, with its learner, lab and assignee, answers (no second read).
        return Response(
            self.get_serializer(submission).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def partial_update(self, request, *args, **kwargs):
        submission = self.get_object()
        if not can_edit_submission(request.user, submission):
            raise PermissionDenied("Only the learner can edit this work.")
        serializer = DraftFieldsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.submission_save_draft(
            actor=request.user,
            submission=submission,
            **_draft_values(submission, serializer.validated_data),
        )
        return Response(self._fresh(submission))

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        summary="Hand in the draft: freezes a new iteration and sends it for review",
        request=SubmitSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses=SubmissionSerializer,
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        # The visibility check and the service's row lock are one statement; the locked
        # row, saved by the service, answers.
        with services.holding_visible_lock(request.user, pk, not_found=NotFound) as submission:
            key = request.headers.get("Idempotency-Key")
            if key is not None and not (1 <= len(key.strip()) <= 100):
                raise ValidationError({"Idempotency-Key": ["Use 1 to 100 characters."]})
            serializer = SubmitSerializer(data=request.data or {})
            serializer.is_valid(raise_exception=True)
            services.submission_submit(
                actor=request.user,
                submission=submission,
                idempotency_key=key,
                leave_points_open=serializer.validated_data["leave_points_open"],
            )
        return Response(self.get_serializer(submission).data)

    @extend_schema(
        summary="Take submitted work into review (mentors)",
        request=None,
        responses=SubmissionSerializer,
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        submission = self.get_object()
        services.submission_claim(actor=request.user, submission=submission)
        return Response(self._fresh(submission))

    @extend_schema(
        summary="Give work in review back to the queue (the claiming mentor or staff)",
        request=None,
        responses=SubmissionSerializer,
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        submission = self.get_object()
        services.submission_release(actor=request.user, submission=submission)
        return Response(self._fresh(submission))

    @extend_schema(
        summary="Hand the open review to another mentor of the cohort (staff)",
        request=ReassignSerializer,
        responses=SubmissionSerializer,
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        submission = self.get_object()
        if not can_reassign_submission(request.user, submission):
            raise PermissionDenied("Only staff can reassign reviews.")
        serializer = ReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mentor = User.objects.filter(pk=serializer.validated_data["mentor"]).first()
        services.submission_reassign(
            actor=request.user,
            submission=submission,
            mentor=mentor,
            reason=serializer.validated_data["reason"],
        )
        return Response(self._fresh(submission))


class SubmissionScopedMixin:
    """Views under submissions/{submission_pk}/: the submission must be visible (else 404)."""

    filter_backends: list = []

    def get_submission(self) -> Submission:
        if not hasattr(self, "_submission"):
            self._submission = visible_or_404(
                visible_submissions(self.request.user), pk=self.kwargs["submission_pk"]
            )
        return self._submission


@extend_schema_view(list=extend_schema(summary="What was handed in at each submit, oldest first"))
class IterationViewSet(SubmissionScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = IterationSerializer
    queryset = Iteration.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Iteration.objects.none()
        previous = Iteration.objects.filter(
            submission_id=OuterRef("submission_id"), number=OuterRef("number") - 1
        )
        return (
            Iteration.objects.filter(submission=self.get_submission())
            .annotate(
                # For compare_url: the iteration before this one.
                previous_repo_url=Subquery(previous.values("repo_url")[:1]),
                previous_commit_sha=Subquery(previous.values("commit_sha")[:1]),
            )
            .select_related("lab_revision")
            .prefetch_related(
                Prefetch(
                    "attachments",
                    queryset=Attachment.objects.select_related("iteration").order_by(
                        "created_at", "pk"
                    ),
                )
            )
            .order_by("number")
        )


@extend_schema_view(
    list=extend_schema(summary="Reviews of this submission, oldest first"),
    create=extend_schema(
        summary="Review the latest iteration (mentors of the cohort, staff)",
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer},
    ),
)
class ReviewViewSet(
    SubmissionScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = ReviewSerializer
    queryset = Review.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return (
            Review.objects.filter(submission=self.get_submission())
            .select_related("reviewer", "iteration", "acknowledgement")
            .prefetch_related("points")
            .order_by("created_at", "pk")
        )

    def create(self, request, *args, **kwargs):
        submission = self.get_submission()
        if not can_review_submission(request.user, submission):
            raise PermissionDenied("Only mentors of this cohort can review this work.")
        serializer = ReviewCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(
            actor=request.user, submission=submission, **serializer.validated_data
        )
        review = (
            Review.objects.select_related("reviewer", "iteration", "acknowledgement")
            .prefetch_related("points")
            .get(pk=review.pk)
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Every review point of this submission, oldest first, with its state "
        "(open, addressed, waived) and the learner's answer"
    )
)
class ReviewPointViewSet(SubmissionScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Points are visible with their submission (the learner, the cohort's mentors, staff);
    only the learner answers them."""

    serializer_class = ReviewPointSerializer
    queryset = ReviewPoint.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReviewPoint.objects.none()
        return points_of(self.get_submission())

    @extend_schema(
        summary="Answer an open point with a short reply (the learner, while changes are "
        "requested)",
        request=ReviewPointAddressSerializer,
        responses={200: ReviewPointSerializer},
    )
    @action(detail=True, methods=["post"])
    def address(self, request, submission_pk=None, pk=None):
        point = visible_or_404(self.get_queryset(), pk=pk)
        if not can_edit_submission(request.user, point.submission):
            raise PermissionDenied("Only the learner can answer the points raised on this work.")
        serializer = ReviewPointAddressSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.point_address(
            actor=request.user, point=point, reply=serializer.validated_data["reply"]
        )
        return Response(ReviewPointSerializer(points_of(point.submission).get(pk=point.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="The submission's discussion thread, oldest first"),
    create=extend_schema(summary="Post to the thread (the learner, the cohort's mentors, staff)"),
)
class CommentViewSet(
    SubmissionScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The thread. The author may PATCH or DELETE their own message for 15 minutes after
    posting (else 403); a deleted message stays in the list with an empty body and
    ``deleted_at`` set."""

    serializer_class = CommentSerializer
    queryset = Comment.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return (
            Comment.objects.filter(submission=self.get_submission())
            .select_related("author")
            .order_by("created_at", "pk")
        )

    def create(self, request, *args, **kwargs):
        submission = self.get_submission()
        if not can_comment_submission(request.user, submission):
            raise PermissionDenied(
                "Only the learner and the cohort's mentors can take part in this thread."
            )
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(
            actor=request.user, submission=submission, body=serializer.validated_data["body"]
        )
        comment = Comment.objects.select_related("author").get(pk=comment.pk)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Rewrite your own message (within 15 minutes of posting)")
    def partial_update(self, request, *args, **kwargs):
        comment = self.get_object()
        serializer = CommentSerializer(comment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_update(
            actor=request.user,
            comment=comment,
            body=serializer.validated_data.get("body", comment.body),
        )
        return Response(CommentSerializer(comment).data)

    @extend_schema(summary="Delete your own message (within 15 minutes of posting)")
    def destroy(self, request, *args, **kwargs):
        services.comment_delete(actor=request.user, comment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Files of this submission (the draft's and every iteration's)"),
    create=extend_schema(
        summary="Attach a file to the draft (learner; multipart field `file`)",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer},
    ),
    destroy=extend_schema(summary="Remove a file from the draft (learner)"),
)
class AttachmentViewSet(
    SubmissionScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AttachmentSerializer
    queryset = Attachment.objects.none()
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        return (
            Attachment.objects.filter(submission=self.get_submission())
            .select_related("iteration")
            .order_by("created_at", "pk")
        )

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def create(self, request, *args, **kwargs):
        submission = self.get_submission()
        if not can_edit_submission(request.user, submission):
            raise PermissionDenied("Only the learner can add files to this work.")
        serializer = AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            actor=request.user,
            submission=submission,
            uploaded_file=serializer.validated_data["file"],
        )
        attachment = Attachment.objects.select_related("iteration").get(pk=attachment.pk)
        return Response(
            AttachmentSerializer(attachment, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_destroy(self, instance):
        services.attachment_remove(actor=self.request.user, attachment=instance)

    @extend_schema(
        summary="Download a file",
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"])
    def download(self, request, submission_pk=None, pk=None):
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except OSError as exc:  # the row outlived its file (storage restored, manual delete)
            raise NotFound("The file is no longer stored.") from exc
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type or "application/octet-stream",
        )
        # The bytes are the learner's: never let a browser run them as a page of ours.
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


@extend_schema_view(
    list=extend_schema(
        summary="Per learner, per lab state (the cohort's mentors and staff)",
        parameters=[
            OpenApiParameter(
                "order",
                str,
                enum=["name", "progress"],
                description="progress: fewest approved first.",
            )
        ],
    )
)
class CohortProgressViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ProgressRowSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        visible = Cohort.objects.filter(cohorts_visible_to(self.request.user))
        cohort = visible_or_404(visible, pk=self.kwargs["cohort_pk"])
        if not (self.request.user.is_staff or is_mentor_of(self.request.user, cohort)):
            raise PermissionDenied("Only the cohort's mentors and staff can see its progress.")
        order = self.request.query_params.get("order", "name")
        if order not in {"name", "progress"}:
            raise ValidationError({"order": ['Use "name" or "progress".']})
        return cohort_progress_matrix(cohort=cohort, order=order).rows


class ReviewAcknowledgeViewSet(viewsets.GenericViewSet):
    """``POST /reviews/{id}/acknowledge/``: the learner says a review landed (and rates it).

    A review of work the caller cannot see is a 404; anyone but the submission's learner
    (a mentor, staff, a learner whose membership ended) gets a 403.
    """

    queryset = Review.objects.none()
    serializer_class = ReviewAcknowledgeSerializer

    @extend_schema(
        summary="Acknowledge a review as seen, optionally rating it helpful (the learner)",
        request=ReviewAcknowledgeSerializer,
        responses={200: ReviewAcknowledgementSerializer},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        review = review_for_user(user=request.user, pk=int(pk))
        if review is None:
            raise NotFound("No such review.")
        if not can_acknowledge_review(request.user, review):
            raise PermissionDenied("Only the learner whose work was reviewed can acknowledge it.")
        serializer = ReviewAcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        acknowledgement = feedback.review_acknowledge(
            actor=request.user, review=review, **serializer.validated_data
        )
        return Response(ReviewAcknowledgementSerializer(acknowledgement).data)


def _away_payload(*, viewer, mentor, reviews_moved=None) -> dict:
    from accounts.zones import user_zone

    away = mentor.is_away()
    zone = user_zone(viewer)
    last_day = None
    if away:
        last_day = (mentor.away_until - dt.timedelta(microseconds=1)).astimezone(zone).date()
    data = {
        "user": mentor,
        "away": away,
        "away_until": last_day,
        "back_at": mentor.away_until if away else None,
        "away_note": mentor.away_note if away else "",
    }
    if reviews_moved is not None:
        data["reviews_moved"] = reviews_moved
    return data


class _AwayBase(APIView):
    """Away mode: GET it, PUT `{"away_until", "away_note"}` to go away through that day
    (open reviews move to the other mentors of each cohort, with the note), DELETE to end it
    now. For a mentor themself and for staff; anyone else gets a 404."""

    def mentor(self, request):
        raise NotImplementedError

    def _mentor(self, request):
        mentor = self.mentor(request)
        if mentor is None or not can_set_away(request.user, mentor):
            raise NotFound("No such mentor.")
        return mentor

    def get(self, request, **kwargs):
        mentor = self._mentor(request)
        return Response(AwaySerializer(_away_payload(viewer=request.user, mentor=mentor)).data)

    def put(self, request, **kwargs):
        from accounts.zones import user_zone

        mentor = self._mentor(request)
        serializer = AwayWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moved = services.mentor_set_away(
            actor=request.user,
            user=mentor,
            until=serializer.validated_data["away_until"],
            note=serializer.validated_data["away_note"],
            zone=user_zone(request.user),
        )
        mentor.refresh_from_db()
        payload = _away_payload(viewer=request.user, mentor=mentor, reviews_moved=moved)
        return Response(AwaySetResultSerializer(payload).data)

    def delete(self, request, **kwargs):
        mentor = self._mentor(request)
        services.mentor_end_away(actor=request.user, user=mentor)
        mentor.refresh_from_db()
        return Response(AwaySerializer(_away_payload(viewer=request.user, mentor=mentor)).data)


@extend_schema_view(
    get=extend_schema(responses=AwaySerializer, summary="Your away mode"),
    put=extend_schema(
        request=AwayWriteSerializer,
        responses=AwaySetResultSerializer,
        summary="Go away through a day (mentors)",
    ),
    delete=extend_schema(responses=AwaySerializer, summary="End your away mode now"),
)
class MyAwayView(_AwayBase):
    """Your own away mode (mentors; a learner gets a 404)."""

    def mentor(self, request):
        return request.user


@extend_schema_view(
    get=extend_schema(responses=AwaySerializer, summary="A mentor's away mode (staff)"),
    put=extend_schema(
        request=AwayWriteSerializer,
        responses=AwaySetResultSerializer,
        summary="Set a mentor away through a day (staff)",
    ),
    delete=extend_schema(responses=AwaySerializer, summary="End a mentor's away mode (staff)"),
)
class MentorAwayView(_AwayBase):
    """Any mentor's away mode, for staff (a mentor may use their own id)."""

    def mentor(self, request):
        return User.objects.filter(pk=self.kwargs["user_id"], is_active=True).first()
