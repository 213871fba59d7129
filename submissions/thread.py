"""The thread of the lab and review pages, cached apart from the page around it.

Both pages are cached whole (core.fragments.cached_page), keyed on everything they show
but the thread; the thread is a live part of them (`cached_page`'s `live`), cached under
its own stamp (`page_stamps.thread_stamp`). A message, the most frequent write there is,
then draws only the thread again, not the page around it (~25 ms more); and each message
in it is kept on its own (`messages_html`), so the thread drawn again draws the new
message alone (a thread of 30 messages: 0.8 ms, not 12).
"""

from __future__ import annotations

import datetime as dt
import functools

from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from core.fragments import cached_fragment, cached_fragments, next_instant_after

from . import selectors
from .comments import COMMENT_EDIT_WINDOW, is_open_to_its_author
from .forms import CommentForm
from .models import Comment, Submission

THREAD_TEMPLATE = "submissions/_thread.html"
MESSAGE_TEMPLATE = "submissions/_comment.html"
# Everything shown is in the key or the end of validity; this bounds what neither names (a
# deploy changing Python-side labels).
THREAD_MAX_AGE = 3600


def whole_thread(request) -> bool:
    """The "Show earlier messages" link of a long thread (`selectors.THREAD_LATEST`)."""
    return request.GET.get("thread") == "all"


def thread_context(submission: Submission, *, comment_form, can_comment: bool) -> dict:
    """What `THREAD_TEMPLATE` draws: the newest messages (`selectors.thread_comments`),
    how many earlier ones there are, and the message box."""
    comments, earlier_comments = selectors.thread_comments(submission)
    return {
        "submission": submission,
        "comments": comments,
        "earlier_comments": earlier_comments,
        "comment_form": comment_form,
        "can_comment": can_comment,
    }


def comment_editable(viewer, comment: Comment, *, can_comment: bool, now: dt.datetime) -> bool:
    """Whether the message shows Edit and Delete to `viewer`: their own, not deleted, and
    posted less than COMMENT_EDIT_WINDOW ago (the services decide; this only offers them)."""
    return bool(can_comment and is_open_to_its_author(viewer, comment, now=now))


def messages_html(
    comments: list[Comment], *, submission: Submission, viewer, can_comment: bool, csrf_token
) -> SafeString:
    """The thread's messages, each drawn once and kept (`core.fragments.cached_fragments`):
    a thread drawn again after a new message draws that message only. A message looks the
    same to every viewer in the same time zone, except its author's Edit and Delete, so
    the key is what it shows, the zone and whether it offers them."""
    now = timezone.now()
    zone = timezone.get_current_timezone_name()
    token = str(csrf_token) if csrf_token else ""
    entries = []
    for comment in comments:
        editable = comment_editable(viewer, comment, can_comment=can_comment, now=now)
        parts = (
            submission.pk,
            submission.learner_id,
            comment.pk,
            comment.author_id,
            comment.author.display_name,
            comment.body,
            comment.created_at,
            comment.edited_at,
            comment.deleted_at,
            zone,
            editable,
        )
        context = {
            "submission": submission,
            "comment": comment,
            "editable": editable,
            "csrf_token": token,
        }
        entries.append((parts, functools.partial(render_to_string, MESSAGE_TEMPLATE, context)))
    drawn = cached_fragments(
        name="thread-message", entries=entries, max_age=THREAD_MAX_AGE, csrf_token=token
    )
    return mark_safe("".join(drawn))  # noqa: S308 - drawn from our own template


def cached_thread_html(
    request, *, submission: Submission, stamp, now: dt.datetime, thread_form_id: str | None
) -> SafeString:
    """The thread as the viewer sees it on a cached page: its newest messages, their own
    ones with Edit and Delete until COMMENT_EDIT_WINDOW has passed (the fragment ends
    then), and the message box (`thread_form_id`: the review form's, on the review page).
    `stamp`: `page_stamps.thread_stamp` of the submission, answered. Only pages that let
    the viewer write in the thread hold it: the learner's own lab page, a reviewer's page."""
    user = request.user

    def build() -> tuple:
        context = thread_context(submission, comment_form=CommentForm(), can_comment=True)
        context.update(
            user=user,
            thread_form_id=thread_form_id,
            # Drawn without the request, whose context processors (the navigation) would
            # cost queries this fragment shows nothing of; its forms need the token only.
            csrf_token=get_token(request),
        )
        instants = [
            comment.created_at + COMMENT_EDIT_WINDOW
            for comment in context["comments"]
            if comment.author_id == user.pk and comment.deleted_at is None
        ]
        return render_to_string(THREAD_TEMPLATE, context), next_instant_after(now, instants)

    return cached_fragment(
        name="submission-thread",
        parts=(submission.pk, submission.learner_id, user.pk, thread_form_id, stamp),
        now=now,
        max_age=THREAD_MAX_AGE,
        build=build,
        request=request,
    )
