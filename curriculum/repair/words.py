"""English words (wordsegment frequencies), the shape of code, and the pieces a repair is made of."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache

# Code spans travel through the cleaner as text between these two private-use characters.
OPEN, CLOSE = "\ue000", "\ue001"


MARKS = re.compile(f"[{OPEN}{CLOSE}]")


TRAIL_PUNCT = ".,;:!?"


STRONG_CHARS = re.compile(r"^\.[A-Za-z_]|[_=$@#\\{}<>]|::|\(\)|\(\S*\)|\w\.\w|\w/\w|^/|^--?\w|\[\]")


CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z][a-z]+[A-Z]")


ALLCAPS = re.compile(r"[A-Z][A-Z0-9]{2,}")


VERSION = re.compile(r"\d\.\d|[a-zA-Z]\d|\d[a-zA-Z]")


WORDLIKE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


LETTERS = re.compile(r"[A-Za-z]")


KEEP = 8  # segmentations kept per position: the cheapest may fail the checks at the end


@cache
def _unigrams() -> tuple[dict[str, float], float]:
    import wordsegment

    wordsegment.load()
    counts = wordsegment.UNIGRAMS
    return counts, math.log10(sum(counts.values()))


def zipf(word: str) -> float:
    """Zipf frequency of an English word (log10 per billion words); 0 when unknown."""
    counts, log_total = _unigrams()
    count = counts.get(word.lower())
    return math.log10(count) - log_total + 9 if count else 0.0


def is_word(word: str, vocabulary: Vocabulary | None = None, *, floor: float = 2.5) -> bool:
    """An English word, or a word the file uses on its own (containerd, goroutine...)."""
    lower = word.lower()
    if vocabulary is not None and lower in vocabulary.words:
        return True
    parts = lower.split("-")
    return all(part and (zipf(part) >= floor or _inflected(part, floor)) for part in parts)


def _inflected(word: str, floor: float) -> bool:
    for suffix, repl in (("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        stem = word[: -len(suffix)] + repl
        if word.endswith(suffix) and len(stem) >= 3 and zipf(stem) >= floor + 0.5:
            return True
    return False


def _prose_ok(word: str) -> bool:
    """A common word that the export could have glued to a code span."""
    parts = word.lower().split("-")
    for part in parts:
        if len(part) == 1:
            ok = part == "a" and len(parts) == 1
        elif len(part) == 2:
            ok = zipf(part) >= 5.5
        elif len(part) == 3:
            ok = zipf(part) >= 4.8
        else:
            ok = zipf(part) >= 3.6
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Vocabulary:
    """What the whole file says: names it shows as code, and words it uses on their own."""

    code: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()


EMPTY = Vocabulary()


def strong_shape(text: str) -> bool:
    """Reads as code on its own: a path, a dotted or snake_case name, a flag, a call..."""
    if not LETTERS.search(text) and not re.search(r"\d", text):
        return False
    return bool(
        STRONG_CHARS.search(text)
        or CAMEL.search(text)
        or ALLCAPS.fullmatch(text.strip("-"))
        or (VERSION.search(text) and not text.isalpha())
    )


@dataclass
class Piece:
    text: str
    code: bool


@dataclass
class LineResult:
    segments: list[Piece]
    repairs: list[tuple[str, str]] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)


SHORT_JOINERS = frozenset({"to", "or", "in", "on", "of", "by"})


def _joins(word: str, floor: float = 5.2) -> bool:
    """A common word that glue leaves next to a span: "and", "with", "to", "for"..."""
    if len(word) == 1:
        return word == "a"
    if len(word) == 2:
        return word.lower() in SHORT_JOINERS
    return zipf(word.split("-")[0]) >= floor


def _opening(word: str) -> bool:
    """A capitalized first word of a step: "Use", "Read", "Configure"."""
    return word[:1].isupper() and word[1:].islower() and zipf(word) >= 4.0


def _absolute_path(text: str) -> bool:
    """ "/etc/subuid", "/proc/<pid>/maps", "/apis/": not "/update/delete" (words)."""
    segments = [segment for segment in text.split("/") if segment]
    if text.count("/") < 2 or not segments:
        return False
    return any(not segment.isalpha() or zipf(segment) < 4.5 for segment in segments)


# Closed-class words (articles, prepositions, conjunctions) that glue leaves on either side of
# a span. Unlike content words, they never start or end an identifier's name on their own.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "not",
        "of",
        "on",
        "or",
        "over",
        "than",
        "that",
        "the",
        "then",
        "to",
        "under",
        "use",
        "using",
        "via",
        "vs",
        "when",
        "where",
        "while",
        "with",
        "within",
        "without",
    ]
)


DETERMINERS = frozenset(
    ["any", "each", "every", "its", "my", "our", "some", "their", "these", "this", "those", "your"]
)


GLUED_NAME = re.compile(r"(with|from|into|every)([a-z][a-z0-9_]{2,})")


# Function words that glue leaves at the edge of a token: "withcat", "-fand", "yourcat".
GLUE_WORDS = ("with", "and", "from", "into", "your", "every", "the", "that", "for", "via")
