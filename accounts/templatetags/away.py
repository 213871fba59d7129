"""Away mode in templates: `away_until` is the instant someone is back (00:00 after their
last day away); pages say "away until <last day>" on the viewer's own calendar."""

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def last_day_away(back_at):
    """The last day away, in the active (viewer's) time zone: the day before `back_at`."""
    if not back_at:
        return None
    return timezone.localtime(back_at - dt.timedelta(microseconds=1)).date()


@register.filter
def is_away(user) -> bool:
    """True while `user` is away (no new reviews)."""
    return bool(getattr(user, "is_away", None) and user.is_away())
