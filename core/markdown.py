"""The one Markdown renderer for user and curriculum text.

Markdown is rendered, then sanitized with an allow-list (nh3). Nothing that executes or
that htmx would act on survives: scripts, event handlers, javascript:/data: links,
style, and any attribute not on the list (so no hx-* or data-hx-*).
"""

import re
from html import unescape

import markdown as md
import nh3
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

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
_CODE_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+-]{1,40}")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Fenced code keeps its "language-x" class; no other class reaches the page, so user
    # text cannot borrow the site's own classes (e.g. to fake a message or a button).
    if tag == "code" and attribute == "class":
        return value if _CODE_LANGUAGE.fullmatch(value) else None
    return value


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
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 above


def markdown_excerpt(text: str | None, limit: int = 220) -> str:
    """The plain text a reader sees of rendered Markdown (no `**` or backticks), with
    whitespace collapsed, cut to `limit` characters on a word. Plain text: escape it."""
    plain = unescape(strip_tags(render_markdown(text)))
    return Truncator(" ".join(plain.split())).chars(limit)
