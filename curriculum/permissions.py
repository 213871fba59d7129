"""Who may do what with the curriculum."""

from __future__ import annotations

from collections.abc import Callable

# Who may read a lab's text depends on cohort memberships and schedules, which this app may
# not import. The cohorts app registers its rule (cohorts.permissions.LabAccess) at start-up;
# until one is registered, only staff read lab text (closed by default).
LabTextRule = Callable[[object], Callable[[object], bool]]
_lab_text_rule: LabTextRule | None = None


def register_lab_text_rule(rule: LabTextRule) -> None:
    """`rule(user)` returns a callable `lab -> bool`: may this user read the lab's text."""
    global _lab_text_rule
    _lab_text_rule = rule


def lab_text_reader(user) -> Callable[[object], bool]:
    """`reader(lab) -> bool` for this user, by the registered rule (one per request)."""
    if _lab_text_rule is not None:
        return _lab_text_rule(user)
    staff = can_manage_curriculum(user)
    return lambda lab: staff


def lab_revision_shown(reader, lab):
    """The revision whose text `reader` (from `lab_text_reader`) is shown for `lab`: the
    older one the reader's cohort is kept on (the registered rule's `revision_for`), else
    None, meaning the lab's current text."""
    revision_for = getattr(reader, "revision_for", None)
    return revision_for(lab) if revision_for is not None else None


def can_manage_curriculum(user) -> bool:
    """Imports (upload, preview, apply, discard, history) are for staff."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)
