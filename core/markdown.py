"""The one Markdown renderer for user and curriculum text.

Markdown is rendered, then sanitized with an allow-list (nh3). Nothing that executes or
that htmx would act on survives: scripts, event handlers, javascript:/data: links,
style, and any attribute not on the list (so no hx-* or data-hx-*).
"""

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
MAX_SOURCE_CHARS = 200_000

_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


def render_markdown(text: str | None) -> SafeString:
    """Render untrusted Markdown to sanitized HTML that is safe to insert in a page."""
    if not text:
        return mark_safe("")  # noqa: S308 - constant empty string
    source = text[:MAX_SOURCE_CHARS]
    html = md.markdown(source, extensions=_EXTENSIONS, output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 above
