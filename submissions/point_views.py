"""The review points' part of the review page and the lab page (kept out of ``views`` so
that module stays one screenful per page): the point rows fragment, the draft kept when a
message is sent, and what the lab page shows again after a refusal."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .point_forms import ReviewPointsForm, leave_points_open, point_replies

POINT_ROWS = "submissions/_review_points.html#point-rows"


def points_draft_key(submission) -> str:
    return f"review-points-draft:{submission.pk}"


def keep_points_draft(request, submission, points_form: ReviewPointsForm) -> None:
    """ "Post message" keeps the points typed so far, like the review itself."""
    draft = points_form.draft()
    if draft:
        request.session[points_draft_key(submission)] = draft
    else:
        request.session.pop(points_draft_key(submission), None)


def point_rows(request, submission, points_form: ReviewPointsForm):
    """htmx "Add a point" / "Remove": only the rows, one more or one less."""
    context = {"points_form": points_form, "submission": submission}
    response = render(request, POINT_ROWS, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def apply_review_errors(form, points_form: ReviewPointsForm, error) -> None:
    """A refused review: the points' and waive reason's messages go beside them, the rest on
    the review form (a form-wide line always says the review was not posted)."""
    from .forms import apply_service_errors

    rest = points_form.take_errors(error)
    if not points_form.errors:
        apply_service_errors(form, error)
        return
    form.add_error(None, "Your review was not posted: see the points below.")
    for name, message in (rest or {}).items():
        form.add_error(name if name in form.fields else None, message)


class PointInput:
    """The lab page's answers as typed, and the refusals (``error``: the hand-in rule's
    message), to show them again."""

    def __init__(self, data=None, errors=None, error=""):
        self.replies = point_replies(data) if data is not None else {}
        self.leave_open = leave_points_open(data) if data is not None else False
        self.errors = errors or {}
        self.error = error

    @classmethod
    def refused(cls, data, error) -> PointInput:
        errors = (error.extra or {}).get("errors") or {}
        per_point = {
            int(key.removeprefix("reply_")): message
            for key, message in errors.items()
            if key.startswith("reply_") and key.removeprefix("reply_").isdigit()
        }
        return cls(data, errors=per_point, error=errors.get("points", ""))
