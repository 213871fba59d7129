"""Short labels for lab steps: the first sentence, never cut inside code."""

import re

from hypothesis import given
from hypothesis import strategies as st

from core.markdown import render_markdown_inline, step_label

WORD = st.from_regex(r"[A-Za-z][a-z]{0,9}[,]?", fullmatch=True)
CODE = st.from_regex(r"`[a-z_.(): -]{1,30}[a-z_)]`", fullmatch=True)


def test_first_sentence_or_clause_is_the_label():
    assert step_label("Test on a tiny MLP: define f = x @ W1 + b1. Verify it.") == (
        "Test on a tiny MLP",
        False,
    )
    assert step_label("Run `make test` in the repo. Then read the log.") == (
        "Run `make test` in the repo.",
        False,
    )
    assert step_label("Plot the clocks.") == ("Plot the clocks.", True)


def test_abbreviations_and_code_punctuation_do_not_end_the_label():
    label, whole = step_label("Use e.g. `os.path.join(a, b). x` to build the path and print it")
    assert whole and label.startswith("Use e.g. `os.path.join(a, b). x`")


def test_long_sentences_are_cut_at_a_word_with_an_ellipsis():
    text = "Write a shell script that uses buildah from run copy config commit to produce a small image"
    label, whole = step_label(text, max_words=6)
    assert label == "Write a shell script that uses…" and not whole


def test_the_label_renders_code_and_no_backticks():
    label, _ = step_label("`__add__, __mul__`, relu, sum. Each records its inputs.")
    assert str(render_markdown_inline(label)) == "<code>__add__, __mul__</code>, relu, sum."


@given(st.lists(st.one_of(WORD, CODE), min_size=1, max_size=40), st.integers(3, 15))
def test_a_label_never_splits_a_code_span(parts, max_words):
    text = " ".join(parts)
    label, whole = step_label(text, max_words=max_words)
    # Every code span of the label is a whole code span of the step.
    assert label.count("`") % 2 == 0
    spans = re.findall(r"`[^`]*`", label)
    assert all(span in text for span in spans)
    assert "`" not in str(render_markdown_inline(label))
    if whole:
        assert label == text
    else:
        assert label.rstrip("…").strip()
        assert text.startswith(label.rstrip("…").rstrip(" ,;:")[: max(1, len(label) - 2)])
