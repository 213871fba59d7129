"""Who is told what about each kind of event.

`HANDLERS` maps an event kind to a function `(event, target) -> list[Message]`. Handlers
read the other apps through their models and selectors and decide recipients, a short
text and a link; `services.event_process` drops the actor, applies preferences and writes
the rows, so no handler can forget either.

`KINDS` lists every kind a person can set a preference for, with its default channel:
reviews and feedback are emailed at once, the rest waits for the daily digest.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.dateparse import parse_datetime

from accounts.selectors import user_by_email_key
from core.prepared import Param

from .compiled import any_of, compiled, prepared
from .models import Event, Preference

logger = logging.getLogger(__name__)

EMAIL = Preference.Channel.EMAIL
DIGEST = Preference.Channel.DIGEST


@dataclass(frozen=True)
class KindInfo:
    label: str
    help: str
    default: str
    # Who the kind can reach ("learner", "mentor", "staff", "anyone"): the preferences
    # page shows a person only the kinds that can concern them.
    audience: str = "anyone"
    # Weekly summaries are emails or nothing: they have no in-app row to digest.
    email_only: bool = False


KINDS: dict[str, KindInfo] = {
    "submission.submitted": KindInfo(
        "Submissions to review", "A learner handed in work you review.", EMAIL, audience="mentor"
    ),
    "assignment.created": KindInfo(
        "Review assignments", "A review was assigned to you.", EMAIL, audience="mentor"
    ),
    "assignment.reassigned": KindInfo(
        "Reassigned reviews",
        "A review moved to or from you, or was escalated.",
        EMAIL,
        audience="mentor",
    ),
    "review.overdue": KindInfo(
        "Overdue reviews", "A review you hold is past its due time.", EMAIL, audience="mentor"
    ),
    "review.escalated": KindInfo(
        "Escalations (staff)",
        "An overdue review was reassigned or needs a mentor.",
        EMAIL,
        audience="staff",
    ),
    "assignment.released": KindInfo(
        "Released claims", "A review you claimed went back to the queue.", DIGEST, audience="mentor"
    ),
    "review.posted": KindInfo(
        "Feedback on your work", "A mentor reviewed your submission.", EMAIL, audience="learner"
    ),
    "review.unacknowledged": KindInfo(
        "Unread feedback",
        "A review of your work is still waiting for you to acknowledge it (once, after 3 days).",
        EMAIL,
        audience="learner",
    ),
    "comment.added": KindInfo(
        "Comments", "Someone commented on a submission you follow.", EMAIL, audience="anyone"
    ),
    "lab.released": KindInfo(
        "Labs released", "A new lab opened in your cohort.", DIGEST, audience="learner"
    ),
    # Emailed at once by default: a reminder kept for the next digest could arrive after
    # the due time (or an hour before it, in Los Angeles with a 07:00 UTC digest).
    "lab.due_soon": KindInfo(
        "Due soon",
        "A lab you have not submitted is due soon (a day and two hours before, by default).",
        EMAIL,
        audience="learner",
    ),
    "lab.updated": KindInfo(
        "Lab content updated", "A lab you are working on changed.", DIGEST, audience="learner"
    ),
    # The cohorts app emails the invitation itself (with the sign-in link): in-app only here.
    "invitation.sent": KindInfo(
        "Invitations", "You were invited to a cohort.", Preference.Channel.IN_APP, audience="anyone"
    ),
    "extension.granted": KindInfo(
        "Extensions", "Your due date on a lab was extended.", DIGEST, audience="learner"
    ),
    # Sent by staff or a cohort's mentor to the whole cohort: emailed at once by default,
    # like feedback (a cohort-wide message is rare and usually time-bound).
    "announcement.posted": KindInfo(
        "Announcements",
        "Staff or a mentor sent a message to your whole cohort.",
        EMAIL,
        audience="anyone",
    ),
    "digest.mentor_weekly": KindInfo(
        "Weekly mentor summary",
        "Your queue, overdue reviews and cohort progress.",
        EMAIL,
        "mentor",
        True,
    ),
    "digest.staff_weekly": KindInfo(
        "Weekly staff summary", "Review SLA compliance per cohort.", EMAIL, "staff", True
    ),
}


@dataclass(frozen=True)
class Message:
    recipient_id: int
    text: str
    link: str = ""


Handler = Callable[[Event, models.Model | None], list[Message]]
HANDLERS: dict[str, Handler] = {}
# The target type each kind's handler expects ("app_label.model"); None accepts any.
TARGET_TYPES: dict[str, str | None] = {}


def handles(*kinds: str, target: str | None) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = func
            TARGET_TYPES[kind] = target
        return func

    return register


def load_target(event: Event) -> models.Model | None:
    """The event's target row, or None when it is gone or not of the kind's type (then
    nobody is told: a malformed event must not reach the wrong people)."""
    return load_targets([event]).get(event.pk)


def _target_queryset(event: Event):
    """The queryset of the event's target model, or None when the event names no target
    or one of the wrong type (logged)."""
    if not event.target_type or event.target_id is None:
        return None
    expected = TARGET_TYPES.get(event.kind)
    if expected is not None and event.target_type != expected:
        logger.warning(
            "Event %s (%s) targets %s, expected %s",
            event.pk,
            event.kind,
            event.target_type,
            expected,
        )
        return None
    try:
        model = apps.get_model(event.target_type)
    except (LookupError, ValueError):
        logger.warning("Event %s has an unknown target type %r", event.pk, event.target_type)
        return None
    queryset = model._default_manager.all()
    related = _TARGET_RELATED.get(event.target_type)
    return queryset.select_related(*related) if related else queryset


def load_targets(events: Iterable[Event]) -> dict[int, models.Model]:
    """`load_target` for many events: one query per target type. Events whose target is
    gone or malformed are left out."""
    wanted: dict[str, set[int]] = defaultdict(set)
    querysets = {}
    for event in events:
        queryset = _target_queryset(event)
        if queryset is not None:
            querysets.setdefault(event.target_type, queryset)
            wanted[event.target_type].add(event.target_id)
    rows = {
        (label, row.pk): row
        for label, ids in wanted.items()
        for row in _rows(querysets[label], ids)
    }
    return {
        event.pk: rows[(event.target_type, event.target_id)]
        for event in events
        if (event.target_type, event.target_id) in rows
    }


def _rows(queryset, ids: set[int]) -> list[models.Model]:
    """The target rows with these ids (a statement compiled once per target type on
    PostgreSQL: notifications.compiled)."""
    if not compiled():
        return list(queryset.in_bulk(ids).values())
    label = queryset.model._meta.label_lower
    query = prepared(("target", label), lambda: queryset.filter(any_of("pk", "ids")))
    return query.models(ids=sorted(ids))


_TARGET_RELATED = {
    "submissions.submission": ("learner", "lab", "cohort", "assigned_to"),
    "curriculum.lab": ("track",),
    "cohorts.extension": ("lab", "cohort", "learner"),
    "cohorts.membership": ("cohort", "user"),
    "cohorts.invitation": ("cohort", "user"),
    "cohorts.announcement": ("cohort", "author"),
}


def event_cohort_id(event: Event, target) -> int | None:
    """The cohort an event is about: its target's (a submission, an extension, a membership,
    an invitation), else the one its data names (a lab released or due in a cohort)."""
    cohort_id = getattr(target, "cohort_id", None)
    if cohort_id is None:
        cohort_id = (event.data or {}).get("cohort_id")
    return cohort_id if isinstance(cohort_id, int) else None


def still_concerned(event: Event, target, user_ids: Iterable[int]) -> set[int]:
    """Of `user_ids`, those who may still hear about the event now: for an event about a
    cohort, active staff and the cohort's *current* active members; for any other event,
    the active accounts among them. Read when the event becomes notifications and again
    when an email or digest goes, so someone whose membership ended in between hears
    nothing more about the cohort (issue 14)."""
    return _concerned_in(event_cohort_id(event, target), user_ids)


def still_concerned_many(wanted: dict[int | None, Iterable[int]]) -> dict[int | None, set[int]]:
    """`still_concerned` for many people at once, by cohort id (None: not about a cohort):
    one query per cohort."""
    return {cohort_id: _concerned_in(cohort_id, ids) for cohort_id, ids in wanted.items()}


def _concerned_in(cohort_id: int | None, user_ids: Iterable[int]) -> set[int]:
    wanted = {pk for pk in user_ids if pk}
    if not wanted:
        return set()
    if compiled():
        if cohort_id is None:
            query = prepared(("active", None), lambda: _concerned_users(any_of("pk", "ids")))
            return {pk for (pk,) in query.tuples(ids=sorted(wanted))}
        query = prepared(
            ("concerned", None),
            lambda: _concerned_members(_concerned_users(any_of("pk", "ids")), Param("cohort")),
        )
        return {pk for (pk,) in query.tuples(ids=sorted(wanted), cohort=cohort_id)}
    users = _concerned_users(pk__in=wanted)
    if cohort_id is None:
        return set(users.values_list("pk", flat=True))
    return set(_concerned_members(users, cohort_id))


def _concerned_users(*conditions, **lookups):
    return get_user_model().objects.filter(*conditions, is_active=True, **lookups).values_list("pk")


def _concerned_members(users, cohort_id):
    Membership = apps.get_model("cohorts", "Membership")
    members = Membership.objects.filter(cohort_id=cohort_id, active=True).values("user_id")
    return users.filter(models.Q(is_staff=True) | models.Q(pk__in=members)).values_list(
        "pk", flat=True
    )


def _url(name: str, *args) -> str:
    # Other apps' pages may be renamed; a missing link is better than a failed delivery.
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def submission_link(submission) -> str:
    return _url("submissions:detail", submission.pk)


def lab_link(lab, cohort=None) -> str:
    if cohort is not None:
        # The learner's page for the lab in their cohort (brief, dates, their submission).
        link = _url("submissions:lab", cohort.pk, lab.pk)
        if link:
            return link
    return _url("curriculum:lab", lab.track.slug, lab.slug) or _url("curriculum:browse")


def _when(value: dt.datetime, user=None) -> str:
    """A time as the recipient reads it: in their own time zone, named."""
    try:
        zone = ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = value.astimezone(zone)
    return local.strftime("%a %d %b %H:%M ") + (local.tzname() or "UTC")


def _duration(hours: float) -> str:
    if hours < 1:
        minutes = round(hours * 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def _name(user) -> str:
    return user.display_name if user is not None else "Someone"


def _lab_title(submission) -> str:
    return f"Week {submission.lab.week} · {submission.lab.title}"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _active_user_ids(ids: Iterable[int | None]) -> list[int]:
    wanted = {pk for pk in ids if pk}
    if not wanted:
        return []
    return list(
        get_user_model().objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True)
    )


def _staff_ids() -> list[int]:
    return list(
        get_user_model().objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)
    )


def _mentor_ids(cohort_id: int) -> list[int]:
    Membership = apps.get_model("cohorts", "Membership")
    return list(
        Membership.objects.filter(
            cohort_id=cohort_id, role=Membership.Role.MENTOR, active=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def _learner_ids(cohort_id: int) -> list[int]:
    Membership = apps.get_model("cohorts", "Membership")
    return list(
        Membership.objects.filter(
            cohort_id=cohort_id, role=Membership.Role.LEARNER, active=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


# --- submissions ---------------------------------------------------------------------


@handles("submission.submitted", target="submissions.submission")
def on_submission_submitted(event: Event, submission) -> list[Message]:
    """The mentor who holds the review; everyone mentoring the cohort if nobody does yet."""
    if submission is None:
        return []
    if submission.assigned_to_id:
        recipients = [submission.assigned_to_id]
    else:
        recipients = _mentor_ids(submission.cohort_id)
    resubmitted = (event.data or {}).get("iteration", submission.iteration_count or 1) > 1
    verb = "resubmitted" if resubmitted else "submitted"
    text = f"{_name(event.actor)} {verb} {_lab_title(submission)} for review."
    if submission.assigned_to_id:
        text += " It is assigned to you."
    link = submission_link(submission)
    # Not filtered to active accounts here: delivery keeps only people still concerned
    # (active, and staff or a current member of the cohort), one query for a whole batch.
    return [Message(pk, _clip(text), link) for pk in recipients]


def _latest_assignment(submission):
    Assignment = apps.get_model("submissions", "Assignment")
    return (
        Assignment.objects.filter(submission=submission)
        .order_by("-assigned_at", "-pk")
        .only("mentor_id", "reason")
        .first()
    )


@handles("assignment.created", target="submissions.submission")
def on_assignment_created(event: Event, submission) -> list[Message]:
    """The newly assigned mentor, unless the submit itself already told them."""
    if submission is None:
        return []
    data = event.data or {}
    reason, mentor_id = data.get("reason"), data.get("mentor_id")
    if not reason or not mentor_id:
        # Older events did not say: the assignment does (the event's data now always does,
        # which saves this read for every hand-in).
        assignment = _latest_assignment(submission)
        reason = reason or (assignment.reason if assignment else "")
        mentor_id = mentor_id or (assignment.mentor_id if assignment else None)
    if reason in ("auto", "resubmit"):
        # Assigned as part of a submit: `submission.submitted` tells the same mentor.
        return []
    mentor_id = mentor_id or submission.assigned_to_id
    text = f"You now review {submission.learner.display_name}'s {_lab_title(submission)}."
    return [
        Message(pk, _clip(text), submission_link(submission))
        for pk in _active_user_ids([mentor_id])
    ]


@handles("assignment.reassigned", target="submissions.submission")
def on_assignment_reassigned(event: Event, submission) -> list[Message]:
    """The new mentor and the previous one (staff hear of escalations via `review.escalated`)."""
    if submission is None:
        return []
    data = event.data or {}
    link = submission_link(submission)
    lab = _lab_title(submission)
    learner = submission.learner.display_name
    new_id = data.get("mentor_id") or data.get("to_mentor_id") or submission.assigned_to_id
    previous_id = data.get("previous_mentor_id") or data.get("from_mentor_id")
    if previous_id is None:
        Assignment = apps.get_model("submissions", "Assignment")
        previous = (
            Assignment.objects.filter(submission=submission, ended_at__isnull=False)
            .order_by("-ended_at", "-pk")
            .values_list("mentor_id", flat=True)
            .first()
        )
        previous_id = previous
    messages: dict[int, Message] = {}
    escalated = data.get("reason") == "escalation"
    for pk in _active_user_ids([previous_id]):
        if pk != new_id:
            messages[pk] = Message(
                pk, _clip(f"{learner}'s {lab} was moved to another mentor."), link
            )
    for pk in _active_user_ids([new_id]):
        why = " after the review went overdue" if escalated else ""
        if data.get("reason") == "away" and data.get("note"):
            why = f" ({data['note']})"  # the away mentor's note: why it came
        messages[pk] = Message(pk, _clip(f"{learner}'s {lab} was reassigned to you{why}."), link)
    return list(messages.values())


_VERDICT_TEXT = {
    "approve": "approved",
    "request_changes": "requested changes on",
    "comment": "commented on",
}


@handles("review.posted", target="submissions.submission")
def on_review_posted(event: Event, submission) -> list[Message]:
    """The learner whose work was reviewed."""
    if submission is None:
        return []
    verdict = (event.data or {}).get("verdict", "comment")
    verb = _VERDICT_TEXT.get(verdict, "reviewed")
    text = f"{_name(event.actor)} {verb} your {_lab_title(submission)}."
    points = (event.data or {}).get("points")
    if isinstance(points, int) and points > 0:
        text += f" {points} point{'s' if points != 1 else ''} to answer."
    return [
        Message(pk, _clip(text), submission_link(submission))
        for pk in _active_user_ids([submission.learner_id])
    ]


@handles("review.unacknowledged", target="submissions.submission")
def on_review_unacknowledged(event: Event, submission) -> list[Message]:
    """The learner who has not yet acknowledged a review of their work."""
    if submission is None:
        return []
    link = submission_link(submission)
    review_id = (event.data or {}).get("review_id")
    if link and isinstance(review_id, int):
        link += f"#review-{review_id}"
    text = (
        f"A review of your {_lab_title(submission)} is waiting for you: "
        "read it and let your mentor know it landed."
    )
    return [Message(pk, _clip(text), link) for pk in _active_user_ids([submission.learner_id])]


@handles("comment.added", target="submissions.submission")
def on_comment_added(event: Event, submission) -> list[Message]:
    """Everyone in the conversation: the learner, the assigned mentor, past reviewers and commenters."""
    if submission is None:
        return []
    Review = apps.get_model("submissions", "Review")
    Comment = apps.get_model("submissions", "Comment")
    participants = {submission.learner_id, submission.assigned_to_id}
    participants.update(
        Review.objects.filter(submission=submission)
        .values_list("reviewer_id", flat=True)
        .distinct()
    )
    participants.update(
        Comment.objects.filter(submission=submission).values_list("author_id", flat=True).distinct()
    )
    link = submission_link(submission)
    messages = []
    for pk in _active_user_ids(participants):
        whose = "your" if pk == submission.learner_id else f"{submission.learner.display_name}'s"
        text = f"{_name(event.actor)} commented on {whose} {_lab_title(submission)}."
        messages.append(Message(pk, _clip(text), link))
    return messages


@handles("review.overdue", target="submissions.submission")
def on_review_overdue(event: Event, submission) -> list[Message]:
    """The mentor holding the overdue review; every mentor of the cohort if nobody holds it."""
    if submission is None:
        return []
    mentor_id = (event.data or {}).get("mentor_id") or submission.assigned_to_id
    learner = submission.learner.display_name
    link = submission_link(submission)
    if mentor_id:
        text = f"Your review of {learner}'s {_lab_title(submission)} is overdue."
        return [Message(pk, _clip(text), link) for pk in _active_user_ids([mentor_id])]
    text = f"{learner}'s {_lab_title(submission)} is overdue and nobody has picked it up."
    return [Message(pk, _clip(text), link) for pk in _mentor_ids(submission.cohort_id)]


@handles("review.escalated", target="submissions.submission")
def on_review_escalated(event: Event, submission) -> list[Message]:
    """Staff: an overdue review was moved (or could not be: no mentor had room)."""
    if submission is None:
        return []
    data = event.data or {}
    learner = submission.learner.display_name
    if data.get("mentor_id"):
        text = (
            f"Escalated: {learner}'s {_lab_title(submission)} was overdue and has been reassigned."
        )
    else:
        text = (
            f"Escalated: {learner}'s {_lab_title(submission)} is overdue "
            "and no other mentor has room. Please reassign it."
        )
    link = submission_link(submission)
    return [Message(pk, _clip(text), link) for pk in _staff_ids()]


@handles("assignment.released", target="submissions.submission")
def on_assignment_released(event: Event, submission) -> list[Message]:
    """The mentor whose claim lapsed without a review."""
    if submission is None:
        return []
    mentor_id = (event.data or {}).get("mentor_id")
    text = (
        f"Your claim on {submission.learner.display_name}'s {_lab_title(submission)} was "
        "released after a long time without a review; it is back in the queue."
    )
    link = submission_link(submission)
    return [Message(pk, _clip(text), link) for pk in _active_user_ids([mentor_id])]


# --- curriculum and cohorts -----------------------------------------------------------


@handles("lab.updated", target="curriculum.lab")
def on_lab_updated(event: Event, lab) -> list[Message]:
    """Learners with work in progress on the lab (not yet approved), in cohorts they are
    still learners of and that are not kept on an older revision of the lab (pinned)."""
    if lab is None:
        return []
    Submission = apps.get_model("submissions", "Submission")
    open_states = [
        Submission.State.DRAFT,
        Submission.State.SUBMITTED,
        Submission.State.IN_REVIEW,
        Submission.State.CHANGES_REQUESTED,
    ]
    Membership = apps.get_model("cohorts", "Membership")
    still_learning = Membership.objects.filter(
        cohort_id=models.OuterRef("cohort_id"),
        user_id=models.OuterRef("learner_id"),
        role=Membership.Role.LEARNER,
        active=True,
    )
    # A cohort kept on an older revision of the lab (a pin in force) does not see the change.
    CohortLabPin = apps.get_model("cohorts", "CohortLabPin")
    kept = CohortLabPin.objects.filter(
        cohort_id=models.OuterRef("cohort_id"), lab_id=lab.pk, ended_at__isnull=True
    ).exclude(cohort__status="finished")
    rows = (
        Submission.objects.filter(lab=lab, state__in=open_states)
        .filter(models.Exists(still_learning))
        .exclude(models.Exists(kept))
        .values_list("learner_id", "pk")
        .order_by("pk")
    )
    first_submission: dict[int, int] = {}
    for learner_id, submission_id in rows:
        first_submission.setdefault(learner_id, submission_id)
    text = f"Week {lab.week} · {lab.title} was updated. Check what changed before you submit."
    return [
        Message(pk, _clip(text), _url("submissions:detail", first_submission[pk]) or lab_link(lab))
        for pk in _active_user_ids(first_submission)
    ]


def _cohort(cohort_id):
    Cohort = apps.get_model("cohorts", "Cohort")
    return Cohort.objects.filter(pk=cohort_id).first() if cohort_id else None


@handles("lab.released", target="curriculum.lab")
def on_lab_released(event: Event, lab) -> list[Message]:
    """Every active learner of the cohort the lab opened in."""
    cohort = _cohort((event.data or {}).get("cohort_id"))
    if lab is None or cohort is None:
        return []
    text = f"Week {lab.week} · {lab.title} is open in {cohort.name}."
    link = lab_link(lab, cohort)
    return [Message(pk, _clip(text), link) for pk in _learner_ids(cohort.pk)]


@handles("lab.due_soon", target="curriculum.lab")
def on_lab_due_soon(event: Event, lab) -> list[Message]:
    """The one learner who has not submitted yet."""
    data = event.data or {}
    cohort = _cohort(data.get("cohort_id"))
    if lab is None or cohort is None:
        return []
    learner = get_user_model().objects.filter(pk=data.get("learner_id"), is_active=True).first()
    if learner is None:
        return []
    parsed = parse_datetime(data.get("due_at") or "")
    when = f" ({_when(parsed, learner)})" if parsed is not None else ""
    within = _duration(float(data.get("lead_hours") or 24))
    text = f"Week {lab.week} · {lab.title} is due within {within}{when}, and you have not submitted it yet."
    return [Message(learner.pk, _clip(text), lab_link(lab, cohort))]


@handles("invitation.sent", target=None)
def on_invitation_sent(event: Event, target) -> list[Message]:
    """The invited person, when they already have an account."""
    data = event.data or {}
    user_id = data.get("user_id") or data.get("invitee_id")
    cohort = _cohort(data.get("cohort_id"))
    if target is not None:
        user_id = user_id or getattr(target, "user_id", None)
        if target._meta.label_lower == get_user_model()._meta.label_lower:
            user_id = target.pk
        cohort = cohort or getattr(target, "cohort", None)
        if target._meta.label_lower == "cohorts.cohort":
            cohort = target
    if not user_id and data.get("email"):
        invitee = user_by_email_key(data["email"])
        user_id = invitee.pk if invitee is not None else None
    name = cohort.name if cohort is not None else "a cohort"
    link = _url("cohorts:detail", cohort.slug) if cohort is not None else ""
    text = f"{_name(event.actor)} invited you to {name}."
    return [Message(pk, _clip(text), link or _url("home")) for pk in _active_user_ids([user_id])]


@handles("extension.granted", target="cohorts.extension")
def on_extension_granted(event: Event, extension) -> list[Message]:
    """The learner who got more time."""
    if extension is None:
        return []
    due = _when(extension.due_at, extension.learner)
    text = f"You have until {due} for Week {extension.lab.week} · {extension.lab.title}."
    return [
        Message(pk, _clip(text), lab_link(extension.lab, extension.cohort))
        for pk in _active_user_ids([extension.learner_id])
    ]


@handles("announcement.posted", target="cohorts.announcement")
def on_announcement_posted(event: Event, announcement) -> list[Message]:
    """Every active member of the cohort (learners and mentors); the author is dropped by
    `event_process` like any actor, and `still_concerned` drops whoever left since."""
    if announcement is None:
        return []
    cohort = announcement.cohort
    author = announcement.author.display_name if announcement.author else "Staff"
    text = f"{author} to {cohort.name}: {announcement.title}"
    link = _url("cohorts:announcements", cohort.slug)
    if link:
        link += f"#announcement-{announcement.pk}"
    recipients = [*_learner_ids(cohort.pk), *_mentor_ids(cohort.pk)]
    return [Message(pk, _clip(text), link) for pk in recipients]
