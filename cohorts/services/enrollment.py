"""Getting people into a cohort: invitation emails, join links and CSV enrollment."""

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field

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

from accounts.identity import email_canonical, email_key, single_line, validate_display_name
from accounts.models import User
from accounts.services import user_get_or_create, user_register
from core.exceptions import ApplicationError
from notifications.events import record

from ..models import Cohort, EnrollmentUpload, Invitation, JoinLink, Membership
from ..selectors import clear_role_cache
from ._common import (
    ROLE_VALUES,
    _enqueue_invitation,
    _mentor_room,
    _require_aware,
    _require_staff,
)

# Each new account costs a few queries through accounts.services.user_get_or_create
# (about 4 ms on SQLite); 2000 rows keeps an apply within a web request.
MAX_ENROLLMENT_ROWS = 2000
ENROLLMENT_COLUMNS = ("email", "name", "role")


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
    if role_updates.get(Membership.Role.MENTOR) or any(
        m.role == Membership.Role.MENTOR for m in new_memberships
    ):
        _mentor_room(cohort)
    upload.applied_at = now
    upload.applied_by = actor
    upload.result = result
    upload.save(update_fields=["applied_at", "applied_by", "result"])
    return result
