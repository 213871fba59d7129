from pathlib import Path

import pytest

from curriculum.services import DEFAULT_CURRICULUM, import_curriculum_file

SEED = Path(DEFAULT_CURRICULUM)


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def seeded(db, seed_bytes):
    """The bundled seed, imported."""
    return import_curriculum_file(actor=None, source=seed_bytes, filename=SEED.name)


def labs_index(tracks: dict[str, list[tuple]], *, pilcrow: bool = True) -> bytes:
    """Build a labs-index file: {"Track": [(week, module, title, body), ...]}."""
    mark = "¶" if pilcrow else ""
    lines = [f"Labs{mark}", "An index of labs.", f"Jump to a path{mark}"]
    lines += [f"- {name}" for name in tracks]
    for name, labs in tracks.items():
        lines.append(f"{name}{mark}")
        for week, module, title, body in labs:
            heading = f"Week {week} - {module}" + (f" - {title}" if title else "")
            lines.append(heading + mark)
            lines.extend(body.split("\n"))
    return "\n".join(lines).encode()


def simple_track(count: int, *, start: int = 1) -> list[tuple]:
    return [
        (
            week,
            f"Module {week}",
            f"Lab number {week}",
            f"Build thing {week}:\n1. Write the {week} parser for format {week * 7}.\n2. Measure it {week} times and report.",
        )
        for week in range(start, start + count)
    ]
