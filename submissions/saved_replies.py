"""Saved replies: review text a cohort's mentors keep per lab (and deliverable) and insert
into the review box; staff may share theirs with every cohort. Usage is counted per insert,
so staff can see which labs need better instructions.

The services (every write) and selectors (every read) of this sub-domain live here, beside
the ``services`` package, like ``feedback``; the models and permissions are the app's own.

What counts as a use: an *insert* into a review box (the review page's "Insert" button,
the ``/`` picker, or ``POST /api/v1/saved-replies/{id}/use/``). Loading a page never counts,
and neither does posting the review afterwards (the mentor may have rewritten the text).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from cohorts.models import Cohort, Membership
from cohorts.selectors import active_membership_roles
from core.exceptions import ApplicationError
from curriculum.models import Lab, LabRevision

from .models import SavedReply, SavedReplyUse, Submission
from .permissions import (
    can_edit_saved_reply,
    can_review_submission,
    can_use_saved_replies,
    is_cohort_mentor,
    saved_replies_visible_to,
    saved_reply_fits,
)
from .validation import deliverable_text

# Staff's ranking counts the uses of this recent window (and all time beside it).
USAGE_WINDOW = dt.timedelta(days=90)


def _deliverables(lab: Lab) -> list:
    revision = lab.current_revision
    return list(revision.deliverables if revision is not None else lab.deliverables or [])


def _invalid(errors: dict[str, str]) -> ApplicationError:
    return ApplicationError(" ".join(errors.values()), code="invalid", extra={"errors": errors})


def _clean_text(*, title: str, body: str) -> tuple[str, str, dict]:
    errors = {}
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        errors["title"] = "Give the reply a title (it is what you pick it by)."
    elif len(title) > SavedReply.TITLE_MAX_LENGTH:
        errors["title"] = (
            f"Keep the title to {SavedReply.TITLE_MAX_LENGTH} characters (it has {len(title)})."
        )
    if not body:
        errors["body"] = "Write the reply's text."
    elif len(body) > SavedReply.BODY_MAX_LENGTH:
        errors["body"] = (
            f"Keep the text to {SavedReply.BODY_MAX_LENGTH} characters (it has {len(body)})."
        )
    return title, body, errors


def _check_deliverable(lab: Lab, deliverable, errors: dict) -> int | None:
    if deliverable in (None, ""):
        return None
    count = len(_deliverables(lab))
    if isinstance(deliverable, bool) or not isinstance(deliverable, int):
        errors["deliverable"] = "Choose a deliverable of the lab, or none for the whole lab."
        return None
    if not 0 <= deliverable < count:
        errors["deliverable"] = (
            f"This lab has {count} deliverable{'s' if count != 1 else ''}: "
            f"choose one of 0 to {count - 1}, or none for the whole lab."
            if count
            else "This lab has no deliverables: leave the deliverable empty."
        )
        return None
    return deliverable


@transaction.atomic
def saved_reply_create(
    *,
    actor,
    lab: Lab,
    title: str,
    body: str,
    cohort: Cohort | None = None,
    shared_with_all: bool = False,
    deliverable: int | None = None,
) -> SavedReply:
    """Save a reply for ``lab`` (and one of its deliverables when given), shared with the
    mentors of ``cohort`` (an active mentor of it, or staff), or with every cohort
    (``shared_with_all``, staff only, no cohort). Writes one row; tells nobody."""
    if not can_use_saved_replies(actor):
        raise ApplicationError("Only mentors and staff keep saved replies.", code="forbidden")
    title, body, errors = _clean_text(title=title, body=body)
    if shared_with_all:
        if not actor.is_staff:
            raise ApplicationError(
                "Only staff can share a reply with every cohort.", code="forbidden"
            )
        if cohort is not None:
            errors["cohort"] = "A reply shared with every cohort names no cohort."
    elif cohort is None:
        errors["cohort"] = "Choose the cohort whose mentors share this reply."
    else:
        if not (actor.is_staff or is_cohort_mentor(actor, cohort.pk)):
            raise ApplicationError(
                "You can share replies only with the cohorts you mentor.", code="forbidden"
            )
        if lab.track_id != cohort.track_id:
            errors["lab"] = f"{lab.title} is not a lab of {cohort.name}'s path."
    deliverable = _check_deliverable(lab, deliverable, errors)
    if errors:
        raise _invalid(errors)
    now = timezone.now()
    return SavedReply.objects.create(
        title=title,
        body=body,
        lab=lab,
        deliverable=deliverable,
        cohort=None if shared_with_all else cohort,
        shared_with_all=bool(shared_with_all),
        author=actor,
        created_at=now,
        updated_at=now,
    )


@transaction.atomic
def saved_reply_update(
    *, actor, reply: SavedReply, title: str, body: str, deliverable: int | None = None
) -> SavedReply:
    """Rewrite a reply's title, text and deliverable (its lab and who shares it stay).
    Its author while still a mentor of its cohort, or staff. Writes the row; tells nobody."""
    reply = (
        SavedReply.objects.select_for_update(of=("self",))
        .select_related("lab__current_revision")
        .get(pk=reply.pk)
    )
    if not can_edit_saved_reply(actor, reply):
        raise ApplicationError("Only its author or staff can change this reply.", code="forbidden")
    title, body, errors = _clean_text(title=title, body=body)
    deliverable = _check_deliverable(reply.lab, deliverable, errors)
    if errors:
        raise _invalid(errors)
    reply.title, reply.body, reply.deliverable = title, body, deliverable
    reply.updated_at = timezone.now()
    reply.save(update_fields=["title", "body", "deliverable", "updated_at"])
    return reply


@transaction.atomic
def saved_reply_delete(*, actor, reply: SavedReply) -> None:
    """Delete a reply (its author while a mentor of its cohort, or staff). Its use log
    stays, without the reply, so the lab's figures do not change."""
    if not can_edit_saved_reply(actor, reply):
        raise ApplicationError("Only its author or staff can delete this reply.", code="forbidden")
    SavedReply.objects.filter(pk=reply.pk).delete()


@transaction.atomic
def saved_reply_use(
    *, actor, reply: SavedReply, submission: Submission | None = None
) -> SavedReply:
    """Count one insert of ``reply`` into a review box: ``usage_count`` + 1 (an atomic
    ``F()`` update, so two mentors at once both count), ``last_used_at``, and a
    ``SavedReplyUse`` row. With ``submission``, the reply must fit it (its lab; its cohort
    or every cohort) and the actor must be able to review it. Returns the fresh row."""
    if not SavedReply.objects.filter(saved_replies_visible_to(actor), pk=reply.pk).exists():
        raise ApplicationError("No such saved reply.", code="not_found")
    if submission is not None:
        if not can_review_submission(actor, submission):
            raise ApplicationError("You cannot review this submission.", code="forbidden")
        if not saved_reply_fits(reply, submission):
            raise _invalid(
                {"submission": "This reply is for another lab or cohort than this submission."}
            )
    now = timezone.now()
    SavedReply.objects.filter(pk=reply.pk).update(
        usage_count=F("usage_count") + 1, last_used_at=now
    )
    SavedReplyUse.objects.create(
        reply_id=reply.pk,
        lab_id=reply.lab_id,
        cohort_id=submission.cohort_id if submission is not None else reply.cohort_id,
        submission=submission,
        user=actor,
        used_at=now,
    )
    return SavedReply.objects.select_related("lab", "cohort", "author").get(pk=reply.pk)


def _same_text(item) -> str:
    return " ".join(deliverable_text(item).split())


def _remapped(index: int, old: list, new: list[str]) -> int | None:
    """Where deliverable ``index`` of ``old`` is in ``new`` (texts): the same text, the
    n-th of its repeats to the n-th; None (the whole lab) when it is gone."""
    if not 0 <= index < len(old):
        return None
    text = _same_text(old[index])
    repeat = sum(1 for item in old[:index] if _same_text(item) == text)
    places = [j for j, other in enumerate(new) if other == text]
    return places[min(repeat, len(places) - 1)] if places else None


@transaction.atomic
def saved_replies_remap_deliverables(*, previous_revisions: dict[int, int | None]) -> int:
    """After a curriculum update wrote new revisions of the labs in ``previous_revisions``
    (``{lab_id: revision id before}``): move each reply's deliverable index to where the
    same deliverable text is in the lab's current revision, or clear it (the whole lab)
    when that text is gone. Runs inside the import's transaction (the apply hook
    ``submissions.impact.saved_replies_for_import``).

    Side effects: updates ``SavedReply.deliverable`` (not ``updated_at``: the reply's own
    text did not change). Returns how many replies changed. Four queries at most, whatever
    the number of labs and replies.
    """
    if not previous_revisions:
        return 0
    replies = list(
        SavedReply.objects.select_for_update()
        .filter(lab_id__in=list(previous_revisions), deliverable__isnull=False)
        .only("pk", "lab_id", "deliverable")
    )
    if not replies:
        return 0
    labs = {
        lab.pk: lab
        for lab in Lab.objects.filter(pk__in={r.lab_id for r in replies}).select_related(
            "current_revision"
        )
    }
    before = dict(
        LabRevision.objects.filter(
            pk__in=[pk for pk in previous_revisions.values() if pk is not None]
        ).values_list("pk", "deliverables")
    )
    changed = []
    for reply in replies:
        lab = labs[reply.lab_id]
        new = [_same_text(item) for item in _deliverables(lab)]
        old_revision = previous_revisions.get(reply.lab_id)
        if old_revision is None or old_revision not in before:
            # Nothing to compare with: keep an index the new deliverables still have.
            index = reply.deliverable if reply.deliverable < len(new) else None
        else:
            index = _remapped(reply.deliverable, list(before[old_revision] or []), new)
        if index != reply.deliverable:
            reply.deliverable = index
            changed.append(reply)
    SavedReply.objects.bulk_update(changed, ["deliverable"])
    return len(changed)


# --- reads --------------------------------------------------------------------------------


def saved_replies_for(user) -> QuerySet[SavedReply]:
    """The replies ``user`` may see, with what lists show (lab, deliverables, cohort, author)."""
    return SavedReply.objects.filter(saved_replies_visible_to(user)).select_related(
        "lab__track", "lab__current_revision", "cohort", "author"
    )


def saved_replies_for_review(*, user, submission: Submission) -> list[SavedReply]:
    """The replies a reviewer may insert into this submission's review (its lab; its cohort
    or every cohort), whole-lab ones first, then per deliverable, most used first. One
    query; empty for anyone who keeps no saved replies."""
    if not can_use_saved_replies(user):
        return []
    replies = list(
        SavedReply.objects.filter(saved_replies_visible_to(user))
        .filter(Q(cohort_id=submission.cohort_id) | Q(shared_with_all=True), lab=submission.lab_id)
        .order_by(F("deliverable").asc(nulls_first=True), "-usage_count", "title", "pk")
        .only("pk", "title", "body", "deliverable", "lab_id", "cohort_id", "shared_with_all")
    )
    for reply in replies:  # the menu's groups
        reply.group = deliverable_label(submission.lab, reply.deliverable)
    return replies


def deliverable_label(lab: Lab, index: int | None) -> str:
    if index is None:
        return "Whole lab"
    items = _deliverables(lab)
    text = deliverable_text(items[index]) if 0 <= index < len(items) else ""
    return f"Deliverable {index + 1}" + (f": {text}" if text else "")


def mentored_cohorts(user) -> list[Cohort]:
    """Cohorts whose replies ``user`` may write: the ones they actively mentor; staff all
    (not finished)."""
    if user.is_staff:
        return list(
            Cohort.objects.exclude(status=Cohort.Status.FINISHED)
            .select_related("track")
            .order_by("name")
        )
    ids = [c for c, role in active_membership_roles(user).items() if role == Membership.Role.MENTOR]
    return list(Cohort.objects.filter(pk__in=ids).select_related("track").order_by("name"))


def saved_reply_labs(user) -> list[Lab]:
    """Labs a reply may be saved for: the active labs of the paths of the cohorts one
    mentors; staff every active lab."""
    labs = Lab.objects.filter(active=True).select_related("track", "current_revision")
    if not user.is_staff:
        tracks = {c.track_id for c in mentored_cohorts(user)}
        labs = labs.filter(track_id__in=tracks)
    return list(labs.order_by("track__position", "track__name", "week", "position", "pk"))


@dataclasses.dataclass(frozen=True)
class LabUsage:
    lab: Lab
    recent_uses: int
    total_uses: int
    mentors: int
    replies: int
    last_used_at: dt.datetime | None


def lab_usage_ranking(*, now: dt.datetime | None = None, limit: int = 50) -> list[LabUsage]:
    """Labs ranked by how often saved replies were inserted into reviews of them in the
    last ``USAGE_WINDOW`` (then all time): the labs whose instructions leave mentors
    repeating themselves. Three queries whatever the number of labs."""
    now = now or timezone.now()
    since = now - USAGE_WINDOW
    rows = list(
        SavedReplyUse.objects.values("lab_id")
        .annotate(
            recent=Count("pk", filter=Q(used_at__gte=since)),
            total=Count("pk"),
            mentors=Count("user_id", distinct=True, filter=Q(used_at__gte=since)),
            last=Max("used_at"),
        )
        .order_by("-recent", "-total", "lab_id")[:limit]
    )
    lab_ids = [row["lab_id"] for row in rows]
    labs = Lab.objects.select_related("track").in_bulk(lab_ids)
    replies = dict(
        SavedReply.objects.filter(lab_id__in=lab_ids)
        .values("lab_id")
        .annotate(n=Count("pk"))
        .values_list("lab_id", "n")
    )
    return [
        LabUsage(
            lab=labs[row["lab_id"]],
            recent_uses=row["recent"],
            total_uses=row["total"],
            mentors=row["mentors"],
            replies=replies.get(row["lab_id"], 0),
            last_used_at=row["last"],
        )
        for row in rows
        if row["lab_id"] in labs
    ]
