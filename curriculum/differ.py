"""Compare a parsed curriculum with the one in the database, keeping identities.

Pure Python over snapshots (no queries), so the preview and the apply compute the same
plan and tests can drive it directly.

Identity rules, per track and then per lab within a matched track:
- tracks match by slug, then by name, then by sharing most of their labs (a renamed path);
- labs match by slug (derived from the title), then by identical content anywhere in the
  track (a lab moved to another week), then by similar text in the same week (a renamed lab),
  then by similar text in any week. Archived labs take part, so a lab that comes back is
  restored with its history instead of duplicated.
Categories: added, changed (content), renamed (new title, mostly the same text), moved
(another week number), removed (archived), unchanged. Inserting a week therefore shows
as one added lab and the later labs moved, not as a cascade of changed labs.

A lab whose current text is a staff correction made in the app (`LabSnapshot.edit`) and
whose file text differs is a conflict: `resolve_conflicts` keeps the edit unless staff
chose the file's text for that lab, so nothing is overwritten silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from .parsers import ParsedCurriculum, ParsedLab, ParsedTrack, canonical_json

RENAME_SIMILARITY = 0.5
MOVE_SIMILARITY = 0.6
TRACK_OVERLAP = 0.5
# Bounds the text comparisons of one track (a 999-week track stays well under a second).
MAX_SIMILARITY_PAIRS = 10_000


def content_hash(*, module_title: str, title: str, body: str, deliverables: list[str]) -> str:
    payload = canonical_json([module_title, title, body, list(deliverables)])
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class TrackSnapshot:
    id: int
    name: str
    slug: str
    position: int
    active: bool


@dataclass
class LabSnapshot:
    id: int
    track_id: int
    week: int
    module_title: str
    title: str
    slug: str
    body: str
    deliverables: list[str]
    position: int
    active: bool
    # The current revision when it is an app edit: {"revision", "by", "at", "note"}.
    edit: dict | None = None

    @property
    def hash(self) -> str:
        return content_hash(
            module_title=self.module_title,
            title=self.title,
            body=self.body,
            deliverables=self.deliverables,
        )


@dataclass
class LabPlan:
    status: str  # added | changed | renamed | moved | removed | unchanged
    new: ParsedLab | None
    old: LabSnapshot | None
    position: int = 0
    content_changed: bool = False
    restored: bool = False

    @property
    def conflict(self) -> bool:
        """The file's text differs from a correction staff made in the app."""
        return bool(
            self.old is not None
            and self.new is not None
            and self.old.edit is not None
            and self.content_changed
        )

    @property
    def needs_write(self) -> bool:
        if self.old is None:
            return True
        if self.new is None:
            return self.old.active
        return (
            self.content_changed
            or self.restored
            or self.old.week != self.new.week
            or self.old.position != self.position
        )


@dataclass
class TrackPlan:
    status: str  # added | renamed | removed | unchanged
    new: ParsedTrack | None
    old: TrackSnapshot | None
    position: int = 0
    labs: list[LabPlan] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.new.name if self.new else self.old.name

    @property
    def needs_write(self) -> bool:
        if self.old is None:
            return True
        if self.new is None:
            return self.old.active
        return (
            not self.old.active
            or self.old.name != self.new.name
            or self.old.position != self.position
        )


@dataclass
class ImportPlan:
    tracks: list[TrackPlan]
    totals: dict
    # What the parser repaired in the file's text and what it left as suspect
    # (`ParsedCurriculum.repair_report`): shown with the diff, not part of it.
    repairs: dict = field(default_factory=dict)

    @property
    def lab_plans(self) -> list[LabPlan]:
        return [lab for track in self.tracks for lab in track.labs]

    @property
    def has_changes(self) -> bool:
        return any(track.needs_write for track in self.tracks) or any(
            lab.needs_write for lab in self.lab_plans
        )

    def summary(self) -> dict:
        tracks = {"added": [], "renamed": [], "removed": [], "unchanged": 0}
        labs = {
            "added": [],
            "changed": [],
            "renamed": [],
            "moved": [],
            "removed": [],
            "unchanged": 0,
            "conflicts": [],
        }
        for track in self.tracks:
            if track.status == "unchanged":
                tracks["unchanged"] += 1
            else:
                tracks[track.status].append(track.name)
            for lab in track.labs:
                if lab.status == "unchanged":
                    labs["unchanged"] += 1
                    continue
                entry = _lab_ref(track, lab)
                labs[lab.status].append(entry)
                if lab.conflict:
                    labs["conflicts"].append({**entry, "lab_id": lab.old.id})
        return {"totals": dict(self.totals), "tracks": tracks, "labs": labs, **self.repairs}

    def detail(self) -> list[dict]:
        """Per-track, per-lab entries for the preview page (old and new text where they differ)."""
        out = []
        for track in self.tracks:
            entry = {
                "status": track.status,
                "name": track.name,
                "from_name": track.old.name
                if track.old and track.new and track.old.name != track.new.name
                else "",
                "labs": [],
            }
            for lab in track.labs:
                item = _lab_ref(track, lab)
                item["status"] = lab.status
                item["lab_id"] = lab.old.id if lab.old else None
                item["content_changed"] = lab.content_changed
                item["conflict"] = dict(lab.old.edit) if lab.conflict else None
                if lab.old and lab.new and lab.old.title != lab.new.title:
                    item["from_title"] = lab.old.title
                if lab.content_changed or lab.status in ("added", "removed"):
                    item["old"] = (
                        _content(lab.old)
                        if lab.old and (lab.content_changed or lab.status == "removed")
                        else None
                    )
                    item["new"] = _content(lab.new) if lab.new else None
                entry["labs"].append(item)
            out.append(entry)
        return out


def resolve_conflicts(plan: ImportPlan, *, take_file: set[int]) -> list[dict]:
    """Keep the app edit of every conflicting lab whose id is not in `take_file`.

    A kept lab still follows the file's week and position; only its text stays. Returns
    one entry per conflict: the lab reference, its id and the choice ("edit" or "file").
    """
    resolution = []
    for track in plan.tracks:
        for lab in track.labs:
            if not lab.conflict:
                continue
            choice = "file" if lab.old.id in take_file else "edit"
            resolution.append({**_lab_ref(track, lab), "lab_id": lab.old.id, "choice": choice})
            if choice == "file":
                continue
            old, new = lab.old, lab.new
            lab.new = ParsedLab(
                week=new.week,
                module_title=old.module_title,
                title=old.title,
                body=old.body,
                deliverables=list(old.deliverables),
                slug=new.slug,
                line=new.line,
            )
            lab.content_changed = False
            if lab.status != "added":
                lab.status = "moved" if old.week != new.week else "unchanged"
    return resolution


def _content(lab) -> dict:
    return {
        "module_title": lab.module_title,
        "title": lab.title,
        "body": lab.body,
        "deliverables": list(lab.deliverables),
    }


def _lab_ref(track: TrackPlan, lab: LabPlan) -> dict:
    source = lab.new or lab.old
    entry = {"track": track.name, "week": source.week, "title": source.title}
    if lab.old and lab.new and lab.old.week != lab.new.week:
        entry["from_week"] = lab.old.week
    return entry


@lru_cache(maxsize=8192)
def _shingles(text: str) -> frozenset[tuple[str, str]]:
    words = text.lower().split()
    if len(words) < 2:
        return frozenset((word, "") for word in words)
    return frozenset(zip(words, words[1:], strict=False))


def _similarity(left: str, right: str) -> float:
    """How much text two labs share, 0..1: the Dice overlap of their word pairs.

    Linear in the text length (set operations), so comparing every loose lab of a
    track with every other stays fast even for long or adversarial bodies.
    """
    left_set, right_set = _shingles(left), _shingles(right)
    if not left_set or not right_set:
        return 1.0 if left_set == right_set else 0.0
    return 2 * len(left_set & right_set) / (len(left_set) + len(right_set))


def plan_import(
    parsed: ParsedCurriculum, tracks: list[TrackSnapshot], labs: list[LabSnapshot]
) -> ImportPlan:
    labs_by_track: dict[int, list[LabSnapshot]] = {}
    for lab in labs:
        labs_by_track.setdefault(lab.track_id, []).append(lab)
    matches = _match_tracks(parsed.tracks, tracks, labs_by_track)
    plans: list[TrackPlan] = []
    for position, new_track in enumerate(parsed.tracks, start=1):
        old_track = matches.get(id(new_track))
        if old_track is None:
            status = "added"
        elif not old_track.active:
            status = "added"  # restored: the archived path comes back with its labs' history
        elif old_track.name != new_track.name:
            status = "renamed"
        else:
            status = "unchanged"
        plan = TrackPlan(status=status, new=new_track, old=old_track, position=position)
        plan.labs = _plan_labs(new_track, labs_by_track.get(old_track.id, []) if old_track else [])
        plans.append(plan)
    matched_ids = {track.id for track in matches.values()}
    for old_track in tracks:
        if old_track.id in matched_ids or not old_track.active:
            continue
        removed = TrackPlan(status="removed", new=None, old=old_track, position=old_track.position)
        removed.labs = [
            LabPlan(status="removed", new=None, old=lab, position=lab.position)
            for lab in sorted(labs_by_track.get(old_track.id, []), key=lambda lab: lab.week)
            if lab.active
        ]
        plans.append(removed)
    totals = {"tracks": len(parsed.tracks), "labs": parsed.lab_count}
    return ImportPlan(tracks=plans, totals=totals, repairs=parsed.repair_report())


def _match_tracks(
    new_tracks: list[ParsedTrack],
    old_tracks: list[TrackSnapshot],
    labs_by_track: dict[int, list[LabSnapshot]],
) -> dict[int, TrackSnapshot]:
    matches: dict[int, TrackSnapshot] = {}
    taken: set[int] = set()
    by_slug = {track.slug: track for track in old_tracks}
    for new in new_tracks:
        old = by_slug.get(new.slug)
        if old is not None and old.id not in taken:
            matches[id(new)] = old
            taken.add(old.id)
    by_name: dict[str, list[TrackSnapshot]] = {}
    for old in sorted(old_tracks, key=lambda t: not t.active):
        by_name.setdefault(old.name.casefold(), []).append(old)
    for new in new_tracks:
        if id(new) in matches:
            continue
        for old in by_name.get(new.name.casefold(), []):
            if old.id not in taken:
                matches[id(new)] = old
                taken.add(old.id)
                break
    # A renamed path: most of its labs are still there.
    for new in new_tracks:
        if id(new) in matches:
            continue
        new_keys = {lab.slug for lab in new.labs} | {_parsed_hash(lab) for lab in new.labs}
        best, best_score = None, 0.0
        for old in old_tracks:
            if old.id in taken or not old.active:
                continue
            old_labs = [lab for lab in labs_by_track.get(old.id, []) if lab.active]
            if not old_labs or not new.labs:
                continue
            shared = sum(1 for lab in old_labs if lab.slug in new_keys or lab.hash in new_keys)
            score = shared / max(len(old_labs), len(new.labs))
            if score > best_score:
                best, best_score = old, score
        if best is not None and best_score >= TRACK_OVERLAP:
            matches[id(new)] = best
            taken.add(best.id)
    return matches


def _parsed_hash(lab: ParsedLab) -> str:
    return content_hash(
        module_title=lab.module_title, title=lab.title, body=lab.body, deliverables=lab.deliverables
    )


def _plan_labs(new_track: ParsedTrack, old_labs: list[LabSnapshot]) -> list[LabPlan]:
    pairs: dict[int, LabSnapshot] = {}
    taken: set[int] = set()
    # Prefer active labs over archived ones with the same key.
    candidates = sorted(old_labs, key=lambda lab: (not lab.active, lab.week, lab.id))

    def take(new: ParsedLab, old: LabSnapshot) -> None:
        pairs[id(new)] = old
        taken.add(old.id)

    by_slug: dict[str, LabSnapshot] = {}
    by_hash: dict[str, list[LabSnapshot]] = {}
    for old in candidates:
        by_slug.setdefault(old.slug, old)
        by_hash.setdefault(old.hash, []).append(old)
    new_hashes = {id(new): _parsed_hash(new) for new in new_track.labs}
    for new in new_track.labs:
        old = by_slug.get(new.slug)
        if old is not None and old.id not in taken:
            take(new, old)
    for new in new_track.labs:
        if id(new) in pairs:
            continue
        for old in by_hash.get(new_hashes[id(new)], []):
            if old.id not in taken:
                take(new, old)
                break
    # Same week, new title, mostly the same text: renamed.
    active_by_week = {old.week: old for old in candidates if old.active}
    for new in new_track.labs:
        if id(new) in pairs:
            continue
        old = active_by_week.get(new.week)
        if (
            old is not None
            and old.id not in taken
            and _similarity(old.body, new.body) >= RENAME_SIMILARITY
        ):
            take(new, old)
    # Anywhere in the track, clearly the same text: moved (and perhaps edited or renamed).
    scored = []
    loose_new = [new for new in new_track.labs if id(new) not in pairs]
    loose_old = [old for old in candidates if old.id not in taken and old.active]
    if len(loose_new) * len(loose_old) > MAX_SIMILARITY_PAIRS:
        loose_new = []  # a wholesale rewrite: compare no further, report added and removed
    for new in loose_new:
        for old in loose_old:
            score = _similarity(old.body, new.body)
            if score >= MOVE_SIMILARITY:
                scored.append((score, id(new), old))
    for _score, new_key, old in sorted(scored, key=lambda item: -item[0]):
        if new_key in pairs or old.id in taken:
            continue
        pairs[new_key] = old
        taken.add(old.id)

    plans: list[LabPlan] = []
    for position, new in enumerate(new_track.labs, start=1):
        old = pairs.get(id(new))
        if old is None:
            plans.append(
                LabPlan(status="added", new=new, old=None, position=position, content_changed=True)
            )
            continue
        changed = old.hash != new_hashes[id(new)]
        if not old.active:
            status = "added"
        elif old.title != new.title:
            status = "renamed"
        elif old.week != new.week:
            status = "moved"
        elif changed:
            status = "changed"
        else:
            status = "unchanged"
        plans.append(
            LabPlan(
                status=status,
                new=new,
                old=old,
                position=position,
                content_changed=changed,
                restored=not old.active,
            )
        )
    for old in sorted(old_labs, key=lambda lab: lab.week):
        if old.active and old.id not in taken:
            plans.append(LabPlan(status="removed", new=None, old=old, position=old.position))
    return plans
