from django import template

from notifications.selectors import unread_count

register = template.Library()


@register.simple_tag
def unread_notifications_count(user) -> int:
    """The bell's number: one COUNT query, nothing for anonymous users."""
    if user is None or not user.is_authenticated:
        return 0
    return unread_count(user)


@register.filter
def badge(count: int) -> str:
    return "99+" if count > 99 else str(count)
