from django import template

from core.markdown import markdown_excerpt, render_markdown, render_markdown_inline, step_label

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text):
    """{{ value|markdown }}: the shared, sanitized Markdown renderer."""
    return render_markdown(text)


@register.filter(name="markdown_inline")
def markdown_inline_filter(text):
    """{{ value|markdown_inline }}: one line of Markdown, e.g. a label."""
    return render_markdown_inline(text)


@register.filter(name="step_label")
def step_label_filter(text):
    """{{ step|step_label }}: the rendered short label of a lab step (first sentence)."""
    return render_markdown_inline(step_label(str(text))[0])


@register.filter(name="step_is_whole")
def step_is_whole_filter(text) -> bool:
    """Whether `step_label` shows the whole step (then no "full step" is needed)."""
    return step_label(str(text))[1]


@register.filter(name="markdown_excerpt")
def markdown_excerpt_filter(text, limit=220):
    """{{ value|markdown_excerpt:220 }}: what a reader sees of the Markdown, as plain text."""
    return markdown_excerpt(text, int(limit))
