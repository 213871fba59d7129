"""Check a split before it is used: every span reads as code, no cut falls inside a name."""

from __future__ import annotations

import re

from .words import (
    DETERMINERS,
    FUNCTION_WORDS,
    GLUE_WORDS,
    LETTERS,
    Piece,
    Vocabulary,
    is_word,
    strong_shape,
    zipf,
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
