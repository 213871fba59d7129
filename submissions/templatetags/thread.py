from django import template
from django.utils import timezone

from submissions.comments import COMMENT_EDIT_WINDOW

register = template.Library()


@register.filter
def in_edit_window(comment) -> bool:
    """The comment is not deleted and was posted less than COMMENT_EDIT_WINDOW ago (the
    template checks authorship; the services decide, this only offers the buttons)."""
    return comment.deleted_at is None and timezone.now() - comment.created_at <= COMMENT_EDIT_WINDOW
