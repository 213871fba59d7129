"""The importer restores inline code that the labs-index export glued into the prose."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape
from hypothesis import given, settings
from hypothesis import strategies as st

from curriculum.cleaner import clean_lab_text
from curriculum.models import Lab, LabRevision
from curriculum.parsers import parse_curriculum
from curriculum.repair import build_vocabulary, repair_line, repair_markdown, zipf
from curriculum.services import DEFAULT_CURRICULUM, import_curriculum_file, import_preview
from notifications.models import Event

# Words an importer must never split, from the issue and the bundled file.
TECH_WORDS = [
    "containerd",
    "goroutine",
    "goroutines",
    "conntrack",
    "apiserver",
    "dataclass",
    "tracepoint",
    "shortener",
    "oversubscribing",
    "kubelet",
    "kubeconfig",
    "dockerfile",
    "podman",
    "cosign",
    "redis",
    "runtime",
    "namespace",
    "nodeport",
    "sidecar",
    "webhook",
    "autoscaling",
    "syscall",
    "syscalls",
    "userspace",
    "tarball",
    "workload",
    "backpressure",
    "setTimeout",
    "getElementById",
    "readTimeout",
    "PyTorch",
    "JavaScript",
    "GitHub",
    "macOS",
    "eBPF",
    "iPhone",
    "file.txt",
    "tokens/sec",
    "end-to-end",
    "read-only",
    "e.g.",
    "i.e.",
    "x86_64",
    "message_size",
]


@pytest.fixture(scope="module")
def parsed():
    return parse_curriculum(DEFAULT_CURRICULUM.read_bytes())


def lab(parsed, track, week):
    return next(lab for t in parsed.tracks if t.name == track for lab in t.labs if lab.week == week)


def repaired(raw: str) -> str:
    return clean_lab_text(raw, fallback_deliverable="x").body


# --- the issue's passages -------------------------------------------------------------


def test_the_issue_examples_read_as_written(parsed):
    assert (
        "- Run `nvidia-smi` and `nvidia-smi -q`. Read every line."
        in lab(parsed, "AI Systems", 5).body
    )
    assert "Set `go 1.22` and" in lab(parsed, "Go Mastery", 1).body
    assert "Run under `memray` and `tracemalloc`." in lab(parsed, "Python Mastery", 10).body
    assert "Allocate via `MAP_HUGETLB`." in lab(parsed, "Linux Kernel", 5).body
    assert "only `open`, `read`, `write`, `close`." in lab(parsed, "Linux Kernel", 2).body


@pytest.mark.parametrize(
    ("track", "week", "passage"),
    [
        (
            "AI Systems",
            9,
            "Use `TORCH_SHOW_DISPATCH_TRACE=1` (or `torch._C._dispatch_print_registrations()`)",
        ),
        (
            "AI Systems",
            18,
            "Read `vllm/core/scheduler.py` and `vllm/attention/backends/flash_attn.py` end-to-end.",
        ),
        ("Container Internals", 1, "Read `index.json`, the manifest blob"),
        ("Container Internals", 9, "Use `ctr` to inspect tasks"),
        ("Go Mastery", 8, "Run `pprof -alloc_objects` under load."),
        ("Go Mastery", 8, "Now intentionally misuse: `Pool.Put` without resetting state."),
        ("Go Mastery", 11, "With `singleflight`, observe 1."),
        ("Go Mastery", 20, "on `internal/domain` and `internal/application` using mocks"),
        ("Kubernetes", 4, "Read `pkg/controller/deployment/deployment_controller.go` end-to-end"),
        ("Kubernetes", 5, "setting low `evictionHard` and oversubscribing."),
        ("Linux Kernel", 4, "catches `SIGTERM` and logs"),
        ("Python Mastery", 1, "class `Vector2` with `__add__`, `__sub__`, `__mul__(scalar)`"),
        ("Python Mastery", 10, "Confirm with `memray` that growth flatlines."),
        ("Python Mastery", 10, "an unbounded `dict` cache, a leaking closure"),
        ("Python Mastery", 19, "Add `hypothesis` property tests"),
    ],
)
def test_passages_the_issue_does_not_list_are_repaired(parsed, track, week, passage):
    assert passage in lab(parsed, track, week).body


def test_repairs_and_suspects_are_reported_per_lab(parsed):
    report = parsed.repair_report()
    assert report["repairs"]["count"] >= 150
    pairs = {
        (pair["before"], pair["after"])
        for entry in report["repairs"]["labs"]
        for pair in entry["pairs"]
    }
    assert ("nvidia-smiandnvidia-smi", "`nvidia-smi` and `nvidia-smi`") in pairs
    # doubtful splits are left as written and listed, yet most glued tokens are repaired
    assert report["suspects"]["count"] <= report["repairs"]["count"] // 3
    first = report["repairs"]["labs"][0]
    assert set(first) == {"track", "week", "title", "pairs"}


@pytest.mark.parametrize(
    ("before", "right", "wrong"),
    [
        ("allocs/op", "allocs/op", "all `ocs/op`"),
        ("tools/grpc_load_test/", "`tools/grpc_load_test/`", "tools `/grpc_load_test/`"),
        (
            "recordingStackInuseandStackSys.",
            "recording `StackInuse` and `StackSys`.",
            "`recordingStackIn` use `andStackSys`.",
        ),
        (
            "Useruntime.ReadMemStatsto",
            "Use `runtime.ReadMemStats` to",
            "Use `runtime.ReadMemStatsto`",
        ),
        (
            "(typicallybytes.Bufferor",
            "(typically `bytes.Buffer` or",
            "(`typicallybytes.Buffer` or",
        ),
        (
            "echo.socketandecho.servicepair",
            "`echo.socket` and `echo.service` pair",
            "`echo.socket` and `echo.servicepair`",
        ),
        ("(e.g.,find", "(e.g., `find`", "(`e.g.`, `find`"),
        # a name the file shows at the start of a line may itself be glued: it proves nothing
        (
            "slirp4netnsvspastanetworking",
            "`slirp4netns` vs `pasta` networking",
            "`slirp4netnsvspasta` networking",
        ),
        ("seccompallowlist", "`seccomp` allowlist", "`seccompallow` list"),
        ("tenacity-style", "tenacity-style", "`tena` city-style"),
        ("memory.high=512Mcgroup.", "`memory.high=512M` cgroup.", "`memory.high=512Mc` group."),
        (
            "tenant-a,tenant-b,tenant-cunder/sys/fs/cgroup/test/.",
            "`tenant-a`, `tenant-b`, `tenant-c` under `/sys/fs/cgroup/test/`.",
            "`tenant-a`, `tenant-b`, `tenant-cunder/sys/fs/cgroup/test/`.",
        ),
        # a span does not start with a prose word run into a name
        ("asE(make([]int,", "as `E(make([]int, 8))`", "`asE(make([]` int,"),
        (
            "Checkdmesgandjournalctl",
            "Check `dmesg` and `journalctl`",
            "`Checkdmesg` and `journalctl`",
        ),
        (
            "hit/apis/,/api/v1,/apis/apps/v1and",
            "hit `/apis/`, `/api/v1`, `/apis/apps/v1` and",
            "`hit/apis/`, `/api/v1`, `/apis/apps/v1` and",
        ),
        (".makestoctoolavailable", ". makes `toctool` available", "`.makes` to `ctool` available"),
        ("astr.split()version.", "a `str.split()` version.", "`astr.split()` version."),
        (
            "PythonThreadPoolExecutor(8)that",
            "Python `ThreadPoolExecutor(8)` that",
            "`PythonThreadPoolExecutor(8)` that",
        ),
        # a span does not end inside a word, nor keep the word before a colon
        (
            "parameters:size,engine,version,region.",
            "parameters: `size`, `engine`, `version`, `region`.",
            "`parameters:size`, `engine`, `version`, `region`.",
        ),
        (
            "Methods:generate,stream,with_tools.",
            "Methods: `generate`, `stream`, `with_tools`.",
            "`Methods:generate`, `stream`, `with_tools`.",
        ),
        (
            "withasyncio.iscoroutinefunction).",
            "with `asyncio.iscoroutinefunction`).",
            "with `asyncio.iscoroutine` function).",
        ),
        (
            "web_searchandfetch_urltools,",
            "`web_search` and `fetch_url` tools,",
            "`web_search` and `fetch_urltools`,",
        ),
        # the commas of one option stay in it; brackets open and close inside a span
        (
            "-Xlog:gc*=info:file=gc.log:time,uptime.",
            "`-Xlog:gc*=info:file=gc.log:time,uptime`.",
            "`-Xlog:gc*=info:file=gc.log:time`, `uptime`.",
        ),
        ("andnumpy.dot(a,", "and `numpy.dot(a, a)`", "and `numpy.dot(a`,"),
        ("a).dis.diseach.", "`dis.dis` each.", "`a).dis.dis` each."),
        ("Vector#[pyclass]and", "`Vector` `#[pyclass]` and", "`Vector#[pyclass]` and"),
        # a call's arguments belong to the call; a word before a list of names is prose
        ("torch.matmul(a,", "`torch.matmul(a, b)`", "`torch.matmul` (a,"),
        ("depth(n", "`depth(n int) int`", "`depth` (n"),
        ("@retry(times=3,", "`@retry(times=3, on=(IOError,), backoff=0.1)`", "`@retry` (times=3,"),
        (
            "ordering,__eq__,__hash__).",
            "ordering, `__eq__`, `__hash__`).",
            "`ordering`, `__eq__`, `__hash__`).",
        ),
        ("output,gofmt", "output, `gofmt`", "`output`, `gofmt`"),
        (
            "usingsignal.SIGALRM(POSIX)",
            "using `signal.SIGALRM` (POSIX)",
            "using `signal.SIGALRM(POSIX)`",
        ),
        ("in/proc/meminfo(Shmem).", "in `/proc/meminfo` (`Shmem`).", "in `/proc/meminfo(Shmem)`."),
    ],
)
def test_a_doubtful_token_is_repaired_right_or_left_as_a_suspect(parsed, before, right, wrong):
    """Precision first: the right repair, or the token as written and listed as a suspect;
    never a span cut inside a path segment or a word left glued to a name."""
    report = parsed.repair_report()
    afters = [
        pair["after"]
        for entry in report["repairs"]["labs"]
        for pair in entry["pairs"]
        if pair["before"] == before
    ]
    suspects = [token for entry in report["suspects"]["labs"] for token in entry["tokens"]]
    assert wrong not in afters
    assert set(afters) <= {right}
    left_alone = before.strip("(.,") in suspects or before.rstrip(").,;") in suspects
    bodies = [item.body for track in parsed.tracks for item in track.labs]
    assert afters or left_alone or right == before or any(right in body for body in bodies)


# Closed-class words that a repair must not leave glued to the edge of a code span.
GLUE = "and|to|the|a|an|use|in|of|on|or|with|from|into|for|via|by"


def _repaired_pairs(parsed):
    report = parsed.repair_report()
    return [(p["before"], p["after"]) for e in report["repairs"]["labs"] for p in e["pairs"]]


def test_no_repair_leaves_a_word_glued_to_the_edge_of_a_span(parsed):
    """A span the repair makes reads as code: not "andStackSys", "recordingStackIn",
    "runtime.ReadMemStatsto" or "SOURCE_DATE_EPOCHenv"."""
    bad = []
    for before, after in _repaired_pairs(parsed):
        for span in re.findall(r"`([^`]+)`", after):
            lead = re.match(r"([a-z]+)(?=[A-Z][A-Za-z0-9]*[A-Z])", span)
            hump = re.search(r"[A-Z][a-z]+$", span)
            if re.fullmatch(r"(?:[A-Za-z]\.){2,}", span):
                bad.append((before, after))  # "e.g." is prose
            elif re.match(rf"(?:{GLUE})[A-Z]", span):
                bad.append((before, after))  # "andStackSys"
            elif lead and zipf(lead.group(1)) >= 3.0:
                bad.append((before, after))  # "captureHeapAlloc": a verb before a name
            elif hump and zipf(hump.group(0)) == 0 and re.search(rf"[a-z](?:{GLUE})$", span):
                bad.append((before, after))  # "ReadMemStatsto"
            elif re.search(r"[A-Z]{2}[a-z]{2,}$", span) and zipf(span[-4:]) == 0:
                bad.append((before, after))  # "SOURCE_DATE_EPOCHenv"
    assert bad == []


def test_no_repair_cuts_inside_a_path_segment(parsed):
    """ "allocs/op" is not "all `ocs/op`", "tools/grpc_load_test/" not "tools `/grpc_load_test/`":
    a span cut out of a path starts at a whole segment or at a root after a joining word."""
    bad = []
    for before, after in _repaired_pairs(parsed):
        for match in re.finditer(r"([A-Za-z]+) `([A-Za-z]+)[/.:]", after):
            word, fragment = match.groups()
            joins = re.fullmatch(GLUE, word.lower())
            if word + fragment in before and zipf(fragment) < 3.5 and not joins:
                bad.append((before, after))  # "all `ocs/op`"
        for match in re.finditer(r"([A-Za-z]+) `(/[^`/]+/?)`", after):
            word = match.group(1)
            if word + match.group(2) in before and not re.fullmatch(GLUE, word.lower()):
                bad.append((before, after))  # "tools `/grpc_load_test/`"
    assert bad == []


def test_the_bundled_file_keeps_few_glued_tokens(parsed):
    """Words run into code (`andnvidia`, `viaMAP_`) are rare after the repair."""
    glued = re.compile(r"\b(?:and|with|via|under|into|from)(?=[A-Z_/]|[a-z]+[._/(])")
    left = []
    for track in parsed.tracks:
        for item in track.labs:
            prose = re.sub(r"`[^`]*`", " ", item.body)
            left.extend(glued.findall(prose))
    assert len(left) <= 10, left


def test_ordinary_words_of_the_file_are_never_split(parsed):
    """Every lowercase word of the file's clean prose stays as it is."""
    raw = DEFAULT_CURRICULUM.read_text()
    found = Counter(re.findall(r"(?<![\w`./-])([a-z]{4,})(?=[ ,.;:])", raw))
    # ordinary: an English word, or one the file uses more than once, unless it is a
    # function word run into a name ("withasyncio" is there twice, and glued both times)
    glued = re.compile(r"(with|from|into|every)[a-z]{3,}")
    words = sorted(w for w, n in found.items() if zipf(w) > 0 or (n > 1 and not glued.fullmatch(w)))
    assert len(words) > 1000
    split = [w for w in words if repaired(f"The {w} is here.") != f"The {w} is here.\n"]
    assert split == []


@pytest.mark.parametrize("word", TECH_WORDS)
def test_tech_words_are_never_split(word):
    line = f"Use the {word} here."
    result = repair_line(line)
    assert result.repairs == []
    assert "".join(piece.text for piece in result.segments) == line


# --- properties ------------------------------------------------------------------------

PROSE = st.sampled_from(
    ["the", "run", "set", "use", "with", "under", "and", "to", "for", "via", "only", "then"]
    + ["read", "into", "from", "each"]
)
# what follows a span in running text: a joining word
AFTER = st.sampled_from(["and", "to", "with", "for", "in", "or", "that", "from", "into", "then"])
CODE = st.sampled_from(
    [
        "MAP_HUGETLB",
        "torch.compile(model)",
        "/etc/containerd/config.toml",
        "deviceQuery",
        "GOMAXPROCS=1",
        "sync.Pool",
        "__init__",
        "go1.22.x",
        "std::rc",
        "--dry-run",
    ]
)
CLEAN_WORDS = st.sampled_from(
    [
        "The",
        "lab",
        "is",
        "a",
        "small",
        "program",
        "that",
        "reads",
        "every",
        "line",
        "and",
        "writes",
        "the",
        "result",
        "to",
        "disk",
        "Measure",
        "it",
        "again",
        "end-to-end",
        "containerd",
        "goroutine",
        "conntrack",
        "tokens/sec",
        "file.txt",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(CLEAN_WORDS, CODE.map(lambda c: f"`{c}`")), min_size=1, max_size=12))
def test_repairing_clean_markdown_changes_nothing(words):
    text = " ".join(words) + "."
    assert repair_markdown(text)[0] == text


def exported(words: list[str]) -> str:
    """What the export made of a step: backticks and the spaces next to them dropped, the
    first code span pushed to the start of its own line."""
    out, first = "- ", True
    for word in words:
        if word.startswith("`"):
            out = out.rstrip(" ") + ("\n" if first else "") + word.strip("`")
            first = False
            out += "\u0000"  # the space after a span is dropped too
        else:
            out = (out[:-1] if out.endswith("\u0000") else out) + word + " "
    return out.replace("\u0000", "").rstrip() + "."


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(CODE, AFTER, st.lists(PROSE, max_size=1)), min_size=1, max_size=4),
    st.sampled_from(["Run", "Use", "Set", "Read"]),
)
def test_glued_code_comes_back_apart_and_the_repair_is_idempotent(spans, verb):
    words = [verb]
    for code, after, prose in spans:
        words += [f"`{code}`", after, *prose]
    written = "- " + " ".join(words) + ".\n"
    once = repaired(exported(words))
    assert once == written
    again, report = repair_markdown(once)
    assert again == once and report.repairs == []


def test_a_file_without_damage_is_not_changed():
    clean = b"AI Systems\nWeek 1 - Basics - First\nRead the lab and write a short program.\n"
    parsed = parse_curriculum(clean)
    assert parsed.repair_report()["repairs"]["count"] == 0
    assert parsed.tracks[0].labs[0].body == "Read the lab and write a short program.\n"


# --- what staff see, and labs imported before the repair --------------------------------


@pytest.mark.django_db
def test_command_json_lists_repairs_and_suspects_and_reimport_is_unchanged(tmp_path, capsys):
    path = tmp_path / "seed.txt"
    path.write_bytes(DEFAULT_CURRICULUM.read_bytes())
    call_command("import_curriculum", str(path), "--json")
    first = json.loads(capsys.readouterr().out)
    week5 = next(
        entry
        for entry in first["repairs"]["labs"]
        if (entry["track"], entry["week"]) == ("AI Systems", 5)
    )
    assert {"before": "deviceQuerysample.", "after": "`deviceQuery` sample."} in week5["pairs"]
    assert first["repairs"]["count"] == sum(len(e["pairs"]) for e in first["repairs"]["labs"])
    assert first["suspects"]["count"] == sum(len(e["tokens"]) for e in first["suspects"]["labs"])
    call_command("import_curriculum", str(path), "--json")
    again = json.loads(capsys.readouterr().out)
    assert again["labs"]["unchanged"] == 187 and again["labs"]["changed"] == []
    assert again["repairs"] == first["repairs"] and again["suspects"] == first["suspects"]
    call_command("import_curriculum", str(path))
    assert "text repaired:" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_preview_shows_repairs_and_suspects(client, staff):
    record = import_preview(
        actor=staff, source=DEFAULT_CURRICULUM.read_bytes(), filename="seed.txt"
    )
    client.force_login(staff)
    page = client.get(reverse("curriculum:import_detail", args=[record.pk])).content.decode()
    assert "Text repaired by the import" in page
    assert "<code>deviceQuerysample.</code>" in page
    assert "<code>`deviceQuery` sample.</code>" in page
    suspect = record.diff["suspects"]["labs"][0]["tokens"][0]
    assert "Suspects (left as written)" in page and f"<code>{escape(suspect)}</code>" in page


@pytest.mark.django_db
def test_labs_imported_before_the_repair_get_a_new_revision_with_repaired_text(seeded):
    """The database as the importer left it before: garbled text. Re-importing the bundled
    file repairs it through the normal update path (new revision, learners told)."""
    lab = Lab.objects.get(track__slug="ai-systems", week=5)
    garbled = lab.body.replace("`", "").replace(
        "nvidia-smi and nvidia-smi -q", "nvidia-smiandnvidia-smi -q"
    )
    deliverables = [d.replace("`", "") for d in lab.deliverables]
    Lab.objects.filter(pk=lab.pk).update(body=garbled, deliverables=deliverables)
    LabRevision.objects.filter(pk=lab.current_revision_id).update(
        body=garbled, deliverables=deliverables
    )
    again = import_curriculum_file(
        actor=None, source=DEFAULT_CURRICULUM.read_bytes(), filename="seed.txt"
    )
    assert [(e["track"], e["week"]) for e in again.diff["labs"]["changed"]] == [("AI Systems", 5)]
    lab.refresh_from_db()
    assert lab.current_revision.number == 2
    assert "- Run `nvidia-smi` and `nvidia-smi -q`. Read every line." in lab.body
    assert lab.current_revision.body == lab.body
    assert LabRevision.objects.get(lab=lab, number=1).body == garbled  # history kept
    assert Event.objects.filter(kind="lab.updated", target_id=lab.pk).count() == 1
    third = import_curriculum_file(
        actor=None, source=DEFAULT_CURRICULUM.read_bytes(), filename="seed.txt"
    )
    assert third.diff["labs"]["changed"] == [] and third.diff["labs"]["unchanged"] == 187


@pytest.mark.django_db
def test_export_carries_the_repaired_text(seeded, capsys):
    call_command("export_curriculum", "--format", "markdown")
    markdown = capsys.readouterr().out
    assert "- Run `nvidia-smi` and `nvidia-smi -q`. Read every line." in markdown
    assert "nvidia-smiand" not in markdown and "viaMAP_HUGETLB" not in markdown
    call_command("export_curriculum", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    python = next(t for t in data["tracks"] if t["name"] == "Python Mastery")
    week10 = next(lab for lab in python["labs"] if lab["week"] == 10)
    assert "Run under `memray` and `tracemalloc`." in week10["body"]


def test_a_glued_name_at_the_start_of_a_line_proves_no_code_elsewhere():
    """The first span of a continuation line is clean only at its start: a name read there
    that still has a word glued to it must not make the same glued text code elsewhere."""
    lines = [
        ("seccompallowlist for your cat", True),
        ("runtime.ReadMemStatssnapshots every second", True),
        ("Mockyou can", True),
        ("stripand trim", True),
        ("a lot", True),
        ("journalctl -k for logs", True),
        ("sync.Pool reuse", True),
    ]
    code = build_vocabulary(lines).code
    assert {"journalctl", "sync.Pool"} <= code
    assert not code & {"seccompallow", "runtime.ReadMemStatssnapshots", "Mockyou", "stripand", "a"}
    vocabulary = build_vocabulary(lines)
    result = repair_line("Add theseccompallowlist here.", vocabulary)
    assert "`seccompallow`" not in "".join(
        f"`{s.text}`" if s.code else s.text for s in result.segments
    )
