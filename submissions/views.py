"""Pages for learners (lab page), mentors (review page, review queue) and downloads.

Views are thin: they parse the request, call a service or selector and render. Anything a
user may not see is a 404, so that the existence of other people's work is not revealed.
Every page works without JavaScript; with htmx, fragments (named partials) are swapped and
responses vary on ``HX-Request``.
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from cohorts.selectors import (
    active_mentor_memberships,
    membership_roles_stamp,
)
from core.converters import parse_id
from core.exceptions import ApplicationError
from core.fragments import (
    cached_page,
    change_stamp,
    live_placeholder,
    navigation_sources,
    next_instant_after,
)

from . import feedback, page_lookups, page_stamps, point_views, selectors, services, thread
from .forms import (
    CommentForm,
    DraftForm,
    ReassignForm,
    ReviewAcknowledgeForm,
    ReviewForm,
    apply_service_errors,
)
from .models import Assignment, Attachment, Submission
from .permissions import (
    can_acknowledge_review,
    can_comment_submission,
    can_reassign_submission,
    can_review_submission,
    submissions_visible_to,
)
from .point_forms import ReviewPointsForm, leave_points_open, point_replies
from .review_points import points_context
from .saved_replies import saved_replies_for_review
from .state import EDITABLE_STATES, OPEN_STATES
from .validation import clean_commit_sha, clean_repo_url
from .wait import WAITING_STATES, waits_for

QUEUE_PAGE_SIZE = 25


def _render(request, template: str, context: dict, *, partial: str | None = None, status=200):
    """Render the page, or only ``partial`` for htmx requests; always Vary on HX-Request."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    if request.htmx and status == 400:
        # htmx does not swap 4xx responses by default; the fragment carries the errors.
        status = 200
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _visible_submission(request, pk: int) -> Submission:
    # `selectors.submission_for_user`'s answer, from a statement compiled once: the lookup
    # of every message, edit and file download.
    submission = page_lookups.submission_for_review(user=request.user, pk=pk)
    if submission is None:
        raise Http404("No such submission.")
    return submission


def _lab_url(submission: Submission) -> str:
    return reverse(
        "submissions:lab", kwargs={"cohort_id": submission.cohort_id, "lab_id": submission.lab_id}
    )


def _review_url(submission: Submission) -> str:
    return reverse("submissions:review", kwargs={"pk": submission.pk})


# --- learner: the lab page ----------------------------------------------------------------


def _draft_form(*, cohort, lab, submission, draft_files, data=None, files=None) -> DraftForm:
    """The lab page's one form, the same whether new or coming back with errors (inline
    validation included)."""
    initial = {}
    if submission is not None:
        initial = {
            "repo_url": submission.repo_url,
            "commit_sha": submission.commit_sha,
            "notes": submission.notes,
            "checklist": submission.checklist,
        }
    return DraftForm(
        data,
        files,
        initial=initial,
        deliverables=services.deliverables_of(lab, cohort=cohort),
        draft_files=draft_files,
        validate_url=reverse(
            "submissions:validate", kwargs={"cohort_id": cohort.pk, "lab_id": lab.pk}
        ),
    )


def _lab_context(
    request,
    *,
    cohort,
    lab,
    entry,
    submission,
    form=None,
    draft_files=None,
    chosen_files=(),
    live=False,
    whole_thread=False,
):
    """The lab page's context. `live`: drawn for the cache, with placeholders where the
    expected review time and the form's idempotency key go (`_cached_lab_page`).
    `live` draws the thread's placeholder too. `whole_thread`: every message of the thread,
    not only the newest."""
    # The text this cohort reads: a pinned cohort's older revision (the one reader).
    revision = services.lab_revision_of(lab, cohort=cohort)
    deliverables = list(revision.deliverables if revision else lab.deliverables or [])
    if draft_files is None:
        draft_files = selectors.draft_attachments(submission) if submission else []
    if form is None:
        form = _draft_form(cohort=cohort, lab=lab, submission=submission, draft_files=draft_files)
        if live:
            form.initial["idempotency_key"] = live_placeholder("idempotency_key")
    removing = {str(value) for value in (form["remove_files"].value() or [])}
    history = (
        selectors.submission_history(submission, thread=not live, whole_thread=whole_thread)
        if submission
        else {}
    )
    editable = submission is None or submission.state in EDITABLE_STATES
    return {
        "lab_change": selectors.lab_change(
            submission=submission,
            lab=lab,
            iterations=history.get("iterations", []),
            current=revision,
        ),
        "cohort": cohort,
        "lab": lab,
        "revision": revision,
        # Kept on an older revision until the cohort ends (the latest is lab.current_revision).
        "pinned": revision is not None and revision.pk != lab.current_revision_id,
        "deliverables": deliverables,
        "entry": entry,
        "submission": submission,
        "state": submission.state if submission else selectors.NOT_STARTED,
        "state_label": selectors.STATE_LABELS[
            submission.state if submission else selectors.NOT_STARTED
        ],
        "is_overdue": (submission is None or not submission.iteration_count)
        and timezone.now() > entry.effective_due_at,
        "form": form,
        "editable": editable,
        "draft_files": [{"file": f, "removing": str(f.pk) in removing} for f in draft_files],
        # Files chosen in a form that came back with errors: browsers cannot show them
        # again, so the page names them.
        "chosen_files": chosen_files,
        "max_files": settings.ATTACHMENT_MAX_PER_ITERATION,
        "max_file_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "comment_form": CommentForm(),
        "can_comment": submission is not None and can_comment_submission(request.user, submission),
        "wait": None if live or not submission else waits_for([submission]).get(submission.pk),
        "wait_live": live_placeholder("wait") if live else "",
        "thread_live": live_placeholder("thread") if live else "",
        **history,
        **points_context(submission, history),
        "point_input": point_views.PointInput(),
    }


def _learner_lab(request, cohort_id: int, lab_id: int):
    """The cohort, lab, schedule entry and submission of the page (one statement); 404 for
    no such cohort, no active learner membership of it, or no such lab in its track."""
    rows = page_lookups.lab_page_rows(user=request.user, cohort_id=cohort_id, lab_id=lab_id)
    if rows is None:
        raise Http404("No such lab.")
    return rows.cohort, rows.lab, rows.entry, rows.submission


def _files_phrase(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


# Everything the lab page shows is in its key, its live parts or its end of validity; this
# bounds what none of them can name (a deploy changing Python-side labels).
LAB_PAGE_MAX_AGE = 3600


def _cached_lab_page(request, *, cohort, lab, entry, submission) -> HttpResponse:
    """The learner's lab page, cached whole (core.fragments.cached_page) under the stamp of
    everything it shows (`page_stamps.learner_lab_stamp`, the work handed in, the viewer's
    memberships and the bell) and the cohort's and track's rows as loaded. Three parts are
    drawn on every response instead: the thread (cached apart, `thread.cached_thread_html`),
    the expected review time (it moves with the clock and the whole cohort's queue) and the
    form's idempotency key (one per visit: a cached key would make a second hand-in look
    like a retry of the first)."""
    user = request.user
    now = timezone.now()
    # The thread's stamp first, answered by the same query as the page's.
    thread_source = [page_stamps.thread_stamp(submission.pk)] if submission else []
    stamp = change_stamp(
        *thread_source,
        *page_stamps.learner_lab_stamp(cohort_id=cohort.pk, lab_id=lab.pk, learner_id=user.pk),
        *page_stamps.submission_work_stamp(submission.pk if submission else None),
        *membership_roles_stamp(user),
        *navigation_sources(user),
    )
    thread_stamp, stamp = stamp[: len(thread_source)], stamp[len(thread_source) :]
    facts = (page_stamps.row_facts(cohort), page_stamps.row_facts(cohort.track))
    waiting = submission is not None and submission.state in WAITING_STATES

    def build() -> tuple:
        context = _lab_context(
            request, cohort=cohort, lab=lab, entry=entry, submission=submission, live=True
        )
        response = _render(request, "submissions/lab.html", context)
        # Flips by itself: "Overdue" at the due time.
        return response, next_instant_after(now, [entry.effective_due_at])

    def wait_html() -> str:
        wait = waits_for([submission]).get(submission.pk) if waiting else None
        # No request: the context processors (the navigation's memberships) would cost a
        # query on every cached response, and this text shows none of them.
        return render_to_string("submissions/_wait.html", {"wait": wait, "submission": submission})

    return cached_page(
        request,
        name="submission-lab",
        parts=(facts, stamp),
        now=now,
        max_age=LAB_PAGE_MAX_AGE,
        build=build,
        live={
            "wait": wait_html,
            "idempotency_key": lambda: uuid.uuid4().hex,
            # The lab page is only a learner's of the cohort: they may write in the thread.
            "thread": lambda: thread.cached_thread_html(
                request, submission=submission, stamp=thread_stamp, now=now, thread_form_id=None
            ),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def lab_page(request: HttpRequest, cohort_id: int, lab_id: int) -> HttpResponse:
    """The learner's page for one lab: text, deliverables, the one form that saves or hands
    in the link, notes, checklist and files, history, thread."""
    cohort, lab, entry, submission = _learner_lab(request, cohort_id, lab_id)
    if not entry.is_released:
        response = render(
            request, "submissions/lab_locked.html", {"cohort": cohort, "lab": lab, "entry": entry}
        )
        return response
    if submission is None and not lab.active:
        raise Http404("No such lab.")
    if request.method == "GET":
        if thread.whole_thread(request):  # "Show earlier messages": rare, drawn every time
            context = _lab_context(
                request,
                cohort=cohort,
                lab=lab,
                entry=entry,
                submission=submission,
                whole_thread=True,
            )
            return _render(request, "submissions/lab.html", context)
        return _cached_lab_page(request, cohort=cohort, lab=lab, entry=entry, submission=submission)

    draft_files = selectors.draft_attachments(submission) if submission else []
    form = _draft_form(
        cohort=cohort,
        lab=lab,
        submission=submission,
        draft_files=draft_files,
        data=request.POST,
        files=request.FILES,
    )
    submit = request.POST.get("action", "save") == "submit"
    point_input = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            submission, iteration = services.submission_save_work(
                actor=request.user,
                cohort=cohort,
                lab=lab,
                submit=submit,
                repo_url=data["repo_url"],
                commit_sha=data["commit_sha"],
                notes=data["notes"],
                checklist=data["checklist"],
                files=data["files"],
                remove_attachment_ids=data["remove_files"],
                idempotency_key=data.get("idempotency_key"),
                point_replies=point_replies(request.POST),
                leave_points_open=leave_points_open(request.POST),
            )
            if iteration is not None:
                count = iteration.attachments.count()
                messages.success(
                    request,
                    f"Iteration {iteration.number} handed in"
                    f"{f' with {_files_phrase(count)}' if count else ', without files'}. "
                    "Your mentor has been told.",
                )
            else:
                changes = []
                if data["files"]:
                    changes.append(f"{_files_phrase(len(data['files']))} added")
                if data["remove_files"]:
                    changes.append(f"{_files_phrase(len(data['remove_files']))} removed")
                messages.success(
                    request, "Draft saved" + (f" ({', '.join(changes)})." if changes else ".")
                )
            # "#main": the message on top (a form with errors comes back at #draft-form).
            return redirect(_lab_url(submission) + "#main")
        except ApplicationError as error:
            point_input = point_views.PointInput.refused(request.POST, error)
            apply_service_errors(form, error)
    context = _lab_context(
        request,
        cohort=cohort,
        lab=lab,
        entry=entry,
        submission=submission,
        form=form,
        draft_files=draft_files,
        chosen_files=[f.name for f in request.FILES.getlist("files")],
    )
    context["point_input"] = point_input or point_views.PointInput(data=request.POST)
    return _render(request, "submissions/lab.html", context, partial="draft-form", status=400)


@login_required
@require_POST
def lab_validate(request: HttpRequest, cohort_id: int, lab_id: int) -> HttpResponse:
    """Inline validation of one draft field (htmx, on change): returns its error fragment."""
    _learner_lab(request, cohort_id, lab_id)
    field = request.POST.get("field", "")
    cleaners = {"repo_url": clean_repo_url, "commit_sha": clean_commit_sha}
    if field not in cleaners:
        raise Http404("No such field.")
    error = ""
    try:
        cleaners[field](request.POST.get(field, ""))
    except ValueError as exc:
        error = str(exc)
    return _render(
        request,
        "submissions/lab.html",
        {"field_name": field, "field_error": error},
        partial="field-error",
    )


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a file only to those who may see its submission, always as a download."""
    attachment = get_object_or_404(
        Attachment.objects.filter(
            submission__in=Submission.objects.filter(submissions_visible_to(request.user))
        ),
        pk=pk,
    )
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file is missing from storage.") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A stable link (used in notifications): the learner's lab page or the review page."""
    submission = _visible_submission(request, pk)
    if submission.learner_id == request.user.pk:
        return redirect(_lab_url(submission))
    return redirect(_review_url(submission))


# --- mentor: the review page --------------------------------------------------------------


REVIEW_FORM_ID = "review-form-fields"


def _review_draft_key(submission: Submission) -> str:
    return f"review-draft:{submission.pk}"


def _review_context(
    request,
    submission,
    *,
    review_form=None,
    reassign_form=None,
    number=None,
    points_form=None,
    whole_thread=False,
    thread_live="",
):
    """The review page's context. `thread_live`: drawn for the cache, with this placeholder
    where the thread goes (`_cached_review_page`)."""
    history = selectors.submission_history(
        submission, thread=not thread_live, whole_thread=whole_thread
    )
    iterations = history["iterations"]  # newest first
    current = None
    if iterations:
        current = next((i for i in iterations if i.number == number), iterations[0])
    previous = next((i for i in iterations if current and i.number == current.number - 1), None)
    deliverables = (
        current.lab_revision.deliverables
        if current and current.lab_revision_id
        else services.deliverables_of(submission.lab, cohort=submission.cohort)
    )
    is_staff = can_reassign_submission(request.user, submission)
    mentors = []
    if is_staff and submission.state in OPEN_STATES:
        mentors = [
            m.user
            for m in active_mentor_memberships(submission.cohort)
            if m.user_id != submission.learner_id
        ]
    latest = iterations[0] if iterations else None
    # The verdict now in force on the latest iteration (the last one given).
    verdict = next(
        (
            r
            for r in reversed(history["reviews"])
            if latest and r.iteration_id == latest.pk and r.verdict in services.VERDICTS
        ),
        None,
    )
    kept_review = request.session.get(_review_draft_key(submission))
    kept_points = request.session.get(point_views.points_draft_key(submission))
    kept_draft = kept_review or kept_points
    if review_form is None:
        review_form = ReviewForm(initial=kept_review or {}, deliverables=deliverables)
    points = points_context(submission, history)
    if points_form is None:
        points_form = ReviewPointsForm(deliverables=deliverables, initial=kept_points)
    points_form.open_count = len(points["open_points"])
    can_review = submission.state != Submission.State.DRAFT and current is not None
    return {
        "submission": submission,
        # Why the open review is with its mentor (a staff reason, an away mentor's note).
        "assignment_note": (
            Assignment.objects.filter(submission=submission, ended_at__isnull=True)
            .values_list("note", flat=True)
            .first()
            if submission.assigned_to_id
            else ""
        ),
        "lab": submission.lab,
        "cohort": submission.cohort,
        "iteration": current,
        "is_latest": current is not None and current.number == submission.iteration_count,
        "previous": previous,
        "diff": selectors.iteration_diff(previous, current) if current else None,
        "review_form": review_form,
        "review_form_id": REVIEW_FORM_ID,
        # The discussion box belongs to the review form whenever there is one.
        "thread_form_id": REVIEW_FORM_ID if can_review else None,
        "kept_draft": bool(kept_draft) and not review_form.is_bound,
        "verdict": verdict,
        "revising": bool(
            verdict and (review_form["revise"].value() or review_form.errors or kept_draft)
        ),
        "next_submission": (
            selectors.next_for_review(user=request.user, exclude_pk=submission.pk)
            if verdict
            else None
        ),
        "can_review": can_review,
        "can_claim": submission.state == Submission.State.SUBMITTED
        and submission.assigned_to_id in (None, request.user.pk),
        "can_release": submission.state == Submission.State.IN_REVIEW
        and (submission.assigned_to_id == request.user.pk or request.user.is_staff),
        "reassign_form": reassign_form or (ReassignForm(mentors=mentors) if mentors else None),
        "comment_form": CommentForm(),
        "can_comment": True,
        "thread_live": thread_live,
        # The review box's "Insert a saved reply" menu and `/` picker (saved_replies).
        "saved_replies": saved_replies_for_review(user=request.user, submission=submission),
        **history,
        **points,
        "points_form": points_form,
    }


# As LAB_PAGE_MAX_AGE: everything shown is in the key or the end of validity.
REVIEW_PAGE_MAX_AGE = 3600
NOT_STORED = "not stored"


def _review_page_cacheable(request, submission) -> bool:
    """A mentor's plain visit: staff (the reassign form lists the cohort's mentors) and a
    review or points kept in this session from an earlier post are drawn every time."""
    return not (
        can_reassign_submission(request.user, submission)
        or request.session.get(_review_draft_key(submission))
        or request.session.get(point_views.points_draft_key(submission))
    )


def _cached_review_page(request, submission) -> HttpResponse:
    """The review page, cached whole under the stamp of the submission, its work, its
    lab's text and saved replies (`page_stamps`), the rows loaded with it, the viewer's
    memberships and the bell; the thread is cached apart (`thread.cached_thread_html`). A
    page whose latest iteration has its verdict shows the next submission of the viewer's
    queue (which moves with the whole queue): it is drawn and served, never stored."""
    user = request.user
    now = timezone.now()
    # The thread's stamp first, answered by the same query as the page's.
    thread_stamp, *stamp = change_stamp(
        page_stamps.thread_stamp(submission.pk),
        *page_stamps.review_page_stamp(submission),
        *page_stamps.submission_work_stamp(submission.pk),
        *membership_roles_stamp(user),
        *navigation_sources(user),
    )
    facts = tuple(
        page_stamps.row_facts(row)
        for row in (
            submission.cohort,
            submission.cohort.track,
            submission.lab,
            submission.lab.current_revision,
            submission.learner,
            submission.assigned_to,
        )
        if row is not None
    )
    parts = (facts, tuple(stamp))

    def build() -> tuple:
        context = _review_context(request, submission, thread_live=live_placeholder("thread"))
        response = _render(request, "submissions/review.html", context)
        drawn = NOT_STORED if context["verdict"] is not None else parts
        return response, None, drawn

    # The message box belongs to the review form whenever there is one (`_review_context`).
    reviewable = submission.state != Submission.State.DRAFT and submission.iteration_count > 0
    return cached_page(
        request,
        name="submission-review",
        parts=parts,
        now=now,
        max_age=REVIEW_PAGE_MAX_AGE,
        build=build,
        live={
            "thread": lambda: thread.cached_thread_html(
                request,
                submission=submission,
                stamp=(thread_stamp,),
                now=now,
                thread_form_id=REVIEW_FORM_ID if reviewable else None,
            )
        },
    )


UNSENT_MESSAGE = "This message is not sent yet. Post it, or clear the box, then post your review."


@login_required
@require_http_methods(["GET", "POST"])
def review_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A mentor's view of one submission: the iteration, its diff, the review form, thread.

    The review and the discussion box are one form. "Post review" refuses while the
    discussion box holds an unsent message; "Post message" sends the message and keeps a
    review typed so far (in the session) for the page it redirects to. Nothing typed is
    dropped without saying so.
    """
    # The visibility and the mentor check in one statement (page_lookups).
    submission = page_lookups.submission_for_review(user=request.user, pk=pk)
    if submission is None:
        raise Http404("No such submission.")
    if not page_lookups.can_review(request.user, submission):
        if submission.learner_id == request.user.pk:
            return redirect(_lab_url(submission))
        raise Http404("No such submission.")
    try:
        number = int(request.GET.get("iteration", ""))
    except ValueError:
        number = None
    if request.method == "GET":
        whole_thread = thread.whole_thread(request)
        if number is None and not whole_thread and _review_page_cacheable(request, submission):
            return _cached_review_page(request, submission)
        context = _review_context(request, submission, number=number, whole_thread=whole_thread)
        return _render(request, "submissions/review.html", context)
    latest = submission.iterations.order_by("-number").select_related("lab_revision").first()
    deliverables = (
        latest.lab_revision.deliverables
        if latest and latest.lab_revision_id
        else services.deliverables_of(submission.lab, cohort=submission.cohort)
    )
    form = ReviewForm(request.POST, deliverables=deliverables)
    points_form = ReviewPointsForm(request.POST, deliverables=deliverables)
    if points_form.row_action:  # "Add a point" / "Remove": the form again, nothing posted
        if request.htmx:
            return point_views.point_rows(request, submission, points_form)
        context = _review_context(request, submission, review_form=form, points_form=points_form)
        return _render(request, "submissions/review.html", context)
    draft_key = _review_draft_key(submission)
    if form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") == "message":
            try:
                services.comment_create(
                    actor=request.user, submission=submission, body=data["message"]
                )
            except ApplicationError as error:
                form.add_error("message", error.message)
            else:
                kept = form.review_draft()
                point_views.keep_points_draft(request, submission, points_form)
                if kept or points_form.draft():
                    request.session[draft_key] = kept or {}
                    messages.success(
                        request, "Message sent. Your review is not posted yet: it is kept below."
                    )
                else:
                    request.session.pop(draft_key, None)
                    messages.success(request, "Message sent.")
                return redirect(_review_url(submission) + "#thread")
        elif data["message"].strip():
            form.add_error("message", UNSENT_MESSAGE)
            form.add_error(
                None,
                "Your review was not posted: the discussion box has a message that is not "
                "sent yet. Nothing you typed is lost.",
            )
        else:
            try:
                review = services.review_create(
                    actor=request.user,
                    submission=submission,
                    verdict=data["verdict"],
                    body=data["body"],
                    marks=form.marks(),
                    revise=data["revise"],
                    points=points_form.points(),
                    waive_reason=points_form.waive_reason,
                )
            except ApplicationError as error:
                point_views.apply_review_errors(form, points_form, error)
            else:
                request.session.pop(draft_key, None)
                request.session.pop(point_views.points_draft_key(submission), None)
                messages.success(request, f"Review posted: {review.get_verdict_display().lower()}.")
                # To the outcome and "Next submission" (below the thread on a phone).
                return redirect(_review_url(submission) + "#review-form")
    context = _review_context(request, submission, review_form=form, points_form=points_form)
    return _render(request, "submissions/review.html", context, status=400)


@login_required
@require_POST
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _visible_submission(request, pk)
    if not can_reassign_submission(request.user, submission):
        raise PermissionDenied("Only staff can reassign reviews.")
    mentors = [m.user for m in active_mentor_memberships(submission.cohort)]
    form = ReassignForm(request.POST, mentors=mentors)
    if form.is_valid():
        mentor = User.objects.filter(pk=form.cleaned_data["mentor"]).first()
        try:
            services.submission_reassign(
                actor=request.user,
                submission=submission,
                mentor=mentor,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, f"Reassigned to {mentor.display_name}.")
            return redirect(_review_url(submission))
        except ApplicationError as error:
            apply_service_errors(form, error)
    context = _review_context(request, submission, reassign_form=form)
    return _render(request, "submissions/review.html", context, status=400)


# --- mentor: claim, release, queue --------------------------------------------------------


def _claim_or_release(request: HttpRequest, pk: int, *, release: bool) -> HttpResponse:
    submission = _visible_submission(request, pk)
    if not can_review_submission(request.user, submission):
        raise Http404("No such submission.")
    service = services.submission_release if release else services.submission_claim
    error = None
    try:
        service(actor=request.user, submission=submission)
    except ApplicationError as exc:
        error = exc.message
    if request.htmx:
        submission = selectors.submission_for_user(user=request.user, pk=pk)
        next_url = _safe_next(request, reverse("submissions:queue"))
        context = {
            # Fresh tab counts under the page's filters, swapped out of band into the tabs.
            "tab_counts": selectors.mentor_queue_counts(
                user=request.user, **_queue_filters(request.user, next_url)
            ),
            "item": submission,
            "row_error": error,
            "row_message": None if error else ("Released." if release else "Claimed."),
            "now": timezone.now(),
            "next": next_url,
            "user": request.user,
        }
        return _render(request, "submissions/queue.html", context, partial="queue-row")
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            "Released back to the queue." if release else "Claimed: it is yours to review.",
        )
    fallback = reverse("submissions:queue") if release else _review_url(submission)
    return redirect(_safe_next(request, fallback))


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    return _claim_or_release(request, pk, release=False)


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    return _claim_or_release(request, pk, release=True)


def _queue_filters(user, url: str) -> dict:
    """The queue filters carried by a queue URL (ignored when not a queue URL)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.path != reverse("submissions:queue"):
        return {}
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    state = query.get("state")
    return {
        "cohort": parse_id(query.get("cohort")),
        "lab": parse_id(query.get("lab")),
        "state": state if state in selectors.QUEUE_STATES else None,
    }


@login_required
@require_POST
def review_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """The learner's "Got it" / "Helpful" / "Not helpful" on one review: the acknowledgement
    box again for htmx, else back to the review on the lab page."""
    review = selectors.review_for_user(user=request.user, pk=pk)
    if review is None:
        raise Http404("No such review.")
    if not can_acknowledge_review(request.user, review):
        raise PermissionDenied("Only the learner whose work was reviewed can acknowledge it.")
    form = ReviewAcknowledgeForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            review.acknowledgement = feedback.review_acknowledge(
                actor=request.user,
                review=review,
                helpful=form.cleaned_data["helpful"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            error = exc.message
    else:
        error = " ".join(message for errors in form.errors.values() for message in errors)
    if request.htmx:
        context = {
            "review": review,
            "submission": review.submission,
            "can_comment": True,
            "ack_error": error,
        }
        context["ack_note"] = request.POST.get("note", "") if error else ""
        return _render(request, "submissions/_review_ack.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Thanks: your mentor will see that the review landed.")
    return redirect(_lab_url(review.submission) + f"#review-{review.pk}")
