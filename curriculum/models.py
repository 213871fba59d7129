from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Track(models.Model):
    """A learning path (e.g. "Go Mastery")."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Lab(models.Model):
    """A weekly lab. Keeps its identity (and its submissions) across curriculum imports."""

    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="labs")
    week = models.PositiveIntegerField()
    module_title = models.CharField(max_length=300)
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200)
    body = models.TextField(blank=True)
    deliverables = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    current_revision = models.ForeignKey(
        "LabRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # PostgreSQL full-text vectors of the title and of the text (body + deliverables),
    # written by the curriculum services (curriculum.search.lab_search_refresh), GIN-indexed
    # by migration 0004; empty on SQLite, where the search matches substrings.
    search_title = SearchVectorField(null=True, blank=True, editable=False)
    search_text = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["track__position", "week", "position"]
        constraints = [
            models.UniqueConstraint(fields=["track", "slug"], name="lab_track_slug_unique"),
            models.UniqueConstraint(
                fields=["track", "week"], condition=Q(active=True), name="lab_active_week_unique"
            ),
        ]
        indexes = [models.Index(fields=["track", "active", "week"])]

    def __str__(self) -> str:
        return f"{self.track.name} · Week {self.week} · {self.title}"

    def get_absolute_url(self) -> str:
        """The lab page (`curriculum:lab`); select_related("track") when listing labs."""
        from django.urls import reverse

        return reverse("curriculum:lab", args=[self.track.slug, self.slug])


class LabRevision(models.Model):
    """An immutable snapshot of a lab's content. Submissions point at the one they answered."""

    class Origin(models.TextChoices):
        IMPORT = "import", "Import"
        EDIT = "edit", "Edited in the app"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    module_title = models.CharField(max_length=300)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    deliverables = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64)
    source_import = models.ForeignKey(
        "CurriculumImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A correction made in the app (`lab_edit`) records who and why; a later import whose
    # text differs from the lab's current app edit lists the lab as a conflict.
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.IMPORT)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["lab", "number"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "number"], name="labrevision_lab_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.lab_id} r{self.number}"


class CurriculumImport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PARSING = "parsing", "Parsing"
        PREVIEWED = "previewed", "Previewed"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255, blank=True)
    source = models.BinaryField(blank=True, default=b"")
    source_hash = models.CharField(max_length=64, blank=True)
    requested_format = models.CharField(max_length=20, default="auto")
    detected_format = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    diff = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="curriculumimport_created_idx")]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.PARSING)
