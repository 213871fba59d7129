"""The one Markdown renderer for user and curriculum text.

Markdown is rendered, then sanitized with an allow-list (nh3). Nothing that executes or
that htmx would act on survives: scripts, event handlers, javascript:/data: links,
style, and any attribute not on the list (so no hx-* or data-hx-*).

Bare web addresses (``https://…``, ``www.…``) become links (pymdown-extensions'
magiclink; not inside code). Only http and https survive as links: other schemes lose
their ``href`` in the sanitizer, and bare e-mail addresses stay text. Every link gets
``rel="noopener noreferrer nofollow"``.
"""

import functools
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
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}  # mailto: only written as [text](mailto:…)
MAX_SOURCE_CHARS = 200_000

_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br", "pymdownx.magiclink"]
_CODE_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+-]{1,40}")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Fenced code keeps its "language-x" class; no other class reaches the page, so user
    # text cannot borrow the site's own classes (e.g. to fake a message or a button).
    if tag == "code" and attribute == "class":
        return value if _CODE_LANGUAGE.fullmatch(value) else None
    return value


# Rendering is a pure function of the text, and the same texts (a lab's body and steps, a
# thread's messages) are drawn on every visit to the lab and review pages: building the
# Markdown renderer and sanitizing was a quarter to a third of those pages' time
# (docs/performance.md). Each process keeps the latest renderings of texts up to
# MEMO_MAX_CHARS (at most MEMO_ENTRIES x MEMO_MAX_CHARS characters of source).
MEMO_ENTRIES = 2048
MEMO_MAX_CHARS = 32_000


def render_markdown(text: str | None) -> SafeString:
    """Render untrusted Markdown to sanitized HTML that is safe to insert in a page."""
    if not text:
        return mark_safe("")  # noqa: S308 - constant empty string
    source = str(text)[:MAX_SOURCE_CHARS]
    if len(source) <= MEMO_MAX_CHARS:
        return mark_safe(_render_memo(source))  # noqa: S308 - sanitized by _render
    return mark_safe(_render(source))  # noqa: S308 - sanitized by _render


@functools.lru_cache(maxsize=MEMO_ENTRIES)
def _render_memo(source: str) -> str:
    return _render(source)


def _render(source: str) -> str:
    renderer = md.Markdown(extensions=_EXTENSIONS, output_format="html")
    # Bare e-mail addresses stay text: linking them only helps address harvesters.
    renderer.inlinePatterns.deregister("magic-mail")
    html = renderer.convert(source)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )
    return clean


_PARAGRAPH = re.compile(r"^<p>(.*)</p>$", re.S)
# A sentence ends at . ! ? : or ; followed by a space (or the end), outside code spans.
_SENTENCE_END = re.compile(r"[.!?:;](?=\s|$)")
STEP_LABEL_WORDS = 12


def render_markdown_inline(text: str | None) -> SafeString:
    """One line of Markdown (a label): rendered and sanitized like `render_markdown`, without
    the paragraph around it."""
    html = str(render_markdown(text)).strip()
    match = _PARAGRAPH.match(html)
    if match and "<p>" not in match.group(1):
        html = match.group(1)
    return mark_safe(html)  # noqa: S308 - sanitized by render_markdown


def _outside_code(text: str) -> list[tuple[int, int]]:
    """Spans of `text` outside backtick code spans (an unclosed backtick opens no span)."""
    spans, start, pos = [], 0, 0
    while True:
        opening = text.find("`", pos)
        if opening < 0:
            break
        run = len(text[opening:]) - len(text[opening:].lstrip("`"))
        closing = text.find("`" * run, opening + run)
        if closing < 0:
            break
        spans.append((start, opening))
        start = pos = closing + run
    spans.append((start, len(text)))
    return spans


def step_label(text: str, *, max_words: int = STEP_LABEL_WORDS) -> tuple[str, bool]:
    """A short Markdown label for a step, and whether it is the whole step.

    The label is the step's first sentence, cut to `max_words` words with "…"; a cut never
    falls inside a code span, so the label renders like the step does.
    """
    source = " ".join((text or "").split())
    end = len(source)
    found = False
    for start, stop in _outside_code(source):
        for match in _SENTENCE_END.finditer(source, start, stop):
            # "e.g." or "Note:" is not a sentence: a label has at least three words.
            if len(source[: match.start()].split()) >= 3:
                end = match.end() if source[match.start()] in ".!?" else match.start()
                found = True
                break
        if found:
            break
    label = source[:end].strip()
    words, cut = 0, None
    for start, stop in _outside_code(label):
        for match in re.finditer(r"\S+", label[start:stop]):
            words += 1
            if words > max_words:
                cut = start + match.start()
                break
        if cut is not None:
            break
        words += 0 if stop == len(label) else 1  # the code span after this stretch
        if words > max_words:
            cut = stop
            break
    if cut is not None:
        label = label[:cut].rstrip(" ,;:") + "…"
    return label, label == source


def markdown_excerpt(text: str | None, limit: int = 220) -> str:
    """The plain text a reader sees of rendered Markdown (no `**` or backticks), with
    whitespace collapsed, cut to `limit` characters on a word. Plain text: escape it."""
    plain = unescape(strip_tags(render_markdown(text)))
    return Truncator(" ".join(plain.split())).chars(limit)
