"""A readable word diff of two lab texts, for learners ("what changed since you started").

Words and the white space between them are compared with difflib; long unchanged stretches
are cut to a little context on either side. The result is plain data (kind, text) that
templates escape like any text, so nothing in a lab can inject markup through the diff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\s+|[^\s]+")
CONTEXT_TOKENS = 16  # words and spaces kept on each side of a change
MAX_TOKENS = 30_000  # beyond this, whole lines are compared instead of words


@dataclass(frozen=True)
class Segment:
    kind: str  # same | add | del | gap
    text: str


def _tokens(text: str) -> list[str]:
    tokens = _TOKEN.findall(text or "")
    if len(tokens) > MAX_TOKENS:
        return (text or "").splitlines(keepends=True)
    return tokens


def word_diff(old: str, new: str, *, context: int = CONTEXT_TOKENS) -> list[Segment]:
    """Segments turning `old` into `new`; empty when the texts are the same."""
    if old == new:
        return []
    left, right = _tokens(old), _tokens(new)
    if len(left) + len(right) > 2 * MAX_TOKENS:
        left, right = (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True)
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    opcodes = matcher.get_opcodes()
    segments: list[Segment] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = left[i1:i2]
            head = context if index > 0 else 0  # context after the change before
            tail = context if index < len(opcodes) - 1 else 0  # context before the next
            if len(same) <= head + tail + 2:
                segments.append(Segment("same", "".join(same)))
                continue
            if head:
                segments.append(Segment("same", "".join(same[:head])))
            segments.append(Segment("gap", "…"))
            if tail:
                segments.append(Segment("same", "".join(same[-tail:])))
            continue
        if i2 > i1:
            segments.append(Segment("del", "".join(left[i1:i2])))
        if j2 > j1:
            segments.append(Segment("add", "".join(right[j1:j2])))
    return segments
