from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CalendarFeed(models.Model):
    """A private iCal URL of a learner's due dates. Only a SHA-256 of its token is stored.

    The URL is shown once, when the feed is made; revoking it (or making a new one) stops the
    old URL at once. One live feed per user.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendarfeed_one_live"
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed {self.prefix}… of {self.user}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
