"""Who may do what with the curriculum."""

from __future__ import annotations


def can_view_curriculum(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_curriculum(user) -> bool:
    """Imports (upload, preview, apply, discard, history) are for staff."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)
