"""The bundled seed: counts, titles, order and deliverables of real labs."""

import pytest

from curriculum.models import CurriculumImport, Lab, LabRevision, Track
from curriculum.parsers import parse_curriculum
from curriculum.services import import_curriculum_file

EXPECTED_TRACKS = [
    ("AI Systems", 24),
    ("Container Internals", 24),
    ("Go Mastery", 24),
    ("Java Mastery", 20),
    ("Kubernetes", 24),
    ("Linux Kernel", 24),
    ("Python Mastery", 23),
    ("Rust Mastery", 24),
]


@pytest.fixture(scope="module")
def parsed():
    from tests.curriculum.conftest import SEED

    return parse_curriculum(SEED.read_bytes())


def lab(parsed, track_name, week):
    track = next(t for t in parsed.tracks if t.name == track_name)
    return next(lab for lab in track.labs if lab.week == week)


def test_seed_has_eight_paths_and_187_labs_in_list_order(parsed):
    assert parsed.format == "labs-index"
    assert [(t.name, len(t.labs)) for t in parsed.tracks] == EXPECTED_TRACKS
    assert parsed.lab_count == 187


def test_labs_are_ordered_by_week_even_where_the_file_is_not(parsed):
    for track in parsed.tracks:
        weeks = [lab.week for lab in track.labs]
        assert weeks == sorted(weeks)
        assert len(set(weeks)) == len(weeks)
    ai_weeks = [lab.week for lab in parsed.tracks[0].labs]
    assert ai_weeks == list(range(1, 25))  # Week 9 comes after Week 12 in the file
    python_weeks = [lab.week for lab in parsed.tracks[6].labs]
    assert python_weeks == list(range(1, 24))


def test_titles_split_module_and_lab(parsed):
    week1 = lab(parsed, "AI Systems", 1)
    assert week1.module_title == "The Compute Hierarchy and the Cost Model"
    assert week1.title == "Roofline Sketch"
    assert week1.slug == "roofline-sketch"
    week7 = lab(parsed, "AI Systems", 7)
    assert week7.module_title == "Memory Optimization: Coalescing, Shared Memory, Tensor Cores"
    assert week7.title == "Climb the Roofline"


def test_java_weeks_without_a_lab_title_are_titled_by_their_module(parsed):
    java = next(t for t in parsed.tracks if t.name == "Java Mastery")
    assert all(lab.title == lab.module_title for lab in java.labs)
    assert lab(parsed, "Java Mastery", 1).title == "Modern Syntax and the Type System"
    assert lab(parsed, "Java Mastery", 8).title == "JMH and Microbenchmarking"


def test_ai_week_1_has_five_numbered_steps(parsed):
    week1 = lab(parsed, "AI Systems", 1)
    assert len(week1.deliverables) == 5
    assert week1.deliverables[0] == "Performs C = A @ B for square matrices N=64, 256, 1024, 4096."
    assert week1.deliverables[4].startswith("Overlays the theoretical roofline")
    assert "\n1. Performs C = A @ B" in week1.body
    assert "\n5. Overlays" in week1.body
    assert week1.body.startswith("Write a small program (Python+NumPy, or any) that:\n\n1. ")


def test_ai_week_4_has_six_required_items(parsed):
    week4 = lab(parsed, "AI Systems", 4)
    assert len(week4.deliverables) == 6
    assert (
        week4.deliverables[0] == "Dataset class + DataLoader with num_workers=4, pin_memory=True."
    )
    assert week4.deliverables[-1].startswith("Final report: train + val loss curves")


def test_run_together_bullets_become_one_item_per_step(parsed):
    week5 = lab(parsed, "AI Systems", 5)
    assert week5.deliverables == [
        "Run `nvidia-smi` and `nvidia-smi -q`. Read every line.",
        "Compile and run NVIDIA's `deviceQuery` sample. It prints all the numbers above for your specific GPU.",
        "Compile and run `bandwidthTest` (CUDA samples). Compare measured PCIe and HBM bandwidth to spec.",
        "Compute: at the measured HBM BW and compute peak of your GPU, what is the arithmetic intensity "
        "break-even? Sketch the roofline.",
    ]
    assert week5.body.count("\n- ") == 3 and week5.body.startswith("- Run ")


def test_inline_numbered_steps_are_split(parsed):
    week19 = lab(parsed, "AI Systems", 19)
    assert len(week19.deliverables) == 5
    assert week19.deliverables[0].startswith("Run baseline BF16 inference.")
    assert week19.deliverables[4].startswith("Build a tradeoff matrix")
    assert week19.body.startswith("On a 7B-13B model:\n\n1. Run baseline")
    week24 = lab(parsed, "AI Systems", 24)
    assert [d.split(" ")[0] for d in week24.deliverables] == ["The", "The", "One", "A", "A"]
    # The questions after the numbered steps stay in the body, as a list, not deliverables.
    assert '- "What happens when a GPU fails mid-training?"' in week24.body


def test_bullets_elaborating_a_numbered_step_are_nested_not_deliverables(parsed):
    week16 = lab(parsed, "AI Systems", 16)
    assert len(week16.deliverables) == 3
    assert "\n    - Throughput." in week16.body


def test_a_step_split_by_inline_code_is_joined_back(parsed):
    container1 = lab(parsed, "Container Internals", 1)
    assert len(container1.deliverables) == 4
    assert (
        container1.deliverables[1]
        == "Find a layer blob, decompress, list its contents (`tar tzf <blob>`)."
    )
    kubelet = lab(parsed, "Kubernetes", 5)
    assert len(kubelet.deliverables) == 3
    assert kubelet.deliverables[0].startswith("SSH to a node. `journalctl -u` kubelet")


def test_code_runs_are_fenced_and_labs_without_steps_have_one_deliverable(parsed):
    jmh = lab(parsed, "Java Mastery", 8)
    assert "```\n@State(Scope.Benchmark)\npublic static class Inputs {" in jmh.body
    assert jmh.deliverables == ["JMH and Microbenchmarking"]
    go10 = lab(parsed, "Go Mastery", 10)
    assert go10.deliverables == ["Lock-Free SPSC Ring"]


def test_markdown_specials_in_lab_text_are_escaped(parsed):
    python1 = lab(parsed, "Python Mastery", 1)
    assert (
        "class `Money` with `__init__`, `__repr__`, `__eq__`, `__hash__`, `__lt__`." in python1.body
    )
    rust2 = lab(parsed, "Rust Mastery", 2)
    assert "- a Box<[u8; 64]>," in rust2.body  # not tag-like: left as written


@pytest.mark.django_db
def test_importing_the_seed_creates_tracks_labs_and_first_revisions(seeded):
    assert seeded.status == CurriculumImport.Status.APPLIED
    assert list(Track.objects.order_by("position").values_list("name", flat=True)) == [
        n for n, _ in EXPECTED_TRACKS
    ]
    for name, count in EXPECTED_TRACKS:
        assert Lab.objects.filter(track__name=name, active=True).count() == count
    assert LabRevision.objects.count() == 187
    first = Lab.objects.get(track__slug="ai-systems", week=1)
    assert first.current_revision.number == 1
    assert first.current_revision.title == "Roofline Sketch"
    assert first.current_revision.source_import_id == seeded.pk
    assert seeded.diff["totals"] == {"tracks": 8, "labs": 187}
    assert len(seeded.diff["labs"]["added"]) == 187


@pytest.mark.django_db
def test_reimporting_the_seed_writes_nothing_but_the_import_record(seeded, seed_bytes):
    before = list(Lab.objects.order_by("id").values_list("id", "updated_at", "current_revision_id"))
    tracks_before = list(Track.objects.order_by("id").values_list("id", "updated_at"))
    again = import_curriculum_file(actor=None, source=seed_bytes, filename="seed.txt")
    assert again.status == CurriculumImport.Status.APPLIED
    assert again.diff["labs"]["unchanged"] == 187
    assert again.diff["tracks"]["unchanged"] == 8
    assert (
        list(Lab.objects.order_by("id").values_list("id", "updated_at", "current_revision_id"))
        == before
    )
    assert list(Track.objects.order_by("id").values_list("id", "updated_at")) == tracks_before
    assert LabRevision.objects.count() == 187
    assert CurriculumImport.objects.count() == 2
