"""Pages for learners (lab page), mentors (review page, review queue) and downloads.

Views are thin: they parse the request, call a service or selector and render. Anything a
user may not see is a 404, so that the existence of other people's work is not revealed.
Every page works without JavaScript; with htmx, fragments (named partials) are swapped and
responses vary on ``HX-Request``.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from cohorts.models import Cohort
from cohorts.selectors import (
    active_mentor_memberships,
    membership_roles_stamp,
    schedule_entry,
    user_roles,
)
from core import fragments
from core.exceptions import ApplicationError
from curriculum.models import Lab
from notifications.selectors import unread_stamp

from . import selectors, services
from .forms import (
    AttachmentForm,
    CommentForm,
    DraftForm,
    ReassignForm,
    ReviewForm,
    apply_service_errors,
)
from .models import Attachment, Submission
from .permissions import (
    can_comment_submission,
    can_edit_submission,
    can_reassign_submission,
    can_review_submission,
    is_cohort_learner,
    submissions_visible_to,
)
from .state import EDITABLE_STATES, OPEN_STATES
from .validation import clean_commit_sha, clean_repo_url
from .wait import waits_for

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
    submission = selectors.submission_for_user(user=request.user, pk=pk)
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


def _lab_context(request, *, cohort, lab, entry, submission, form=None, attachment_form=None):
    deliverables = services.deliverables_of(lab)
    if form is None:
        initial = {}
        if submission is not None:
            initial = {
                "repo_url": submission.repo_url,
                "commit_sha": submission.commit_sha,
                "notes": submission.notes,
                "checklist": submission.checklist,
            }
        form = DraftForm(
            initial=initial,
            deliverables=deliverables,
            validate_url=reverse(
                "submissions:validate", kwargs={"cohort_id": cohort.pk, "lab_id": lab.pk}
            ),
        )
    history = selectors.submission_history(submission) if submission else {}
    editable = submission is None or submission.state in EDITABLE_STATES
    return {
        "lab_change": selectors.lab_change(
            submission=submission, lab=lab, iterations=history.get("iterations", [])
        ),
        "cohort": cohort,
        "lab": lab,
        "revision": lab.current_revision,
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
        "attachment_form": attachment_form or AttachmentForm(),
        "draft_attachments": selectors.draft_attachments(submission) if submission else [],
        "comment_form": CommentForm(),
        "can_comment": submission is not None and can_comment_submission(request.user, submission),
        "wait": waits_for([submission]).get(submission.pk) if submission else None,
        **history,
    }


def _learner_lab(request, cohort_id: int, lab_id: int):
    cohort = get_object_or_404(Cohort.objects.select_related("track"), pk=cohort_id)
    if not is_cohort_learner(request.user, cohort):
        raise Http404("No such lab.")
    lab = get_object_or_404(
        Lab.objects.select_related("current_revision", "track"), pk=lab_id, track_id=cohort.track_id
    )
    entry = schedule_entry(cohort=cohort, lab=lab, learner=request.user)
    submission = Submission.objects.filter(learner=request.user, cohort=cohort, lab=lab).first()
    return cohort, lab, entry, submission


@login_required
@require_http_methods(["GET", "POST"])
def lab_page(request: HttpRequest, cohort_id: int, lab_id: int) -> HttpResponse:
    """The learner's page for one lab: text, deliverables, draft form, history, thread."""
    cohort, lab, entry, submission = _learner_lab(request, cohort_id, lab_id)
    if not entry.is_released:
        response = render(
            request, "submissions/lab_locked.html", {"cohort": cohort, "lab": lab, "entry": entry}
        )
        return response
    if submission is None and not lab.active:
        raise Http404("No such lab.")
    if request.method == "GET":
        return _render(
            request,
            "submissions/lab.html",
            _lab_context(request, cohort=cohort, lab=lab, entry=entry, submission=submission),
        )

    form = DraftForm(request.POST, deliverables=services.deliverables_of(lab))
    action = request.POST.get("action", "save")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if submission is None:
                submission = services.submission_get_or_create_draft(
                    learner=request.user, cohort=cohort, lab=lab
                )
            fields = {
                "repo_url": data["repo_url"],
                "commit_sha": data["commit_sha"],
                "notes": data["notes"],
                "checklist": data["checklist"],
            }
            if action == "submit":
                iteration = services.submission_save_and_submit(
                    actor=request.user,
                    submission=submission,
                    idempotency_key=data.get("idempotency_key"),
                    **fields,
                )
                messages.success(
                    request,
                    f"Iteration {iteration.number} handed in. Your mentor has been told.",
                )
            else:
                services.submission_save_draft(actor=request.user, submission=submission, **fields)
                messages.success(request, "Draft saved.")
            return redirect(_lab_url(submission))
        except ApplicationError as error:
            apply_service_errors(form, error)
    context = _lab_context(
        request, cohort=cohort, lab=lab, entry=entry, submission=submission, form=form
    )
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
@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _visible_submission(request, pk)
    if not can_edit_submission(request.user, submission):
        raise Http404("No such submission.")
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = services.attachment_add(
                actor=request.user, submission=submission, uploaded_file=form.cleaned_data["file"]
            )
            if not request.htmx:
                messages.success(request, f"{attachment.original_name} attached.")
            form = AttachmentForm()
        except ApplicationError as error:
            apply_service_errors(form, error)
    if request.htmx or form.errors:
        context = _lab_context(
            request,
            cohort=submission.cohort,
            lab=submission.lab,
            entry=schedule_entry(
                cohort=submission.cohort, lab=submission.lab, learner=request.user
            ),
            submission=submission,
            attachment_form=form,
        )
        status = 400 if form.errors else 200
        return _render(
            request, "submissions/lab.html", context, partial="attachments", status=status
        )
    return redirect(_lab_url(submission) + "#attachments")


@login_required
@require_POST
def attachment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(
        Attachment.objects.select_related("submission"),
        pk=pk,
        submission__in=Submission.objects.filter(submissions_visible_to(request.user)),
    )
    submission = attachment.submission
    if not can_edit_submission(request.user, submission):
        raise Http404("No such file.")
    try:
        services.attachment_remove(actor=request.user, attachment=attachment)
        messages.success(request, f"{attachment.original_name} removed.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(_lab_url(submission) + "#attachments")


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


# --- thread -------------------------------------------------------------------------------


@login_required
@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _visible_submission(request, pk)
    fallback = (
        _lab_url(submission)
        if submission.learner_id == request.user.pk
        else _review_url(submission)
    )
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
        context = {
            "submission": submission,
            "comments": selectors.submission_history(submission)["comments"],
            "comment_form": form,
            "can_comment": can_comment_submission(request.user, submission),
        }
        return _render(
            request,
            "submissions/_thread.html",
            context,
            status=400 if form.errors else 200,
        )
    if form.errors:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect(_safe_next(request, fallback) + "#thread")


@login_required
@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A stable link (used in notifications): the learner's lab page or the review page."""
    submission = _visible_submission(request, pk)
    if submission.learner_id == request.user.pk:
        return redirect(_lab_url(submission))
    return redirect(_review_url(submission))


# --- mentor: the review page --------------------------------------------------------------


def _review_context(request, submission, *, review_form=None, reassign_form=None, number=None):
    history = selectors.submission_history(submission)
    iterations = history["iterations"]  # newest first
    current = None
    if iterations:
        current = next((i for i in iterations if i.number == number), iterations[0])
    previous = next((i for i in iterations if current and i.number == current.number - 1), None)
    deliverables = (
        current.lab_revision.deliverables
        if current and current.lab_revision_id
        else services.deliverables_of(submission.lab)
    )
    is_staff = can_reassign_submission(request.user, submission)
    mentors = []
    if is_staff and submission.state in OPEN_STATES:
        mentors = [
            m.user
            for m in active_mentor_memberships(submission.cohort)
            if m.user_id != submission.learner_id
        ]
    return {
        "submission": submission,
        "lab": submission.lab,
        "cohort": submission.cohort,
        "iteration": current,
        "is_latest": current is not None and current.number == submission.iteration_count,
        "previous": previous,
        "diff": selectors.iteration_diff(previous, current) if current else None,
        "review_form": review_form or ReviewForm(deliverables=deliverables),
        "can_review": submission.state != Submission.State.DRAFT,
        "can_claim": submission.state == Submission.State.SUBMITTED
        and submission.assigned_to_id in (None, request.user.pk),
        "can_release": submission.state == Submission.State.IN_REVIEW
        and (submission.assigned_to_id == request.user.pk or request.user.is_staff),
        "reassign_form": reassign_form or (ReassignForm(mentors=mentors) if mentors else None),
        "comment_form": CommentForm(),
        "can_comment": True,
        **history,
    }


@login_required
@require_http_methods(["GET", "POST"])
def review_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A mentor's view of one submission: the iteration, its diff, the review form, thread."""
    submission = _visible_submission(request, pk)
    if not can_review_submission(request.user, submission):
        if submission.learner_id == request.user.pk:
            return redirect(_lab_url(submission))
        raise Http404("No such submission.")
    try:
        number = int(request.GET.get("iteration", ""))
    except ValueError:
        number = None
    if request.method == "GET":
        return _render(
            request, "submissions/review.html", _review_context(request, submission, number=number)
        )
    latest = submission.iterations.order_by("-number").select_related("lab_revision").first()
    deliverables = (
        latest.lab_revision.deliverables
        if latest and latest.lab_revision_id
        else services.deliverables_of(submission.lab)
    )
    form = ReviewForm(request.POST, deliverables=deliverables)
    if form.is_valid():
        try:
            review = services.review_create(
                actor=request.user,
                submission=submission,
                verdict=form.cleaned_data["verdict"],
                body=form.cleaned_data["body"],
                marks=form.marks(),
            )
            messages.success(request, f"Review posted: {review.get_verdict_display().lower()}.")
            return redirect(_review_url(submission))
        except ApplicationError as error:
            apply_service_errors(form, error)
    context = _review_context(request, submission, review_form=form)
    return _render(request, "submissions/review.html", context, partial="review-form", status=400)


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
        "cohort": _int_or_none(query.get("cohort")),
        "lab": _int_or_none(query.get("lab")),
        "state": state if state in selectors.QUEUE_STATES else None,
    }


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The mentor review queue: tabs, filters, oldest first, claim/release in place."""
    if not (request.user.is_staff or user_roles(request.user).is_mentor):
        raise PermissionDenied("The review queue is for mentors.")
    now = timezone.now()
    user = request.user
    # One query for everything the page shows: the queue, the navigation and the bell.
    stamp = fragments.change_stamp(
        *selectors.queue_stamp(user=user, now=now),
        *membership_roles_stamp(user),
        unread_stamp(user),
    )
    return fragments.cached_page(
        request,
        name="review-queue",
        parts=(request.get_full_path(), stamp),
        now=now,
        max_age=QUEUE_MAX_AGE,
        build=lambda: (_queue_page(request, now=now), None),
    )


QUEUE = "submissions/queue.html"
# "Submitted 5 minutes ago" ages by itself and names can change without touching the
# submissions; a minute bounds both. Everything else is in the key.
QUEUE_MAX_AGE = 60


def _queue_page(request: HttpRequest, *, now) -> HttpResponse:
    """Filters, tabs with counts and one page of the queue."""
    tab = request.GET.get("tab", "mine")
    if tab not in selectors.QUEUE_TABS:
        tab = "mine"
    cohorts, labs = selectors.queue_filter_choices(user=request.user)
    cohort_id = _int_or_none(request.GET.get("cohort"))
    cohort_id = cohort_id if cohort_id in {c.pk for c in cohorts} else None
    lab_id = _int_or_none(request.GET.get("lab"))
    lab_id = lab_id if lab_id in {lab.pk for lab in labs} else None
    state = request.GET.get("state") or None
    state = state if state in selectors.QUEUE_STATES else None
    filters = {"cohort": cohort_id, "lab": lab_id, "state": state}
    counts = selectors.mentor_queue_counts(user=request.user, now=now, **filters)
    paginator = Paginator(
        selectors.mentor_queue(user=request.user, tab=tab, now=now, **filters), QUEUE_PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    query = {k: v for k, v in {"cohort": cohort_id, "lab": lab_id, "state": state}.items() if v}
    tabs = [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "url": "?" + urlencode({"tab": key, **query}),
        }
        for key, label in (
            ("mine", "Mine"),
            ("unassigned", "Unassigned"),
            ("overdue", "Overdue"),
            ("all", "All"),
        )
    ]
    base_query = urlencode({"tab": tab, **query})
    context = {
        "tab": tab,
        "tabs": tabs,
        "page": page,
        "cohorts": cohorts,
        "labs": labs,
        "states": [(s, selectors.STATE_LABELS[s]) for s in selectors.QUEUE_STATES],
        "selected": {"cohort": cohort_id, "lab": lab_id, "state": state or ""},
        "base_query": base_query,
        "now": now,
        "next": request.get_full_path(),
        "is_filtered": bool(query),
    }
    return _render(request, QUEUE, context, partial="queue-panel")
