from django import template

from core.markdown import markdown_excerpt, render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text):
    """{{ value|markdown }}: the shared, sanitized Markdown renderer."""
    return render_markdown(text)


@register.filter(name="markdown_excerpt")
def markdown_excerpt_filter(text, limit=220):
    """{{ value|markdown_excerpt:220 }}: what a reader sees of the Markdown, as plain text."""
    return markdown_excerpt(text, int(limit))
