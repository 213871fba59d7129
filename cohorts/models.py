import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Cohort(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        FINISHED = "finished", "Finished"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    track = models.ForeignKey("curriculum.Track", on_delete=models.PROTECT, related_name="cohorts")
    start_date = models.DateField()
    time_zone = models.CharField(max_length=64, default="UTC")
    pace_days = models.PositiveSmallIntegerField(default=7)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    review_sla_hours = models.PositiveIntegerField(default=48)
    mentor_capacity = models.PositiveIntegerField(default=10)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Saved by every change through the services or the admin; cached pages that show the
    # cohort key on it (core.fragments).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(pace_days__gte=1), name="cohort_pace_positive"),
            models.CheckConstraint(
                condition=Q(review_sla_hours__gte=1), name="cohort_sla_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        LEARNER = "learner", "Learner"
        MENTOR = "mentor", "Mentor"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    active = models.BooleanField(default=True)
    joined_at = models.DateTimeField(default=timezone.now)
    # Open reviews this mentor takes at most; null means the cohort's default.
    capacity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["cohort", "role", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "cohort"], name="membership_user_cohort_unique")
        ]
        indexes = [models.Index(fields=["cohort", "role", "active"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.cohort}"


class ScheduleOverride(models.Model):
    """Staff-set dates for one lab for the whole cohort (either may be left to the default)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="overrides")
    lab = models.ForeignKey("curriculum.Lab", on_delete=models.CASCADE, related_name="+")
    release_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "lab"], name="override_cohort_lab_unique"),
            models.CheckConstraint(
                condition=Q(release_at__isnull=True)
                | Q(due_at__isnull=True)
                | Q(due_at__gt=F("release_at")),
                name="override_due_after_release",
            ),
        ]

    def __str__(self) -> str:
        return f"Override · {self.cohort_id} · lab {self.lab_id}"


class Extension(models.Model):
    """A new due time for one learner on one lab."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="extensions")
    lab = models.ForeignKey("curriculum.Lab", on_delete=models.CASCADE, related_name="+")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions"
    )
    due_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "lab", "learner"], name="extension_cohort_lab_learner_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Extension · {self.learner_id} · lab {self.lab_id}"


def _new_join_token() -> str:
    return secrets.token_urlsafe(24)


class JoinLink(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="join_links")
    token = models.CharField(max_length=64, unique=True, default=_new_join_token)
    enabled = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Join link {self.token[:6]}… · {self.cohort}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.enabled and (self.expires_at is None or self.expires_at > now)


class Invitation(models.Model):
    """An invitation email for a new account enrolled in a cohort; sent at most once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cohort_invitations"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="invitations")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the task when the email has gone; the conditional update is what makes
    # "sent once" hold when the task runs twice.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "cohort"], name="invitation_user_cohort_unique")
        ]

    def __str__(self) -> str:
        return f"Invitation · {self.user} · {self.cohort}"


class EnrollmentUpload(models.Model):
    """A CSV of members uploaded for preview; applying it enrolls every row or none."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="enrollment_uploads")
    filename = models.CharField(max_length=255, blank=True)
    source = models.BinaryField()
    source_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the apply did: counts of created accounts, new and unchanged memberships.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Enrollment upload #{self.pk} · {self.cohort}"


class ScheduleShift(models.Model):
    """A record of one schedule shift (a holiday week): who moved the rest of the cohort's
    schedule by how many days, when, and what moved (``cohorts.services.schedule_shift``)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="schedule_shifts")
    days = models.SmallIntegerField()
    shifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    labs_moved = models.PositiveIntegerField(default=0)
    extensions_moved = models.PositiveIntegerField(default=0)
    # One {lab_id, week, title, release_from, release_to, due_from, due_to} per lab moved
    # (ISO instants; release_to null when the lab was already released and kept its time).
    detail = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(days=0), name="schedule_shift_days_nonzero")
        ]

    def __str__(self) -> str:
        return f"Shift {self.days:+d} days · {self.cohort}"


class Announcement(models.Model):
    """A message from staff or a mentor to the whole cohort (Markdown, rendered sanitized)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="announcements")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["cohort", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title} · {self.cohort}"


class CohortLabPin(models.Model):
    """A cohort kept on an older revision of one lab until the cohort ends (or staff end
    the pin): its learners, and its mentors reviewing, read that revision's text, steps and
    deliverables (`cohorts.selectors.lab_revision_for`). Made by an import apply (staff chose
    "keep this cohort on its current revisions" in the preview) or on the cohort page.
    """

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="lab_pins")
    lab = models.ForeignKey("curriculum.Lab", on_delete=models.CASCADE, related_name="+")
    revision = models.ForeignKey(
        "curriculum.LabRevision", on_delete=models.PROTECT, related_name="+"
    )
    # The import whose change the pin holds back (null when pinned on the cohort page).
    source_import = models.ForeignKey(
        "curriculum.CurriculumImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when staff end the pin; the cohort then follows the latest revision. A finished
    # cohort's pins stop counting without being ended (the cohort has ended).
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["cohort", "lab", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "lab"],
                condition=Q(ended_at__isnull=True),
                name="cohortlabpin_one_open_per_lab",
            )
        ]
        indexes = [models.Index(fields=["lab", "ended_at"], name="cohortlabpin_lab_idx")]

    def __str__(self) -> str:
        return f"Pin · cohort {self.cohort_id} · lab {self.lab_id} r{self.revision_id}"
