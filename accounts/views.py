from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError

from .forms import ApiTokenForm
from .selectors import api_tokens_of
from .services import api_token_create, api_token_revoke

TOKENS_PER_PAGE = 20


def _render_profile(request, *, form=None, new_secret=None, status=200) -> HttpResponse:
    tokens = Paginator(api_tokens_of(request.user), TOKENS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "profile_user": request.user,
        "tokens": tokens,
        "token_form": form or ApiTokenForm(),
        "new_secret": new_secret,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _render_profile(request)


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
