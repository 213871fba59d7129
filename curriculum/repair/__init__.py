"""Restore inline code that an export glued into the prose around it.

The tool that exported the labs index dropped the backticks of inline code together with
the spaces next to them, and pushed the first code span of a step to the start of its own
line: "Run `nvidia-smi` and `nvidia-smi -q`." arrived as "Run\\nnvidia-smiandnvidia-smi -q.".
This module finds such glued tokens and splits them back into words and code:

- the prose side must be common English words (the `wordsegment` unigram frequencies);
- the code side needs evidence: the shape of code (paths, dotted names, flags, `=`, `::`,
  `()`, snake_case, camelCase, ALLCAPS identifiers, versions), a name the same file shows as
  code elsewhere (a span that starts a continuation line is clean at its start), or its
  position (the first span of a continuation line; the rest of a span that a space runs
  through: the export deleted the spaces *around* a span, so a space next to code is inside
  it);
- glued lists get their comma spaces back: "onlyopen,read" -> "only `open`, `read`".

Precision comes first: a token that is a word (in the word list or seen whole in the file)
is never split, every split is checked before use (`_credible`: spans must read as code on
their own, no cut inside a path segment), and a token that looks glued but has no safe split
is left as it is and reported as a suspect. Everything here is a pure function of the text and the file-wide
`Vocabulary`, so importing the same file twice gives the same result.
"""

from __future__ import annotations

import re

from .line import repair_line
from .vocabulary import build_vocabulary
from .words import (
    CLOSE,
    EMPTY,
    MARKS,
    OPEN,
    LineResult,
    Piece,
    Vocabulary,
    is_word,
    strong_shape,
    zipf,
)

INLINE_CODE = re.compile(r"(`+)(.+?)\1")


FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def code_span(text: str) -> str:
    """`text` as a Markdown code span, with a fence longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def repair_markdown(text: str, vocabulary: Vocabulary = EMPTY) -> tuple[str, LineResult]:
    """Repair the prose of a Markdown body; code spans and fenced blocks are kept as written."""
    out_lines: list[str] = []
    report = LineResult(segments=[])
    in_fence = False
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            out_lines.append(line)
            continue
        if in_fence or line.startswith(("    ", "\t")):
            out_lines.append(line)
            continue
        out: list[str] = []
        position = 0
        for match in INLINE_CODE.finditer(line):
            out.append(_repair_prose(line[position : match.start()], vocabulary, report))
            out.append(match.group(0))
            position = match.end()
        out.append(_repair_prose(line[position:], vocabulary, report))
        out_lines.append("".join(out))
    return "\n".join(out_lines), report


def _repair_prose(text: str, vocabulary: Vocabulary, report: LineResult) -> str:
    if not text.strip() or "`" in text:
        return text
    result = repair_line(text, vocabulary)
    report.repairs.extend(result.repairs)
    report.suspects.extend(result.suspects)
    if not result.repairs:
        return text
    return "".join(code_span(s.text) if s.code else s.text for s in result.segments)


__all__ = [
    "CLOSE",
    "EMPTY",
    "MARKS",
    "OPEN",
    "LineResult",
    "Piece",
    "Vocabulary",
    "build_vocabulary",
    "code_span",
    "is_word",
    "repair_line",
    "repair_markdown",
    "strong_shape",
    "zipf",
]
