"""Split one glued token into prose and code: the cheapest segmentation whose cuts all hold."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .words import (
    KEEP,
    TRAIL_PUNCT,
    WORDLIKE,
    Vocabulary,
    _absolute_path,
    _joins,
    _opening,
    _prose_ok,
    is_word,
    strong_shape,
    zipf,
)


def _split_affixes(token: str) -> tuple[str, str, str]:
    lead_match = re.match(r"^[(\"'“‘]*", token)
    lead = lead_match.group(0) if lead_match else ""
    rest = token[len(lead) :]
    trail = ""
    while rest and rest[-1] in TRAIL_PUNCT + ")\"'”’]":
        char = rest[-1]
        if char == ")" and rest.count("(") >= rest.count(")"):
            break
        if char == "]" and rest.count("[") >= rest.count("]"):
            break
        if char in "\"'" and rest.count(char) % 2 == 0:
            break
        trail = char + trail
        rest = rest[:-1]
    # "(ortorch" / "'tracepoint:..." keep a quote that the code needs
    return lead, rest, trail


@dataclass(frozen=True)
class _Option:
    cost: float
    pieces: tuple[tuple[str, str], ...]  # (kind, text): kind "P", "C" (strong) or "W" (weak)


def _code_evidence(text: str, vocabulary: Vocabulary) -> str:
    """ "C" for code by shape or by the file's own code names, "W" for a non-word, "" else."""
    if strong_shape(text):
        return "C"
    if text in vocabulary.code and zipf(text) < 4.2:
        return "C"
    if len(text) >= 3 and text.isalnum() and zipf(text) < 2.5 and not is_word(text, vocabulary):
        return "W"
    if (
        re.fullmatch(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+){1,2}", text)
        and text.lower() not in vocabulary.words
    ) and any(zipf(part) < 3.5 for part in text.split("-")):
        return "W"  # nvidia-smi, stress-ng (but not end-to-end)
    return ""


def _boundary_ok(left: tuple[str, str], right: tuple[str, str], vocabulary: Vocabulary) -> bool:
    (left_kind, left_text), (_right_kind, right_text) = left, right
    a, b = left_text[-1], right_text[0]
    if left_kind == "P":  # prose -> code
        if len(left_text) == 2 and not _joins(left_text):
            return False
        if b.isdigit():
            return False  # "go1.22", "sha256sum": a version belongs to its name
        if b.isalpha() and a.isalpha() and not re.match(r"[A-Za-z]{2}", right_text):
            return False  # "huge|page|s=512": a span does not start with a lone letter
        if b.isalnum():
            if b.isupper() and right_text[1:2].islower() and right_text not in vocabulary.code:
                return False  # "setTimeout", "TestPyPI" are one name
            if left_text[0].isupper() and re.fullmatch(r"[A-Z]{1,4}", right_text):
                return False  # "OpenAPI", "OpenVEX" are one name
            run = re.match(r"[a-z]+", right_text)
            if left_text[-1].islower() and run and run.end() < len(right_text):
                name = run.group(0)  # "nodes|howsnvidia.com": the name must be a name
                if not (_joins(left_text) or _opening(left_text)):
                    return False  # "flame|graph.svg"
                pascal = left_text[0].isupper() and re.match(r"[A-Z<]", right_text[run.end() :])
                if pascal and zipf(left_text) < 5.5:
                    return False  # "Log|stashEncoder", "Spin|lock<T>" are one name
                if left_text == "a" and len(name) < 4:
                    return False  # "a|ten/src/ATen"
                if name in vocabulary.code:
                    return True
                if right_text[run.end() : run.end() + 1].isdigit():
                    return True  # "go1.22.x", "sqlite3": a name and its version
                return len(name) >= 3 and is_word(name, vocabulary, floor=3.0)
            return True
        if b in "_-" and not right_text.startswith(("--", "__")):
            return False  # "message_size", "end-to-end" are not glued
        if b == "." and not (zipf(left_text) >= 6.0 and re.match(r"\.[a-z_][a-z_0-9]", right_text)):
            return False  # "file.txt", "time.After" are not glued
        if b == "/":
            # "of/etc/passwd", "Configure/etc/..."; not "tokens/sec", "key/value"
            return (_joins(left_text) or _opening(left_text)) and _absolute_path(right_text)
        return b in "_-." or (b in "$<@'\"~" and zipf(left_text) >= 6.0)
    # code -> prose
    if not b.isalpha() or b.isupper():
        return False
    if len(right_text) == 2 and not _joins(right_text):
        return False  # "vmst|at", "rag|as"
    if a.isalpha():
        # a span ends with a lone letter only as a flag (-f), a suffix (_t) or a version
        # (1.22.x): not "jax.j|it", "<P|in", "/f|or"
        lone = len(re.search(r"[A-Za-z0-9]*$", left_text).group(0)) == 1 and len(left_text) > 1
        if lone and not re.search(r"(?:^|[\s=])--?[A-Za-z]$|_[a-z]$|\d\.[a-z]$", left_text):
            return False
        if re.search(r"[a-z][A-Z]$", left_text):
            return False  # "AtomicU|size": the cut would split a hump after its capital
        if re.search(r"[A-Z]{2}$", left_text):
            return True  # "SIGTERM|and", "MAP_HUGETLB|run": capitals, then a lowercase word
        hump = re.search(r"[A-Z][a-z]+$", left_text)  # "deviceQuery|sample"
        if hump and not _joins(right_text, 6.0):
            word = right_text.split("-")[0]
            return is_word(hump.group(0)) and (zipf(word) >= 4.8 or len(word) >= 8)
        known = left_kind == "F" or left_text in vocabulary.code
        if known and len(right_text) >= 4 and zipf(right_text) >= 4.4:
            return True  # the first span of a line, a name the file shows: "dict|cache"
        return _joins(right_text, 5.5) or len(right_text.split("-")[0]) >= 6
    if a.isalnum():
        return True
    return a in ")]}'\">*" or bool(re.search(r"(?<![\w.])__\w+__$", left_text))  # "__init__|the"


def _inside_word(
    core: str,
    cut: int,
    prose: tuple[int, int] | None,
    vocabulary: Vocabulary,
) -> bool:
    """Cutting `core` at `cut` would fall inside a word ("capabil|ities", "transf|or|mer",
    the "Timeout" of setTimeout). `prose`: the span of the prose piece next to the cut."""
    if not (0 < cut < len(core)) or not core[cut - 1].isalpha() or not core[cut].islower():
        return False
    if re.search(r"(?:^|[^\w-])--?[A-Za-z]$", core[:cut]):
        return False  # "-s|and": a one-letter flag
    first = re.search(r"[A-Z]?[a-z]*$", core[:cut]).start()
    if core[first].isupper() and core[first - 1 : first].isupper():
        first += 1  # "MAP_HUGETLB|read": the capital belongs to the run of capitals
    last = re.match(r"[a-z]*", core[cut:]).end() + cut
    left, right = core[first:cut], core[cut:last]
    if not left and _joins(right):
        return False  # "SIGTERM|and"
    if core[last : last + 1].isdigit() and len(right) <= 3:
        return False  # "under|go1.22.x": a short name with its version starts here
    run = left + right
    whole_word = is_word(run, vocabulary, floor=3.0)
    segment_start = not core[first - 1 : first].isalpha()
    meets = prose and segment_start and len(left) >= 2 and zipf(left) >= 3.0
    if meets and _joins(core[prose[0] : prose[1]]) and not whole_word:
        return False  # two whole words meet here: "--dry-run|read"
    for start in range(first, cut):
        if start > first and core[start].isupper():
            continue
        for end in range(cut + 1, last + 1):
            word = core[start:end].lower()
            if len(word) >= 4 and word in vocabulary.words:
                return True
            floor = 2.5 if len(word) >= 7 else 3.0  # "tena|city": a long rare word is a word
            if len(word) >= 4 and start == first and end == last and is_word(word, floor=floor):
                return True
            common = zipf(word) >= (4.0 if len(word) == 5 else 3.5)
            if len(word) >= 5 and common and not _grazes(core, start, end, cut, prose):
                return True
    return False


def _grazes(core: str, start: int, end: int, cut: int, prose: tuple[int, int] | None) -> bool:
    """A word that only grazes a joiner by one letter: "toml|and" (land), "read|std"
    (reads), "and|raft.go" (draft) may still be cut there."""
    if prose is None or not _joins(core[prose[0] : prose[1]]):
        return False
    prose_start, prose_end = prose
    if prose_start == cut:  # code | prose
        return cut - start == 1 and end <= prose_end + 1
    return (end - cut == 1 and start >= prose_start - 1) or cut - start == 1  # prose | code


@lru_cache(maxsize=65536)  # a pure function: importing a file again reuses its splits
def _segment(
    core: str,
    vocabulary: Vocabulary,
    *,
    start_code: bool,
    end_code: bool,
    free: bool = False,
) -> tuple[tuple[str, str], ...] | None:
    """Best split of `core` into alternating prose (P) and code (C, W) pieces, or None."""
    n = len(core)
    if n > 200:
        return None
    if (start_code or end_code) and core.isalpha() and core.lower() in vocabulary.words:
        return (("C", core),)  # a name the file uses on its own ("redis"): one span
    best: list[dict[str, list[_Option]]] = [{} for _ in range(n + 1)]
    best[0][""] = [_Option(0.0, ())]
    for i in range(n):
        for last, options in list(best[i].items()):
            for option in options:
                for j in range(i + 1, n + 1):
                    text = core[i:j]
                    candidates = []
                    if last != "P" and not (i == 0 and start_code) and WORDLIKE.fullmatch(text):
                        capital_ok = i == 0 and text[1:].islower()
                        if (text.islower() or capital_ok) and _prose_ok(text):
                            candidates.append(("P", 9.0 - zipf(text.split("-")[0])))
                    if last in ("", "P"):
                        evidence = _code_evidence(text, vocabulary)
                        forced = (i == 0 and start_code) or (j == n and end_code)
                        if forced and evidence == "W":
                            evidence = "F" if text.isalpha() else "C"
                        elif forced and not evidence:
                            if i == 0 and j == n:
                                evidence = "C"
                            elif (free and len(text) >= 3) or len(text) <= 2 or zipf(text) < 3.5:
                                evidence = "F"  # checked against its prose neighbour below
                        if evidence:
                            cost = 2.0 * len(text) + 1.0
                            if evidence == "F":  # an unknown span: prefer one that is a name
                                cost += 2.0 * max(0.0, 3.5 - zipf(text))
                            candidates.append((evidence, cost))
                    for kind, cost in candidates:
                        if option.pieces:
                            previous = option.pieces[-1]
                            if not _boundary_ok(previous, (kind, text), vocabulary):
                                continue
                            prose = (i, j) if kind == "P" else (i - len(previous[1]), i)
                            if _inside_word(core, i, prose, vocabulary):
                                continue
                        slot = "P" if kind == "P" else "C"
                        kept = best[j].setdefault(slot, [])
                        kept.append(_Option(option.cost + cost, (*option.pieces, (kind, text))))
                        if len(kept) > KEEP:
                            kept.sort(key=lambda kept_option: kept_option.cost)
                            del kept[KEEP:]
    finals = [
        option
        for slot, options in best[n].items()
        for option in options
        if slot and not (end_code and slot == "P") and _plausible(option.pieces)
    ]
    if not finals:
        return None
    return min(finals, key=lambda option: option.cost).pieces


def _plausible(pieces: tuple[tuple[str, str], ...]) -> bool:
    """Weak code (a bare non-word) needs a strong span in the token or prose on both sides."""
    kinds = [kind for kind, _ in pieces]
    for index, (kind, text) in enumerate(pieces):
        if kind == "F" and len(pieces) > 1:  # an unproven span at a forced end
            neighbour = pieces[index + 1 if index == 0 else index - 1][1]
            floor = 5.5 if len(text) < 3 else 5.0 if zipf(text) >= 3.5 else 4.4
            if zipf(neighbour.split("-")[0]) < floor or (len(text) < 3 and len(neighbour) < 2):
                return False
    for index in range(1, len(pieces) - 1):
        if kinds[index] == "P" and kinds[index - 1] != "P" and kinds[index + 1] != "P":
            # code-word-code in one token: the word is a joiner ("and", "or", "vs")
            word = pieces[index][1]
            lengths = (len(word), len(pieces[index - 1][1]), len(pieces[index + 1][1]))
            if not _joins(word) or min(lengths) < 2:
                return False
            if len(word) == 2 and "C" not in (kinds[index - 1], kinds[index + 1]):
                return False  # "testc|on|tainers": a two-letter joiner needs proven code by it
    sandwiched = False
    for index, kind in enumerate(kinds):
        if kind != "W":
            continue
        around = [i for i in (index - 1, index + 1) if 0 <= i < len(pieces)]
        if not all(_joiner(pieces, i, index) for i in around):
            return False  # a bare non-word sits between common lowercase words only
        sandwiched = sandwiched or (len(around) == 2 and len(pieces[index][1]) >= 4)
    return "W" not in kinds or sandwiched or "C" in kinds or "F" in kinds


def _joiner(pieces, index: int, weak: int) -> bool:
    """The prose piece at `index`, next to the non-word at `weak`, is a joining word; a
    two-letter one ("to", "or") only with proven code on its other side."""
    kind, text = pieces[index]
    if kind != "P" or not text.islower():
        return False
    if len(text) == 2:
        other = index + (index - weak)
        return _joins(text) and 0 <= other < len(pieces) and pieces[other][0] == "C"
    return len(text) >= 3 and zipf(text.split("-")[0]) >= 5.5
