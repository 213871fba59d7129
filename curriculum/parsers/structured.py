"""YAML and JSON: the canonical structure that `export_curriculum` writes.

    format: cohort-labs-curriculum
    version: 1
    tracks:
      - name: AI Systems
        slug: ai-systems
        labs:
          - week: 1
            module_title: ...
            title: ...
            slug: roofline-sketch
            body: |
              Markdown ...
            deliverables: [...]

`slug` and `deliverables` are optional (derived from the title and the body when absent).
YAML is read with the safe loader and without aliases, so a small file cannot expand into a
huge one ("billion laughs").
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.utils.text import slugify

from ..cleaner import markdown_deliverables
from . import CurriculumParseError, ParsedLab, ParsedTrack, Problem

FORMAT_NAME = "cohort-labs-curriculum"


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _first_alias(text: str):
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            return event
    return None


def parse_yaml(text: str) -> list[ParsedTrack]:
    try:
        alias = _first_alias(text)
        if alias is not None:
            line = alias.start_mark.line + 1 if alias.start_mark else 1
            raise CurriculumParseError(
                [Problem(line, "YAML aliases (*name) are not allowed in a curriculum file")]
            )
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - the safe loader (libyaml when present)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise CurriculumParseError([Problem(line, f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise CurriculumParseError([Problem(1, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise CurriculumParseError([Problem(1, "invalid YAML: nested too deeply")]) from None
    return _from_data(data, text)


def parse_json(text: str) -> list[ParsedTrack]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CurriculumParseError([Problem(exc.lineno, f"invalid JSON: {exc.msg}")]) from None
    except RecursionError:
        raise CurriculumParseError([Problem(1, "invalid JSON: nested too deeply")]) from None
    return _from_data(data, text)


def _line_finder(text: str):
    """Best-effort line of the n-th occurrence of a key, for schema errors."""
    lines = text.split("\n")

    def find(needle: str, occurrence: int) -> int:
        seen = 0
        for number, line in enumerate(lines, start=1):
            if needle in line:
                if seen == occurrence:
                    return number
                seen += 1
        return 1

    return find


def _from_data(data: Any, text: str) -> list[ParsedTrack]:
    find = _line_finder(text)
    if isinstance(data, dict):
        declared = data.get("format")
        if declared is not None and declared != FORMAT_NAME:
            raise CurriculumParseError(
                [Problem(find("format", 0), f"format is {declared!r}; expected {FORMAT_NAME!r}")]
            )
        version = data.get("version", 1)
        if version != 1:
            raise CurriculumParseError(
                [Problem(find("version", 0), f"unsupported version {version!r}; expected 1")]
            )
        tracks_data = data.get("tracks")
    elif isinstance(data, list):
        tracks_data = data
    else:
        raise CurriculumParseError([Problem(1, "expected a mapping with a 'tracks' list")])
    if not isinstance(tracks_data, list):
        raise CurriculumParseError([Problem(find("tracks", 0), "'tracks' must be a list of paths")])

    problems: list[Problem] = []
    tracks: list[ParsedTrack] = []
    lab_index = 0
    for track_index, item in enumerate(tracks_data):
        line = find("name", track_index + lab_index)
        if not isinstance(item, dict):
            problems.append(Problem(line, f"track #{track_index + 1} must be a mapping"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(line, f"track #{track_index + 1} needs a 'name' (text)"))
            name = ""
        slug = _slug(item.get("slug"), line, f"track {name!r}", problems)
        track = ParsedTrack(name=name.strip(), slug=slug, line=line)
        labs_data = item.get("labs")
        if not isinstance(labs_data, list):
            problems.append(Problem(line, f"track {name!r} needs a 'labs' list"))
            labs_data = []
        for position, lab_item in enumerate(labs_data):
            lab_line = find("week", lab_index)
            lab_index += 1
            lab = _lab(lab_item, lab_line, f"{name!r} lab #{position + 1}", problems)
            if lab is not None:
                track.labs.append(lab)
        tracks.append(track)
    if problems:
        raise CurriculumParseError(problems)
    return tracks


def _slug(value: Any, line: int, what: str, problems: list[Problem]) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or slugify(value) != value or len(value) > 200:
        problems.append(
            Problem(line, f"{what}: slug {value!r} must be lowercase letters, digits and hyphens")
        )
        return ""
    return value


def _text(
    item: dict, key: str, line: int, what: str, problems: list[Problem], *, required: bool
) -> str:
    value = item.get(key)
    if value is None:
        if required:
            problems.append(Problem(line, f"{what} needs '{key}'"))
        return ""
    if not isinstance(value, str):
        problems.append(Problem(line, f"{what}: '{key}' must be text"))
        return ""
    return value


def _lab(item: Any, line: int, what: str, problems: list[Problem]) -> ParsedLab | None:
    if not isinstance(item, dict):
        problems.append(Problem(line, f"{what} must be a mapping"))
        return None
    week = item.get("week")
    if isinstance(week, bool) or not isinstance(week, int) or not 1 <= week <= 999:
        problems.append(Problem(line, f"{what}: 'week' must be a whole number from 1 to 999"))
        return None
    title = _text(item, "title", line, f"{what} (week {week})", problems, required=True).strip()
    module = (
        _text(item, "module_title", line, f"{what} (week {week})", problems, required=False).strip()
        or title
    )
    body = _text(item, "body", line, f"{what} (week {week})", problems, required=True)
    deliverables = item.get("deliverables")
    if deliverables is None:
        deliverables = markdown_deliverables(body, fallback=title) if body.strip() else []
    elif not isinstance(deliverables, list) or not all(
        isinstance(d, str) and d.strip() for d in deliverables
    ):
        problems.append(
            Problem(line, f"{what} (week {week}): 'deliverables' must be a list of non-empty texts")
        )
        deliverables = []
    slug = _slug(item.get("slug"), line, f"{what} (week {week})", problems)
    return ParsedLab(
        week=week,
        module_title=module,
        title=title,
        body=body,
        deliverables=list(deliverables),
        slug=slug,
        line=line,
    )
