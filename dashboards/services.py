import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError

from .models import CalendarFeed

FEED_TOKEN_BYTES = 32


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, user) -> tuple[CalendarFeed, str]:
    """Make a new private calendar URL for `user`; returns the feed and its token (shown once).

    Side effects: revokes the user's previous live feed, so only the newest URL works.
    """
    if not getattr(user, "is_active", False):
        raise ApplicationError("This account is disabled.", code="forbidden")
    now = timezone.now()
    CalendarFeed.objects.select_for_update().filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(FEED_TOKEN_BYTES)
    feed = CalendarFeed.objects.create(
        user=user, token_hash=feed_token_hash(token), prefix=token[:8], created_at=now
    )
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, actor, feed: CalendarFeed) -> CalendarFeed:
    """Stop a calendar URL working (idempotent). Only its owner may revoke it."""
    if feed.user_id != actor.pk:
        raise ApplicationError("You can only revoke your own calendar link.", code="forbidden")
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
    return feed
