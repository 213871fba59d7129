"""Property-based tests: export/import round trips, and the parser never crashes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curriculum.cleaner import clean_lab_text
from curriculum.exporter import EXPORTERS, curriculum_data
from curriculum.models import Lab, Track
from curriculum.parsers import CurriculumParseError, parse_curriculum
from curriculum.selectors import tracks_with_labs
from curriculum.services import import_curriculum_file

words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)
names = words.map(str.strip).filter(lambda s: bool(s) and len(s) <= 60)
bodies = (
    st.lists(
        st.one_of(
            words.map(lambda w: f"- {w}"),
            words.map(lambda w: f"1. {w}"),
            words,
            st.just("```\ncode { here; }\n```"),
        ),
        min_size=1,
        max_size=6,
    )
    .map(lambda lines: "\n".join(lines) + "\n")
    .filter(lambda body: body.strip() != "")
)


@st.composite
def curricula(draw):
    track_names = draw(st.lists(names, min_size=1, max_size=3, unique_by=lambda n: n.casefold()))
    tracks = []
    for name in track_names:
        weeks = draw(st.lists(st.integers(1, 60), min_size=1, max_size=5, unique=True))
        labs = [
            {
                "week": week,
                "module_title": draw(names),
                "title": draw(names),
                "body": draw(bodies),
                "deliverables": draw(st.lists(names, min_size=1, max_size=3)),
            }
            for week in weeks
        ]
        tracks.append({"name": name, "labs": labs})
    return {"format": "cohort-labs-curriculum", "version": 1, "tracks": tracks}


def normalise(data):
    return [
        (
            t["name"],
            sorted(
                (lab["week"], lab["module_title"], lab["title"], lab["body"], lab["deliverables"])
                for lab in t["labs"]
            ),
        )
        for t in data["tracks"]
    ]


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=curricula(), fmt=st.sampled_from(["yaml", "json"]))
def test_import_of_export_is_identity(data, fmt):
    source = EXPORTERS["json"](data).encode()
    try:
        parsed = parse_curriculum(source)
    except CurriculumParseError:
        # Only names that slugify to nothing or collide may be refused; never a crash.
        return
    _reset_db()
    import_curriculum_file(actor=None, source=source, filename="in.json")
    exported = EXPORTERS[fmt](curriculum_data(tracks_with_labs()))
    assert normalise(curriculum_data(tracks_with_labs())) == normalise(data)
    again = import_curriculum_file(actor=None, source=exported.encode(), filename=f"out.{fmt}")
    assert again.diff["labs"]["unchanged"] == parsed.lab_count
    assert not any(
        again.diff["labs"][k] for k in ("added", "changed", "renamed", "moved", "removed")
    )
    assert normalise(curriculum_data(tracks_with_labs())) == normalise(data)


def _reset_db():
    from curriculum.models import CurriculumImport, LabRevision

    Lab.objects.update(current_revision=None)
    LabRevision.objects.all().delete()
    Lab.objects.all().delete()
    Track.objects.all().delete()
    CurriculumImport.objects.all().delete()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_no_bytes_crash_the_parser(source):
    try:
        parse_curriculum(source)
    except CurriculumParseError as exc:
        assert exc.problems and all(p.line >= 0 and p.message for p in exc.problems)


labs_index_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Labs¶",
                "Jump to a path¶",
                "- Alpha",
                "- Beta",
                "Alpha¶",
                "Beta¶",
                "",
                "Week 1¶",
                "Week -¶",
            ]
        ),
        st.builds(lambda n, t: f"Week {n} - {t}¶", st.integers(0, 1200), words),
        st.builds(lambda n, a, b: f"Week {n} - {a} - {b}", st.integers(1, 30), words, words),
        words,
        words.map(lambda w: f"- {w}"),
        words.map(lambda w: f"{w}. - {w} 1. {w} 2. {w}"),
    ),
    max_size=40,
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(labs_index_lines, st.sampled_from(["auto", "labs-index", "markdown", "yaml", "json"]))
def test_no_generated_text_crashes_the_parser(text, fmt):
    try:
        parsed = parse_curriculum(text.encode(), requested_format=fmt)
    except CurriculumParseError as exc:
        assert exc.problems and all(isinstance(p.line, int) and p.message for p in exc.problems)
        return
    for track in parsed.tracks:
        assert track.name and track.slug and track.labs
        for lab in track.labs:
            assert lab.title and lab.body.strip() and lab.deliverables and lab.slug


@settings(max_examples=300, deadline=None)
@given(
    words.flatmap(
        lambda w: st.lists(
            st.one_of(words, st.just(w), st.sampled_from(["- ", "1. ", ". - ", "\n"])), max_size=30
        )
    ).map("".join)
)
def test_cleaner_always_returns_markdown_and_deliverables(text):
    cleaned = clean_lab_text(text, fallback_deliverable="The lab")
    assert cleaned.deliverables
    assert all(d.strip() for d in cleaned.deliverables)
