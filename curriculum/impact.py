"""The impact of a curriculum update: who is working on the labs an import changes, and the
per-cohort choice to apply the change now or keep the cohort on its current revisions.

Who runs a lab, who has work on it and which reviews are claimed belong to cohorts and
submissions, which this app may not import. They **register hooks** here in their
`AppConfig.ready()` (docs/architecture.md):

- `register_impact_provider(provider)`: `provider(labs) -> {lab_id: {key: value}}` for the
  changed labs (`labs`: `[{"lab_id", "track_id", ...}]`); each provider adds its own keys
  (cohorts: `cohorts`; submissions: `learners`, `reviews`). A provider makes a fixed number
  of queries whatever the number of labs.
- `register_apply_hook(hook)`: `hook(*, actor, curriculum_import, previous_revisions,
  keep_cohorts)` runs inside the apply's transaction, after the labs are written and before
  the `lab.updated` events are recorded. `previous_revisions` is `{lab_id: revision_id}` of
  the changed labs before the import; `keep_cohorts` the cohort ids staff chose to keep on
  their current revisions. A hook that raises rolls the whole import back. Registered:
  cohorts' `pins_for_import` (keeps the chosen cohorts on their revisions) and
  submissions' `saved_replies_for_import` (moves saved replies' deliverable indexes to
  where the same deliverable text is in the new revision, or to the whole lab).

With nothing registered (this app alone), the impact lists no one and `keep_cohorts` must
be empty.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from django.db.models import QuerySet

from core.exceptions import ApplicationError

from .models import Lab

ImpactProvider = Callable[[list[dict]], dict[int, dict]]
ApplyHook = Callable[..., None]

_providers: list[ImpactProvider] = []
_apply_hooks: list[ApplyHook] = []

# Names listed per lab (the counts are exact); the rest is "and N more".
IMPACT_LIST_LIMIT = 10


def register_impact_provider(provider: ImpactProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def register_apply_hook(hook: ApplyHook) -> None:
    if hook not in _apply_hooks:
        _apply_hooks.append(hook)


def changed_lab_refs(diff: dict) -> list[dict]:
    """The labs whose text an import changes and that people may be working on: existing,
    active labs whose content changes (changed, renamed or moved with new text, and labs
    edited in the app that the file would change). No queries."""
    refs = []
    for track in (diff or {}).get("detail") or []:
        for lab in track.get("labs") or []:
            if (
                lab.get("lab_id")
                and lab.get("content_changed")
                and lab.get("status") in ("changed", "renamed", "moved", "unchanged")
                and lab.get("new") is not None
            ):
                refs.append(
                    {
                        "lab_id": lab["lab_id"],
                        "track": lab["track"],
                        "week": lab["week"],
                        "title": lab["title"],
                        "status": lab["status"],
                    }
                )
    return refs


def _labs(lab_ids: Collection[int]) -> QuerySet[Lab]:
    return Lab.objects.filter(pk__in=list(lab_ids), active=True)


def import_impact(diff: dict) -> list[dict]:
    """Per changed lab: `{"lab_id", "track", "week", "title", "status", "cohorts": [...],
    "learners": {...}, "reviews": {...}}` as the registered providers fill it. One query
    here plus the providers' own, whatever the number of labs."""
    refs = changed_lab_refs(diff)
    if not refs:
        return []
    tracks = dict(_labs([ref["lab_id"] for ref in refs]).values_list("pk", "track_id"))
    refs = [{**ref, "track_id": tracks[ref["lab_id"]]} for ref in refs if ref["lab_id"] in tracks]
    out = {
        ref["lab_id"]: {
            **ref,
            "cohorts": [],
            "learners": {"drafts": 0, "open": 0, "listed": [], "more": 0},
            "reviews": {"claimed": 0, "listed": [], "more": 0},
        }
        for ref in refs
    }
    for provider in _providers:
        for lab_id, values in provider(refs).items():
            if lab_id in out:
                out[lab_id].update(values)
    return list(out.values())


def affected_cohorts(impact: list[dict]) -> list[dict]:
    """The cohorts of an impact, once each, with the changed labs they run:
    `[{"id", "name", ..., "labs": [lab refs], "pinned_labs": n}]` (for the per-cohort choice)."""
    cohorts: dict[int, dict] = {}
    for lab in impact:
        for cohort in lab["cohorts"]:
            entry = cohorts.setdefault(cohort["id"], {**cohort, "labs": [], "pinned_labs": 0})
            entry["labs"].append({k: lab[k] for k in ("lab_id", "week", "title")})
            entry["pinned_labs"] += 1 if cohort.get("pinned") else 0
    return list(cohorts.values())


def run_apply_hooks(
    *, actor, curriculum_import, previous_revisions: dict[int, int | None], keep_cohorts
) -> None:
    keep_cohorts = set(keep_cohorts)
    if keep_cohorts and not _apply_hooks:
        raise ApplicationError("No cohort runs the labs this import changes.", code="invalid")
    for hook in _apply_hooks:
        hook(
            actor=actor,
            curriculum_import=curriculum_import,
            previous_revisions=previous_revisions,
            keep_cohorts=keep_cohorts,
        )
