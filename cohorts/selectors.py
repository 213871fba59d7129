"""Reads of cohorts, memberships and the weekly schedule, shared by pages, the API and tasks.

Schedule rules (the one place they are computed):

- Week N of a cohort releases at ``start_date + (N - 1) * pace_days`` at 00:00 in the
  cohort's time zone.
- It is due seven calendar days after its release date, at 23:59 local time (a lab released
  on Monday 00:00 is due the next Monday at 23:59).
- A ``ScheduleOverride`` replaces the release and/or the due time of one lab for the whole
  cohort. When only the release is overridden, the default due time follows it (release
  date + 7 days at 23:59 local), so a due time never precedes its release.
- An ``Extension`` replaces the due time for one learner on one lab.

Local wall-clock times are turned into instants with ``zoneinfo``, so a week that spans a
daylight-saving change still releases at local midnight; everything returned is in UTC.
"""

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.prepared import Param, PreparedQuery
from curriculum.models import Lab, LabRevision

from .models import (
    Announcement,
    Cohort,
    CohortLabPin,
    Extension,
    JoinLink,
    Membership,
    ScheduleOverride,
)

DUE_AFTER_RELEASE_DAYS = 7
DUE_LOCAL_TIME = dt.time(23, 59)
RELEASE_LOCAL_TIME = dt.time(0, 0)


# --- Roles and memberships -------------------------------------------------------------


@dataclass(frozen=True)
class UserRoles:
    is_learner: bool
    is_mentor: bool


def active_membership_roles(user) -> dict[int, str]:
    """``{cohort_id: role}`` of the user's active memberships (one query, cached on the user).

    The cache lives on the user object, which Django builds afresh for each request, so it
    never outlives the request. Services that change a user's memberships clear it.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_cohort_membership_roles", None)
    if cached is not None:
        return cached
    roles = dict(_ACTIVE_MEMBERSHIP_ROLES.tuples(user=user.pk))
    user._cohort_membership_roles = roles
    return roles


# The navigation asks on nearly every page. Compiled once, and without the model's ordering,
# which joined the users and cohorts tables to sort rows that only fill a dict.
_ACTIVE_MEMBERSHIP_ROLES = PreparedQuery(
    lambda: (
        Membership.objects.filter(user_id=Param("user"), active=True)
        .order_by()
        .values_list("cohort_id", "role")
    )
)


def active_memberships_with_cohorts(user) -> list[Membership]:
    """The user's active memberships with their cohorts and tracks, newest cohort first.

    One query, which also answers `active_membership_roles` for the rest of the request
    (the navigation asks on every page), so a page listing the user's cohorts pays once.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    memberships = _MEMBERSHIPS_WITH_COHORTS.models(user=user.pk)
    user._cohort_membership_roles = {m.cohort_id: m.role for m in memberships}
    return memberships


# The learner's home and schedule, and the lab page, read these on each visit they draw:
# compiled once per process (the ORM took about as long to compose them as PostgreSQL to
# answer them).
_MEMBERSHIPS_WITH_COHORTS = PreparedQuery(
    lambda: (
        Membership.objects.filter(user_id=Param("user"), active=True)
        .select_related("cohort__track")
        .order_by("-cohort__start_date", "cohort__name", "pk")
    )
)


def membership_roles_stamp(user) -> list:
    """Stamp sources (core.fragments.Rows) for the user's active memberships and their
    roles: a cached page showing the navigation (which links a learner or mentor sees)
    keys on them. A digest of the (cohort, role) pairs: any join, end or role change shows."""
    from core.fragments import Rows

    return [Rows(Membership, ("cohort_id", "role"), {"user_id": user.pk, "active": True})]


def learner_schedule_stamp(*, cohort: Cohort, learner) -> list:
    """Stamp sources for a learner's view of the cohort's schedule: the track's labs (what
    the page lists and links), the cohort's date overrides, the learner's own extensions,
    the cohort's announcements and its pinned labs. With the cohort's and track's change times (every save sets them), the
    viewer's memberships and the bell, that is everything the page shows."""
    from core.fragments import Rows

    return [
        Rows(Lab, SCHEDULE_LAB_COLUMNS, {"track_id": cohort.track_id}),
        Rows(ScheduleOverride, ("id", "lab_id", "release_at", "due_at"), {"cohort_id": cohort.pk}),
        Rows(
            Extension,
            ("id", "lab_id", "due_at", "reason"),
            {"cohort_id": cohort.pk, "learner_id": learner.pk},
        ),
        # The "Latest announcements" list: titles, times and the authors' names.
        Rows(
            Announcement,
            ("id", "title", "created_at", "author_id", "author__name", "author__email"),
            {"cohort_id": cohort.pk},
        ),
        # "Kept on revision N" chips: the pins and the revision each lab has now.
        Rows(
            CohortLabPin,
            ("id", "revision_id", "ended_at", "lab__current_revision_id"),
            {"cohort_id": cohort.pk},
        ),
    ]


# `updated_at` is set by every save, `active`, `week`, `title`, `slug` and `position` are
# listed too because an import writes some of them with a queryset update.
SCHEDULE_LAB_COLUMNS = ("id", "updated_at", "active", "week", "position", "title", "slug")


def clear_role_cache(user) -> None:
    """Forget the per-request membership cache on this user object."""
    for attribute in ("_cohort_membership_roles", "_cohort_roles"):
        if hasattr(user, attribute):
            delattr(user, attribute)


def user_roles(user) -> UserRoles:
    """Which roles the user holds in any active membership (one query, cached per request)."""
    cached = getattr(user, "_cohort_roles", None)
    if cached is not None:
        return cached
    roles = set(active_membership_roles(user).values())
    result = UserRoles(
        is_learner=Membership.Role.LEARNER in roles, is_mentor=Membership.Role.MENTOR in roles
    )
    if getattr(user, "is_authenticated", False):
        user._cohort_roles = result
    return result


def active_mentor_memberships(cohort: Cohort) -> QuerySet[Membership]:
    """Active mentors of the cohort whose accounts are active, with their users."""
    return (
        Membership.objects.filter(
            cohort=cohort, role=Membership.Role.MENTOR, active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("user__email")
    )


def active_learner_memberships(cohort: Cohort) -> QuerySet[Membership]:
    """Active learners of the cohort whose accounts are active, with their users."""
    return (
        Membership.objects.filter(
            cohort=cohort, role=Membership.Role.LEARNER, active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("user__email")
    )


def cohort_members(cohort: Cohort, *, include_inactive: bool = True) -> QuerySet[Membership]:
    """Every membership of a cohort for the staff member list (active first, then by role)."""
    qs = Membership.objects.filter(cohort=cohort).select_related("user")
    if not include_inactive:
        qs = qs.filter(active=True)
    return qs.order_by("-active", "role", "user__email")


def cohort_list(*, visible: Q | None = None) -> QuerySet[Cohort]:
    """Cohorts with their track and member counts (one query), filtered by ``visible``."""
    qs = Cohort.objects.select_related("track").annotate(
        learner_count=Count(
            "memberships",
            filter=Q(memberships__active=True, memberships__role=Membership.Role.LEARNER),
        ),
        mentor_count=Count(
            "memberships",
            filter=Q(memberships__active=True, memberships__role=Membership.Role.MENTOR),
        ),
    )
    if visible is not None:
        qs = qs.filter(visible)
    return qs.order_by("-start_date", "name")


def memberships_of_user(user) -> QuerySet[Membership]:
    """The user's active memberships with cohort and track, newest cohort first."""
    return (
        Membership.objects.filter(user=user, active=True)
        .select_related("cohort", "cohort__track")
        .order_by("-cohort__start_date", "cohort__name")
    )


def cohort_join_links(cohort: Cohort) -> QuerySet[JoinLink]:
    return JoinLink.objects.filter(cohort=cohort).select_related("created_by")


def join_link_by_token(token: str) -> JoinLink | None:
    if not token:
        return None
    return JoinLink.objects.select_related("cohort", "cohort__track").filter(token=token).first()


# --- Schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleEntry:
    """One lab's dates for a cohort (and, when asked for a learner, their extension).

    All datetimes are aware and in UTC. ``effective_due_at`` is the extension's due time
    when there is one, else ``due_at``.
    """

    lab: Lab
    week: int
    release_at: dt.datetime
    due_at: dt.datetime
    extension_due_at: dt.datetime | None
    effective_due_at: dt.datetime
    is_released: bool
    release_overridden: bool = False
    due_overridden: bool = False
    extension: Extension | None = None


def cohort_zone(cohort: Cohort) -> ZoneInfo:
    try:
        return ZoneInfo(cohort.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        # Services validate the zone; a bad value from a raw edit must not break pages.
        return ZoneInfo("UTC")


def _local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    # fold=0 picks the first of two repeated wall times; a non-existent wall time (spring
    # gap) is resolved by zoneinfo to the offset before the gap, as the standard library does.
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def default_release_at(cohort: Cohort, week: int) -> dt.datetime:
    day = cohort.start_date + dt.timedelta(days=(max(week, 1) - 1) * cohort.pace_days)
    return _local_instant(day, RELEASE_LOCAL_TIME, cohort_zone(cohort))


@dataclass(frozen=True)
class CohortTiming:
    """Where a cohort stands in time: the one answer to "has it started?" and "which week
    is it?", so every page agrees (a draft or future cohort never reads "started")."""

    starts_at: dt.datetime  # week 1's default release: start_date 00:00 in the cohort's zone
    started: bool  # active or finished, and past starts_at
    week: int | None  # the current week (1-based) once started

    @property
    def upcoming(self) -> bool:
        return not self.started


def cohort_timing(cohort: Cohort, now: dt.datetime | None = None) -> CohortTiming:
    now = now or timezone.now()
    starts_at = default_release_at(cohort, 1)
    started = cohort.status != Cohort.Status.DRAFT and starts_at <= now
    week = (now - starts_at).days // max(cohort.pace_days, 1) + 1 if started else None
    return CohortTiming(starts_at=starts_at, started=started, week=week)


def lab_release_at(
    cohort: Cohort, lab: Lab, override: ScheduleOverride | None = None
) -> dt.datetime:
    """When `lab` releases in `cohort`: the override's release time, else the default."""
    if override is not None and override.release_at:
        return override.release_at.astimezone(dt.UTC)
    return default_release_at(cohort, lab.week)


def default_due_after(cohort: Cohort, release_at: dt.datetime) -> dt.datetime:
    """Release date (local) + 7 days at 23:59 local."""
    zone = cohort_zone(cohort)
    release_day = release_at.astimezone(zone).date()
    return _local_instant(
        release_day + dt.timedelta(days=DUE_AFTER_RELEASE_DAYS), DUE_LOCAL_TIME, zone
    )


def _entry(
    *,
    cohort: Cohort,
    lab: Lab,
    override: ScheduleOverride | None,
    extension: Extension | None,
    now: dt.datetime,
) -> ScheduleEntry:
    release_at = lab_release_at(cohort, lab, override)
    release_overridden = bool(override and override.release_at)
    due_overridden = bool(override and override.due_at)
    if due_overridden:
        due_at = override.due_at.astimezone(dt.UTC)
    else:
        due_at = default_due_after(cohort, release_at)
    extension_due_at = extension.due_at.astimezone(dt.UTC) if extension else None
    return ScheduleEntry(
        lab=lab,
        week=lab.week,
        release_at=release_at,
        due_at=due_at,
        extension_due_at=extension_due_at,
        effective_due_at=extension_due_at or due_at,
        is_released=release_at <= now,
        release_overridden=release_overridden,
        due_overridden=due_overridden,
        extension=extension,
    )


def cohort_labs(cohort: Cohort) -> QuerySet[Lab]:
    """Active labs of the cohort's track, ordered by week."""
    return Lab.objects.filter(track_id=cohort.track_id, active=True).order_by("week", "position")


# `cohort_schedule`'s three reads (every learner page draws them), compiled once per process.
_TRACK_LABS = PreparedQuery(
    lambda: Lab.objects.filter(track_id=Param("track"), active=True).order_by("week", "position")
)
_COHORT_OVERRIDES = PreparedQuery(
    lambda: ScheduleOverride.objects.filter(cohort_id=Param("cohort"))
)
_LEARNER_EXTENSIONS = PreparedQuery(
    lambda: Extension.objects.filter(
        cohort_id=Param("cohort"), learner_id=Param("learner")
    ).select_related("granted_by")
)


def cohort_schedule(
    *, cohort: Cohort, learner=None, now: dt.datetime | None = None
) -> list[ScheduleEntry]:
    """One entry per active lab of the cohort's track, ordered by week.

    Queries: labs, overrides, and (with a learner) extensions: three at most, whatever the
    number of labs.
    """
    now = now or timezone.now()
    labs = _TRACK_LABS.models(track=cohort.track_id)
    if not labs:
        return []
    overrides = {o.lab_id: o for o in _COHORT_OVERRIDES.models(cohort=cohort.pk)}
    extensions: dict[int, Extension] = {}
    if learner is not None and getattr(learner, "pk", None):
        extensions = {
            e.lab_id: e for e in _LEARNER_EXTENSIONS.models(cohort=cohort.pk, learner=learner.pk)
        }
    return [
        _entry(
            cohort=cohort,
            lab=lab,
            override=overrides.get(lab.pk),
            extension=extensions.get(lab.pk),
            now=now,
        )
        for lab in labs
    ]


def cohort_schedules(
    *, cohorts: list[Cohort], now: dt.datetime | None = None
) -> dict[int, list[ScheduleEntry]]:
    """`cohort_schedule` (without a learner) of many cohorts at once: ``{cohort_id:
    entries}``. Two queries (labs, overrides) whatever the number of cohorts."""
    now = now or timezone.now()
    if not cohorts:
        return {}
    by_track: dict[int, list[Lab]] = {}
    for lab in Lab.objects.filter(track_id__in={c.track_id for c in cohorts}, active=True).order_by(
        "week", "position"
    ):
        by_track.setdefault(lab.track_id, []).append(lab)
    overrides = {
        (o.cohort_id, o.lab_id): o
        for o in ScheduleOverride.objects.filter(cohort_id__in=[c.pk for c in cohorts])
    }
    return {
        cohort.pk: [
            _entry(
                cohort=cohort,
                lab=lab,
                override=overrides.get((cohort.pk, lab.pk)),
                extension=None,
                now=now,
            )
            for lab in by_track.get(cohort.track_id, [])
        ]
        for cohort in cohorts
    }


def schedule_entry(
    *, cohort: Cohort, lab: Lab, learner=None, now: dt.datetime | None = None
) -> ScheduleEntry:
    """The dates of one lab for a cohort (and a learner's extension). Two queries at most.

    The lab may be archived (inactive): its week still places it in the schedule, so work
    already submitted against it keeps its due time.
    """
    if lab.track_id != cohort.track_id:
        raise ValueError(f"Lab {lab.pk} is not part of cohort {cohort.pk}'s track.")
    override = ScheduleOverride.objects.filter(cohort=cohort, lab=lab).first()
    extension = None
    if learner is not None and getattr(learner, "pk", None):
        extension = (
            Extension.objects.filter(cohort=cohort, lab=lab, learner=learner)
            .select_related("granted_by")
            .first()
        )
    return _entry(
        cohort=cohort,
        lab=lab,
        override=override,
        extension=extension,
        now=now or timezone.now(),
    )


# Hot paths (a hand-in, a draft) read a lab's dates, the learner's extension, their
# membership and the cohort's pin inside the statement that locks or reads the submission:
# these annotations give them, `schedule_entry_from` and `lab_revision_from` turn them into
# the same answers as `schedule_entry` and `lab_revision_for` (no further query, except
# the pinned revision's row when a cohort is kept on an older revision).


def schedule_context_annotations(**refs) -> dict:
    """Annotations for a queryset whose rows name a cohort, a lab and a learner (by field
    paths, default ``cohort_id``, ``lab_id``, ``learner_id``, or as ids): the override's
    times, the learner's extension, whether the learner is an active learner of the
    cohort, and the pinned revision's id. The field-path form is built once (annotate
    copies the expressions it is given)."""
    if all(isinstance(value, str) for value in refs.values()):
        return _schedule_context_by_field(**refs)
    return _schedule_context(**refs)


@functools.cache
def _schedule_context_by_field(**refs) -> dict:
    return _schedule_context(**refs)


def _schedule_context(
    *, cohort: str | int = "cohort_id", lab: str | int = "lab_id", learner: str | int = "learner_id"
) -> dict:
    """Annotations for a queryset whose rows name a cohort, a lab and a learner (by the
    given field paths, or as ids): the override's times, the learner's extension, whether
    the learner is an active learner of the cohort, and the pinned revision's id."""
    cohort, lab, learner = (
        OuterRef(v) if isinstance(v, str) else v for v in (cohort, lab, learner)
    )
    override = ScheduleOverride.objects.filter(cohort_id=cohort, lab_id=lab)
    extension = Extension.objects.filter(cohort_id=cohort, lab_id=lab, learner_id=learner)
    return {
        "ctx_override_release_at": Subquery(override.values("release_at")[:1]),
        "ctx_override_due_at": Subquery(override.values("due_at")[:1]),
        "ctx_extension_due_at": Subquery(extension.values("due_at")[:1]),
        "ctx_learner_active": Exists(
            Membership.objects.filter(
                user_id=learner,
                cohort_id=cohort,
                role=Membership.Role.LEARNER,
                active=True,
            )
        ),
        "ctx_pinned_revision_id": Subquery(
            open_pins().filter(cohort_id=cohort, lab_id=lab).values("revision_id")[:1]
        ),
    }


SCHEDULE_CONTEXT_FIELDS = (
    "ctx_override_release_at",
    "ctx_override_due_at",
    "ctx_extension_due_at",
    "ctx_learner_active",
    "ctx_pinned_revision_id",
)


def has_schedule_context(row) -> bool:
    return hasattr(row, "ctx_learner_active")


def schedule_entry_from(
    row, *, cohort: Cohort, lab: Lab, learner=None, now: dt.datetime | None = None
) -> ScheduleEntry:
    """`schedule_entry` from a row carrying `schedule_context_annotations` (same dates).
    The entry's `extension` is an unsaved copy with cohort, lab, learner and due time only
    (the hot paths read its due time)."""
    # An override's times and an extension's due time are what the schedule reads (an
    # override with neither time changes nothing; an extension always has one).
    override = None
    if row.ctx_override_release_at is not None or row.ctx_override_due_at is not None:
        override = ScheduleOverride(
            cohort=cohort,
            lab=lab,
            release_at=row.ctx_override_release_at,
            due_at=row.ctx_override_due_at,
        )
    extension = None
    if learner is not None and row.ctx_extension_due_at is not None:
        extension = Extension(
            cohort=cohort,
            lab=lab,
            learner=learner,
            due_at=row.ctx_extension_due_at,
        )
    return _entry(
        cohort=cohort, lab=lab, override=override, extension=extension, now=now or timezone.now()
    )


def lab_revision_from(row, *, cohort: Cohort, lab: Lab) -> LabRevision | None:
    """`lab_revision_for` from a row carrying `schedule_context_annotations`: one query only
    when the cohort is pinned to a revision other than the lab's current one."""
    pinned_id = row.ctx_pinned_revision_id
    if cohort_has_ended(cohort) or pinned_id is None:
        return lab.current_revision
    if pinned_id == lab.current_revision_id:
        return lab.current_revision
    return LabRevision.objects.get(pk=pinned_id)


def cohort_extensions(cohort: Cohort) -> QuerySet[Extension]:
    """Every extension in the cohort, with lab, learner and who granted it."""
    return (
        Extension.objects.filter(cohort=cohort)
        .select_related("lab", "learner", "granted_by")
        .order_by("lab__week", "learner__email")
    )


def cohort_announcements(cohort: Cohort) -> QuerySet:
    """The cohort's announcements, newest first, with their authors (one query a page)."""
    return Announcement.objects.filter(cohort=cohort).select_related("author")


LATEST_ANNOUNCEMENTS = 3

# The schedule's "Latest announcements", compiled once per process.
_LATEST_ANNOUNCEMENTS = PreparedQuery(
    lambda: Announcement.objects.filter(cohort_id=Param("cohort")).select_related("author")[
        :LATEST_ANNOUNCEMENTS
    ]
)


def latest_announcements(cohort: Cohort) -> list[Announcement]:
    """The cohort's newest announcements (`LATEST_ANNOUNCEMENTS`) with their authors."""
    return _LATEST_ANNOUNCEMENTS.models(cohort=cohort.pk)


def cohort_schedule_shifts(cohort: Cohort) -> QuerySet:
    """The record of the cohort's schedule shifts, newest first, with who made them."""
    from .models import ScheduleShift

    return ScheduleShift.objects.filter(cohort=cohort).select_related("shifted_by")


# --- Pinned lab revisions --------------------------------------------------------------


def cohort_has_ended(cohort: Cohort) -> bool:
    """A cohort ends when staff mark it finished; its pins stop counting then."""
    return cohort.status == Cohort.Status.FINISHED


def open_pins() -> QuerySet[CohortLabPin]:
    """Pins in force: not ended, in a cohort that has not ended."""
    return CohortLabPin.objects.filter(ended_at__isnull=True).exclude(
        cohort__status=Cohort.Status.FINISHED
    )


def pinned_revisions(*, cohort_ids, lab_ids) -> dict[tuple[int, int], LabRevision]:
    """`{(cohort_id, lab_id): revision}` for the pins in force among these; one query."""
    cohort_ids, lab_ids = list(cohort_ids), list(lab_ids)
    if not cohort_ids or not lab_ids:
        return {}
    pins = (
        open_pins().filter(cohort_id__in=cohort_ids, lab_id__in=lab_ids).select_related("revision")
    )
    return {(pin.cohort_id, pin.lab_id): pin.revision for pin in pins}


def lab_revision_for(*, cohort: Cohort | None, lab: Lab) -> LabRevision | None:
    """THE revision of `lab` whose text, steps and deliverables the cohort's learners (and
    its mentors reviewing) read: the pinned one while the cohort is kept on it, else the
    lab's current revision. Every reader of lab text for a cohort goes through here (or
    through `lab_revisions_for` for many labs). One query at most (none without pins when
    `cohort` is None or has ended).
    """
    if cohort is None or cohort_has_ended(cohort):
        return lab.current_revision
    pinned = pinned_revisions(cohort_ids=[cohort.pk], lab_ids=[lab.pk])
    return pinned.get((cohort.pk, lab.pk)) or lab.current_revision


def lab_revisions_for(*, cohort: Cohort, labs) -> dict[int, LabRevision | None]:
    """`lab_revision_for` for many labs of one cohort: `{lab_id: revision}`, one query."""
    labs = list(labs)
    if cohort_has_ended(cohort):
        return {lab.pk: lab.current_revision for lab in labs}
    pinned = pinned_revisions(cohort_ids=[cohort.pk], lab_ids=[lab.pk for lab in labs])
    return {lab.pk: pinned.get((cohort.pk, lab.pk)) or lab.current_revision for lab in labs}


@dataclass(frozen=True)
class PinRow:
    pin: CohortLabPin
    lab: Lab
    held: int  # the pinned revision's number
    latest: int | None  # the lab's current revision number

    @property
    def behind(self) -> bool:
        return self.latest is not None and self.latest != self.held


# Read by every schedule drawn (five joins: composing it cost more than running it).
_PINS_IN_FORCE = PreparedQuery(
    lambda: (
        CohortLabPin.objects.filter(cohort_id=Param("cohort"), ended_at__isnull=True)
        .select_related("lab", "lab__current_revision", "revision", "source_import", "created_by")
        .order_by("lab__week", "lab__position", "lab_id")
    )
)


def cohort_pins(cohort: Cohort) -> list[PinRow]:
    """The cohort's pins in force, by week, with the latest revision beside each; one query."""
    if cohort_has_ended(cohort):
        return []
    pins = _PINS_IN_FORCE.models(cohort=cohort.pk)
    return [
        PinRow(
            pin=pin,
            lab=pin.lab,
            held=pin.revision.number,
            latest=pin.lab.current_revision.number if pin.lab.current_revision else None,
        )
        for pin in pins
    ]


def cohorts_running(lab_track_ids) -> QuerySet[Cohort]:
    """Cohorts that run these tracks and have not ended (draft and active)."""
    return (
        Cohort.objects.filter(track_id__in=list(lab_track_ids))
        .exclude(status=Cohort.Status.FINISHED)
        .order_by("start_date", "name", "pk")
    )


def impact_cohorts(labs: list[dict]) -> dict[int, dict]:
    """The curriculum impact provider (registered in `cohorts.apps`): per changed lab, the
    cohorts running it (`{"id", "name", "slug", "status", "url", "pinned", "pinned_revision"}`),
    pinned meaning the cohort is already kept on an older revision of that lab. Two queries,
    whatever the number of labs."""
    from django.urls import reverse

    track_ids = {lab["track_id"] for lab in labs}
    cohorts = list(cohorts_running(track_ids))
    pins = pinned_revisions(
        cohort_ids=[cohort.pk for cohort in cohorts], lab_ids=[lab["lab_id"] for lab in labs]
    )
    out: dict[int, dict] = {}
    for lab in labs:
        rows = []
        for cohort in cohorts:
            if cohort.track_id != lab["track_id"]:
                continue
            pinned = pins.get((cohort.pk, lab["lab_id"]))
            rows.append(
                {
                    "id": cohort.pk,
                    "name": cohort.name,
                    "slug": cohort.slug,
                    "status": cohort.status,
                    "url": reverse("cohorts:schedule", kwargs={"slug": cohort.slug}),
                    "pinned": pinned is not None,
                    "pinned_revision": pinned.number if pinned else None,
                }
            )
        out[lab["lab_id"]] = {"cohorts": rows}
    return out
