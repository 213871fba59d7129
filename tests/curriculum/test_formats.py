"""Markdown, YAML and JSON formats, detection, export, and the command's output."""

import json

import pytest
import yaml
from django.core.management import call_command

from curriculum.exporter import EXPORTERS, curriculum_data
from curriculum.models import CurriculumImport, Lab, LabRevision
from curriculum.parsers import detect_format, parse_curriculum
from curriculum.selectors import tracks_with_labs
from curriculum.services import import_curriculum_file

MARKDOWN = """# Our curriculum

Some intro text.

## Data Engineering

### Week 2 - Storage - Columnar Files

Write Parquet by hand:

1. Encode a column with `RLE`.
2. Compare with **dictionary** encoding.

```
# not a heading: inside a fence
1. not a step
```

### Week 1 - Foundations

Read the *paper*.

- Summarise it.
- Present it.

## Web

### Week 1 - HTTP - Raw Sockets

Open a socket <span hx-get="/evil">and</span> speak HTTP/1.1.
"""


def test_markdown_format_parses_paths_weeks_and_steps():
    parsed = parse_curriculum(MARKDOWN.encode())
    assert parsed.format == "markdown"
    assert [(t.name, [lab.week for lab in t.labs]) for t in parsed.tracks] == [
        ("Data Engineering", [1, 2]),
        ("Web", [1]),
    ]
    foundations, columnar = parsed.tracks[0].labs
    assert (foundations.module_title, foundations.title) == ("Foundations", "Foundations")
    assert foundations.deliverables == ["Summarise it.", "Present it."]
    assert columnar.title == "Columnar Files"
    assert columnar.deliverables == [
        "Encode a column with `RLE`.",
        "Compare with **dictionary** encoding.",
    ]
    assert "# not a heading: inside a fence" in columnar.body
    assert parsed.tracks[1].labs[0].deliverables == ["Raw Sockets"]


def test_markdown_with_only_level_one_path_headings():
    parsed = parse_curriculum(
        b"# Alpha\n\n### Week 1 - M - L\n\nDo it.\n\n# Beta\n\n### Week 1 - N - K\n\nDo that.\n"
    )
    assert [t.name for t in parsed.tracks] == ["Alpha", "Beta"]


def test_format_detection_and_override(seed_bytes):
    assert detect_format(seed_bytes.decode()) == "labs-index"
    assert detect_format(MARKDOWN) == "markdown"
    assert detect_format('{"tracks": []}') == "json"
    assert detect_format("format: cohort-labs-curriculum\ntracks:\n") == "yaml"
    # An explicit format wins: the seed read as JSON is a clear error, not a guess.
    from curriculum.parsers import CurriculumParseError

    with pytest.raises(CurriculumParseError):
        parse_curriculum(seed_bytes, requested_format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["yaml", "json", "markdown"])
def test_importing_an_export_changes_nothing(seeded, fmt):
    exported = EXPORTERS[fmt](curriculum_data(tracks_with_labs()))
    before = list(Lab.objects.order_by("id").values())
    result = import_curriculum_file(actor=None, source=exported.encode(), filename=f"export.{fmt}")
    assert result.detected_format == fmt
    assert result.diff["labs"]["unchanged"] == 187, result.summary
    assert result.diff["tracks"]["unchanged"] == 8
    assert list(Lab.objects.order_by("id").values()) == before
    assert LabRevision.objects.count() == 187


@pytest.mark.django_db
def test_yaml_export_is_the_canonical_structure(seeded):
    data = yaml.safe_load(EXPORTERS["yaml"](curriculum_data(tracks_with_labs())))
    assert data["format"] == "cohort-labs-curriculum" and data["version"] == 1
    ai = data["tracks"][0]
    assert ai["name"] == "AI Systems" and ai["slug"] == "ai-systems"
    assert set(ai["labs"][0]) == {"week", "module_title", "title", "slug", "body", "deliverables"}
    assert len(ai["labs"][0]["deliverables"]) == 5


@pytest.mark.django_db
def test_structured_import_without_slugs_or_deliverables_derives_them():
    source = json.dumps(
        {
            "tracks": [
                {
                    "name": "Data",
                    "labs": [{"week": 1, "title": "Load It", "body": "1. Read.\n2. Write.\n"}],
                }
            ]
        }
    ).encode()
    import_curriculum_file(actor=None, source=source, filename="c.json")
    lab = Lab.objects.get()
    assert (lab.slug, lab.module_title, lab.deliverables) == (
        "load-it",
        "Load It",
        ["Read.", "Write."],
    )
    assert lab.track.slug == "data"


@pytest.mark.django_db
def test_command_json_output_shape(tmp_path, capsys, seed_bytes):
    path = tmp_path / "seed.txt"
    path.write_bytes(seed_bytes)
    call_command("import_curriculum", str(path), "--json", "--dry-run")
    out = json.loads(capsys.readouterr().out)
    assert out["applied"] is False
    assert out["totals"] == {"tracks": 8, "labs": 187}
    assert set(out["tracks"]) == {"added", "renamed", "removed", "unchanged"}
    assert set(out["labs"]) == {
        "added", "changed", "renamed", "moved", "removed", "unchanged", "conflicts"
    }  # fmt: skip
    assert out["labs"]["added"][0] == {"track": "AI Systems", "week": 1, "title": "Roofline Sketch"}
    assert not Lab.objects.exists() and not CurriculumImport.objects.exists()  # dry run

    call_command("import_curriculum", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["applied"] is True and len(out["labs"]["added"]) == 187
    call_command("import_curriculum", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    repairs, suspects = out.pop("repairs"), out.pop("suspects")
    assert repairs["count"] > 0 and set(suspects) == {"count", "labs"}
    assert out == {
        "applied": True,
        "totals": {"tracks": 8, "labs": 187},
        "tracks": {"added": [], "renamed": [], "removed": [], "unchanged": 8},
        "labs": {
            "added": [],
            "changed": [],
            "renamed": [],
            "moved": [],
            "removed": [],
            "unchanged": 187,
            "conflicts": [],
        },
        "resolution": [],
        # Nothing changed, so nobody is reached (tests/curriculum/test_impact.py fills it).
        "impact": [],
    }
    lines = path.read_text().split("\n")
    lines.insert(lines.index("Week 2 - Linear Algebra Refresh, BLAS, NumPy - Three Matmuls¶"), "")
    edited = "\n".join(lines).replace("Week 20 - Speculative", "Week 25 - Speculative")
    path.write_text(edited)
    call_command("import_curriculum", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["labs"]["moved"] == [
        {"track": "AI Systems", "week": 25, "title": "Speculative Decoding", "from_week": 20}
    ]


@pytest.mark.django_db
def test_command_human_summary_and_export(tmp_path, capsys, seed_bytes):
    path = tmp_path / "seed.txt"
    path.write_bytes(seed_bytes)
    call_command("import_curriculum", str(path))
    assert "Imported: 8 paths, 187 labs (labs-index)." in capsys.readouterr().out
    out_file = tmp_path / "export.json"
    call_command("export_curriculum", "--format", "json", "--output", str(out_file))
    data = json.loads(out_file.read_text())
    assert [len(t["labs"]) for t in data["tracks"]] == [24, 24, 24, 20, 24, 24, 23, 24]
    call_command("export_curriculum", "--format", "markdown")
    assert (
        "### Week 1 - The Compute Hierarchy and the Cost Model - Roofline Sketch"
        in capsys.readouterr().out
    )


def test_labs_index_without_pilcrows():
    from tests.curriculum.conftest import labs_index, simple_track

    source = labs_index({"Alpha": simple_track(2), "Beta Path": simple_track(3)}, pilcrow=False)
    parsed = parse_curriculum(source)
    assert [(t.name, len(t.labs)) for t in parsed.tracks] == [("Alpha", 2), ("Beta Path", 3)]
    # Without the jump list either: a short title line right before a week is a path.
    bare = b"\n".join(line for line in source.split(b"\n") if not line.startswith((b"- ", b"Jump")))
    parsed = parse_curriculum(bare)
    assert [(t.name, len(t.labs)) for t in parsed.tracks] == [("Alpha", 2), ("Beta Path", 3)]


def test_a_listed_name_inside_lab_text_is_not_a_heading_when_headings_have_pilcrows():
    from tests.curriculum.conftest import labs_index

    source = labs_index(
        {
            "Alpha": [(1, "M", "T", "Compare with\nAlpha\nand write it up.")],
            "Beta": [(1, "N", "U", "Do it.")],
        }
    )
    parsed = parse_curriculum(source)
    assert [len(t.labs) for t in parsed.tracks] == [1, 1]
    assert "Alpha" in parsed.tracks[0].labs[0].body
