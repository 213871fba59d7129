"""The shared Markdown renderer (core/markdown.py) against a corpus of XSS payloads.

Every payload is rendered and the output parsed: only allow-listed tags and attributes may
remain, no URL may use a scheme other than http, https or mailto, and no htmx attribute
survives. The same renderer serves notes, reviews, comments and lab text.
"""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from core.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" ONERROR="alert(1)">',
    "<img src=javascript:alert(1)>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>x</marquee>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![img](javascript:alert(1))",
    '![img](x" onerror="alert(1))',
    "<javascript:alert(1)>",
    '[a](https://example.com "title" onclick="alert(1)")',
    '<a hx-get="/admin/" hx-trigger="load">x</a>',
    '<div hx-post="/api/v1/x" hx-trigger="load" hx-swap="outerHTML">x</div>',
    '<div data-hx-get="/admin/" data-hx-trigger="load">x</div>',
    '<button hx-on:click="alert(1)">x</button>',
    '<span hx-on::load="alert(1)">x</span>',
    '<p data-hx-on-click="alert(1)">x</p>',
    "<div hx-vals='js:{a: alert(1)}' hx-get=\"/\">x</div>",
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    '<code class="x" onclick="alert(1)">c</code>',
    "<td onmouseover=alert(1)>x</td>",
    '<img src="https://ok.example/a.png" onload="alert(1)" style="x">',
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<<script>script>alert(1)<</script>/script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<textarea><script>alert(1)</script></textarea>",
    "<template><script>alert(1)</script></template>",
    "<xmp><script>alert(1)</script></xmp>",
    "<isindex action=javascript:alert(1) type=image>",
    '<a href="#" formaction="javascript:alert(1)">x</a>',
    "```html\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "`<img src=x onerror=alert(1)>`",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
    "> <iframe src=javascript:alert(1)>",
    "* [x](javascript:alert(1))\n* <svg/onload=alert(1)>",
    '<a href="//evil.example" target="_blank">x</a>',
    '<div id="main" class="hijack" aria-live="assertive">x</div>',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
]

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def test_corpus_is_large_enough():
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives(payload):
    html = str(render_markdown(payload))
    collector = Collector()
    collector.feed(html)
    for tag, attrs in collector.elements:
        assert tag in ALLOWED_TAGS, (tag, html)
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}
        for name, value in attrs:
            assert name in allowed, (tag, name, html)
            assert not name.startswith(("on", "hx-", "data-", "style")), html
            if name in URL_ATTRIBUTES and value:
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in SAFE_SCHEMES, (value, html)
    lowered = html.lower()
    # Text that merely mentions a payload is escaped; no live element of these kinds remains.
    for needle in ("<script", "<iframe", "<svg", "<style", "<object", "<embed", "<math"):
        assert needle not in lowered, html


@pytest.mark.parametrize(
    "payload", [p for p in PAYLOADS if "javascript" in p.lower() or "data:" in p.lower()]
)
def test_dangerous_schemes_never_reach_an_attribute(payload):
    collector = Collector()
    collector.feed(str(render_markdown(payload)))
    for _, attrs in collector.elements:
        for _, value in attrs:
            normalized = "".join((value or "").split()).lower()
            assert not normalized.startswith(("javascript:", "vbscript:", "data:")), value


def test_ordinary_markdown_still_renders():
    html = str(render_markdown("# Title\n\n**bold** [link](https://example.com)\n\n```\ncode\n```"))
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html and "nofollow" in html
    assert "<code>code" in html
