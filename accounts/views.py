from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import ApplicationError

from .forms import ApiTokenForm, ProfileForm
from .selectors import api_tokens_of
from .services import api_token_create, api_token_revoke, user_update_profile

TOKENS_PER_PAGE = 20
PROFILE = "accounts/profile.html"


def _password_form(user) -> PasswordChangeForm:
    form = PasswordChangeForm(user)
    # Django focuses the old password; on the profile that would scroll past the name box.
    form.fields["old_password"].widget.attrs.pop("autofocus", None)
    return form


def _render_profile(
    request, *, profile_form=None, form=None, new_secret=None, status=200, partial=None
) -> HttpResponse:
    user = request.user
    tokens = Paginator(api_tokens_of(user), TOKENS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "profile_user": user,
        "profile_away": user.is_away(),
        "profile_form": profile_form
        or ProfileForm(initial={"name": user.name, "time_zone": user.time_zone}),
        "password_form": _password_form(user),
        "tokens": tokens,
        "token_form": form or ApiTokenForm(),
        "new_secret": new_secret,
    }
    name = f"{PROFILE}#{partial}" if partial and request.htmx else PROFILE
    if request.htmx and status == 400:
        status = 200  # htmx swaps only 2xx answers; the fragment carries the errors
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """One's own profile: name and time zone (POST saves them), password, notification
    preferences, calendar link and API tokens."""
    if request.method == "GET":
        return _render_profile(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            user_update_profile(
                actor=request.user,
                user=request.user,
                name=form.cleaned_data["name"],
                time_zone=form.cleaned_data["time_zone"],
            )
        except ApplicationError as exc:
            field = (exc.extra or {}).get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, "Profile saved. Times are shown in your new time zone.")
            if request.htmx:
                # Every date on the page (and the name in the header) changes: load it anew.
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reverse("accounts:profile")
                return response
            return redirect("accounts:profile")
    return _render_profile(request, profile_form=form, status=400, partial="profile-form")


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Create an API token and show its secret once, on this response only."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render_profile(request, form=form, status=400)
    try:
        token, secret = api_token_create(
            user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _render_profile(request, form=form, status=400)
    response = _render_profile(request, new_secret=secret, status=201)
    # The secret is in this page only: never cache it anywhere.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(api_tokens_of(request.user), pk=pk)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token “{token.name or token.prefix}” revoked; it no longer works.")
    return redirect("accounts:profile")
