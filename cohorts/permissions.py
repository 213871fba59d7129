"""Who may see or do what with cohorts: the one policy views, the API and tasks use.

Staff (``is_staff``) administer every cohort. Anyone else reaches a cohort only through an
active membership; the learner/mentor lookups share one query per request (the membership
map cached on the user object by ``selectors.active_membership_roles``).

It also holds the one rule for reading the curriculum (`LabAccess`), because who may read a
lab depends on memberships and schedules; curriculum's own pages reach it through the hook
registered in ``cohorts.apps`` (curriculum may not import cohorts).
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from .models import Cohort, Membership, ScheduleOverride
from .selectors import active_membership_roles, lab_release_at, open_pins


def _cohort_id(cohort: Cohort | int) -> int | None:
    return cohort if isinstance(cohort, int) else getattr(cohort, "pk", None)


def _is_signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _is_staff(user) -> bool:
    return _is_signed_in(user) and bool(user.is_staff)


def _role_in(user, cohort: Cohort | int) -> str | None:
    if not _is_signed_in(user):
        return None
    return active_membership_roles(user).get(_cohort_id(cohort))


def is_learner_of(user, cohort: Cohort | int) -> bool:
    """The user holds an active learner membership in the cohort."""
    return _role_in(user, cohort) == Membership.Role.LEARNER


def is_mentor_of(user, cohort: Cohort | int) -> bool:
    """The user holds an active mentor membership in the cohort."""
    return _role_in(user, cohort) == Membership.Role.MENTOR


def is_member_of(user, cohort: Cohort | int) -> bool:
    return _role_in(user, cohort) is not None


def can_view_cohort(user, cohort: Cohort | int) -> bool:
    """Staff, or an active member (learner or mentor) of the cohort."""
    return _is_staff(user) or is_member_of(user, cohort)


def can_manage_cohort(user, cohort: Cohort | int | None = None) -> bool:
    """Create, edit, enroll, override the schedule, manage join links: staff only."""
    return _is_staff(user)


def can_grant_extension(user, cohort: Cohort | int) -> bool:
    """A mentor of the cohort or staff."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def can_grant_extension_to_all(user, cohort: Cohort | int) -> bool:
    """A cohort-wide extension follows the one-learner rule: a mentor of the cohort or staff."""
    return can_grant_extension(user, cohort)


def can_shift_schedule(user, cohort: Cohort | int) -> bool:
    """Moving the rest of the schedule changes overrides: staff only, like overrides."""
    return can_manage_cohort(user, cohort)


def can_announce(user, cohort: Cohort | int) -> bool:
    """Send an announcement to the whole cohort: staff or an active mentor of the cohort."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def can_view_cohort_members(user, cohort: Cohort | int) -> bool:
    """The member list (names and emails) is for staff and the cohort's mentors."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def can_view_full_schedule(user, cohort: Cohort | int) -> bool:
    """Future labs in full (not only their titles): staff and the cohort's mentors."""
    return _is_staff(user) or is_mentor_of(user, cohort)


def cohorts_visible_to(user) -> Q:
    """A filter on ``Cohort``: staff see all; others the cohorts of their active memberships."""
    if _is_staff(user):
        return Q()
    if not _is_signed_in(user):
        return Q(pk__in=[])
    return Q(pk__in=list(active_membership_roles(user)))


# --- Reading the curriculum -------------------------------------------------------------


class LabAccess:
    """The one rule for reading a lab's text (body and deliverables), for every path: the
    lab and track pages, the API, and anything else that quotes a lab.

    - staff, and the active mentors of any cohort on the lab's track, read every lab;
    - a learner reads a lab once it is released to them: its release time in one of their
      active cohorts on that track (the cohort's schedule, overrides included) has passed;
    - anyone else signed in sees titles only; nobody signed out sees anything.

    Two queries (memberships, release overrides) on first use, whatever the number of labs.
    """

    def __init__(self, user, *, now: dt.datetime | None = None):
        self.user = user
        self.now = now or timezone.now()
        self._loaded = False
        self.is_staff = _is_staff(user)

    def _load(self) -> None:
        self._loaded = True
        self.mentor_tracks: set[int] = set()
        self.mentor_cohorts: list[Cohort] = []
        self.learner_cohorts: list[Cohort] = []
        self.overrides: dict[tuple[int, int], ScheduleOverride] = {}
        if not _is_signed_in(self.user):
            return
        memberships = Membership.objects.filter(user=self.user, active=True).select_related(
            "cohort"
        )
        for membership in memberships:
            if membership.role == Membership.Role.MENTOR:
                self.mentor_tracks.add(membership.cohort.track_id)
                self.mentor_cohorts.append(membership.cohort)
            else:
                self.learner_cohorts.append(membership.cohort)
        if self.learner_cohorts:
            for override in ScheduleOverride.objects.filter(
                cohort__in=self.learner_cohorts, release_at__isnull=False
            ):
                self.overrides[(override.cohort_id, override.lab_id)] = override

    def can_read_text(self, lab) -> bool:
        if self.is_staff:
            return True
        if not self._loaded:
            self._load()
        if lab.track_id in self.mentor_tracks:
            return True
        return any(
            lab_release_at(cohort, lab, self.overrides.get((cohort.pk, lab.pk))) <= self.now
            for cohort in self.learner_cohorts
            if cohort.track_id == lab.track_id
        )

    __call__ = can_read_text

    def revision_for(self, lab):
        """The older revision of `lab` this person reads because their cohort is kept on it
        (`CohortLabPin`), or None for the lab's current text. A learner reads their cohort's
        pinned revision; a mentor only when every cohort they mentor on the path keeps the
        same one (their review pages show each iteration's own revision). Staff read the
        latest. One more query on first use (the pins of one's cohorts), whatever the number
        of labs; the same pins `cohorts.selectors.lab_revision_for` reads.
        """
        if self.is_staff:
            return None
        if not self._loaded:
            self._load()
        if not hasattr(self, "_pins"):
            cohort_ids = [c.pk for c in (*self.learner_cohorts, *self.mentor_cohorts)]
            self._pins = (
                {
                    (pin.cohort_id, pin.lab_id): pin.revision
                    for pin in open_pins()
                    .filter(cohort_id__in=cohort_ids)
                    .select_related("revision")
                }
                if cohort_ids
                else {}
            )
        if not self._pins:
            return None
        for cohort in self.learner_cohorts:
            if cohort.track_id == lab.track_id and (cohort.pk, lab.pk) in self._pins:
                return self._pins[(cohort.pk, lab.pk)]
        mentored = [c for c in self.mentor_cohorts if c.track_id == lab.track_id]
        held = {self._pins.get((c.pk, lab.pk)) for c in mentored}
        if mentored and len(held) == 1 and None not in held:
            return held.pop()
        return None


def can_read_lab_text(user, lab) -> bool:
    """`LabAccess` for one lab (use `LabAccess` itself for many: it loads once)."""
    return LabAccess(user).can_read_text(lab)


def tracks_visible_to(user) -> Q:
    """A filter on ``Track`` for the API's track list: staff see all; others the active
    tracks of their active memberships."""
    if _is_staff(user):
        return Q()
    if not _is_signed_in(user):
        return Q(pk__in=[])
    return Q(
        active=True,
        pk__in=Membership.objects.filter(user=user, active=True).values("cohort__track_id"),
    )


def labs_visible_to(user) -> Q:
    """A filter on ``Lab`` for the API's lab list: staff see all; others the active labs of
    their tracks (what each may read of them is `LabAccess`)."""
    if _is_staff(user):
        return Q()
    if not _is_signed_in(user):
        return Q(pk__in=[])
    track_ids = Membership.objects.filter(user=user, active=True).values("cohort__track_id")
    return Q(active=True, track__active=True, track_id__in=track_ids)
