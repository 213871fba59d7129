from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """Outbox row: a domain event recorded in the same transaction as its cause.

    `target_type` is "app_label.model" and `target_id` the pk, so that this app needs to
    import no other app to record one (see notifications/events.py).
    """

    kind = models.CharField(max_length=50, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Periodic jobs pass a key ("due_soon:cohort:lab:learner") so that running twice
    # records once: the unique constraint decides, not luck.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["processed_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Notification(models.Model):
    class EmailStatus(models.TextChoices):
        NONE = "none", "Not emailed"
        PENDING = "pending", "Email pending"
        DIGEST = "digest", "Waiting for the digest"
        SENT = "sent", "Emailed"
        FAILED = "failed", "Email failed"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(
        Event, null=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=50)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=300)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.NONE
    )
    email_attempts = models.PositiveIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)
    # While an SMTP retry is scheduled, the sweeper leaves the row alone until then.
    email_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="notification_event_recipient_unique"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"]),
            models.Index(fields=["email_status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class EmailDelivery(models.Model):
    """The unique key claimed before an email is sent: at most one send per key.

    The row is inserted in the transaction that sends the email and commits only after
    the backend accepted it: a concurrent duplicate blocks on the key then gives up, and a
    sender killed mid-send rolls its claim back so that a retry may send.
    """

    class Kind(models.TextChoices):
        NOTIFICATION = "notification", "Notification"
        DIGEST = "digest", "Daily digest"
        MENTOR_WEEKLY = "mentor_weekly", "Mentor weekly digest"
        STAFF_WEEKLY = "staff_weekly", "Staff weekly digest"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTIFICATION)
    subject = models.CharField(max_length=300, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at"]
        verbose_name_plural = "email deliveries"

    def __str__(self) -> str:
        return self.key


class Preference(models.Model):
    class Channel(models.TextChoices):
        IN_APP = "in_app", "In-app only"
        EMAIL = "email", "Email immediately"
        DIGEST = "digest", "Daily digest"
        OFF = "off", "Off"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=50)
    channel = models.CharField(max_length=10, choices=Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="preference_user_kind_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind} · {self.channel}"
