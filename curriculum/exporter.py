"""Write the current curriculum in the canonical structure (YAML/JSON) or as Markdown.

Importing an export of the current curriculum changes nothing: the structure carries the
slugs, bodies and deliverables exactly as stored.
"""

from __future__ import annotations

import json

import yaml

from .parsers.structured import FORMAT_NAME


def curriculum_data(tracks) -> dict:
    """`tracks`: active tracks with their active labs prefetched as `active_labs`."""
    return {
        "format": FORMAT_NAME,
        "version": 1,
        "tracks": [
            {
                "name": track.name,
                "slug": track.slug,
                "labs": [
                    {
                        "week": lab.week,
                        "module_title": lab.module_title,
                        "title": lab.title,
                        "slug": lab.slug,
                        "body": lab.body,
                        "deliverables": list(lab.deliverables),
                    }
                    for lab in track.active_labs
                ],
            }
            for track in tracks
        ],
    }


class _BlockDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def to_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def to_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def to_markdown(data: dict) -> str:
    parts = ["# Curriculum\n"]
    for track in data["tracks"]:
        parts.append(f"## {track['name']}\n")
        for lab in track["labs"]:
            heading = f"Week {lab['week']} - {lab['module_title']}"
            if lab["title"] != lab["module_title"]:
                heading += f" - {lab['title']}"
            parts.append(f"### {heading}\n\n{lab['body'].strip()}\n")
    return "\n".join(parts)


EXPORTERS = {"yaml": to_yaml, "json": to_json, "markdown": to_markdown}
