"""Which labs a caller may read through the API, and whose content they may see.

Staff read every track and lab. Anyone else reads the active labs of tracks they study or
mentor in (through an active cohort membership). A lab's body and deliverables are shown to
the cohort's mentors at once and to learners once the lab is released in one of their
cohorts, as the cohort pages do (see cohorts.permissions.can_view_full_schedule).
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from cohorts.models import Cohort, Membership, ScheduleOverride
from cohorts.selectors import default_release_at


def tracks_visible_to(user) -> Q:
    if user.is_staff:
        return Q()
    return Q(active=True, cohorts__memberships__user=user, cohorts__memberships__active=True)


def labs_visible_to(user) -> Q:
    if user.is_staff:
        return Q()
    track_ids = Membership.objects.filter(user=user, active=True).values("cohort__track_id")
    return Q(active=True, track__active=True, track_id__in=track_ids)


class ContentPolicy:
    """Decides per lab whether its content is released to the user (two queries in all)."""

    def __init__(self, user, *, now: dt.datetime | None = None):
        self.user = user
        self.now = now or timezone.now()
        self._loaded = False

    def _load(self) -> None:
        memberships = list(
            Membership.objects.filter(user=self.user, active=True).select_related("cohort")
        )
        self.mentor_tracks = {m.cohort.track_id for m in memberships if m.role == "mentor"}
        self.learner_cohorts: list[Cohort] = [m.cohort for m in memberships if m.role == "learner"]
        self.release_overrides: dict[tuple[int, int], dt.datetime] = {}
        if self.learner_cohorts:
            for cohort_id, lab_id, release_at in ScheduleOverride.objects.filter(
                cohort__in=self.learner_cohorts, release_at__isnull=False
            ).values_list("cohort_id", "lab_id", "release_at"):
                self.release_overrides[(cohort_id, lab_id)] = release_at
        self._loaded = True

    def __call__(self, lab) -> bool:
        if self.user.is_staff:
            return True
        if not self._loaded:
            self._load()
        if lab.track_id in self.mentor_tracks:
            return True
        for cohort in self.learner_cohorts:
            if cohort.track_id != lab.track_id:
                continue
            release_at = self.release_overrides.get((cohort.pk, lab.pk)) or default_release_at(
                cohort, lab.week
            )
            if release_at <= self.now:
                return True
        return False
