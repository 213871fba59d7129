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

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

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


# --- one token --------------------------------------------------------------------------


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


# --- lists glued at commas ----------------------------------------------------------------


def _comma_parts(core: str) -> list[str] | None:
    """ "open,read,write" -> parts, unless the commas belong to the code (1,000; a=1,b=2; {1,2})."""
    if "," not in core:
        return None
    depth, cuts = 0, []
    for index, char in enumerate(core):
        if char in "([{<":
            depth += 1
        elif char in ")]}>":
            depth -= 1
        elif char == "," and depth == 0 and index + 1 < len(core):
            left, right = core[index - 1 : index], core[index + 1]
            if left.isdigit() and right.isdigit():
                continue
            cuts.append(index)
    if not cuts:
        return None
    parts, start = [], 0
    for cut in cuts:
        parts.append(core[start:cut])
        start = cut + 1
    parts.append(core[start:])
    if any(not part or not LETTERS.search(part) for part in parts):
        return None
    if all("=" in part for part in parts):
        return None  # GODEBUG=gctrace=1,scheddetail=1 is one setting
    if re.match(r"--?\w+[:=]", parts[0]):
        return None  # -Xlog:gc:time,uptime: the commas belong to the option
    return parts


# --- one line ----------------------------------------------------------------------------


@dataclass
class _Token:
    space: str  # whitespace before the token
    lead: str
    core: str
    trail: str
    pieces: list[Piece] | None = None  # None: left as it is
    doubtful: bool = False  # a split was found but failed the checks: reported as a suspect
    closed: str = ""  # the token as written when a span's call closed inside it: "b)similarly"

    @property
    def original(self) -> str:
        return self.lead + self.core + self.trail


def _analyze(
    core: str, vocabulary: Vocabulary, *, start_code: bool, end_code: bool, free: bool = False
) -> list[Piece] | None:
    paren = core.find("(")
    if paren > 0 and core[paren + 1 : paren + 2].isalnum():
        split = _paren_split(core, paren, vocabulary, start_code=start_code)
        if split is not None:
            return split
    parts = _comma_parts(core)
    if parts is not None:
        return _analyze_list(parts, vocabulary, start_code=start_code, end_code=end_code)
    known = not LETTERS.search(core) or is_word(core, vocabulary) or core in vocabulary.code
    if not start_code and not end_code and known:
        return None
    pieces = _segment(core, vocabulary, start_code=start_code, end_code=end_code, free=free)
    glued = GLUED_NAME.fullmatch(core)
    if pieces is None and glued and not start_code and zipf(glued.group(2)) < 6.0:
        # "withloginctl", "withtop": two words never run together, so the second was code
        return [Piece(glued.group(1), False), Piece(glued.group(2), True)]
    if pieces is None:
        return None
    if not start_code and not end_code and len(pieces) == 1:
        return None
    return [Piece(text, kind != "P") for kind, text in pieces]


def _paren_split(
    core: str, paren: int, vocabulary: Vocabulary, *, start_code: bool
) -> list[Piece] | None:
    """ "X=1(orfoo.bar())" -> code, "(", "or", code, ")"; "x=512(1" -> code then "(1"."""
    left, inner = core[:paren], core[paren + 1 :]
    closing = inner.endswith(")") and inner.count("(") < inner.count(")")
    if closing:
        inner = inner[:-1]
    elif ")" in inner:
        return None  # a call with arguments: syscall(SYS_open)
    if start_code:
        head = _analyze(left, vocabulary, start_code=True, end_code=False) or [Piece(left, True)]
    else:
        head = _analyze(left, vocabulary, start_code=False, end_code=False)
        if head is None and strong_shape(left):
            head = [Piece(left, True)]
    if head is None or not head[-1].code:
        return None
    if start_code and not closing:
        chunk = re.match(r"[^\s,;]*", inner).group(0)
        abbreviation = re.fullmatch(r"(?:[a-z]\.)+[a-z]\.?", chunk)  # "e.g"
        argument = (
            chunk[:1].isalpha()
            and not abbreviation
            and (
                len(re.match(r"[A-Za-z]*", chunk).group(0)) < 2
                or (strong_shape(chunk) and not chunk.isalpha())
            )
        )
        if argument:
            return None  # "depth(n", "@retry(times=3,": the call's arguments run on
        return [*head, Piece("(" + inner, False)]
    pieces = _analyze(inner, vocabulary, start_code=False, end_code=False)
    if not pieces or pieces[0].code:
        return None
    tail = [Piece(")", False)] if closing else []
    return [*head, Piece("(", False), *pieces, *tail]


def _analyze_list(
    parts: list[str], vocabulary: Vocabulary, *, start_code: bool, end_code: bool
) -> list[Piece] | None:
    """Items after a glued comma are code (each lost the space before its span)."""
    out: list[Piece] = []
    word = parts[0]
    names = any(strong_shape(part) or zipf(part) < 3.5 for part in parts[1:])
    if not start_code and word.isalpha() and len(word) >= 4 and zipf(word) >= 3.5 and names:
        # "ordering,__eq__", "output,gofmt": a word, then the list of names
        out.append(Piece(word, False))
        parts = parts[1:]
        out.append(Piece(", ", False))
        rest = _analyze_list(parts, vocabulary, start_code=True, end_code=end_code)
        return None if rest is None else out + rest
    for index, part in enumerate(parts):
        first, last = index == 0, index == len(parts) - 1
        pieces = _segment(
            part,
            vocabulary,
            start_code=start_code if first else True,
            end_code=True if not last else end_code,
            free=True,
        )
        if pieces is None:
            return None
        if not first:
            out.append(Piece(", ", False))
        out.extend(Piece(text, kind != "P") for kind, text in pieces)
    return out


def _tokens(line: str) -> list[_Token]:
    tokens = []
    for match in re.finditer(r"(\s*)(\S+)", line):
        lead, core, trail = _split_affixes(match.group(2))
        tokens.append(_Token(match.group(1), lead, core, trail))
    return tokens


def _closing(text: str, depth: int) -> int | None:
    """Where `text` closes the `depth` parentheses a span left open, if it does."""
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return None


def _is_flag(token: _Token) -> bool:
    return not token.lead and bool(re.match(r"--?[A-Za-z]", token.core))


def _dangling_article(token: _Token) -> bool:
    """ "inst|a.": an "a" that ends a token must be followed by a word."""
    pieces = token.pieces
    return bool(pieces) and not pieces[-1].code and pieces[-1].text == "a" and bool(token.trail)


def _starts_code(pieces: list[Piece] | None) -> bool:
    return bool(pieces) and pieces[0].code


def _ends_code(pieces: list[Piece] | None) -> bool:
    return bool(pieces) and pieces[-1].code


def repair_line(
    line: str, vocabulary: Vocabulary = EMPTY, *, starts_with_code: bool = False
) -> LineResult:
    """Split the glued tokens of one line. `starts_with_code`: the line is a continuation
    line of the export, whose first code span was pushed to its start."""
    tokens = _tokens(line)
    trailing_space = line[len(line.rstrip()) :]
    open_span = starts_with_code
    depth = 0  # parentheses the open span has not closed yet
    for index, token in enumerate(tokens):
        start_code = open_span and not token.lead and bool(token.core)
        depth = depth if start_code else 0
        if start_code and depth + token.core.count("(") > token.core.count(")") and token.trail:
            token.core, token.trail = token.core + token.trail, ""  # "torch.matmul(a, b)"
        if start_code and depth > 0:
            close = _closing(token.core + token.trail, depth)
            if close is not None:  # "b)similarly": the span ends where its call closes
                text = token.core + token.trail
                token.core, token.trail = text[: close + 1], ""
                lead, core, trail = _split_affixes(text[close + 1 :])
                if core:
                    token.closed = text
                    tokens.insert(index + 1, _Token(" ", lead, core, trail))
                else:
                    token.trail = text[close + 1 :]
        if start_code:
            depth += token.core.count("(") - token.core.count(")")
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        # "vmstat 1andfree -h", "taskset -c 0,1": a span runs on through the space to a flag
        flag_follows = not token.trail and following is not None and _is_flag(following)
        if start_code:
            token.pieces = _analyze(
                token.core,
                vocabulary,
                start_code=True,
                end_code=flag_follows,
                free=index == 0 or flag_follows,
            )
            provable = index == 0 or bool(_code_evidence(token.core, vocabulary))
            provable = provable or not is_word(token.core, vocabulary)
            if is_word(token.core, vocabulary) and not _code_evidence(token.core, vocabulary):
                # a word: the whole first span of a line ("podman"); after a span, prose
                token.pieces = [Piece(token.core, True)] if index == 0 else None
            elif token.pieces is None and provable:
                token.pieces = [Piece(token.core, True)]
            elif token.pieces is not None and len(token.pieces) == 1 and not provable:
                token.pieces = None  # a plain word after a span: the span ended before it
        elif token.core:
            token.pieces = _analyze(token.core, vocabulary, start_code=False, end_code=False)
            _check(token, vocabulary, clean_start=False)
            if _starts_code(token.pieces) and index > 0 and not token.lead:
                _extend_back(tokens[index - 1], vocabulary)
            elif flag_follows and token.pieces is None:
                _extend_back(token, vocabulary)  # "Runbpftrace -e": a span ends the token
        if _dangling_article(token):
            token.pieces = [Piece(token.core, True)] if start_code else None
        _check(token, vocabulary, clean_start=start_code and index == 0 and starts_with_code)
        open_span = (
            _ends_code(token.pieces)
            and not token.trail
            and index + 1 < len(tokens)
            and (token.pieces is None or len(token.pieces) > 1 or start_code)
        )
    return _assemble(tokens, trailing_space, vocabulary)


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


def _credible(
    pieces: list[Piece], vocabulary: Vocabulary, *, clean_start: bool
) -> list[Piece] | None:
    """Check a split before it is used: every span must read as code on its own, and no cut
    may fall inside a name. A function word still glued to the edge of a span is peeled off
    ("andStackSys" -> "and" + `StackSys`, "runtime.ReadMemStatsto" -> `runtime.ReadMemStats`
    + "to") when what remains is still code; anything else doubtful gives None (the token is
    left as written and reported as a suspect)."""
    out: list[Piece] = []
    for index, piece in enumerate(pieces):
        if not piece.code:
            if out and not out[-1].code:
                out[-1] = Piece(out[-1].text + piece.text, False)  # "(" + "or"
            else:
                out.append(piece)
            continue
        first = clean_start and index == 0
        head, text, tail = _peel(piece.text, vocabulary, keep_start=first)
        if head:
            if out and not out[-1].code:
                return None  # "use" + "and": the cut before the span was already doubtful
            out.append(Piece(head, False))
        if not text or not _reads_as_code(text, vocabulary, clean_start=first):
            return None
        out.append(Piece(text, True))
        if tail:
            if index + 1 < len(pieces) and not pieces[index + 1].code:
                return None
            out.append(Piece(tail, False))
    for left, right in zip(out, out[1:], strict=False):
        if not _cut_ok(left, right, vocabulary):
            return None
    for left, right in zip(out, out[1:], strict=False):
        segment = re.search(r"\.([a-z]+)$", left.text) if left.code else None
        first = re.match(r"[a-z]+", right.text)
        inside = segment and first and first.group(0) not in FUNCTION_WORDS | DETERMINERS
        if inside and not is_word(segment.group(1), vocabulary):
            return None  # "asyncio.iscoroutine|function": a cut inside the name
    spans = [piece.text for piece in out if piece.code]
    if re.fullmatch(r"\.([a-z]+)", spans[0]) and zipf(spans[0][1:]) >= 4.0 and out[0].code:
        return None  # ".makes": a sentence's full stop glued to the next word
    rooted = any(span.startswith("/") for span in spans)
    for span in spans:
        word = re.match(r"([a-z]+)/", span)
        if rooted and word and zipf(word.group(1)) >= 4.5:
            return None  # "hit/apis/, /api/v1": the list's paths start at "/"
    return out


def _peel(text: str, vocabulary: Vocabulary, *, keep_start: bool) -> tuple[str, str, str]:
    """A function word glued to the outside of a name: "andStackSys", "fromsqlite3",
    "ReadMemStatsto", "syncto"."""
    head = tail = ""
    lead = re.match(r"[a-z]+", text)
    if not keep_start and lead:
        run = lead.group(0)
        for word in sorted(FUNCTION_WORDS, key=len, reverse=True):
            rest = text[len(word) :]
            if not run.startswith(word) or len(word) < (2 if rest[:1].isupper() else 3):
                continue
            if rest[:1].isupper() and not is_word(run, vocabulary):
                head, text = word, rest  # "andStackSys", "fromZeroDivisionError"
                break
            tail_run = run[len(word) :]
            named = is_word(tail_run, vocabulary) or tail_run in vocabulary.code
            if len(tail_run) >= 3 and not is_word(run, vocabulary) and (named or len(word) >= 4):
                head, text = word, rest  # "fromsqlite3", "usingsignal.SIGALRM"
                break
    last = re.search(r"(?:[A-Z][a-z]+|[A-Z]{2,}|(?<![A-Za-z])[a-z]+)$", text)
    if last and not is_word(last.group(0), vocabulary) and last.group(0) not in vocabulary.code:
        hump = last.group(0)
        for word in sorted(FUNCTION_WORDS, key=len, reverse=True):
            stem = hump[: -len(word)]
            if len(word) < 2 or not hump.endswith(word) or len(stem) < 3:
                continue
            upper = stem.isupper() or (stem[0].isupper() and is_word(stem, vocabulary))
            lower = stem.islower() and (is_word(stem, vocabulary) or stem in vocabulary.code)
            lower = lower and (len(word) >= 3 or word in ("to", "or", "of", "on"))  # not "rag|as"
            if upper or lower:
                tail, text = word, text[: -len(word)]  # "ReadMemStatsto", "syncto"
                break
    return head, text, tail


def _reads_as_code(text: str, vocabulary: Vocabulary, *, clean_start: bool) -> bool:
    """A span made by the repair: no English word glued to a name inside it."""
    # a span that crossed a space may close what the token before opened: "frozen=True)"
    # and the first span of a line may run on past the next space: "@dataclass(slots=True,"
    closes = _balanced(text) or (_balanced(text[:-1]) and text.endswith(")"))
    if not (closes or clean_start and _balanced(re.sub(r"[(\[{][^)\]}]*$", "", text))):
        return False  # "asE(make([]", "numpy.dot(a", "a).dis.dis"
    if _glued_inside(text, vocabulary):
        return False  # "asE(make([]", "numpy.dot(a", "seccompallow", "fetch_urltools"
    if re.search(r"[./]\w+\([A-Z][A-Za-z]*\)$", text) and not clean_start:
        return False  # "signal.SIGALRM(POSIX)", "/proc/meminfo(Shmem)": a note after a name
    if re.search(r"\w#\[", text):
        return False  # "Vector#[pyclass]": an attribute starts its own span
    colon = re.match(r"([A-Za-z]+):(?!:)", text)
    if colon and zipf(colon.group(1)) >= 3.5:
        return False  # "parameters:size", "Methods:generate": a word and its colon are prose
    lead = re.match(r"([a-z]+)(?:[A-Z][^a-z]|\()", text)
    if lead and not clean_start and lead.group(1) in FUNCTION_WORDS:
        return False  # "asE(make": a function word before a name
    article = re.match(r"a([a-z]{2,})(?=[.(])", text)
    if article and not clean_start and is_word(article.group(1)) and zipf(article.group(0)) < 3.5:
        return False  # "astr.split()": an article run into a name
    pascal = re.match(r"([A-Z][a-z]+)(?:[A-Z][a-z0-9]+){3}", text)
    if pascal and not clean_start and zipf(pascal.group(1)) >= 4.4:
        return False  # "PythonThreadPoolExecutor": a word before a name of three humps
    snake = re.search(r"_([a-z]+)$", text)
    if snake and not is_word(snake.group(1), vocabulary):
        run = snake.group(1)
        if any(zipf(run[:k]) >= 4.0 and zipf(run[k:]) >= 4.0 for k in range(3, len(run) - 3)):
            return False  # "fetch_urltools": two words at the end of a snake_case name
    prose_cap = re.match(r"([A-Z][a-z]+)$", text)
    if prose_cap and not clean_start and not is_word(text, vocabulary):
        run = text.lower()
        if any(zipf(run[:k]) >= 4.5 for k in range(3, len(run) - 2)):
            return False  # "Checkdmesg": a capitalized word run into a name
    # A common word before a PascalCase name of two humps or more reads as a word glued to
    # the name ("captureHeapAlloc", "implementsURLRepo"); one hump is a camelCase name of
    # its own ("deviceQuery", "evictionHard").
    lead = re.match(r"([a-z]+)(?=[A-Z][A-Za-z0-9]*[A-Z])", text)
    if lead and not clean_start and len(lead.group(1)) >= 2 and is_word(lead.group(1), floor=3.0):
        return False
    if re.fullmatch(r"(?:[A-Za-z]\.){2,}", text):
        return False  # "e.g.", "i.e.": an abbreviation of prose
    # a compound word can be a name ("entrypoints/", "type=wireguard"), not a dotted head or tail
    edges = [
        None if clean_start else re.match(r"[a-z]+(?![a-z/])", text),
        re.search(r"(?<![=/])\b[a-z]+$", text),
    ]
    for edge in filter(None, edges):
        run = edge.group(0)
        if is_word(run, vocabulary) or run in vocabulary.code:
            continue
        for k in range(4, len(run) - 2):  # "typicallybytes.Buffer", "echo.servicepair"
            left, right = run[:k], run[k:]
            if zipf(left) >= 4.0 and zipf(right) >= 4.0 and min(len(left), len(right)) >= 4:
                return False
    caps = re.search(r"[A-Z]([A-Z][a-z]{2,})$", text)
    if caps and not is_word(caps.group(1), vocabulary):
        return False  # "SOURCE_DATE_EPOCHenv": capitals, then a lowercase word (not "XDatabase")
    for run in re.findall(r"[A-Z]?[a-z]+", text):
        lower = run.lower()
        if len(run) < 5 or is_word(run, vocabulary) or run in vocabulary.code:
            continue
        for k in range(2, len(run) - 1):
            left, right = lower[:k], lower[k:]
            if left in FUNCTION_WORDS - {"a"} and len(right) >= 3 and is_word(right, floor=3.0):
                return False  # "fromjson", "overanthropic"
            ends_in_word = right in FUNCTION_WORDS - {"a"} and len(left) >= 3
            if ends_in_word and (len(right) >= 3 or is_word(left, floor=3.0)):
                return False  # "Errorvia", "Statsto", "anthropicand"
            for end in range(k + 3, len(run) - 2):  # "Executoranditertools"
                if lower[k:end] in FUNCTION_WORDS and len(left) >= 3 and is_word(left, floor=3.0):
                    return False
    return True


def _cut_ok(left: Piece, right: Piece, vocabulary: Vocabulary) -> bool:
    """No cut inside a path or dotted name: "all|ocs/op", "tools|/grpc_load_test/"."""
    if left.code == right.code:
        return True
    prose, code = (left, right) if right.code else (right, left)
    if not right.code:
        return True
    word = re.sub(r"^.*[^a-z]", "", prose.text.lower())  # "(or" -> "or"
    if not prose.text[-1:].isalpha():
        return True
    if code.text.startswith("/"):  # "of/etc/passwd", "Configure/etc/subuid"
        capitalized = prose.text[:1].isupper() and prose.text[1:].islower()
        if word in FUNCTION_WORDS or capitalized:
            return True
        # after another word ("run/etc/..."), a path of one segment is more likely the rest
        # of a relative path: "tools|/grpc_load_test/"
        return len([segment for segment in code.text.split("/") if segment]) >= 2
    run = re.match(r"[A-Za-z_-]+(?=[/.:])", code.text)
    if run and prose.text[-1:].isalpha() and code.text[:1].isalpha():
        name = run.group(0)
        named = (
            is_word(name, vocabulary) or name in vocabulary.code or name.lower() in vocabulary.words
        )
        capitalized = prose.text[:1].isupper() and prose.text[1:].islower()  # "Read|index.json"
        if word in FUNCTION_WORDS | DETERMINERS or capitalized:
            return named  # "into|cls._fields", "Read|index.json"
        return is_word(name, vocabulary, floor=3.5) and zipf(word) >= 4.0  # "run|torch.compile"
    return True


def _check(token: _Token, vocabulary: Vocabulary, *, clean_start: bool) -> None:
    if token.pieces is None:
        return
    checked = _credible(token.pieces, vocabulary, clean_start=clean_start)
    if checked is None:
        token.pieces, token.doubtful = None, True
    else:
        token.pieces = checked


def _extend_back(previous: _Token, vocabulary: Vocabulary) -> None:
    """A span that starts a token after a space began in the token before (spaces next to a
    span were deleted, so this one is inside it): "atoolchain go1.22.x" -> "a `toolchain go1.22.x`"."""
    if previous.trail or _ends_code(previous.pieces) or not previous.core:
        return
    if previous.pieces is None and is_word(previous.core, vocabulary):
        return
    pieces = _analyze(previous.core, vocabulary, start_code=False, end_code=True)
    if pieces is not None:
        pieces = _credible(pieces, vocabulary, clean_start=False)
    if pieces is not None and len(pieces) > 1 and pieces[-1].code:
        previous.pieces = pieces


def _assemble(tokens: list[_Token], trailing_space: str, vocabulary: Vocabulary) -> LineResult:
    segments: list[Piece] = []
    repairs: list[tuple[str, str]] = []
    suspects: list[str] = []

    def add(text: str, code: bool) -> None:
        if segments and segments[-1].code == code:
            segments[-1].text += text
        else:
            segments.append(Piece(text, code))

    run_start = None  # index in segments where the current glued run began
    before_run: list[str] = []
    for index, token in enumerate(tokens):
        pieces = token.pieces
        glued = pieces is not None and (len(pieces) > 1 or pieces[0].code)
        joins_code = glued and pieces[0].code and segments and segments[-1].code and not token.lead
        if joins_code and index > 0 and not tokens[index - 1].trail:
            add(token.space, True)
        else:
            add(token.space, False)
        if token.lead:
            add(token.lead, False)
        if not glued:
            add(token.core, False)
            if token.core and (token.doubtful or _looks_glued(token.core, vocabulary)):
                suspects.append(token.core)
        else:
            if run_start is None:
                run_start = len(before_run)
            for piece in pieces:
                text = piece.text
                if (
                    not piece.code
                    and segments
                    and segments[-1].code
                    and text[:1].isalnum()
                    or text == "("
                    or (not piece.code and text.startswith("(") and segments[-1].code)
                ):
                    text = " " + text
                elif piece.code and segments and not segments[-1].code:
                    last = segments[-1].text
                    if last and last[-1].isalnum():
                        segments[-1].text += " "
                add(text, piece.code)
        if token.trail:
            add(token.trail, False)
        if token.closed and pieces:
            after = f"{_render_pieces(token)} {tokens[index + 1].original}"
            repairs.append((token.closed, after))  # "b)similarly" -> "`b)` similarly"
        elif glued and (len(pieces) > 1 or pieces[0].text != token.core):
            repairs.append((token.original, _render_pieces(token)))
    if trailing_space:
        add(trailing_space, False)
    return LineResult(segments=[s for s in segments if s.text], repairs=repairs, suspects=suspects)


def _render_pieces(token: _Token) -> str:
    out = token.lead
    previous: Piece | None = None
    for piece in token.pieces or []:
        text = piece.text
        if previous is not None and previous.code != piece.code:
            # the space the export dropped: "and `x`", "`x` and", "`x` (or"; not "`x`)"
            word_after = text[:1].isalnum() or (piece.code and previous.text[-1:].isalnum())
            if (word_after or text.startswith("(")) and not previous.text.endswith(" "):
                out += " "
        out += f"`{text}`" if piece.code else text
        previous = piece
    return out + token.trail


GLUED_NAME = re.compile(r"(with|from|into|every)([a-z][a-z0-9_]{2,})")
# Function words that glue leaves at the edge of a token: "withcat", "-fand", "yourcat".
GLUE_WORDS = ("with", "and", "from", "into", "your", "every", "the", "that", "for", "via")


def _looks_glued(core: str, vocabulary: Vocabulary) -> bool:
    """A token left as written that still reads as a word run into code (a suspect)."""
    if not LETTERS.search(core) or core in vocabulary.code or is_word(core, vocabulary):
        return False
    lower = core.lower()
    for word in GLUE_WORDS:
        run = re.match(r"[a-z]*", core).group(0)
        if core.startswith(word) and len(core) - len(word) >= 3 and not is_word(run):
            rest = core[len(word) :]
            if strong_shape(rest) or not is_word(rest, vocabulary) or rest[:1].isupper():
                return True
            if rest.isalpha() and zipf(rest) >= 4.0:
                return True  # "withcat": two words run together
        if lower.endswith(word) and len(core) - len(word) >= 2 and word != "the":
            rest = core[: -len(word)]
            if strong_shape(rest) or (rest[-1:].isupper() and not rest.isupper()):
                return True  # "-fand", "WatchCachedgrow"
    return False


# --- the whole file -----------------------------------------------------------------------


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


def _glued_inside(text: str, vocabulary: Vocabulary, *, strict: bool = False) -> bool:
    """A word run into a name inside `text`: "netns|vs|pasta", "tenant-c|under/",
    "memory.high=512M|cgroup", "seccomp|allow" (the file shows "seccomp" on its own).
    `strict` (for the file's own code names, which only add evidence): also any name run
    into a common word ("url|tools", "Mock|you"), which a span may well be ("errgroup")."""
    if GLUED_INSIDE.search(text):
        return True  # "SystemCallFilter=and", "512MiBandGOGC", "memory.high=512Mc"
    for run in re.findall(r"[A-Z]?[a-z]+", text):
        low = run.lower()
        if is_word(low, vocabulary) or run in vocabulary.code:
            continue
        for k in range(1, len(low) - 1):
            left, right = low[:k], low[k:]
            if k < 3:
                if len(right) >= 4 and right in FUNCTION_WORDS:
                    return True  # "c|under"
                continue
            if len(right) >= 3 and right in FUNCTION_WORDS:
                return True  # "ctr|and"
            known = zipf(left) < 3.0 and (left in vocabulary.words or left in vocabulary.code)
            if len(right) >= 4 and zipf(right) >= 4.0 and (strict or known):
                return True  # "seccomp|allow", "url|tools"
            if strict and (
                right in FUNCTION_WORDS
                or is_word(left, floor=3.0)
                and (zipf(right) >= 5.0 or (len(right) >= 5 and is_word(right, floor=3.0)))
            ):
                return True  # "tmpfs|at", "Mock|you", "Error|chained", "Func|cleanup"
        for word in FUNCTION_WORDS - {"a"}:
            at = low.find(word, 3)
            while at > 0:
                rest = low[at + len(word) :]
                size = 4 if len(word) == 2 else 3
                sides = (low[:at], rest)
                named = any(is_word(side) or side in vocabulary.words for side in sides)
                if len(rest) >= size and at >= size and (len(word) > 2 or named):
                    return True  # "netns|vs|pasta", "pgvector|or|qdrant"; not "testc|on|tainers"
                at = low.find(word, at + 1)
        if any(low.startswith(word) and len(low) > len(word) + 2 for word in GLUE_WORDS):
            return True  # "andfoo"
    return False


GLUED_INSIDE = re.compile(
    r"[^A-Za-z\s](?:and|or|to|for|at|in|on|of|with|from|into|via|vs)$"
    r"|[A-Za-z0-9](?:and|or|vs|with|from|into)(?=[A-Z_]{2})"
    r"|\d[KMGTP](?:i?B)?[a-z]"
)


def _balanced(text: str) -> bool:
    """Brackets in `text` open and close in order."""
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


# --- Markdown ---------------------------------------------------------------------------

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
