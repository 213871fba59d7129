"""python manage.py import_curriculum FILE [--format ...] [--dry-run] [--json] [--take-file LAB_ID ...]
[--keep-cohort COHORT_ID ...]

Labs corrected in the app whose text the file changes are conflicts: they keep the app
edit unless `--take-file LAB_ID` names them; the output lists each conflict and the choice.
The impact of the update (per changed lab: the cohorts running it, learners with a draft or
open work, claimed reviews) is printed too (`impact` in --json); `--keep-cohort COHORT_ID`
keeps that cohort on its current revisions until it ends.

Exit 0 on success; on bad input exit 2 with one `FILE:LINE: problem` line per problem on
stderr, and nothing written. Idempotent: importing the same file again writes only the
import record.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import ApplicationError
from curriculum.impact import import_impact
from curriculum.parsers import FORMATS, CurriculumParseError, max_bytes
from curriculum.services import import_curriculum_file


class Command(BaseCommand):
    help = "Import a curriculum file (labs index, Markdown, YAML or JSON): preview the diff and apply it."
    # Runs on every `make run`; the server and `migrate` run the system checks anyway.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the curriculum file")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would change; write nothing"
        )
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object instead of a summary"
        )
        parser.add_argument(
            "--take-file",
            type=int,
            action="append",
            default=[],
            metavar="LAB_ID",
            help="for this lab edited in the app, take the file's text (default: keep the edit)",
        )
        parser.add_argument(
            "--keep-cohort",
            type=int,
            action="append",
            default=[],
            metavar="COHORT_ID",
            help="keep this cohort on its current revisions until it ends (default: apply now)",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        name = options["file"]
        try:
            size = path.stat().st_size
            if size > max_bytes():
                self._fail(
                    [
                        f"{name}:1: the file is {size:,} bytes; the limit is {max_bytes() // (1024 * 1024)} MB"
                    ]
                )
            source = path.read_bytes()
        except OSError as exc:
            self._fail([f"{name}:0: cannot read the file: {exc.strerror or exc}"])
        try:
            record = import_curriculum_file(
                actor=None,
                source=source,
                filename=path.name,
                requested_format=options["format"],
                dry_run=options["dry_run"],
                take_file=options["take_file"],
                keep_cohorts=options["keep_cohort"],
            )
        except CurriculumParseError as exc:
            self._fail(exc.lines(name))
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        diff = record.diff
        result = {
            "applied": not options["dry_run"],
            "totals": diff["totals"],
            "tracks": diff["tracks"],
            "labs": diff["labs"],
            "resolution": diff.get("resolution", []),
            # glued inline code the import split and marked, and tokens it left as they were
            "repairs": diff.get("repairs") or {"count": 0, "labs": []},
            "suspects": diff.get("suspects") or {"count": 0, "labs": []},
            # per lab whose text changes: cohorts running it, learners with work, claimed reviews
            "impact": import_impact(diff),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(self._human(result, diff.get("format", ""), options["dry_run"]))

    def _fail(self, lines: list[str]) -> None:
        for line in lines:
            self.stderr.write(line)
        sys.exit(2)

    def _human(self, result: dict, fmt: str, dry_run: bool) -> str:
        totals, tracks, labs = result["totals"], result["tracks"], result["labs"]
        head = "Dry run (nothing written)" if dry_run else "Imported"
        lines = [f"{head}: {totals['tracks']} paths, {totals['labs']} labs ({fmt})."]
        for key in ("added", "renamed", "removed"):
            if tracks[key]:
                lines.append(f"  paths {key}: " + ", ".join(tracks[key]))
        for key in ("added", "changed", "renamed", "moved", "removed"):
            for lab in labs[key]:
                moved = f" (from week {lab['from_week']})" if "from_week" in lab else ""
                lines.append(
                    f"  {key:8} {lab['track']} · Week {lab['week']}{moved} · {lab['title']}"
                )
        conflicts = result["resolution"] or labs.get("conflicts", [])
        for lab in conflicts:
            choice = {"file": "took the file's text", "edit": "kept the app edit"}.get(
                lab.get("choice"), "edited in the app"
            )
            lines.append(
                f"  conflict lab {lab['lab_id']}: {lab['track']} · Week {lab['week']} · "
                f"{lab['title']} ({choice})"
            )
        for lab in result["impact"]:
            cohorts = ", ".join(
                cohort["name"] + (" (kept)" if cohort["pinned"] else "")
                for cohort in lab["cohorts"]
            )
            learners, reviews = lab["learners"], lab["reviews"]
            lines.append(
                f"  impact   {lab['track']} · Week {lab['week']} · {lab['title']}: "
                f"cohorts: {cohorts or 'none'}; {learners['drafts']} drafts, "
                f"{learners['open']} handed in; {reviews['claimed']} reviews claimed"
            )
        changes = sum(len(labs[k]) for k in ("added", "changed", "renamed", "moved", "removed"))
        changes += sum(len(tracks[k]) for k in ("added", "renamed", "removed"))
        if not changes:
            lines.append("  No changes.")
        lines.append(f"  unchanged: {labs['unchanged']} labs, {tracks['unchanged']} paths")
        repaired, suspects = result["repairs"], result["suspects"]
        if repaired["count"] or suspects["count"]:
            lines.append(
                f"  text repaired: {repaired['count']} glued code spans in {len(repaired['labs'])} labs;"
                f" {suspects['count']} suspect tokens left as written (--json lists them)"
            )
        return "\n".join(lines)
