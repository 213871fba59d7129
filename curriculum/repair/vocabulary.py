"""What the whole file says: the code names it shows and the words it uses on their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .checks import _balanced, _glued_inside, _reads_as_code
from .segment import _segment, _split_affixes
from .words import GLUED_NAME, LETTERS, Vocabulary, is_word, zipf


def build_vocabulary(lines: Iterable[tuple[str, bool]]) -> Vocabulary:
    """From all (line, starts_with_code) of a file: the code names at the start of
    continuation lines, and the words used whole at least twice."""
    pairs = list(lines)
    seen: Counter[str] = Counter()
    for line, _ in pairs:
        for token in line.split():
            _, core, _ = _split_affixes(token)
            if core.isalpha():
                seen[core.lower()] += 1
    words = frozenset(
        word
        for word, count in seen.items()
        if count >= 2 and (zipf(word) > 0 or not GLUED_NAME.fullmatch(word))
    )  # "withasyncio" twice is still glued
    first_pass = Vocabulary(words=words)
    code: set[str] = set()
    for line, starts_with_code in pairs:
        if not starts_with_code:
            continue
        tokens = line.split(maxsplit=1)
        if not tokens:
            continue
        _, core, _ = _split_affixes(tokens[0])
        pieces = _segment(core, first_pass, start_code=True, end_code=False) if core else None
        if pieces and pieces[0][0] != "P":
            name = pieces[0][1]
            if LETTERS.search(name):
                code.add(name)
    # A name at the start of a line can still be glued at its end ("seccompallow",
    # "runtime.ReadMemStatssnapshots") or cut short ("tena" of "tenacity"): only names that
    # pass the same checks as a repaired span are trusted to prove code elsewhere.
    whole = {word for word, _ in seen.items()}
    trusted = frozenset(name for name in code if _credible_name(name, first_pass, whole))
    return Vocabulary(code=trusted, words=words)


def _credible_name(name: str, vocabulary: Vocabulary, whole: set[str]) -> bool:
    """A code name of the file that may prove code elsewhere: not a short fragment, not an
    English word, not a list, not a prefix cut from a longer word, no word glued inside it
    or at its edge ("seccompallow", "containerdandnerdctl", "Mockyou", "tena")."""
    lower = name.lower()
    if len(name) <= 2 or zipf(name) >= 3.5 or "," in name or not _balanced(name):
        return False
    if name.isalpha() and any(
        len(word) > len(lower) and word.startswith(lower) and is_word(word) for word in whole
    ):
        return False  # "tena" is the start of "tenacity"
    if not _reads_as_code(name, vocabulary, clean_start=True):
        return False
    return not _glued_inside(name, vocabulary, strict=True)
