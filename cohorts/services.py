"""Every write to cohorts, memberships, the schedule, enrollment and join links.

Services are keyword-only and atomic; a refusal raises ``ApplicationError`` and changes
nothing. Emails are never sent inside a request: invitations are enqueued after commit.
"""

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from accounts.identity import email_canonical, email_key, single_line, validate_display_name
from accounts.models import User
from accounts.services import user_get_or_create, user_register
from core import broker
from core.exceptions import ApplicationError
from curriculum.models import Lab, Track
from notifications.events import record

from .models import (
    Cohort,
    EnrollmentUpload,
    Extension,
    Invitation,
    JoinLink,
    Membership,
    ScheduleOverride,
)
from .permissions import can_grant_extension, can_manage_cohort
from .selectors import clear_role_cache, schedule_entry

MAX_PACE_DAYS = 365
# Each new account costs a few queries through accounts.services.user_get_or_create
# (about 4 ms on SQLite); 2000 rows keeps an apply within a web request.
MAX_ENROLLMENT_ROWS = 2000
ENROLLMENT_COLUMNS = ("email", "name", "role")
ROLE_VALUES = {choice.value for choice in Membership.Role}
# Slugs that would shadow the cohort pages' own addresses (cohorts/urls.py).
RESERVED_SLUGS = {"new", "mine", "join"}


def _require_staff(actor) -> None:
    if not can_manage_cohort(actor):
        raise ApplicationError("Only staff can do this.", code="forbidden")


def _require_aware(value: dt.datetime | None, label: str) -> None:
    if value is not None and timezone.is_naive(value):
        raise ApplicationError(f"{label} needs a time zone.", code="invalid")


# --- Cohorts ------------------------------------------------------------------------------


def validate_time_zone(name: str) -> str:
    name = (name or "").strip()
    if not name or name not in available_timezones():
        raise ApplicationError(
            f"“{name}” is not a known time zone (use an IANA name such as Europe/Paris).",
            code="invalid",
            extra={"field": "time_zone"},
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError(
            f"“{name}” is not a known time zone.", code="invalid", extra={"field": "time_zone"}
        ) from exc
    return name


def _resolve_track(track: Track | int | None) -> Track:
    track_id = getattr(track, "pk", track)
    found = Track.objects.filter(pk=track_id).first() if track_id else None
    if found is None:
        raise ApplicationError(
            "That track does not exist.", code="invalid", extra={"field": "track"}
        )
    if not found.active:
        raise ApplicationError(
            f"The track “{found.name}” is archived; choose an active track.",
            code="invalid",
            extra={"field": "track"},
        )
    return found


def _unique_slug(base: str, *, exclude_pk: int | None = None) -> str:
    base = (slugify(base) or "cohort")[:180]
    if base in RESERVED_SLUGS:
        base = f"{base}-cohort"
    slug, n = base, 2
    taken = Cohort.objects.exclude(pk=exclude_pk) if exclude_pk else Cohort.objects.all()
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _validate_cohort_fields(data: dict) -> dict:
    name = (data.get("name") or "").strip()
    if not name:
        raise ApplicationError("A cohort needs a name.", code="invalid", extra={"field": "name"})
    if len(name) > 200:
        raise ApplicationError(
            "The name is longer than 200 characters.", code="invalid", extra={"field": "name"}
        )
    data["name"] = name
    if not isinstance(data.get("start_date"), dt.date) or isinstance(
        data.get("start_date"), dt.datetime
    ):
        raise ApplicationError(
            "A cohort needs a start date.", code="invalid", extra={"field": "start_date"}
        )
    data["time_zone"] = validate_time_zone(data.get("time_zone", "UTC"))
    pace = data.get("pace_days")
    if not isinstance(pace, int) or not 1 <= pace <= MAX_PACE_DAYS:
        raise ApplicationError(
            f"Pace must be a whole number of days between 1 and {MAX_PACE_DAYS}.",
            code="invalid",
            extra={"field": "pace_days"},
        )
    for name_, label in (
        ("review_sla_hours", "Review SLA"),
        ("mentor_capacity", "Mentor capacity"),
    ):
        value = data.get(name_)
        if not isinstance(value, int) or value < 1:
            raise ApplicationError(
                f"{label} must be at least 1.", code="invalid", extra={"field": name_}
            )
    if data.get("status") not in Cohort.Status.values:
        raise ApplicationError("Unknown status.", code="invalid", extra={"field": "status"})
    slug = (data.get("slug") or "").strip()
    if slug and slug != slugify(slug):
        raise ApplicationError(
            "The slug may contain only lowercase letters, digits and hyphens.",
            code="invalid",
            extra={"field": "slug"},
        )
    if slug in RESERVED_SLUGS:
        raise ApplicationError(
            f"“{slug}” is reserved; choose another slug.", code="invalid", extra={"field": "slug"}
        )
    data["slug"] = slug
    data["description"] = (data.get("description") or "").strip()
    return data


@transaction.atomic
def cohort_create(
    *,
    actor,
    name: str,
    track: Track | int,
    start_date: dt.date,
    time_zone: str = "UTC",
    pace_days: int = 7,
    status: str = Cohort.Status.DRAFT,
    review_sla_hours: int = 48,
    mentor_capacity: int = 10,
    description: str = "",
    slug: str = "",
) -> Cohort:
    """Create a cohort (staff only). Side effects: inserts a Cohort."""
    _require_staff(actor)
    data = _validate_cohort_fields(
        {
            "name": name,
            "slug": slug,
            "start_date": start_date,
            "time_zone": time_zone,
            "pace_days": pace_days,
            "status": status,
            "review_sla_hours": review_sla_hours,
            "mentor_capacity": mentor_capacity,
            "description": description,
        }
    )
    data["track"] = _resolve_track(track)
    if data["slug"]:
        if Cohort.objects.filter(slug=data["slug"]).exists():
            raise ApplicationError(
                f"The slug “{data['slug']}” is taken.", code="conflict", extra={"field": "slug"}
            )
    else:
        data["slug"] = _unique_slug(data["name"])
    return Cohort.objects.create(**data)


COHORT_EDITABLE_FIELDS = (
    "name",
    "slug",
    "track",
    "start_date",
    "time_zone",
    "pace_days",
    "status",
    "review_sla_hours",
    "mentor_capacity",
    "description",
)


@transaction.atomic
def cohort_update(*, actor, cohort: Cohort, **changes) -> Cohort:
    """Change a cohort's settings (staff only). Side effects: updates the Cohort row.

    The track can change only while no work has been submitted in the cohort, since
    submissions point at the labs of the current track.
    """
    _require_staff(actor)
    unknown = set(changes) - set(COHORT_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
    current = {name: getattr(cohort, name) for name in COHORT_EDITABLE_FIELDS if name != "track"}
    data = _validate_cohort_fields(
        {**current, **{k: v for k, v in changes.items() if k != "track"}}
    )
    if "track" in changes:
        track = changes["track"]
        if getattr(track, "pk", track) != cohort.track_id:
            track = _resolve_track(track)
            if cohort.submissions.exists():
                raise ApplicationError(
                    "Learners have already submitted work in this cohort; its track can no "
                    "longer change.",
                    code="conflict",
                    extra={"field": "track"},
                )
            cohort.track = track
            # Dates set for the old track's labs mean nothing for the new one.
            cohort.overrides.all().delete()
            cohort.extensions.all().delete()
    if not data["slug"]:
        data["slug"] = cohort.slug or _unique_slug(data["name"], exclude_pk=cohort.pk)
    elif Cohort.objects.filter(slug=data["slug"]).exclude(pk=cohort.pk).exists():
        raise ApplicationError(
            f"The slug “{data['slug']}” is taken.", code="conflict", extra={"field": "slug"}
        )
    for name, value in data.items():
        setattr(cohort, name, value)
    cohort.save()
    return cohort


# --- Memberships and invitations ---------------------------------------------------------


def _validate_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLE_VALUES:
        raise ApplicationError(
            f"“{role}” is not a role (use learner or mentor).",
            code="invalid",
            extra={"field": "role"},
        )
    return role


def _invite(*, actor, cohort: Cohort, user: User) -> Invitation | None:
    """Create the invitation row and enqueue its email after commit (once per user+cohort)."""
    invitation, created = Invitation.objects.get_or_create(
        user=user, cohort=cohort, defaults={"invited_by": actor if actor and actor.pk else None}
    )
    if not created:
        return None
    transaction.on_commit(lambda: _enqueue_invitation(invitation.pk))
    return invitation


def _enqueue_invitation(invitation_id: int) -> None:
    """Never raises nor waits long: with the broker down the periodic sweep
    (`cohorts.send_pending_invitations`) sends pending invitations later."""
    from .tasks import send_invitation

    broker.publish(send_invitation, invitation_id)


@transaction.atomic
def membership_add(*, actor, cohort: Cohort, email: str, name: str = "", role: str) -> Membership:
    """Add a person to a cohort by email (staff only).

    Side effects: may create the account (it then gets an invitation email after commit);
    inserts or reactivates the Membership. Refuses when the person is already an active
    member (change their role instead).
    """
    _require_staff(actor)
    role = _validate_role(role)
    user, created = user_get_or_create(email=email, name=name or "")
    membership = Membership.objects.select_for_update().filter(user=user, cohort=cohort).first()
    if membership is not None and membership.active:
        raise ApplicationError(
            f"{user.email} is already a {membership.get_role_display().lower()} in this cohort.",
            code="conflict",
            extra={"field": "email"},
        )
    if membership is None:
        membership = Membership.objects.create(user=user, cohort=cohort, role=role)
    else:
        membership.active = True
        membership.role = role
        membership.joined_at = timezone.now()
        membership.save(update_fields=["active", "role", "joined_at"])
    if created:
        _invite(actor=actor, cohort=cohort, user=user)
    clear_role_cache(user)
    return membership


# What other apps must do, in the same transaction, when someone stops holding a role in a
# cohort (submissions moves a leaving mentor's open reviews). Those apps sit above cohorts,
# which may not import them: they register here from their AppConfig.ready
# (docs/architecture.md, "When a membership ends").
RoleEndedHook = Callable[..., None]
_role_ended_hooks: list[RoleEndedHook] = []


def on_role_ended(hook: RoleEndedHook) -> RoleEndedHook:
    """Register `hook(*, actor, membership, role)`: called inside the transaction that ends
    `membership`'s `role` (membership ended, or its role changed); an error rolls it back."""
    if hook not in _role_ended_hooks:
        _role_ended_hooks.append(hook)
    return hook


def _role_ended(*, actor, membership: Membership, role: str) -> None:
    clear_role_cache(membership.user)
    for hook in _role_ended_hooks:
        hook(actor=actor, membership=membership, role=role)


@transaction.atomic
def membership_deactivate(*, actor, membership: Membership) -> Membership:
    """End a membership (staff only). Their submissions and reviews stay.

    Side effects, in the same transaction: the registered role-ended hooks run (a mentor's
    open reviews move to another mentor or back to the queue). From then on the person has
    no access to the cohort by any path and hears nothing more about it.
    """
    _require_staff(actor)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.active:
        membership.active = False
        membership.save(update_fields=["active"])
        _role_ended(actor=actor, membership=membership, role=membership.role)
    clear_role_cache(membership.user)
    return membership


@transaction.atomic
def membership_reactivate(*, actor, membership: Membership) -> Membership:
    """Restore an ended membership (staff only)."""
    _require_staff(actor)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not membership.active:
        membership.active = True
        membership.save(update_fields=["active"])
    return membership


@transaction.atomic
def membership_change_role(*, actor, membership: Membership, role: str) -> Membership:
    """Make a member a learner or a mentor (staff only). The role given up ends as in
    `membership_deactivate` (a mentor made a learner hands over their open reviews)."""
    _require_staff(actor)
    role = _validate_role(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role != role:
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        if membership.active:
            _role_ended(actor=actor, membership=membership, role=previous)
    return membership


def invitation_link(user: User) -> str:
    """An absolute set-password link: single use (the token dies when the password changes)
    and expiring after PASSWORD_RESET_TIMEOUT, using Django's own password-reset tokens."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def invitation_send(*, invitation_id: int) -> bool:
    """Send one invitation email unless it has been sent; returns whether it sent now.

    Side effects: an email, ``Invitation.sent_at``, event ``invitation.sent``. The row lock
    makes two concurrent runs send once; a failure to send leaves it unsent for a retry.
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("user", "cohort", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.sent_at is not None:
            return False
        user = invitation.user
        if not user.is_active or user.has_usable_password():
            # They already chose a password (e.g. through "forgot password"): nothing to set.
            invitation.sent_at = timezone.now()
            invitation.save(update_fields=["sent_at"])
            return False
        context = {
            "user": user,
            "cohort": invitation.cohort,
            "invited_by": invitation.invited_by,
            "link": invitation_link(user),
            "expires_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
            "site_url": settings.SITE_URL,
        }
        # One line whatever the cohort's or inviter's name holds (no header injection).
        subject = single_line(render_to_string("cohorts/email/invitation_subject.txt", context))
        body = render_to_string("cohorts/email/invitation_body.txt", context)
        send_mail(subject, body, None, [user.email])
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["sent_at"])
        record(
            "invitation.sent",
            actor=invitation.invited_by,
            target=invitation,
            data={"user_id": user.pk, "cohort_id": invitation.cohort_id},
        )
    return True


def invitations_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> list[int]:
    """Ids of invitations whose enqueue may have been lost (for the periodic sweep)."""
    cutoff = timezone.now() - older_than
    return list(
        Invitation.objects.filter(sent_at__isnull=True, created_at__lte=cutoff).values_list(
            "pk", flat=True
        )[:500]
    )


# --- Schedule -----------------------------------------------------------------------------


def _require_lab_of_cohort(cohort: Cohort, lab: Lab) -> None:
    if lab.track_id != cohort.track_id:
        raise ApplicationError("That lab is not part of this cohort's track.", code="invalid")


@transaction.atomic
def schedule_override_set(
    *,
    actor,
    cohort: Cohort,
    lab: Lab,
    release_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
) -> ScheduleOverride:
    """Set one lab's release and/or due time for the whole cohort (staff only).

    A value left empty keeps the default (a due time then follows the release). Refuses a
    due time at or before the release time.
    """
    _require_staff(actor)
    _require_lab_of_cohort(cohort, lab)
    _require_aware(release_at, "The release time")
    _require_aware(due_at, "The due time")
    if release_at is None and due_at is None:
        raise ApplicationError("Give a release time, a due time, or both.", code="invalid")
    override, _ = ScheduleOverride.objects.select_for_update().get_or_create(
        cohort=cohort, lab=lab, defaults={"updated_by": actor}
    )
    override.release_at = release_at
    override.due_at = due_at
    # Check the dates as the schedule will compute them, defaults included.
    from .selectors import _entry

    entry = _entry(cohort=cohort, lab=lab, override=override, extension=None, now=timezone.now())
    if entry.due_at <= entry.release_at:
        raise ApplicationError(
            "The due time must be after the release time.",
            code="invalid",
            extra={"field": "due_at"},
        )
    override.updated_by = actor
    override.save()
    return override


@transaction.atomic
def schedule_override_clear(*, actor, cohort: Cohort, lab: Lab) -> bool:
    """Return a lab to its default dates (staff only). Returns whether there was an override."""
    _require_staff(actor)
    deleted, _ = ScheduleOverride.objects.filter(cohort=cohort, lab=lab).delete()
    return bool(deleted)


@transaction.atomic
def extension_grant(
    *, actor, cohort: Cohort, lab: Lab, learner: User, due_at: dt.datetime, reason: str
) -> Extension:
    """Give one learner a later due time on one lab (a mentor of the cohort or staff).

    Replaces any earlier extension for that learner and lab. Side effects: the Extension
    row, event ``extension.granted``.
    """
    if not can_grant_extension(actor, cohort):
        raise ApplicationError(
            "Only this cohort's mentors and staff can grant extensions.", code="forbidden"
        )
    _require_lab_of_cohort(cohort, lab)
    if not lab.active:
        raise ApplicationError("That lab has been archived.", code="invalid")
    # Read the membership afresh: a per-request cache may predate a removal.
    if not Membership.objects.filter(
        user=learner, cohort=cohort, role=Membership.Role.LEARNER, active=True
    ).exists():
        raise ApplicationError(
            f"{learner.email} is not a learner in this cohort.",
            code="invalid",
            extra={"field": "learner"},
        )
    if due_at is None:
        raise ApplicationError("Give the new due time.", code="invalid", extra={"field": "due_at"})
    _require_aware(due_at, "The new due time")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the extension is granted.", code="invalid", extra={"field": "reason"}
        )
    if len(reason) > 500:
        raise ApplicationError(
            "The reason is longer than 500 characters.", code="invalid", extra={"field": "reason"}
        )
    entry = schedule_entry(cohort=cohort, lab=lab)
    if due_at <= entry.due_at:
        raise ApplicationError(
            "An extension must be later than the lab's due time.",
            code="invalid",
            extra={"field": "due_at"},
        )
    extension, _ = Extension.objects.update_or_create(
        cohort=cohort,
        lab=lab,
        learner=learner,
        defaults={
            "due_at": due_at,
            "reason": reason,
            "granted_by": actor,
            "created_at": timezone.now(),
        },
    )
    record(
        "extension.granted",
        actor=actor,
        target=extension,
        data={
            "cohort_id": cohort.pk,
            "lab_id": lab.pk,
            "learner_id": learner.pk,
            "due_at": due_at.astimezone(dt.UTC).isoformat(),
            "reason": reason,
        },
    )
    return extension


@transaction.atomic
def extension_revoke(*, actor, extension: Extension) -> None:
    """Remove an extension (a mentor of the cohort or staff)."""
    if not can_grant_extension(actor, extension.cohort_id):
        raise ApplicationError(
            "Only this cohort's mentors and staff can change extensions.", code="forbidden"
        )
    Extension.objects.filter(pk=extension.pk).delete()


# --- Join links ---------------------------------------------------------------------------


@transaction.atomic
def join_link_create(*, actor, cohort: Cohort, expires_at: dt.datetime | None = None) -> JoinLink:
    """A new join link with a random token (staff only)."""
    _require_staff(actor)
    _require_aware(expires_at, "The expiry")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(
            "The expiry must be in the future.", code="invalid", extra={"field": "expires_at"}
        )
    if cohort.status == Cohort.Status.FINISHED:
        raise ApplicationError("This cohort has finished; nobody can join it.", code="invalid")
    return JoinLink.objects.create(cohort=cohort, expires_at=expires_at, created_by=actor)


@transaction.atomic
def join_link_disable(*, actor, link: JoinLink) -> JoinLink:
    _require_staff(actor)
    JoinLink.objects.filter(pk=link.pk).update(enabled=False)
    link.enabled = False
    return link


@transaction.atomic
def join_link_enable(*, actor, link: JoinLink) -> JoinLink:
    _require_staff(actor)
    if link.expires_at is not None and link.expires_at <= timezone.now():
        raise ApplicationError("This link has expired; create a new one.", code="invalid")
    JoinLink.objects.filter(pk=link.pk).update(enabled=True)
    link.enabled = True
    return link


def join_link_check(link: JoinLink | None, *, now: dt.datetime | None = None) -> None:
    """Raise an ApplicationError that explains why the link cannot be used, if it cannot."""
    now = now or timezone.now()
    if link is None:
        raise ApplicationError(
            "This join link does not exist. Check that you copied all of it.", code="not_found"
        )
    if not link.enabled:
        raise ApplicationError(
            "This join link has been turned off by the cohort's staff. Ask them for a new one.",
            code="link_disabled",
        )
    if link.expires_at is not None and link.expires_at <= now:
        expired = timezone.localtime(link.expires_at)  # in the reader's zone (the request's)
        raise ApplicationError(
            f"This join link expired on {expired:%Y-%m-%d %H:%M} {expired.tzname()}. "
            "Ask the cohort's staff for a new one.",
            code="link_expired",
        )
    if link.cohort.status == Cohort.Status.FINISHED:
        raise ApplicationError("This cohort has finished; it takes no new members.", code="invalid")


@dataclass(frozen=True)
class JoinResult:
    membership: Membership
    joined: bool  # False when the user was already a member


@transaction.atomic
def join_cohort_via_link(*, user: User, token: str) -> JoinResult:
    """Join the link's cohort as a learner. Side effects: inserts a Membership.

    An active member stays as they are (``joined`` is False). A member whom staff removed
    cannot undo that with a link.
    """
    if user is None or not user.is_authenticated:
        raise ApplicationError("Sign in to join a cohort.", code="forbidden")
    link = JoinLink.objects.select_related("cohort").filter(token=token or "").first()
    join_link_check(link)
    membership = (
        Membership.objects.select_for_update().filter(user=user, cohort=link.cohort).first()
    )
    if membership is not None:
        if not membership.active:
            raise ApplicationError(
                "Your membership in this cohort was ended by its staff; ask them to restore it.",
                code="forbidden",
            )
        return JoinResult(membership=membership, joined=False)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user, cohort=link.cohort, role=Membership.Role.LEARNER
            )
    except IntegrityError:  # a double click raced us; the other request created it
        membership = Membership.objects.get(user=user, cohort=link.cohort)
        return JoinResult(membership=membership, joined=False)
    clear_role_cache(user)
    return JoinResult(membership=membership, joined=True)


@transaction.atomic
def join_signup(
    *, token: str, email: str, name: str, password: str, time_zone: str = "UTC"
) -> tuple[User, JoinResult]:
    """Create an account from a join link and join its cohort in one step.

    Refuses an email that already has an account (its owner must sign in: a link must never
    let someone take over an account). Side effects: a User and a Membership.
    """
    link = JoinLink.objects.select_related("cohort").filter(token=token or "").first()
    join_link_check(link)
    user = user_register(email=email, name=name, password=password, time_zone=time_zone)
    return user, join_cohort_via_link(user=user, token=token)


# --- CSV enrollment -----------------------------------------------------------------------


@dataclass
class EnrollmentRow:
    line: int
    email: str
    name: str
    role: str
    # new_account, new_member, already_member, reactivate, role_change
    action: str = ""
    current_role: str = ""
    user: User | None = field(default=None, repr=False, compare=False)


@dataclass
class EnrollmentPreview:
    cohort: Cohort
    filename: str = ""
    rows: list[EnrollmentRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message); 0 = file
    upload: EnrollmentUpload | None = None

    @property
    def can_apply(self) -> bool:
        return not self.errors and self.upload is not None and self.has_changes

    @property
    def has_changes(self) -> bool:
        return any(r.action != "already_member" for r in self.rows)

    def rows_with(self, action: str) -> list[EnrollmentRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def new_accounts(self) -> list[EnrollmentRow]:
        return self.rows_with("new_account")

    @property
    def existing_users(self) -> list[EnrollmentRow]:
        return [r for r in self.rows if r.action != "new_account"]


_HEADER_CLEAN = re.compile(r"\s+")


def _parse_enrollment_csv(source: bytes) -> tuple[list[EnrollmentRow], list[tuple[int, str]]]:
    """Rows and errors (line numbers as a spreadsheet shows them); reads nothing else."""
    max_bytes = settings.ENROLLMENT_CSV_MAX_BYTES
    if len(source) > max_bytes:
        return [], [(0, f"The file is larger than {max_bytes // 1024} KB.")]
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [(0, "The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")]
    if "\x00" in text:
        return [], [(0, "The file is not a CSV text file.")]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[EnrollmentRow] = []
    errors: list[tuple[int, str]] = []
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            return [], [(0, "The file is empty. Expected a header line: email,name,role.")]
        columns = [_HEADER_CLEAN.sub("", cell).lower() for cell in header]
        if sorted(columns) != sorted(ENROLLMENT_COLUMNS):
            return [], [
                (
                    reader.line_num,
                    f"Expected the columns email,name,role; found {','.join(columns) or 'none'}.",
                )
            ]
        index = {name: columns.index(name) for name in ENROLLMENT_COLUMNS}
        seen: dict[str, int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) + len(errors) >= MAX_ENROLLMENT_ROWS:
                errors.append((line, f"More than {MAX_ENROLLMENT_ROWS} rows; split the file."))
                break
            if len(cells) != len(columns):
                errors.append((line, f"Expected 3 values, found {len(cells)}."))
                continue
            email = cells[index["email"]].strip()
            name = cells[index["name"]].strip()
            role = cells[index["role"]].strip().lower()
            problems = []
            try:
                email = email_canonical(email)
            except ValidationError as exc:
                problems.append(
                    exc.messages[0] if email else "“(empty)” is not a valid email address."
                )
                email = ""
            if role not in ROLE_VALUES:
                problems.append(f"Unknown role “{role or '(empty)'}” (use learner or mentor).")
            if len(name) > 150:
                problems.append("The name is longer than 150 characters.")
            try:
                validate_display_name(name)
            except ValidationError as exc:
                problems.append(exc.messages[0])
            key = email_key(email) if email else ""
            if key and key in seen:  # two spellings of one account clash too
                problems.append(f"Duplicate of line {seen[key]} ({email}).")
            elif key:
                seen[key] = line
            if problems:
                errors.extend((line, problem) for problem in problems)
                continue
            rows.append(EnrollmentRow(line=line, email=email, name=name, role=role))
    except csv.Error as exc:
        errors.append((reader.line_num, f"Not a readable CSV: {exc}."))
    if not rows and not errors:
        errors.append((0, "The file has a header but no rows."))
    return rows, errors


def _classify(cohort: Cohort, rows: list[EnrollmentRow]) -> None:
    """Say what applying would do to each row (two queries, whatever the number of rows)."""
    keys = {row.line: email_key(row.email) for row in rows}
    users = {u.email_key: u for u in User.objects.filter(email_key__in=keys.values())}
    memberships = {
        m.user_id: m for m in Membership.objects.filter(cohort=cohort, user__in=users.values())
    }
    for row in rows:
        user = users.get(keys[row.line])
        row.user = user
        if user is None:
            row.action = "new_account"
            continue
        membership = memberships.get(user.pk)
        if membership is None:
            row.action = "new_member"
        elif not membership.active:
            row.action = "reactivate"
            row.current_role = membership.role
        elif membership.role != row.role:
            row.action = "role_change"
            row.current_role = membership.role
        else:
            row.action = "already_member"


def enrollment_check_size(size: int) -> None:
    """Refuse an upload by its size alone, before anything reads it."""
    max_bytes = settings.ENROLLMENT_CSV_MAX_BYTES
    if size > max_bytes:
        raise ApplicationError(
            f"The file is {size / (1024 * 1024):.1f} MB; the limit is "
            f"{max_bytes // 1024} KB. Split it into smaller files.",
            code="too_large",
            extra={"field": "file"},
        )


@transaction.atomic
def enrollment_preview(
    *, actor, cohort: Cohort, file: bytes, filename: str = ""
) -> EnrollmentPreview:
    """Parse an enrollment CSV and say what applying it would do (staff only).

    Side effects: when the file has no errors, stores it as an ``EnrollmentUpload`` for
    ``enrollment_apply``. Changes no account or membership.
    """
    _require_staff(actor)
    enrollment_check_size(len(file))
    rows, errors = _parse_enrollment_csv(file)
    preview = EnrollmentPreview(cohort=cohort, filename=filename[:255], rows=rows, errors=errors)
    if errors:
        return preview
    _classify(cohort, rows)
    preview.upload = EnrollmentUpload.objects.create(
        cohort=cohort,
        filename=filename[:255],
        source=file,
        source_hash=hashlib.sha256(file).hexdigest(),
        created_by=actor,
    )
    return preview


def enrollment_preview_of(upload: EnrollmentUpload) -> EnrollmentPreview:
    """Rebuild the preview of a stored upload against today's data (no writes)."""
    source = bytes(upload.source)
    rows, errors = _parse_enrollment_csv(source)
    preview = EnrollmentPreview(
        cohort=upload.cohort, filename=upload.filename, rows=rows, errors=errors, upload=upload
    )
    if not errors:
        _classify(upload.cohort, rows)
    return preview


@transaction.atomic
def enrollment_apply(*, actor, upload: EnrollmentUpload) -> dict:
    """Enroll every row of an uploaded CSV, or nobody (staff only).

    Idempotent: applying the same upload twice, or a new upload of the same file, changes
    nothing the second time. Side effects: new accounts (each invited by email after
    commit), new, reactivated or re-roled memberships; ``upload.applied_at``/``result``.
    """
    _require_staff(actor)
    upload = (
        EnrollmentUpload.objects.select_for_update(of=("self",))
        .select_related("cohort")
        .get(pk=upload.pk)
    )
    if upload.applied_at is not None:
        return upload.result
    cohort = upload.cohort
    preview = enrollment_preview_of(upload)
    if preview.errors:
        raise ApplicationError(
            "The file has errors; fix them and upload it again.",
            code="invalid",
            extra={"errors": [{"line": line, "message": msg} for line, msg in preview.errors]},
        )
    result = {
        "created_accounts": 0,
        "added": 0,
        "reactivated": 0,
        "role_changed": 0,
        "unchanged": 0,
    }
    now = timezone.now()
    new_memberships: list[Membership] = []
    invited_users: list[User] = []
    role_updates: dict[str, list[int]] = {role: [] for role in ROLE_VALUES}
    for row in preview.rows:
        if row.action == "already_member":
            result["unchanged"] += 1
        elif row.action == "new_account":
            user, created = user_get_or_create(email=row.email, name=row.name)
            if created:
                result["created_accounts"] += 1
                invited_users.append(user)
            new_memberships.append(
                Membership(user=user, cohort=cohort, role=row.role, joined_at=now)
            )
            result["added"] += 1
        elif row.action == "new_member":
            new_memberships.append(
                Membership(user=row.user, cohort=cohort, role=row.role, joined_at=now)
            )
            result["added"] += 1
        else:  # reactivate or role_change
            role_updates[row.role].append(row.user.pk)
            result["reactivated" if row.action == "reactivate" else "role_changed"] += 1
    for role, user_ids in role_updates.items():
        if user_ids:
            Membership.objects.filter(cohort=cohort, user_id__in=user_ids).update(
                active=True, role=role
            )
    try:
        with transaction.atomic():
            Membership.objects.bulk_create(new_memberships)
    except IntegrityError as exc:
        raise ApplicationError(
            "Someone changed this cohort's members meanwhile; upload the file again.",
            code="conflict",
        ) from exc
    invitations = Invitation.objects.bulk_create(
        [Invitation(user=user, cohort=cohort, invited_by=actor) for user in invited_users]
    )
    for invitation in invitations:
        transaction.on_commit(lambda pk=invitation.pk: _enqueue_invitation(pk))
    upload.applied_at = now
    upload.applied_by = actor
    upload.result = result
    upload.save(update_fields=["applied_at", "applied_by", "result"])
    return result
