"""The labs index export (the seed format).

A preamble (title, blurb, a "Jump to a path" list), then for each path a heading line and,
for each week, `Week N - Module title - Lab title` followed by the lab's text. Headings may
end with a pilcrow or not; a week with no separate lab title is titled by its module.
The lab text lost its formatting in the export; `curriculum.cleaner` rebuilds it.
"""

from __future__ import annotations

import re

from ..cleaner import clean_lab_text, lab_lines
from ..repair import build_vocabulary
from . import CurriculumParseError, ParsedLab, ParsedTrack, Problem

PILCROW = "¶"
WEEK_HEADING = re.compile(r"^\s*Week\s+(\d{1,4})\b\s*(?:[-–—:]\s*(.*?))?\s*$")
TITLE_SEPARATOR = re.compile(r"\s+[-–—]\s+")
JUMP_HEADING = re.compile(r"^\s*jump to an? (?:path|track)s?\s*:?\s*$", re.IGNORECASE)


def _heading_text(line: str) -> tuple[str, bool]:
    stripped = line.strip()
    if stripped.endswith(PILCROW):
        return stripped[: -len(PILCROW)].strip(), True
    return stripped, False


def split_week_heading(text: str) -> tuple[int, str, str] | None:
    """`Week 3 - Module - Lab` -> (3, "Module", "Lab"); module only -> title = module."""
    match = WEEK_HEADING.match(text)
    if not match:
        return None
    rest = (match.group(2) or "").strip(" -–—:")
    parts = [part.strip() for part in TITLE_SEPARATOR.split(rest) if part.strip()] if rest else []
    if not parts:
        return int(match.group(1)), "", ""
    module = parts[0]
    title = " - ".join(parts[1:]) if len(parts) > 1 else module
    return int(match.group(1)), module, title


def _jump_list(lines: list[str]) -> tuple[list[str], int]:
    """Names listed under "Jump to a path", and the index of the line after the list."""
    for index, line in enumerate(lines):
        text, _ = _heading_text(line)
        if JUMP_HEADING.match(text):
            names, cursor = [], index + 1
            while cursor < len(lines):
                item = lines[cursor].strip()
                if item.startswith(("- ", "* ")):
                    names.append(item[2:].strip().rstrip(PILCROW).strip())
                elif item:
                    break
                cursor += 1
            return names, cursor
        if WEEK_HEADING.match(text):
            break
    return [], 0


def parse(text: str) -> list[ParsedTrack]:
    lines = text.split("\n")
    listed, body_start = _jump_list(lines)
    listed_keys = {name.casefold(): name for name in listed}
    first_content = next((i for i, line in enumerate(lines) if line.strip()), 0)
    # When the file marks week headings with a pilcrow, a body line such as
    # "Week 3 - recap" is text, not a heading.
    pilcrow_weeks = any(
        line.rstrip().endswith(PILCROW) and WEEK_HEADING.match(_heading_text(line)[0])
        for line in lines
    )
    next_content = next((i for i in range(first_content + 1, len(lines)) if lines[i].strip()), None)
    title_is_track = next_content is not None and bool(
        WEEK_HEADING.match(_heading_text(lines[next_content])[0])
    )
    problems: list[Problem] = []
    tracks: list[ParsedTrack] = []
    current_track: ParsedTrack | None = None
    current_lab: ParsedLab | None = None
    body: list[str] = []
    raw_bodies: list[tuple[ParsedLab, str]] = []

    def close_lab() -> None:
        nonlocal current_lab, body
        if current_lab is not None:
            raw_bodies.append((current_lab, "\n".join(body)))
        current_lab, body = None, []

    for index in range(body_start, len(lines)):
        line = lines[index]
        number = index + 1
        text, has_pilcrow = _heading_text(line)
        week = split_week_heading(text) if (has_pilcrow or not pilcrow_weeks) else None
        if week is not None:
            close_lab()
            week_number, module, title = week
            if current_track is None:
                problems.append(Problem(number, f"'{text}' comes before any path heading"))
                continue
            if not module:
                problems.append(
                    Problem(number, f"week heading '{text}' has no module or lab title")
                )
            current_lab = ParsedLab(
                week=week_number,
                module_title=module,
                title=title,
                body="",
                deliverables=[],
                line=number,
            )
            current_track.labs.append(current_lab)
            continue
        # In a file that marks headings with pilcrows, a listed name without one is text.
        is_track = (
            bool(text) and text.casefold() in listed_keys and (has_pilcrow or not pilcrow_weeks)
        )
        if not is_track and text and has_pilcrow and not JUMP_HEADING.match(text):
            is_track = index != first_content or title_is_track
        if not is_track and text and not pilcrow_weeks and not listed_keys:
            is_track = _bare_track_heading(lines, index, text)
        if is_track:
            close_lab()
            current_track = ParsedTrack(name=listed_keys.get(text.casefold(), text), line=number)
            tracks.append(current_track)
            continue
        if current_lab is not None:
            body.append(line)
    close_lab()
    _clean_labs(raw_bodies)

    found = {track.name.casefold() for track in tracks}
    for name in listed:
        if name.casefold() not in found:
            problems.append(
                Problem(1, f"path '{name}' is listed under 'Jump to a path' but has no section")
            )
    if problems:
        raise CurriculumParseError(problems)
    return tracks


def _clean_labs(raw_bodies: list[tuple[ParsedLab, str]]) -> None:
    """Clean every lab with what the whole file shows (code names, words used on their own):
    the repair of glued code needs the file, not one lab."""
    lines = [line for _, raw in raw_bodies for line in lab_lines(raw)]
    titles = [(f"{lab.module_title} {lab.title}", False) for lab, _ in raw_bodies]
    vocabulary = build_vocabulary(titles + lines)
    for lab, raw in raw_bodies:
        cleaned = clean_lab_text(raw, fallback_deliverable=lab.title, vocabulary=vocabulary)
        lab.body, lab.deliverables = cleaned.body, cleaned.deliverables
        lab.repairs, lab.suspects = cleaned.repairs, cleaned.suspects


def _bare_track_heading(lines: list[str], index: int, text: str) -> bool:
    """Without pilcrows or a jump list, a path heading is a short title line right before a week."""
    if (
        len(text) > 100
        or text[-1] in ".:;,!?"
        or text.startswith(("- ", "* "))
        or text[0].isdigit()
    ):
        return False
    following = next((line for line in lines[index + 1 :] if line.strip()), "")
    return bool(WEEK_HEADING.match(following.strip()))
