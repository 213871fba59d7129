"""Bad input gets a clear error naming the line, and changes nothing."""

import json

import pytest
from django.core.management import call_command

from curriculum.models import CurriculumImport, Lab, LabRevision, Track
from curriculum.parsers import CurriculumParseError, parse_curriculum
from curriculum.services import import_curriculum_file
from tests.curriculum.conftest import labs_index, simple_track


def problems(source: bytes, **kwargs):
    with pytest.raises(CurriculumParseError) as exc:
        parse_curriculum(source, **kwargs)
    return [(p.line, p.message) for p in exc.value.problems]


def test_empty_file():
    assert problems(b"") == [(1, "the file is empty")]
    assert problems(b"  \n\n\t\n") == [(1, "the file is empty")]


def test_binary_data_names_the_line():
    [(line, message)] = problems(b"Labs\nAI\n\x00\x01\x02binary")
    assert line == 3 and "binary" in message


def test_not_utf8_names_the_line():
    [(line, message)] = problems("Labs\nWeek 1 - Caf\u00e9\n".encode("latin-1"))
    assert line == 2 and "UTF-8" in message


def test_utf8_with_bom_is_fine():
    source = "\ufeff".encode() + labs_index({"Alpha": simple_track(2)})
    parsed = parse_curriculum(source)
    assert [t.name for t in parsed.tracks] == ["Alpha"]


def test_crlf_line_ends_are_fine():
    source = labs_index({"Alpha": simple_track(2)}).replace(b"\n", b"\r\n")
    assert parse_curriculum(source).lab_count == 2


def test_no_tracks_found():
    [(line, message)] = problems(b"Just some notes.\nNothing that looks like a curriculum.\n")
    assert line == 1 and "no tracks found" in message


def test_html_page():
    [(line, message)] = problems(b"\n<!DOCTYPE html>\n<html><body><h1>Labs</h1></body></html>")
    assert line == 2 and "HTML" in message


def test_week_heading_with_no_text():
    source = (
        labs_index({"Alpha": simple_track(2)}) + b"\nWeek 3 - Empty module - Nothing here\xc2\xb6\n"
    )
    [(line, message)] = problems(source)
    assert line == source.decode().split("\n").index("Week 3 - Empty module - Nothing here¶") + 1
    assert "Week 3" in message and "no text" in message


def test_week_heading_with_no_title():
    source = labs_index({"Alpha": simple_track(1)}) + "\nWeek 2¶\nSome text.".encode()
    assert any("no module or lab title" in message for _, message in problems(source))


def test_same_week_twice_in_one_path():
    labs = simple_track(3) + [(2, "Again", "Duplicate", "Body text here.")]
    source = labs_index({"Alpha": labs})
    [(line, message)] = problems(source)
    assert line == source.decode().split("\n").index("Week 2 - Again - Duplicate¶") + 1
    assert "Week 2 appears twice" in message


def test_file_over_5_mb(settings):
    source = labs_index({"Alpha": simple_track(1)}) + b"x" * (5 * 1024 * 1024)
    [(line, message)] = problems(source)
    assert line == 1 and "limit is 5 MB" in message


def test_listed_path_without_a_section():
    source = labs_index({"Alpha": simple_track(1)}).replace(b"- Alpha", b"- Alpha\n- Beta")
    assert any("Beta" in message for _, message in problems(source))


def test_invalid_json_and_yaml_name_the_line():
    [(line, message)] = problems(b'{"tracks": [\n  {"name": "A",\n  "labs": [}\n]}')
    assert line == 3 and "invalid JSON" in message
    [(line, message)] = problems(
        b"tracks:\n  - name: A\n    labs: [\n  bad: : :\n", requested_format="yaml"
    )
    assert "invalid YAML" in message and line >= 3


def test_yaml_aliases_are_refused():
    bomb = b'format: cohort-labs-curriculum\na: &a ["x","x"]\nb: &b [*a,*a]\ntracks: []\n'
    [(_, message)] = problems(bomb, requested_format="yaml")
    assert "aliases" in message


def test_structured_schema_errors_name_the_lab():
    source = json.dumps(
        {
            "tracks": [
                {
                    "name": "A",
                    "labs": [
                        {"week": 1, "title": "T", "body": "b"},
                        {"week": "two", "title": "U", "body": "c"},
                    ],
                }
            ]
        },
        indent=1,
    ).encode()
    [(line, message)] = problems(source)
    assert "'week' must be a whole number" in message
    assert source.decode().split("\n")[line - 1].strip().startswith('"week": "two"')


@pytest.mark.django_db
def test_an_error_late_in_the_file_leaves_the_database_as_it_was(seed_bytes):
    import_curriculum_file(
        actor=None, source=labs_index({"Alpha": simple_track(3)}), filename="a.txt"
    )
    snapshot = (
        list(Track.objects.order_by("id").values()),
        list(Lab.objects.order_by("id").values()),
        LabRevision.objects.count(),
        CurriculumImport.objects.count(),
    )
    broken = seed_bytes + "\nWeek 24 - Duplicate - Again¶\nText.\n".encode()
    with pytest.raises(CurriculumParseError) as exc:
        import_curriculum_file(actor=None, source=broken, filename="broken.txt")
    assert exc.value.problems[0].line == len(broken.decode().split("\n")) - 2
    assert snapshot == (
        list(Track.objects.order_by("id").values()),
        list(Lab.objects.order_by("id").values()),
        LabRevision.objects.count(),
        CurriculumImport.objects.count(),
    )


@pytest.mark.django_db
def test_a_failure_half_way_through_apply_rolls_everything_back(monkeypatch, seed_bytes):
    import notifications.events

    import_curriculum_file(actor=None, source=seed_bytes, filename="seed.txt")
    snapshot = (
        list(Lab.objects.order_by("id").values()),
        LabRevision.objects.count(),
        CurriculumImport.objects.count(),
    )
    text = seed_bytes.decode()
    changed = text.replace("Times each.", "Times each twice.").replace("Re-time.", "Re-time it.")
    calls = []

    def record_then_fail(kind, **kwargs):
        calls.append(kind)
        if len(calls) == 2:
            raise RuntimeError("the outbox is down")

    monkeypatch.setattr(notifications.events, "record", record_then_fail)
    with pytest.raises(RuntimeError):
        import_curriculum_file(actor=None, source=changed.encode(), filename="changed.txt")
    assert calls == ["lab.updated", "lab.updated"]
    assert snapshot == (
        list(Lab.objects.order_by("id").values()),
        LabRevision.objects.count(),
        CurriculumImport.objects.count(),
    )


@pytest.mark.django_db
def test_command_reports_problems_as_file_line_and_exits_2(tmp_path, capsys):
    path = tmp_path / "dup.txt"
    path.write_bytes(labs_index({"Alpha": simple_track(2) + [(1, "M", "Again", "Text.")]}))
    with pytest.raises(SystemExit) as exc:
        call_command("import_curriculum", str(path))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().split("\n")
    assert len(err) == 1
    assert err[0].startswith(f"{path}:") and "Week 1 appears twice" in err[0]
    line = int(err[0].split(":")[1])
    assert path.read_text().split("\n")[line - 1] == "Week 1 - M - Again¶"
    assert not Lab.objects.exists() and not CurriculumImport.objects.exists()


@pytest.mark.django_db
def test_command_reports_each_bad_input(tmp_path, capsys):
    cases = {
        "empty.txt": b"",
        "binary.bin": b"\x89PNG\r\n\x1a\n\x00\x00",
        "latin1.txt": "Labs\ncaf\u00e9".encode("latin-1"),
        "page.html": b"<html><head></head><body>x</body></html>",
        "notes.txt": b"Hello\nthere\n",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(SystemExit) as exc:
            call_command("import_curriculum", str(path))
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"{path}:"), (name, err)
    missing = tmp_path / "missing.txt"
    with pytest.raises(SystemExit):
        call_command("import_curriculum", str(missing))
    assert "cannot read" in capsys.readouterr().err
    assert not CurriculumImport.objects.exists()
