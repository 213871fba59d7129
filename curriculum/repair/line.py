"""Repair one line: tokens, glued lists, calls, spans running on through spaces."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .checks import _credible, _looks_glued
from .segment import _code_evidence, _segment, _split_affixes
from .words import (
    EMPTY,
    GLUED_NAME,
    LETTERS,
    LineResult,
    Piece,
    Vocabulary,
    is_word,
    strong_shape,
    zipf,
)


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
