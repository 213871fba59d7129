"""The thread's messages: posting one, and the edit and delete pages where an author
changes their own message for 15 minutes (submissions.comments holds the rules)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import ApplicationError

from . import services, thread
from .forms import CommentForm, apply_service_errors
from .models import Comment, Submission
from .permissions import can_comment_submission
from .views import _lab_url, _render, _review_url, _safe_next, _visible_submission


@login_required
@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A message in the thread: with htmx, the thread answers in place (its newest
    messages, or the form with its error); without, back to the page it was posted from."""
    submission = _visible_submission(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_create(
                actor=request.user, submission=submission, body=form.cleaned_data["body"]
            )
            form = CommentForm()
        except ApplicationError as error:
            apply_service_errors(form, error)
    if request.htmx:
        context = thread.thread_context(
            submission,
            comment_form=form,
            can_comment=can_comment_submission(request.user, submission),
        )
        return _render(request, thread.THREAD_TEMPLATE, context, status=400 if form.errors else 200)
    if form.errors:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect(_safe_next(request, _thread_url(request, submission)) + "#thread")


def _own_comment(request, pk: int, comment_id: int) -> tuple[Submission, Comment]:
    """A comment of a submission the caller can see; 404 otherwise (whose it is, and
    whether it may still change, is the services' call)."""
    submission = _visible_submission(request, pk)
    comment = Comment.objects.filter(submission=submission, pk=comment_id).first()
    if comment is None:
        raise Http404("No such message.")
    comment.submission = submission
    return submission, comment


def _thread_url(request, submission: Submission) -> str:
    return (
        _lab_url(submission)
        if submission.learner_id == request.user.pk
        else _review_url(submission)
    )


def _comment_fragment(
    request, submission: Submission, comment: Comment, *, error: str = ""
) -> HttpResponse:
    response = render(
        request,
        "submissions/_comment.html",
        {
            "submission": submission,
            "comment": comment,
            "editable": thread.comment_editable(
                request.user,
                comment,
                can_comment=can_comment_submission(request.user, submission),
                now=timezone.now(),
            ),
            "comment_error": error,
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def comment_edit(request: HttpRequest, pk: int, comment_id: int) -> HttpResponse:
    """The author rewrites their message within 15 minutes: in place with htmx (the form
    replaces the message, then the saved message replaces the form), or on its own page."""
    submission, comment = _own_comment(request, pk, comment_id)
    if not services.can_change_comment(request.user, comment):
        if request.htmx and comment.author_id == request.user.pk:
            # The window closed while the page was open: say so where the message is.
            return _comment_fragment(request, submission, comment, error=services.WINDOW_CLOSED)
        raise PermissionDenied(
            "You can change only your own messages, in the first 15 minutes after posting."
        )
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            comment = services.comment_update(
                actor=request.user, comment=comment, body=form.cleaned_data["body"]
            )
        except ApplicationError as error:
            apply_service_errors(form, error)
        else:
            if request.htmx:
                return _comment_fragment(request, submission, comment)
            messages.success(request, "Message updated.")
            return redirect(f"{_thread_url(request, submission)}#comment-{comment.pk}")
    context = {
        "submission": submission,
        "comment": comment,
        "form": form,
        "textarea_id": f"id_comment_{comment.pk}_body",
        "back_url": _thread_url(request, submission),
    }
    return _render(
        request,
        "submissions/comment_edit.html",
        context,
        partial="edit-form",
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def comment_delete(request: HttpRequest, pk: int, comment_id: int) -> HttpResponse:
    """The author removes their message within 15 minutes; "Comment deleted" stays in
    its place (submissions.comments explains why)."""
    submission, comment = _own_comment(request, pk, comment_id)
    if comment.author_id != request.user.pk:
        raise PermissionDenied("You can delete only your own messages.")
    try:
        comment = services.comment_delete(actor=request.user, comment=comment)
    except ApplicationError as error:
        if request.htmx:  # htmx swaps only 2xx answers: the message, saying why not
            return _comment_fragment(request, submission, comment, error=error.message)
        messages.error(request, error.message)
    else:
        if request.htmx:
            return _comment_fragment(request, submission, comment)
        messages.success(request, "Message deleted.")
    return redirect(f"{_thread_url(request, submission)}#comment-{comment.pk}")
