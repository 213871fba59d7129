"""Markdown: `#`/`##` headings for the document and each path, `### Week N - Module - Lab` per lab.

When the file has `##` headings, `#` is the document title and each `##` is a path; when it
has only `#` headings, each `#` is a path. Lab bodies are Markdown already and are kept as
written (fenced code is respected: a `#` line inside a fence is not a heading).
"""

from __future__ import annotations

import re

from ..cleaner import markdown_deliverables
from . import CurriculumParseError, ParsedLab, ParsedTrack, Problem
from .labs_index import split_week_heading

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def parse(text: str) -> list[ParsedTrack]:
    lines = text.split("\n")
    headings: list[tuple[int, int, str]] = []  # (index, level, text)
    in_fence = False
    for index, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = HEADING.match(line)
        if match:
            headings.append((index, len(match.group(1)), match.group(2).rstrip("¶").strip()))
    week_level = 3
    levels = {level for _, level, text in headings if not split_week_heading(text)}
    track_level = 2 if 2 in levels else 1

    problems: list[Problem] = []
    tracks: list[ParsedTrack] = []
    current_track: ParsedTrack | None = None
    open_lab: tuple[ParsedLab, int] | None = None

    def close(end: int) -> None:
        nonlocal open_lab
        if open_lab is None:
            return
        lab, start = open_lab
        lab.body = "\n".join(lines[start:end]).strip("\n").rstrip() + "\n"
        if not lab.body.strip():
            lab.body = ""
        lab.deliverables = markdown_deliverables(lab.body, fallback=lab.title) if lab.body else []
        open_lab = None

    for index, level, heading in headings:
        week = split_week_heading(heading)
        if week is not None and level >= week_level - 1 and level != track_level:
            close(index)
            if current_track is None:
                problems.append(Problem(index + 1, f"'{heading}' comes before any path heading"))
                continue
            number, module, title = week
            if not module:
                problems.append(
                    Problem(index + 1, f"week heading '{heading}' has no module or lab title")
                )
            lab = ParsedLab(
                week=number,
                module_title=module,
                title=title,
                body="",
                deliverables=[],
                line=index + 1,
            )
            current_track.labs.append(lab)
            open_lab = (lab, index + 1)
        elif level == track_level:
            close(index)
            current_track = ParsedTrack(name=heading, line=index + 1)
            tracks.append(current_track)
        elif level < track_level:
            close(index)
        # Deeper headings inside a lab are part of its body.
    close(len(lines))
    if problems:
        raise CurriculumParseError(problems)
    return tracks
