import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import ApplicationError
from core.prepared import Param, PreparedQuery

from .identity import email_canonical, email_key, validate_display_name
from .models import ApiToken, User
from .selectors import user_by_email_key
from .zones import user_zone, zone_lookup


def email_clean(email: str) -> str:
    """The address as it will be stored (accounts.identity.email_canonical), or
    ApplicationError (code "invalid", field "email") saying why it is refused."""
    try:
        return email_canonical(email)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code="invalid", extra={"field": "email"}) from exc


def name_clean(name: str) -> str:
    """A display name trimmed to 150 characters, or ApplicationError (field "name") when it
    is not one line of text (a name goes into e-mail subjects)."""
    try:
        validate_display_name(name or "")
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code="invalid", extra={"field": "name"}) from exc
    return (name or "").strip()[:150]


def time_zone_clean(time_zone: str) -> str:
    """The IANA name of `time_zone` in its exact spelling (`asia/tokyo` -> `Asia/Tokyo`), or
    ApplicationError (code "invalid", field "time_zone") when zoneinfo does not know it."""
    name = zone_lookup(time_zone)
    if name is None:
        shown = (time_zone or "").strip()[:64]
        raise ApplicationError(
            f"“{shown}” is not a known time zone; choose one from the list, e.g. Europe/Paris."
            if shown
            else "Choose a time zone, e.g. Europe/Paris.",
            code="invalid",
            extra={"field": "time_zone"},
        )
    return name


@transaction.atomic
def user_update_profile(
    *, actor: User, user: User, name: str | None = None, time_zone: str | None = None
) -> User:
    """Change a person's display name and/or time zone (None leaves a field as it is).

    Only the person themselves may do it (staff use the admin). Every value is checked
    before anything is written: a bad name or zone changes nothing. Side effects: updates
    the User row; pages, e-mails and feeds show times in the new zone from the next request.
    """
    if actor.pk != user.pk:
        raise ApplicationError("You can only change your own profile.", code="forbidden")
    changes: dict[str, str] = {}
    if name is not None:
        changes["name"] = name_clean(name)
    if time_zone is not None:
        changes["time_zone"] = time_zone_clean(time_zone)
    changed = [field for field, value in changes.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, changes[field])
    if changed:
        user.save(update_fields=changed)
    return user


@transaction.atomic
def user_get_or_create(*, email: str, name: str = "") -> tuple[User, bool]:
    """The account of an address (`email_clean` must accept it), found by its canonical key
    whatever the spelling, or a new one with an unusable password.

    Side effects: may insert a User. Sends nothing: callers decide whether to invite.
    """
    email = email_clean(email)
    user = user_by_email_key(email)
    if user is not None:
        return user, False
    name = name_clean(name)
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=None, name=name)
    except IntegrityError:  # a concurrent request created this address's account first
        return User.objects.get(email_key=email_key(email)), False
    return user, True


@transaction.atomic
def user_register(*, email: str, name: str, password: str, time_zone: str = "UTC") -> User:
    """Create an account that signs in with a password the person chose.

    Refuses an address whose canonical key already has an account, however it is spelled
    (its owner must sign in: registering must never let someone take over an account), an
    address `email_clean` refuses, a name on more than one line, a time zone zoneinfo does
    not know and a password Django's validators reject. Side effects: inserts a User.
    """
    from django.contrib.auth.password_validation import validate_password

    email = email_clean(email)
    if user_by_email_key(email) is not None:
        raise ApplicationError(
            "An account with this email already exists. Sign in to join.",
            code="conflict",
            extra={"field": "email"},
        )
    name = name_clean(name)
    time_zone = time_zone_clean(time_zone)
    try:
        validate_password(password, user=User(email=email, name=name))
    except ValidationError as exc:
        raise ApplicationError(
            " ".join(exc.messages), code="invalid", extra={"field": "password"}
        ) from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, password=password, name=name, time_zone=time_zone
            )
    except IntegrityError as exc:  # a concurrent request registered the same address
        raise ApplicationError(
            "An account with this email already exists. Sign in to join.",
            code="conflict",
            extra={"field": "email"},
        ) from exc


# --- API tokens -------------------------------------------------------------------------

TOKEN_PREFIX = "cl_"
# Touching last_used_at on every request would turn each read into a write.
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)
MAX_ACTIVE_TOKENS_PER_USER = 50


def token_hash(secret: str) -> str:
    """The stored form of a token: its SHA-256 hex digest (the secret itself is never kept)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str = "", expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns the row and the secret, shown only once.

    Side effects: inserts an ApiToken holding the secret's SHA-256 and its first characters.
    """
    if not user.is_active:
        raise ApplicationError("This account is disabled.", code="forbidden")
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ApplicationError(
            "The expiry must be in the future.",
            code="invalid",
            extra={"expires_at": ["Must be in the future."]},
        )
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if active.count() >= MAX_ACTIVE_TOKENS_PER_USER:
        raise ApplicationError(
            f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens; revoke one first.",
            code="conflict",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=(name or "").strip()[:100],
        prefix=secret[:10],
        key_hash=token_hash(secret),
        expires_at=expires_at,
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent). Only its owner may revoke it.

    Side effects: sets revoked_at; the token stops authenticating at once.
    """
    if token.user_id != actor.pk:
        raise ApplicationError("You can only revoke your own tokens.", code="forbidden")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


# Every API request looks its token up: compiled once (key_hash is unique).
_TOKEN_BY_HASH = PreparedQuery(
    lambda: ApiToken.objects.select_related("user").filter(key_hash=Param("key_hash")).order_by()
)


# ``ApiToken.objects.filter(pk=...).update(last_used_at=...)``, written once: a burst of
# first requests (one per token) each pays this statement, and the ORM's compile of it
# cost about as much as running it. Quoted as both PostgreSQL and SQLite read it.
_TOUCH_TOKEN_SQL = 'UPDATE "accounts_apitoken" SET "last_used_at" = %s WHERE "id" = %s'


def _touch_token(token_id: int, now: dt.datetime) -> None:
    connection = connections[router.db_for_write(ApiToken)]
    value = ApiToken._meta.get_field("last_used_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(_TOUCH_TOKEN_SQL, [value, token_id])


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The usable token for `secret`, or None. Records when it was last used (at most once a minute).

    Side effects: may update last_used_at.
    """
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = _TOKEN_BY_HASH.first(key_hash=token_hash(secret))
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        _touch_token(token.pk, now)
        token.last_used_at = now
    return token


# --- Away mode ----------------------------------------------------------------------------

AWAY_MAX_DAYS = 366
AWAY_NOTE_MAX_LENGTH = 500


def away_until_instant(until: dt.date, zone) -> dt.datetime:
    """The instant someone away through `until` (their last day away, a date on `zone`'s
    calendar) is back: 00:00 of the next day in `zone`."""
    return dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def away_clean(
    *, until, note: str, zone, now: dt.datetime | None = None
) -> tuple[dt.datetime, str]:
    """(`away_until` instant, note) for "away through `until`" read on `zone`'s calendar,
    or ApplicationError (code "invalid", field "away_until" / "away_note")."""
    now = now or timezone.now()
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        raise ApplicationError(
            "Give the last day you are away as a date, e.g. 2026-12-06.",
            code="invalid",
            extra={"field": "away_until"},
        )
    today = timezone.localtime(now, zone).date()
    if until < today:
        raise ApplicationError(
            f"{until:%-d %b %Y} is in the past (today is {today:%-d %b %Y}); choose today or a "
            "later day.",
            code="invalid",
            extra={"field": "away_until"},
        )
    if until > today + dt.timedelta(days=AWAY_MAX_DAYS):
        raise ApplicationError(
            f"Away mode lasts at most {AWAY_MAX_DAYS} days; choose an earlier day.",
            code="invalid",
            extra={"field": "away_until"},
        )
    note = (note or "").strip()
    if len(note) > AWAY_NOTE_MAX_LENGTH:
        raise ApplicationError(
            f"Keep the note under {AWAY_NOTE_MAX_LENGTH} characters.",
            code="invalid",
            extra={"field": "away_note"},
        )
    return away_until_instant(until, zone), note


def _require_self_or_staff(actor: User, user: User) -> None:
    if actor.pk != user.pk and not actor.is_staff:
        raise ApplicationError("You can only change your own away mode.", code="forbidden")


@transaction.atomic
def user_set_away(
    *, actor: User, user: User, until: dt.date, note: str = "", zone=None, now=None
) -> User:
    """Mark `user` away through the day `until` (on `zone`'s calendar: the viewer's, by
    default the actor's own zone), with a note for whoever takes over their work.

    Only the person themselves or staff. Refuses a past day, more than a year ahead and a
    note over 500 characters; nothing changes then. Side effects: updates the User row only
    (who may be away, and moving their reviews, is submissions' `mentor_set_away`).
    """
    _require_self_or_staff(actor, user)
    away_until, note = away_clean(until=until, note=note, zone=zone or user_zone(actor), now=now)
    user.away_until, user.away_note = away_until, note
    user.save(update_fields=["away_until", "away_note"])
    return user


@transaction.atomic
def user_end_away(*, actor: User, user: User) -> User:
    """End `user`'s away mode now (idempotent). Only the person themselves or staff.
    Side effects: clears `away_until` and `away_note`."""
    _require_self_or_staff(actor, user)
    if user.away_until is not None or user.away_note:
        user.away_until, user.away_note = None, ""
        user.save(update_fields=["away_until", "away_note"])
    return user
