"""Turn the run-together text of the labs index into readable Markdown.

The export that produced the labs index lost its formatting: list items were run together
with " - ", inline code was split onto lines of its own (and its backticks half lost), and
some numbered steps sit inline in one paragraph ("1. Run ... 2. Quantize ..."). The cleaner
rebuilds one list item per step, joins split fragments back into their sentence, keeps
numbered steps numbered, fences runs of code lines, and escapes the characters Markdown
would otherwise read as markup (the text is data: it must show as written).

A lab's deliverables are its top-level steps: the numbered steps when it has any (bullets
then elaborate a step), otherwise its bullet items; with no steps, the lab itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .repair import CLOSE, EMPTY, MARKS, OPEN, Vocabulary, code_span, repair_line

BULLET = re.compile(r"^\s*[-*•]\s+(?=\S)")
NUMBERED = re.compile(r"^\s*(\d{1,3})[.)](?:\s+(?=\S)|(?=[A-Za-z]))")
TERMINAL = ".:!?"
# A step run into the previous one: "...blob.- Find" / "...line. - Compile" / "answer: - \"What".
INLINE_BULLET = re.compile(
    r"(?:(?<=[.!?):\"”])|(?<=[.!?):\"”]\ue001))\s*-\s+(?=[A-Z\"“(\ue000])"
    r"|(?<=[.!?])\s+-(?=[a-z][\w.-]*/)"
)
# A numbered step inline: "Add: 1. Input ... 2. Output" or glued after code "}2.func".
INLINE_NUMBER = re.compile(
    r"(?:(?<=[.:!?)\"”])\s+|(?<=[}\]]))(\d{1,2})\.(?:\s+(?=[A-Z\"“(])|(?=[a-z]))"
)
CODE_ENDINGS = ("{", "}", ";")
CODE_STARTS = (
    "@",
    "}",
    "#include",
    "#define",
    "import ",
    "def ",
    "fn ",
    "func ",
    "public ",
    "private ",
)


def _is_code_line(line: str) -> bool:
    """A line that reads as source code (a run of two or more becomes a fenced block)."""
    body = line.strip()
    if not body:
        return False
    return (
        body.endswith(CODE_ENDINGS) or body.startswith(CODE_STARTS) or bool(CLASS_LINE.match(body))
    )


CLASS_LINE = re.compile(r"(?:from \S+ import |class \w+[({:])")
# Only what Markdown or HTML would act on: a tag-like "<x", emphasis, escapes, link syntax.
SPECIAL_TOKEN = re.compile(r"<[A-Za-z/!?]|[*\\]|\]\(|\]\[|__|^_|_$")
LINE_START_ESCAPE = re.compile(r"^(?=[#>+=]|\d+[.)]\s|[-*]\s)")


@dataclass(frozen=True)
class CleanedLab:
    body: str
    deliverables: list[str]
    repairs: list[tuple[str, str]] = field(default_factory=list)  # (glued token, repaired)
    suspects: list[str] = field(default_factory=list)  # tokens that still look glued


@dataclass
class Block:
    kind: str  # "para", "bullet", "num", "code"
    text: str
    number: int = 0
    nested: bool = False
    inline: str = ""
    parts: list[str] = field(default_factory=list)  # fragments being joined (kept linear)

    @property
    def tail(self) -> str:
        return self.parts[-1] if self.parts else self.text


def clean_lab_text(
    raw: str, *, fallback_deliverable: str, vocabulary: Vocabulary = EMPTY
) -> CleanedLab:
    """`vocabulary`: what the whole file shows (see `lab_lines` and `repair.build_vocabulary`)."""
    report = _Report(vocabulary)
    blocks = _split_inline_steps(_join_fragments(_prepare(raw).split("\n"), report))
    _nest_elaborations(blocks)
    body = _render(blocks)
    steps = [b for b in blocks if b.kind == "num" and not b.nested] or [
        b for b in blocks if b.kind == "bullet" and not b.nested
    ]
    deliverables = [b.inline for b in steps if b.inline]
    return CleanedLab(
        body=body,
        deliverables=deliverables or [fallback_deliverable],
        repairs=report.repairs,
        suspects=report.suspects,
    )


def _prepare(raw: str) -> str:
    """Drop the backticks the export half kept and private-use marks; "- -x" was "--x"."""
    text = MARKS.sub("", raw).replace("`", "")
    text = GLUED_BULLET.sub(" -", text)  # "smaps.- Configure": a step run into the last
    return MID_DOUBLE_DASH.sub(r"\1--", text) if "- -" in text else text


@dataclass
class _Report:
    vocabulary: Vocabulary
    repairs: list[tuple[str, str]] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)

    def repair(self, text: str, *, starts_with_code: bool) -> str:
        result = repair_line(text, self.vocabulary, starts_with_code=starts_with_code)
        self.repairs.extend(result.repairs)
        self.suspects.extend(result.suspects)
        return "".join(f"{OPEN}{s.text}{CLOSE}" if s.code else s.text for s in result.segments)


def lab_lines(raw: str) -> list[tuple[str, bool]]:
    """Each line of a lab's raw text, and whether the export pushed a code span to its start
    (it continues a step whose sentence was cut): the input of `build_vocabulary`."""
    out: list[tuple[str, bool]] = []
    _join_fragments(_prepare(raw).split("\n"), _Report(EMPTY), collect=out)
    return out


def _join_fragments(
    lines: list[str], report: _Report, collect: list[tuple[str, bool]] | None = None
) -> list[Block]:
    """Group physical lines into blocks, joining fragments that were split off a sentence.

    Each line is repaired on the way (glued code split off and marked); a line that
    continues a cut sentence starts with a code span.
    """

    def repaired(text: str, starts_with_code: bool) -> str:
        if collect is not None:
            collect.append((text, starts_with_code))
            return text
        return report.repair(text, starts_with_code=starts_with_code)

    blocks: list[Block] = []
    index = 0
    previous_blank = True
    while index < len(lines):
        line = lines[index].rstrip()
        if not line.strip():
            previous_blank = True
            index += 1
            continue
        code_end = index
        while code_end < len(lines) and _is_code_line(lines[code_end]):
            code_end += 1
        if code_end - index >= 2:
            blocks.append(Block("code", "\n".join(lines[index:code_end]).strip("\n")))
            index, previous_blank = code_end, False
            continue
        bullet, numbered = BULLET.match(line), NUMBERED.match(line)
        last = blocks[-1] if blocks else None
        if bullet:
            blocks.append(Block("bullet", repaired(line[bullet.end() :].strip(), False)))
        elif numbered:
            text = repaired(line[numbered.end() :].strip(), False)
            blocks.append(Block("num", text, number=int(numbered.group(1))))
        elif last is not None and last.kind != "code" and _continues(last, line, previous_blank):
            if not last.parts:
                last.parts.append(last.text)
            right = line.strip()
            code_first = right[:1].isalnum() or right[:1] in "/.-_$<@~"
            right = repaired(right, code_first and not right.startswith((". ", "- ")))
            last.parts.append(_separator(MARKS.sub("", last.parts[-1]), right) + right)
        else:
            blocks.append(Block("para", repaired(line.strip(), False)))
        previous_blank = False
        index += 1
    for block in blocks:
        if block.parts:
            block.text, block.parts = "".join(block.parts), []
    return blocks


def _continues(last: Block, line: str, previous_blank: bool) -> bool:
    if previous_blank and last.kind == "para":
        return False
    tail = MARKS.sub("", last.tail).rstrip()
    if not tail or tail[-1] not in TERMINAL:
        return True  # the sentence was cut at a line break
    if last.kind in ("bullet", "num") and tail.endswith(":"):
        return True  # "- Persistence layer:\nTypedDict rows ..." continues the step
    first = line.lstrip()[:1]
    if tail.endswith(":") and first.islower():
        return True  # "... with runtime/trace:\ngo tool trace." lost its code span
    # A code fragment that opened a line of a list item: "- SSH to a node.\njournalctl -u ..."
    return last.kind in ("bullet", "num") and not first.isupper() and not first.isdigit()


def _separator(left: str, right: str) -> str:
    right = MARKS.sub("", right)
    if left.endswith(("(", "/", "[")) or right.startswith((")", ",", ".", ";", ":", "]")):
        return ""
    return " "


def _split_inline_steps(blocks: list[Block]) -> list[Block]:
    result: list[Block] = []
    next_number = 1
    for block in blocks:
        if block.kind == "code":
            result.append(block)
            continue
        if block.kind == "num":
            next_number = block.number + 1
        pieces = _split_numbers(block, next_number)
        if len(pieces) > 1:
            next_number = pieces[-1].number + 1
        for position, piece in enumerate(pieces):
            parts = INLINE_BULLET.split(piece.text) if "-" in piece.text else [piece.text]
            bullets = [part.strip() for part in parts]
            bullets = [part for part in bullets if part]
            if not bullets:
                continue
            piece.text = bullets[0]
            lost_marker = (
                piece.kind == "para"
                and len(bullets) > 1
                and position == 0
                and not bullets[0].endswith(":")
                and (not result or result[-1].kind == "bullet")
            )
            if lost_marker:
                piece.kind = (
                    "bullet"  # the exporter dropped the marker of a step that began with code
                )
            result.append(piece)
            result.extend(Block("bullet", text) for text in bullets[1:])
    return result


def _split_numbers(block: Block, expected: int) -> list[Block]:
    """Split "1. a 2. b 3. c" into numbered blocks, only when the numbers run in sequence."""
    cuts: list[tuple[int, int, int]] = []
    want = expected if block.kind == "num" else 1
    if "." not in block.text:
        return [block]
    for match in INLINE_NUMBER.finditer(block.text):
        number = int(match.group(1))
        if number == want:
            cuts.append((match.start(), match.end(), number))
            want += 1
    if not cuts or (block.kind != "num" and cuts[0][2] != 1):
        return [block]
    pieces = [Block(block.kind, block.text[: cuts[0][0]].strip(), number=block.number)]
    for position, (_, end, number) in enumerate(cuts):
        stop = cuts[position + 1][0] if position + 1 < len(cuts) else len(block.text)
        pieces.append(Block("num", block.text[end:stop].strip(), number=number))
    return [piece for piece in pieces if piece.text]


def _nest_elaborations(blocks: list[Block]) -> None:
    """Bullets right after a numbered step that ends with ':' elaborate that step."""
    parent_open = False
    for block in blocks:
        if block.kind == "num":
            parent_open = block.text.rstrip().endswith(":")
        elif block.kind == "bullet" and parent_open:
            block.nested = True
        else:
            parent_open = False


def _render(blocks: list[Block]) -> str:
    out: list[str] = []
    previous: Block | None = None
    for block in blocks:
        if block.kind == "code":
            text = "```\n" + block.text.replace("```", "ʼʼʼ") + "\n```"
        elif block.kind == "bullet":
            block.inline = _inline(block.text)
            text = ("    - " if block.nested else "- ") + block.inline
        elif block.kind == "num":
            block.inline = _inline(block.text)
            text = f"{block.number}. {block.inline}"
        else:
            text = LINE_START_ESCAPE.sub("\\\\", _inline(block.text))
        same_list = previous is not None and (
            block.kind in ("bullet", "num")
            and previous.kind in ("bullet", "num")
            and (block.kind == previous.kind or block.nested or previous.nested)
        )
        if out:
            out.append("\n" if same_list else "\n\n")
        out.append(text)
        previous = block
    return "".join(out).strip() + "\n" if out else ""


ANY_SPECIAL = re.compile(r"<[A-Za-z/!?]|[*\\]|\]\(|\]\[|__|(?:^|\s)_|_(?:\s|$)")
GLUED_BULLET = re.compile(r"(?<=[.!?])-(?= [A-Z\"“(])")
# "- -release" was "--release" (not at the start of a line: "- -x" there is a bullet).
MID_DOUBLE_DASH = re.compile(r"(?<=\S)([ \t]+)- -(?=\w)")


def _inline(text: str) -> str:
    """One line of text as Markdown: repaired code (between OPEN and CLOSE) becomes code
    spans; the prose is escaped (code-ish tokens in it become code spans too)."""
    if OPEN not in text:
        return _escape_prose(text).strip()
    out: list[str] = []
    for piece in re.split(f"({OPEN}[^{CLOSE}]*{CLOSE})", text):
        if piece.startswith(OPEN) and piece.endswith(CLOSE):
            code = piece[1:-1]
            out.append(code_span(code) if code.strip() else code)
        elif piece:
            out.append(_escape_prose(MARKS.sub("", piece)))
    return "".join(out).strip()


def _escape_prose(text: str) -> str:
    """Escape plain text for Markdown (keeps the spaces at its ends)."""
    if not any(char in text for char in "<*\\]_") or not ANY_SPECIAL.search(text):
        return text
    tokens = text.split(" ")
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            joined = " ".join(run)
            core = joined.rstrip(".,;:!?")
            surplus = core.count(")") - core.count("(")
            trailing = len(core) - len(core.rstrip(")"))
            if surplus > 0 and trailing:
                core = core[: len(core) - min(surplus, trailing)]
            out.append(f"`{core}`{joined[len(core) :]}" if core else joined)
            run.clear()

    angle_balance = 0  # "<" not yet closed inside the current run
    for token in tokens:
        open_generic = bool(run) and angle_balance > 0 and len(run) < 4
        if open_generic or (token not in ("*", "**") and SPECIAL_TOKEN.search(token)):
            run.append(token)  # "HashMap<Instant, Long>" stays one code span
            angle_balance += token.count("<") - token.count(">")
        else:
            flush()
            angle_balance = 0
            out.append(token)
    flush()
    return " ".join(out)


def markdown_deliverables(body: str, *, fallback: str) -> list[str]:
    """Top-level steps of a Markdown body: numbered items if any, else bullets."""
    numbered: list[str] = []
    bullets: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or line[:1] in (" ", "\t"):
            continue
        match = re.match(r"^(\d{1,3})[.)]\s+(\S.*)$", line)
        if match:
            numbered.append(match.group(2).strip())
            continue
        match = re.match(r"^[-*+]\s+(\S.*)$", line)
        if match:
            bullets.append(match.group(1).strip())
    return numbered or bullets or [fallback]
