from django.urls import reverse
from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from cohorts.models import Cohort
from curriculum.models import Lab
from submissions.models import Attachment, Comment, Iteration, Review, Submission


class SubmissionLabSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    week = serializers.IntegerField(read_only=True)


class SubmissionSerializer(serializers.ModelSerializer):
    learner = UserSummarySerializer(read_only=True)
    lab = SubmissionLabSerializer(read_only=True)
    assigned_to = UserSummarySerializer(read_only=True, allow_null=True)
    commit = serializers.CharField(source="commit_sha", read_only=True)
    checklist = serializers.ListField(child=serializers.IntegerField(), read_only=True)

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


class DraftCreateSerializer(DraftFieldsSerializer):
    cohort = serializers.PrimaryKeyRelatedField(queryset=Cohort.objects.none())
    lab = serializers.PrimaryKeyRelatedField(queryset=Lab.objects.none())

    def __init__(self, *args, cohorts=None, labs=None, **kwargs):
        super().__init__(*args, **kwargs)
        if cohorts is not None:
            self.fields["cohort"].queryset = cohorts
        if labs is not None:
            self.fields["lab"].queryset = labs


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

    class Meta:
        model = Iteration
        fields = [
            "id",
            "number",
            "repo_url",
            "commit",
            "notes",
            "checklist",
            "lab_revision",
            "submitted_at",
            "due_at",
            "is_late",
            "attachments",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = UserSummarySerializer(read_only=True)
    iteration = serializers.IntegerField(source="iteration.number", read_only=True)
    marks = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Review
        fields = ["id", "iteration", "reviewer", "verdict", "body", "marks", "created_at"]
        read_only_fields = fields


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


class CommentSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "created_at"]
        read_only_fields = ["id", "author", "created_at"]
        extra_kwargs = {"body": {"trim_whitespace": True}}


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
