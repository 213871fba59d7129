from django import template

from core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text):
    """{{ value|markdown }}: the shared, sanitized Markdown renderer."""
    return render_markdown(text)
