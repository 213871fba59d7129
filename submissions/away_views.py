"""Away mode pages: a mentor sets or ends their own away mode, staff any mentor's.

The form lives on the mentor's home and, per mentor, on the staff cohort overview (both
include ``submissions/away.html#away-card``); it posts here and works without JavaScript
(redirect back to ``next``), with htmx the card is swapped in place. Anyone else: 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from core.exceptions import ApplicationError

from . import services
from .forms import AwayForm, apply_service_errors
from .permissions import can_set_away
from .views import _render, _safe_next

AWAY = "submissions/away.html"


def _mentor(request: HttpRequest, user_id: int) -> User:
    user = get_object_or_404(User, pk=user_id, is_active=True)
    if not can_set_away(request.user, user):
        raise Http404("No such mentor.")
    return user


def away_context(*, viewer, mentor: User, form=None, next_url: str = "") -> dict:
    """What ``submissions/away.html#away-card`` needs (pages that include it use this)."""
    return {
        "away_user": mentor,
        "away_self": viewer.pk == mentor.pk,
        "away_now": mentor.is_away(),
        "away_form": form
        or AwayForm(initial={"away_note": mentor.away_note} if mentor.is_away() else None),
        "away_next": next_url,
    }


def _done(request, mentor: User, message: str) -> HttpResponse:
    if request.htmx:
        # The card is swapped in place and says what happened (no page around it to flash in).
        context = away_context(viewer=request.user, mentor=mentor, next_url=_safe_next(request, ""))
        context["away_flash"] = message
        return _render(request, AWAY, context, partial="away-card")
    messages.success(request, message)
    own = reverse("submissions:away", kwargs={"user_id": mentor.pk})
    return redirect(_safe_next(request, own))


@login_required
@require_http_methods(["GET", "POST"])
def away(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET: the mentor's away mode on a page of its own. POST: go away through a day."""
    mentor = _mentor(request, user_id)
    form = AwayForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        try:
            moved = services.mentor_set_away(
                actor=request.user,
                user=mentor,
                until=form.cleaned_data["away_until"],
                note=form.cleaned_data["away_note"],
            )
        except ApplicationError as error:
            # The accounts service names its field (`away_until`, `away_note`) in `extra`.
            field = (error.extra or {}).get("field")
            if field in form.fields:
                form.add_error(field, error.message)
            else:
                apply_service_errors(form, error)
        else:
            who = "You are" if mentor.pk == request.user.pk else f"{mentor.display_name} is"
            day = form.cleaned_data["away_until"]
            moved_text = (
                f" {moved} open review{'s' if moved != 1 else ''} handed over." if moved else ""
            )
            return _done(request, mentor, f"{who} away until {day:%-d %b %Y}.{moved_text}")
    context = away_context(
        viewer=request.user, mentor=mentor, form=form, next_url=_safe_next(request, "")
    )
    status = 400 if form is not None else 200
    return _render(request, AWAY, context, partial="away-card", status=status)


@login_required
@require_POST
def away_end(request: HttpRequest, user_id: int) -> HttpResponse:
    """End away mode now: new reviews may come again at once."""
    mentor = _mentor(request, user_id)
    services.mentor_end_away(actor=request.user, user=mentor)
    who = "You are" if mentor.pk == request.user.pk else f"{mentor.display_name} is"
    return _done(request, mentor, f"{who} back: new reviews can be assigned again.")
