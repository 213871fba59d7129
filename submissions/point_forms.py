"""Page forms for review points. They only parse the request; the rules are the service's
(``submissions.services.points``).

The review form's points are repeated fields: every row posts ``point_text`` and
``point_deliverable`` (same order), so the page works without JavaScript. "Add a point"
(``action=add_point``) and "Remove" (``remove_point=<row>``) post the form back and get it
again with one row more or less; with htmx only the rows are swapped.
"""

from __future__ import annotations

import re

from .models import ReviewPoint
from .validation import deliverable_text

POINT_ERRORS = ("points", "waive_reason")
_REPLY_KEY = re.compile(r"^reply_([1-9][0-9]{0,17})$")


class ReviewPointsForm:
    """The review form's point rows and the waive reason."""

    def __init__(self, data=None, *, deliverables: list, open_count: int = 0, initial=None):
        self.deliverables = [deliverable_text(item) for item in deliverables]
        self.open_count = open_count
        self.errors: dict[str, str] = {}
        self.row_action = None
        if data is None:
            initial = initial or {}
            self.rows = list(initial.get("points") or [])
            self.waive_reason = initial.get("waive_reason", "")
        else:
            texts = data.getlist("point_text")
            chosen = data.getlist("point_deliverable")
            rows = [
                {"text": text, "deliverable": chosen[i] if i < len(chosen) else ""}
                for i, text in enumerate(texts)
            ]
            remove = data.get("remove_point")
            if remove is not None:
                self.row_action = "remove"
                if remove.isdigit() and int(remove) < len(rows):
                    rows.pop(int(remove))
            elif data.get("action") == "add_point":
                self.row_action = "add"
                rows.append({"text": "", "deliverable": ""})
            self.rows = rows
            self.waive_reason = data.get("waive_reason", "")
        if not self.rows:
            self.rows = [{"text": "", "deliverable": ""}]

    def points(self) -> list[dict]:
        """The rows with something in them, for ``review_create(points=...)``."""
        return [
            {"text": row["text"], "deliverable": row["deliverable"]}
            for row in self.rows
            if (row["text"] or "").strip() or row["deliverable"] not in ("", None)
        ]

    def draft(self) -> dict | None:
        points = self.points()
        if not (points or (self.waive_reason or "").strip()):
            return None
        return {"points": points, "waive_reason": self.waive_reason}

    def row_fields(self) -> list[dict]:
        choices = [("", "No deliverable")] + [
            (str(i), f"{i + 1}. {text[:80]}") for i, text in enumerate(self.deliverables)
        ]
        return [
            {
                "number": n,
                "text": row["text"],
                "choices": [
                    (value, label, str(row["deliverable"]) == value) for value, label in choices
                ],
            }
            for n, row in enumerate(self.rows)
        ]

    def take_errors(self, error):
        """Keep the points' and waive reason's messages from a service refusal; returns the
        other per-field errors (for the review form), or None when there were none."""
        errors = dict((error.extra or {}).get("errors") or {})
        for name in POINT_ERRORS:
            if name in errors:
                self.errors[name] = errors.pop(name)
        return errors or None

    text_max = ReviewPoint.TEXT_MAX_LENGTH
    reason_max = ReviewPoint.WAIVE_REASON_MAX_LENGTH


def point_replies(data) -> dict[int, str]:
    """The lab page's answers: ``reply_<point id>`` fields, blank ones included (the
    service skips them)."""
    replies = {}
    for key in data:
        match = _REPLY_KEY.match(key)
        if match:
            replies[int(match.group(1))] = data.get(key, "")
    return replies


def leave_points_open(data) -> bool:
    return data.get("leave_points_open") in ("1", "on", "true")
