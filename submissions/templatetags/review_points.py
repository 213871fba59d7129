from django import template

register = template.Library()


@register.filter
def reply_for(point_input, point) -> str:
    """The reply typed for ``point`` in a form that came back (the lab page)."""
    return point_input.replies.get(point.pk, "") if point_input else ""


@register.filter
def reply_error_for(point_input, point) -> str:
    return point_input.errors.get(point.pk, "") if point_input else ""
