import copy
import datetime as dt

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from cohorts.models import Cohort, Membership
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab
from submissions import commit_links
from submissions.models import (
    Attachment,
    Comment,
    Iteration,
    Review,
    ReviewAcknowledgement,
    ReviewPoint,
    Submission,
)


class SubmissionLabSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    week = serializers.IntegerField(read_only=True)


class FieldsBuiltOnceMixin:
    """For a ModelSerializer: its fields are worked out from the model once per class, then
    deep-copied for each serializer (as DRF copies the declared ones). Working them out
    (model introspection, a `build_field` per column) was most of the cost of answering
    one row, e.g. a hand-in."""

    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prototype_fields = prototype
        return copy.deepcopy(prototype)


class SubmissionSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    learner = UserSummarySerializer(read_only=True)
    lab = SubmissionLabSerializer(read_only=True)
    assigned_to = UserSummarySerializer(read_only=True, allow_null=True)
    commit = serializers.CharField(source="commit_sha", read_only=True)
    checklist = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    expected_review_by = serializers.SerializerMethodField(
        help_text=(
            "While the work waits for its review (submitted or in review): when the review is "
            "expected, from the cohort's mentor capacity, the queue ahead and the recent "
            "turnaround, never later than the review SLA deadline. Null otherwise."
        )
    )
    queue_position = serializers.SerializerMethodField(
        help_text=(
            "While the work waits for its review: its place (1 = next) among the cohort's "
            "waiting submissions, oldest hand-in first. Null otherwise."
        )
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "cohort",
            "lab",
            "learner",
            "state",
            "repo_url",
            "commit",
            "notes",
            "checklist",
            "assigned_to",
            "review_due_at",
            "expected_review_by",
            "queue_position",
            "iteration_count",
            "first_submitted_at",
            "submitted_at",
            "approved_at",
            "is_late",
            "last_activity_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _wait(self, submission):
        # The view puts the waits of the whole page in the context (submissions.wait.waits_for).
        return self.context.get("waits", {}).get(submission.pk)

    def get_expected_review_by(self, submission) -> dt.datetime | None:
        wait = self._wait(submission)
        if wait is None:
            return None
        return serializers.DateTimeField().to_representation(wait.expected_review_by)

    def get_queue_position(self, submission) -> int | None:
        wait = self._wait(submission)
        return wait.queue_position if wait else None


class DraftFieldsSerializer(serializers.Serializer):
    """The editable draft. Omitted fields keep their current value."""

    repo_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    commit = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Commit SHA, 7-40 hex digits."
    )
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    checklist = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        max_length=500,
        help_text="Indices (from 0) of the lab's deliverables you have done.",
    )


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class IdOrSlugField(serializers.Field):
    """A numeric id or a slug; resolved against a queryset by the serializer."""

    default_error_messages = {"invalid": "Give a numeric id or a slug."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        value = str(data).strip()
        if not value or len(value) > 200:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value


def _by_id_or_slug(value: str, *, by_id, by_slug):
    """Id first (a digits-only value), then slug: one or two queries. ``by_id(pk)`` and
    ``by_slug(slug)`` give the row, or None."""
    if value.isdigit() and len(value) <= 18:
        found = by_id(int(value))
        if found is not None:
            return found
    return by_slug(value)


# A draft's cohort and lab, by id or slug (a CI job gives slugs, the README's example),
# compiled once: the cohort among the caller's active memberships (as
# `cohorts.permissions.cohorts_visible_to`), the lab in its track.
def _member_cohort(**match):
    return Cohort.objects.filter(
        **match,
        pk__in=Membership.objects.filter(user_id=Param("user"), active=True).values("cohort_id"),
    ).order_by()


def _track_lab(**match):
    return (
        Lab.objects.filter(**match, track_id=Param("track"))
        .select_related("current_revision")
        .order_by()
    )


_MEMBER_COHORT_BY_ID = PreparedQuery(lambda: _member_cohort(pk=Param("key")))
_MEMBER_COHORT_BY_SLUG = PreparedQuery(lambda: _member_cohort(slug=Param("key")))
_TRACK_LAB_BY_ID = PreparedQuery(lambda: _track_lab(pk=Param("key")))
_TRACK_LAB_BY_SLUG = PreparedQuery(lambda: _track_lab(slug=Param("key")))


class DraftCreateSerializer(DraftFieldsSerializer):
    cohort = IdOrSlugField(
        help_text="Id or slug of the cohort (one you are a learner in; a CI job can use the slug)."
    )
    lab = IdOrSlugField(help_text="Id or slug of a lab of the cohort's track.")

    def __init__(self, *args, member_id=None, **kwargs):
        """``member_id``: the caller, who may name the cohorts they are an active member of;
        None for staff, who may name any cohort."""
        super().__init__(*args, **kwargs)
        self.member_id = member_id

    def validate(self, attrs):
        # Only the caller's own cohorts are looked at, so others' cohorts are not revealed.
        if self.member_id is None:
            cohort = _by_id_or_slug(
                attrs["cohort"],
                by_id=lambda pk: Cohort.objects.filter(pk=pk).first(),
                by_slug=lambda slug: Cohort.objects.filter(slug=slug).first(),
            )
        else:
            cohort = _by_id_or_slug(
                attrs["cohort"],
                by_id=lambda pk: _MEMBER_COHORT_BY_ID.first(key=pk, user=self.member_id),
                by_slug=lambda slug: _MEMBER_COHORT_BY_SLUG.first(key=slug, user=self.member_id),
            )
        if cohort is None:
            raise serializers.ValidationError(
                {"cohort": ["None of your cohorts has this id or slug."]}
            )
        lab = _by_id_or_slug(
            attrs["lab"],
            by_id=lambda pk: _TRACK_LAB_BY_ID.first(key=pk, track=cohort.track_id),
            by_slug=lambda slug: _TRACK_LAB_BY_SLUG.first(key=slug, track=cohort.track_id),
        )
        if lab is None:
            raise serializers.ValidationError(
                {"lab": ["The cohort's track has no lab with this id or slug."]}
            )
        return {**attrs, "cohort": cohort, "lab": lab}


class AttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    iteration = serializers.IntegerField(
        source="iteration.number", read_only=True, allow_null=True, default=None
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "iteration", "created_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment) -> str:
        path = reverse(
            "api:submission-attachment-download",
            kwargs={"submission_pk": attachment.submission_id, "pk": attachment.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class IterationSerializer(serializers.ModelSerializer):
    commit = serializers.CharField(source="commit_sha", read_only=True)
    lab_revision = serializers.IntegerField(
        source="lab_revision.number", read_only=True, allow_null=True, default=None
    )
    checklist = serializers.JSONField(
        read_only=True, help_text="[{index, text, done}] as the learner saw it."
    )
    attachments = AttachmentSerializer(many=True, read_only=True)
    commit_url = serializers.SerializerMethodField(
        help_text=(
            "The commit's page on GitHub, GitLab, Gitea/Codeberg or Bitbucket; null for other "
            "hosts or without a commit."
        )
    )
    compare_url = serializers.SerializerMethodField(
        help_text=(
            "From the second iteration on: the forge's compare view from the previous "
            "iteration's commit to this one (same repository); null otherwise."
        )
    )

    class Meta:
        model = Iteration
        fields = [
            "id",
            "number",
            "repo_url",
            "commit",
            "commit_url",
            "compare_url",
            "notes",
            "checklist",
            "lab_revision",
            "submitted_at",
            "due_at",
            "is_late",
            "attachments",
        ]
        read_only_fields = fields

    def get_commit_url(self, iteration) -> str | None:
        return commit_links.commit_url(iteration.repo_url, iteration.commit_sha)

    def get_compare_url(self, iteration) -> str | None:
        # The queryset annotates the previous iteration's repo and commit (IterationViewSet).
        return commit_links.compare_url(
            iteration.repo_url,
            iteration.commit_sha,
            getattr(iteration, "previous_repo_url", None),
            getattr(iteration, "previous_commit_sha", None),
        )


class ReviewAcknowledgementSerializer(serializers.ModelSerializer):
    review = serializers.IntegerField(source="review_id", read_only=True)
    acknowledged_at = serializers.DateTimeField(
        read_only=True, help_text="When the learner first said they saw the review."
    )
    helpful = serializers.BooleanField(
        allow_null=True, read_only=True, help_text="true, false, or null when not rated."
    )

    class Meta:
        model = ReviewAcknowledgement
        fields = ["review", "acknowledged_at", "helpful", "note", "updated_at"]
        read_only_fields = fields


class ReviewAcknowledgeSerializer(serializers.Serializer):
    helpful = serializers.BooleanField(
        allow_null=True,
        required=False,
        default=None,
        help_text="Was the review helpful: true, false, or null to only say it was seen.",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text=f"Optional, up to {ReviewAcknowledgement.NOTE_MAX_LENGTH} characters.",
    )


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = UserSummarySerializer(read_only=True)
    iteration = serializers.IntegerField(source="iteration.number", read_only=True)
    marks = serializers.DictField(child=serializers.CharField(), read_only=True)
    points = serializers.PrimaryKeyRelatedField(
        many=True,
        read_only=True,
        help_text="Ids of the review points this review raised (see /submissions/{id}/points/).",
    )
    acknowledgement = serializers.SerializerMethodField(
        help_text="The learner's acknowledgement and rating, or null while not acknowledged."
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "iteration",
            "reviewer",
            "verdict",
            "body",
            "marks",
            "points",
            "created_at",
            "acknowledgement",
        ]
        read_only_fields = fields

    @extend_schema_field(ReviewAcknowledgementSerializer(allow_null=True))
    def get_acknowledgement(self, review) -> dict | None:
        try:
            acknowledgement = review.acknowledgement
        except ReviewAcknowledgement.DoesNotExist:
            return None
        return ReviewAcknowledgementSerializer(acknowledgement).data


class ReviewPointInputSerializer(serializers.Serializer):
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=ReviewPoint.TEXT_MAX_LENGTH,
        help_text=f"The change asked for, in the mentor's words (up to "
        f"{ReviewPoint.TEXT_MAX_LENGTH} characters).",
    )
    deliverable = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        help_text="Index (from 0) of the deliverable the point is about, or null.",
    )

    def validate(self, attrs):
        if not attrs["text"].strip() and attrs["deliverable"] is None:
            raise serializers.ValidationError("Give the point's text, or a deliverable, or both.")
        return attrs


class ReviewCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Review.Verdict.choices)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    marks = serializers.DictField(
        child=serializers.ChoiceField(choices=["met", "not_met", "na"]),
        required=False,
        default=dict,
        help_text='{deliverable index: "met" | "not_met" | "na"}',
    )
    revise = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Change the verdict already given on this iteration. Without it a second "
        "approve or request_changes on the same iteration is refused with 409.",
    )
    points = ReviewPointInputSerializer(
        many=True,
        required=False,
        default=list,
        max_length=20,
        help_text="With request_changes only: the points the learner must answer, at most 20. "
        "Each deliverable marked not_met in `marks` also becomes a point (unless a point "
        "here names it, or it has an open point already).",
    )
    waive_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=ReviewPoint.WAIVE_REASON_MAX_LENGTH,
        help_text="With approve, required while review points are still open (else 400, "
        "nothing changes): why the work is approved anyway. Every open point is then "
        "marked waived with this reason.",
    )


class CommentSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "created_at", "edited_at", "deleted_at"]
        read_only_fields = ["id", "author", "created_at", "edited_at", "deleted_at"]
        # Required to post (the model allows blank: a deleted message is emptied); a blank
        # one is refused by the service ("Write a message.").
        extra_kwargs = {"body": {"trim_whitespace": True, "required": True}}


class ProgressCellSerializer(serializers.Serializer):
    lab = serializers.IntegerField(source="lab_id")
    state = serializers.CharField(help_text="A submission state, or not_started.")
    is_late = serializers.BooleanField()
    is_released = serializers.BooleanField()
    submission = serializers.IntegerField(source="submission_id", allow_null=True)


class ProgressRowSerializer(serializers.Serializer):
    learner = UserSummarySerializer()
    approved = serializers.IntegerField()
    released = serializers.IntegerField()
    late = serializers.IntegerField()
    cells = ProgressCellSerializer(many=True, help_text="One per lab, in week order.")


class ReassignSerializer(serializers.Serializer):
    mentor = serializers.IntegerField(help_text="User id of an active mentor of the cohort.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class AwaySerializer(serializers.Serializer):
    """A mentor's away mode. Dates are on the caller's own calendar (`User.time_zone`)."""

    user = UserSummarySerializer(read_only=True)
    away = serializers.BooleanField(
        read_only=True, help_text="True while the mentor is away: they get no new reviews."
    )
    away_until = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="The last day away, on the caller's calendar; null when not away.",
    )
    back_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="The instant away mode ends (00:00 after the last day); null when not away.",
    )
    away_note = serializers.CharField(
        read_only=True, help_text="The note the mentors who take over their reviews see."
    )


class AwaySetResultSerializer(AwaySerializer):
    reviews_moved = serializers.IntegerField(
        read_only=True,
        help_text="Open reviews handed to other mentors (or back to the queue) by this call.",
    )


class AwayWriteSerializer(serializers.Serializer):
    away_until = serializers.DateField(
        help_text="The last day away (YYYY-MM-DD) on the caller's calendar: today or later, "
        "at most a year ahead. A past day is a 400 naming `away_until`; nothing changes."
    )
    away_note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text="Shown with each review handed over, e.g. who to ask meanwhile.",
    )


class ReviewPointSerializer(serializers.ModelSerializer):
    review = serializers.IntegerField(source="review_id", read_only=True)
    raised_in = serializers.IntegerField(
        source="review.iteration.number",
        read_only=True,
        help_text="The iteration whose review raised the point.",
    )
    raised_by = UserSummarySerializer(source="review.reviewer", read_only=True)
    state = serializers.ChoiceField(
        choices=ReviewPoint.State.choices,
        read_only=True,
        help_text="open: not answered yet; addressed: the learner answered it (`reply`); "
        "waived: a mentor approved without it (`waive_reason`).",
    )
    deliverable = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Index (from 0) of the deliverable, or null."
    )
    deliverable_text = serializers.CharField(
        read_only=True, help_text="The deliverable as the reviewed iteration listed it."
    )
    addressed_in = serializers.IntegerField(
        source="addressed_in.number",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The iteration that handed in the answer; null until it is handed in.",
    )
    waived_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ReviewPoint
        fields = [
            "id",
            "review",
            "raised_in",
            "raised_by",
            "text",
            "deliverable",
            "deliverable_text",
            "state",
            "reply",
            "addressed_at",
            "addressed_in",
            "waived_by",
            "waived_at",
            "waive_reason",
            "created_at",
        ]
        read_only_fields = fields


class ReviewPointAddressSerializer(serializers.Serializer):
    reply = serializers.CharField(
        max_length=ReviewPoint.REPLY_MAX_LENGTH,
        help_text=f"How the point was addressed, in a few words (1 to "
        f"{ReviewPoint.REPLY_MAX_LENGTH} characters).",
    )


class SubmitSerializer(serializers.Serializer):
    leave_points_open = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Hand in although review points are still open (they stay open). Without "
        "it, a hand-in with open points is refused with 400 (`errors.points`).",
    )
