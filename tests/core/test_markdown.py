from core.markdown import markdown_excerpt, render_markdown


def test_fenced_code_keeps_its_language_class():
    html = render_markdown("```python\nprint(1)\n```")
    assert '<code class="language-python">' in html


def test_other_classes_are_dropped():
    html = render_markdown(
        '<code class="button primary">x</code> <code class="language-go x">y</code>'
    )
    assert "button" not in html
    assert "language-go x" not in html
    assert "<code>x</code>" in html


def test_lists_and_links_survive_and_links_are_nofollow():
    html = render_markdown("1. one\n2. [two](https://example.com)")
    assert "<ol>" in html and "<li>one</li>" in html
    assert 'href="https://example.com"' in html and "nofollow" in html


def test_empty_input_renders_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_bare_urls_become_nofollow_links():
    html = render_markdown("See https://example.com/run?n=4096, then www.example.org.")
    assert '<a href="https://example.com/run?n=4096" rel="noopener noreferrer nofollow">' in html
    assert '<a href="http://www.example.org" rel="noopener noreferrer nofollow">' in html
    # Trailing punctuation stays outside the link.
    assert "n=4096</a>," in html


def test_only_web_addresses_are_linked():
    html = render_markdown(
        "javascript:alert(1) ftp://files.example.com/x data:text/html,hi "
        "me@example.com `https://in.code.example`"
    )
    assert "href" not in html
    assert "<code>https://in.code.example</code>" in html


def test_linked_text_is_escaped():
    html = render_markdown('https://example.com/"><script>alert(1)</script>')
    assert "<script>" not in html
    # The quote cannot close the attribute: it is part of the (escaped) address.
    assert 'href="https://example.com/&quot;&gt;"' in html


def test_an_excerpt_is_the_text_a_reader_sees():
    body = "Add the **measured** figures for `N=4096`.\n\n- one\n- two &amp; <script>x()</script>"
    assert markdown_excerpt(body) == "Add the measured figures for N=4096. one two &"
    assert markdown_excerpt("word " * 100, 20) == "word word word word…"
    assert markdown_excerpt("") == ""


def test_repeated_text_is_rendered_once_per_process_with_the_same_safe_html():
    from core import markdown as module

    text = "Hello **there** <script>alert(1)</script> [x](javascript:alert(1)) memo-test-1"
    first = module.render_markdown(text)
    hits = module._render_memo.cache_info().hits
    second = module.render_markdown(text)
    assert second == first and "<script>" not in second and "javascript:" not in second
    assert module._render_memo.cache_info().hits == hits + 1


def test_a_text_longer_than_the_memo_bound_is_still_rendered_and_sanitized():
    from core import markdown as module

    text = "<script>x</script> " + "word " * (module.MEMO_MAX_CHARS // 5 + 10)
    html = module.render_markdown(text)
    assert "<script>" not in html and "word word" in html
