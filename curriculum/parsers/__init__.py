"""Curriculum parsers: bytes in, a `ParsedCurriculum` (plain data) out, or a `CurriculumParseError`.

One module per format; `parse_curriculum` decodes and checks the bytes, detects the format
from the content (unless one is requested) and validates what every format must satisfy
(at least one track, unique weeks per track, no lab without text). Nothing here touches the
database, so parsing a large file costs no queries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.text import slugify

FORMATS = ("labs-index", "markdown", "yaml", "json")
FORMAT_CHOICES = (("auto", "Detect from content"),) + tuple(
    (name, label)
    for name, label in zip(FORMATS, ("Labs index", "Markdown", "YAML", "JSON"), strict=True)
)
MAX_TITLE_CHARS = 300
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def format(self, filename: str) -> str:
        return f"{filename or '<upload>'}:{self.line}: {self.message}"


class CurriculumParseError(Exception):
    """The file cannot be imported. `problems` name the lines; nothing was changed."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems))

    def lines(self, filename: str) -> list[str]:
        return [problem.format(filename) for problem in self.problems]


@dataclass
class ParsedLab:
    week: int
    module_title: str
    title: str
    body: str
    deliverables: list[str]
    slug: str = ""
    line: int = 0
    # What the import repaired in this lab's text: (glued token, repaired), and tokens that
    # still look glued. Reported with the import; not part of the lab's content.
    repairs: list[tuple[str, str]] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "week": self.week,
            "module_title": self.module_title,
            "title": self.title,
            "slug": self.slug,
            "body": self.body,
            "deliverables": list(self.deliverables),
        }


@dataclass
class ParsedTrack:
    name: str
    slug: str = ""
    line: int = 0
    labs: list[ParsedLab] = field(default_factory=list)


@dataclass
class ParsedCurriculum:
    format: str
    tracks: list[ParsedTrack]

    @property
    def lab_count(self) -> int:
        return sum(len(track.labs) for track in self.tracks)

    def repair_report(self) -> dict:
        """What the import repaired (glued inline code split and marked) and what it left
        because it was unsure: `repairs` and `suspects`, each a count and per lab."""
        repairs, suspects = [], []
        for track in self.tracks:
            for lab in track.labs:
                where = {"track": track.name, "week": lab.week, "title": lab.title}
                if lab.repairs:
                    pairs = [{"before": before, "after": after} for before, after in lab.repairs]
                    repairs.append({**where, "pairs": pairs})
                if lab.suspects:
                    suspects.append({**where, "tokens": list(lab.suspects)})
        return {
            "repairs": {"count": sum(len(lab["pairs"]) for lab in repairs), "labs": repairs},
            "suspects": {"count": sum(len(lab["tokens"]) for lab in suspects), "labs": suspects},
        }


def max_bytes() -> int:
    return getattr(settings, "CURRICULUM_MAX_BYTES", 5 * 1024 * 1024)


def decode_source(source: bytes) -> str:
    """Check size and encoding; return the text without a BOM and with \\n line ends."""
    limit = max_bytes()
    if len(source) > limit:
        raise CurriculumParseError(
            [
                Problem(
                    1,
                    f"the file is {len(source):,} bytes; the limit is {limit // (1024 * 1024)} MB",
                )
            ]
        )
    if not source.strip():
        raise CurriculumParseError([Problem(1, "the file is empty")])
    nul = source.find(b"\x00")
    if nul != -1:
        line = source.count(b"\n", 0, nul) + 1
        raise CurriculumParseError([Problem(line, "binary data (NUL byte): not a text file")])
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        raise CurriculumParseError(
            [
                Problem(
                    line,
                    f"not UTF-8 text (invalid byte 0x{source[exc.start]:02x}); save the file as UTF-8",
                )
            ]
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    control = _CONTROL_CHARS.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise CurriculumParseError(
            [Problem(line, "binary data (control characters): not a text file")]
        )
    if not text.strip():
        raise CurriculumParseError([Problem(1, "the file is empty")])
    return text


_CONTROL_CHARS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTML_DOCUMENT = re.compile(r"^\s*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_YAML_HINT = re.compile(r"^(?:---\s*$|tracks:\s*$|format:\s*\S)", re.MULTILINE)
_MARKDOWN_WEEK = re.compile(r"^#{1,6}\s+Week\s+\d", re.MULTILINE | re.IGNORECASE)


def detect_format(text: str) -> str:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    if _MARKDOWN_WEEK.search(text):
        return "markdown"
    if _YAML_HINT.search(text):
        return "yaml"
    return "labs-index"


def _reject_html(text: str) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if _HTML_DOCUMENT.match(line):
            raise CurriculumParseError(
                [
                    Problem(
                        number,
                        "this is an HTML page, not a curriculum file; export the labs as text, Markdown, YAML or JSON",
                    )
                ]
            )
        return


def parse_curriculum(source: bytes, *, requested_format: str = "auto") -> ParsedCurriculum:
    """Decode, detect the format, parse and validate. Raises CurriculumParseError."""
    if requested_format not in ("auto", *FORMATS):
        raise CurriculumParseError([Problem(1, f"unknown format {requested_format!r}")])
    text = decode_source(source)
    _reject_html(text)
    fmt = detect_format(text) if requested_format == "auto" else requested_format
    if fmt == "labs-index":
        from .labs_index import parse
    elif fmt == "markdown":
        from .markdown import parse
    elif fmt == "yaml":
        from .structured import parse_yaml as parse
    else:
        from .structured import parse_json as parse
    tracks = parse(text)
    curriculum = ParsedCurriculum(format=fmt, tracks=tracks)
    validate(curriculum)
    return curriculum


def validate(curriculum: ParsedCurriculum) -> None:
    """Rules every format shares; fills in missing slugs; sorts labs by week."""
    problems: list[Problem] = []
    if not curriculum.tracks:
        problems.append(
            Problem(1, "no tracks found (expected a heading for each path, then Week headings)")
        )
    track_slugs: dict[str, ParsedTrack] = {}
    for track in curriculum.tracks:
        if not track.name.strip():
            problems.append(Problem(track.line, "a track has no name"))
        elif len(track.name) > MAX_NAME_CHARS:
            problems.append(
                Problem(track.line, f"track name is longer than {MAX_NAME_CHARS} characters")
            )
        track.slug = track.slug or slugify(track.name)[:200] or f"track-{len(track_slugs) + 1}"
        if track.slug in track_slugs:
            problems.append(
                Problem(
                    track.line,
                    f"track {track.name!r} appears twice (first at line {track_slugs[track.slug].line})",
                )
            )
        track_slugs[track.slug] = track
        if not track.labs:
            problems.append(Problem(track.line, f"track {track.name!r} has no Week headings"))
        weeks: dict[int, ParsedLab] = {}
        lab_slugs: set[str] = set()
        for lab in track.labs:
            if lab.week in weeks:
                problems.append(
                    Problem(
                        lab.line,
                        f"Week {lab.week} appears twice in {track.name!r} (first at line {weeks[lab.week].line})",
                    )
                )
            weeks.setdefault(lab.week, lab)
            if not 1 <= lab.week <= 999:
                problems.append(
                    Problem(
                        lab.line,
                        f"Week {lab.week} in {track.name!r}: week numbers run from 1 to 999",
                    )
                )
            if not lab.title.strip():
                problems.append(
                    Problem(lab.line, f"Week {lab.week} in {track.name!r} has no title")
                )
            elif len(lab.title) > MAX_TITLE_CHARS or len(lab.module_title) > MAX_TITLE_CHARS:
                problems.append(
                    Problem(
                        lab.line,
                        f"Week {lab.week} title is longer than {MAX_TITLE_CHARS} characters",
                    )
                )
            if not lab.body.strip():
                problems.append(Problem(lab.line, f"Week {lab.week} in {track.name!r} has no text"))
            if lab.body.strip() and not lab.deliverables:
                lab.deliverables = [lab.title]
            lab.slug = _unique_slug(
                lab.slug or slugify(lab.title)[:180] or f"week-{lab.week}", lab_slugs
            )
        track.labs.sort(key=lambda lab: lab.week)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise CurriculumParseError(problems)


def _unique_slug(slug: str, taken: set[str]) -> str:
    candidate, counter = slug, 2
    while candidate in taken:
        candidate = f"{slug}-{counter}"
        counter += 1
    taken.add(candidate)
    return candidate


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
