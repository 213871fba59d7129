"""Pages for saved replies: the mentors' list per lab (with usage), create, edit, delete;
staff's ranking of labs by use; and the review page's "Insert" (see ``saved_replies``).

Only mentors (of any cohort) and staff reach these pages: anyone else gets a 403 on the
lists and a 404 for a reply they cannot see; a visible reply they may not change is a 403.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.converters import parse_id
from core.exceptions import ApplicationError

from . import saved_replies, services
from .forms import ReviewForm, SavedReplyForm, apply_service_errors
from .models import SavedReply
from .permissions import (
    can_edit_saved_reply,
    can_review_submission,
    can_use_saved_replies,
    saved_reply_editor,
)
from .views import _render, _review_context, _visible_submission

PAGE_SIZE = 25
LIST = "submissions/saved_replies.html"
FORM = "submissions/saved_reply_form.html"


def _require_user_of_saved_replies(request) -> None:
    if not can_use_saved_replies(request.user):
        raise PermissionDenied("Saved replies are for mentors and staff.")


def _visible_reply(request, pk: int) -> SavedReply:
    return get_object_or_404(saved_replies.saved_replies_for(request.user), pk=pk)


@login_required
@require_GET
def saved_reply_list(request: HttpRequest) -> HttpResponse:
    """The replies one may use, per lab, most used first; filter by lab; paginated."""
    _require_user_of_saved_replies(request)
    labs = saved_replies.saved_reply_labs(request.user)
    lab_id = parse_id(request.GET.get("lab"))
    lab = next((lab for lab in labs if lab.pk == lab_id), None)
    replies = saved_replies.saved_replies_for(request.user).order_by(
        "lab__track__position",
        "lab__track__name",
        "lab__week",
        "lab_id",
        "-usage_count",
        "title",
        "pk",
    )
    if lab is not None:
        replies = replies.filter(lab=lab)
    page = Paginator(replies, PAGE_SIZE).get_page(request.GET.get("page"))
    may_edit = saved_reply_editor(request.user)
    rows = [
        {
            "reply": reply,
            "deliverable": saved_replies.deliverable_label(reply.lab, reply.deliverable),
            "can_edit": may_edit(reply),
        }
        for reply in page
    ]
    context = {
        "labs": labs,
        "lab": lab,
        "page": page,
        "rows": rows,
        "extra_query": urlencode({"lab": lab.pk}) if lab else "",
        "new_url": reverse("submissions:saved-reply-new")
        + (f"?{urlencode({'lab': lab.pk})}" if lab else ""),
    }
    return _render(request, LIST, context, partial="reply-list")


def _form(request, *, data=None, reply=None, lab_id=None) -> SavedReplyForm:
    labs = saved_replies.saved_reply_labs(request.user)
    return SavedReplyForm(
        data,
        labs=labs,
        cohorts=saved_replies.mentored_cohorts(request.user),
        staff=request.user.is_staff,
        reply=reply,
        lab_id=lab_id,
    )


def _after_save(request, reply: SavedReply) -> HttpResponse:
    return redirect(reverse("submissions:saved-replies") + "?" + urlencode({"lab": reply.lab_id}))


@login_required
@require_http_methods(["GET", "POST"])
def saved_reply_new(request: HttpRequest) -> HttpResponse:
    """Save a new reply. "Show its deliverables" (no JavaScript) or a change of lab (htmx)
    redraws the form with the chosen lab's deliverables, keeping what was typed."""
    _require_user_of_saved_replies(request)
    source = request.POST if request.method == "POST" else request.GET
    lab_id = parse_id(source.get("lab"))
    if request.method == "GET" or request.POST.get("action") == "pick-lab":
        form = _form(request, lab_id=lab_id, data=None)
        if request.method == "POST":
            form.initial.update({k: request.POST.get(k, "") for k in ("title", "body", "scope")})
        return _render(request, FORM, {"form": form, "reply": None}, partial="deliverable-field")
    form = _form(request, data=request.POST, lab_id=lab_id)
    if form.is_valid():
        data = form.cleaned_data
        try:
            reply = saved_replies.saved_reply_create(
                actor=request.user,
                lab=data["lab"],
                title=data["title"],
                body=data["body"],
                cohort=data["cohort"],
                shared_with_all=data["shared_with_all"],
                deliverable=data["deliverable"],
            )
        except ApplicationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Saved reply “{reply.title}” saved.")
            return _after_save(request, reply)
    return _render(request, FORM, {"form": form, "reply": None}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def saved_reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_user_of_saved_replies(request)
    reply = _visible_reply(request, pk)
    if not can_edit_saved_reply(request.user, reply):
        raise PermissionDenied("Only its author or staff can change this reply.")
    if request.method == "GET":
        return _render(request, FORM, {"form": _form(request, reply=reply), "reply": reply})
    form = _form(request, data=request.POST, reply=reply)
    if form.is_valid():
        data = form.cleaned_data
        try:
            reply = saved_replies.saved_reply_update(
                actor=request.user,
                reply=reply,
                title=data["title"],
                body=data["body"],
                deliverable=data["deliverable"],
            )
        except ApplicationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Saved reply “{reply.title}” updated.")
            return _after_save(request, reply)
    return _render(request, FORM, {"form": form, "reply": reply}, status=400)


@login_required
@require_POST
def saved_reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_user_of_saved_replies(request)
    reply = _visible_reply(request, pk)
    try:
        saved_replies.saved_reply_delete(actor=request.user, reply=reply)
    except ApplicationError as error:
        raise PermissionDenied(error.message) from error
    messages.success(request, f"Saved reply “{reply.title}” deleted.")
    return _after_save(request, reply)


@login_required
@require_GET
def saved_reply_usage(request: HttpRequest) -> HttpResponse:
    """Staff: labs ranked by saved-reply inserts (which labs need better instructions)."""
    if not request.user.is_staff:
        raise PermissionDenied("This page is for staff.")
    context = {
        "rows": saved_replies.lab_usage_ranking(),
        "window_days": saved_replies.USAGE_WINDOW.days,
    }
    return _render(request, "submissions/saved_reply_usage.html", context)


# The no-JavaScript insert keeps what the mentor typed here between its POST and the GET it
# redirects to (one per submission, replaced by the next insert).
# The review forms typed before a no-JavaScript Insert, by submission id, in one session
# entry that keeps only the latest few: a mentor who inserts on many submissions and never
# posts those reviews does not grow the session without end.
_TYPED = "saved-reply-insert"
_TYPED_KEPT = 5
_NOT_TYPED = ("csrfmiddlewaretoken", "action", "saved_reply")


def _draw_review(request, submission, data, *, inserted=None, error=None, status=200):
    latest = submission.iterations.order_by("-number").select_related("lab_revision").first()
    deliverables = (
        latest.lab_revision.deliverables
        if latest and latest.lab_revision_id
        else services.deliverables_of(submission.lab)
    )
    form = ReviewForm(data, deliverables=deliverables)
    form.is_valid()  # draws what was typed; nothing here is an error of the review's
    context = _review_context(request, submission, review_form=form)
    context["saved_reply_error"] = error
    context["saved_reply_inserted"] = inserted
    return _render(request, "submissions/review.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def saved_reply_insert(request: HttpRequest, pk: int) -> HttpResponse:
    """The review page's "Insert" button: counts one use of the chosen reply, then
    redirects (303) to a GET of this address, which draws the review page again with the
    reply added to the end of the review box, keeping everything else typed (the whole
    review form is posted here by ``formaction``; it waits in the session between the two).
    Reloading that page draws it again without counting a second use.

    The ``/`` picker and the menu with JavaScript insert the text at the cursor themselves
    and post here with ``Accept: application/json`` only to count the use (a JSON answer).
    """
    submission = _visible_submission(request, pk)
    if not can_review_submission(request.user, submission):
        raise Http404("No such submission.")
    key = str(submission.pk)
    if request.method == "GET":
        typed = request.session.get(_TYPED, {}).get(key)
        if typed is None:
            return redirect("submissions:review", pk=submission.pk)
        data = QueryDict(mutable=True)
        for name, values in typed["data"].items():
            data.setlist(name, values)
        inserted = saved_replies.saved_replies_for(request.user).filter(pk=typed["reply"]).first()
        return _draw_review(request, submission, data, inserted=inserted)
    wants_json = "application/json" in request.headers.get("Accept", "")
    reply_id = parse_id(request.POST.get("saved_reply"))
    reply = (
        saved_replies.saved_replies_for(request.user).filter(pk=reply_id).first()
        if reply_id
        else None
    )
    error = None
    if reply is None:
        error = "Choose a saved reply to insert."
    else:
        try:
            reply = saved_replies.saved_reply_use(
                actor=request.user, reply=reply, submission=submission
            )
        except ApplicationError as exc:
            error = exc.message
    if wants_json:
        if error:
            return JsonResponse({"detail": error}, status=400)
        return JsonResponse({"id": reply.pk, "usage_count": reply.usage_count})
    data = request.POST.copy()
    if error is not None:
        # Nothing was counted: drawing the page in answer to the POST is safe to repeat.
        return _draw_review(request, submission, data, error=error, status=400)
    body = data.get("body", "").rstrip()
    data["body"] = f"{body}\n\n{reply.body}" if body else reply.body
    kept = request.session.get(_TYPED, {})
    kept.pop(key, None)  # the newest last: the oldest are the ones let go
    kept[key] = {
        "data": {name: data.getlist(name) for name in data if name not in _NOT_TYPED},
        "reply": reply.pk,
    }
    request.session[_TYPED] = dict(list(kept.items())[-_TYPED_KEPT:])
    return HttpResponseRedirect(
        reverse("submissions:saved-reply-insert", args=[submission.pk]), status=303
    )
