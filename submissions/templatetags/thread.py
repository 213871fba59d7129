from django import template

from submissions import thread

register = template.Library()


@register.simple_tag(takes_context=True)
def thread_messages(context):
    """{% thread_messages %}: the context's `comments` of its `submission`, as
    `submissions.thread.messages_html` draws them for the context's user."""
    return thread.messages_html(
        context["comments"],
        submission=context["submission"],
        viewer=context.get("user"),
        can_comment=bool(context.get("can_comment")),
        csrf_token=context.get("csrf_token"),
    )
