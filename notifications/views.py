from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.exceptions import ApplicationError

from . import selectors, services, unsubscribe
from .forms import PreferencesForm

PAGE_SIZE = 25


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


def _list_context(request: HttpRequest) -> dict:
    page = Paginator(selectors.notifications_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return {"page": page, "unread": selectors.unread_count(request.user)}


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """Everything the user was told, unread first, newest first."""
    template = "notifications/list.html"
    if request.htmx:
        template += "#notification-list"
    return _vary(render(request, template, _list_context(request)))


@require_GET
@never_cache
def bell(request: HttpRequest) -> HttpResponse:
    """The header bell alone, polled by htmx. A signed-out poll swaps nothing (204)
    rather than pasting a login page into the header."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    # Rendered without the request's context processors (the navigation one queries
    # memberships): the unread COUNT is the only query this poll adds to the session's.
    html = get_template("notifications/_bell.html").render({"request": request})
    return _vary(HttpResponse(html))


def _after_change(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        response = render(
            request, "notifications/list.html#notification-list", _list_context(request)
        )
        # The bell listens for this and refreshes its count at once.
        response["HX-Trigger"] = "notifications-changed"
        return _vary(response)
    page = request.POST.get("page", "")
    url = reverse("notifications:list")
    if page.isdigit():
        url += f"?page={page}"
    return _vary(redirect(url))


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notification_for(request.user, notification_id)
    if notification is None:
        raise Http404("No such notification.")
    try:
        services.notification_mark_read(actor=request.user, notification=notification)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _after_change(request)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=request.user)
    if not request.htmx:
        if count:
            noun = "notification" if count == 1 else "notifications"
            messages.success(request, f"Marked {count} {noun} read.")
        else:
            messages.info(request, "Nothing was unread.")
    return _after_change(request)


@login_required
@require_GET
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    notification = selectors.notification_for(request.user, notification_id)
    if notification is None:
        raise Http404("No such notification.")
    services.notification_mark_read(actor=request.user, notification=notification)
    link = notification.link
    # Links are paths inside this site; anything else goes back to the list.
    if not link or not url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        link = reverse("notifications:list")
    return redirect(link)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    rows = selectors.preferences_for(request.user)
    form = PreferencesForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            services.preferences_update(actor=request.user, channels=form.channels())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Your notification preferences are saved.")
            return redirect("notifications:preferences")
    status = 400 if form.errors else 200
    return render(request, "notifications/preferences.html", {"form": form}, status=status)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of an email: no sign-in, the signed token says who and what.

    GET asks for confirmation (link scanners fetch links; they must not unsubscribe
    anyone). POST unsubscribes: the page's button, or a mail client's one-click request
    (RFC 8058, `List-Unsubscribe=One-Click`), which carries no CSRF token; the token in the
    URL is the only credential this view accepts, so the exemption lends no session power.
    """
    target = unsubscribe.read(token)
    if target is None:
        raise Http404("This unsubscribe link is not valid.")
    user, kind = target
    context = {"kind_label": unsubscribe.label(kind), "is_digest": kind == unsubscribe.DIGEST}
    if request.method == "POST":
        services.email_unsubscribe(user=user, kind=kind)
        return render(request, "notifications/unsubscribed.html", context)
    return render(request, "notifications/unsubscribe.html", context)
