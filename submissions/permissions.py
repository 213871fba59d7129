"""Who may see, edit and review submissions: the one policy pages, the API and tasks use.

A learner's work is visible to that learner, the active mentors of its cohort, and staff.
Checks read memberships from the database rather than a per-request cache, so that a
service deciding under a row lock sees a membership that was just ended.
"""

from django.db.models import Q

from cohorts.models import Membership
from cohorts.selectors import active_membership_roles

from ._cohorts import has_active_membership
from .models import Submission


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _staff(user) -> bool:
    return _signed_in(user) and bool(user.is_staff)


def submissions_visible_to(user) -> Q:
    """A filter on ``Submission``: own work, the cohorts one actively mentors; staff all."""
    if _staff(user):
        return Q()
    if not _signed_in(user):
        return Q(pk__in=[])
    # A literal list (from the per-request membership map the navigation already loaded)
    # rather than a subquery: "learner OR cohort IN (subquery)" makes PostgreSQL scan the
    # whole table, while "learner OR cohort = ANY(list)" is a BitmapOr of two indexes.
    mentored = [
        cohort_id
        for cohort_id, role in active_membership_roles(user).items()
        if role == Membership.Role.MENTOR
    ]
    if not mentored:
        return Q(learner=user)
    return Q(learner=user) | Q(cohort_id__in=sorted(mentored))


def submission_visible_to_filter(user) -> Q:
    """``submissions_visible_to`` with the mentored cohorts as a subquery rather than a list:
    for a lookup by id (an index probe, then this filter on one row), so the request need
    not read the user's memberships first. Not for scans (see ``submissions_visible_to``)."""
    if _staff(user):
        return Q()
    if not _signed_in(user):
        return Q(pk__in=[])
    return own_or_mentored_submissions(user.pk)


def own_or_mentored_submissions(user_id) -> Q:
    """What a signed-in user who is not staff may see, for a lookup by id: their own work
    and the work of the cohorts they actively mentor. ``user_id`` may be a
    ``core.prepared.Param`` (the hand-in's lock statement, compiled once)."""
    mentored = Membership.objects.filter(
        user_id=user_id, role=Membership.Role.MENTOR, active=True
    ).values("cohort_id")
    return Q(learner_id=user_id) | Q(cohort_id__in=mentored)


def is_cohort_mentor(user, cohort) -> bool:
    return has_active_membership(user, cohort, Membership.Role.MENTOR)


def is_cohort_learner(user, cohort) -> bool:
    return has_active_membership(user, cohort, Membership.Role.LEARNER)


def can_edit_submission(user, submission: Submission) -> bool:
    """The learner themself, while their learner membership in the cohort is active.

    A row locked with its schedule context (``services._common.lock_query``) carries the
    learner's membership as read by the locking statement itself, so it is not read again.
    """
    if not (_signed_in(user) and submission.learner_id == user.pk):
        return False
    active = getattr(submission, "ctx_learner_active", None)
    if active is not None:
        return bool(active)
    return is_cohort_learner(user, submission.cohort_id)


def can_review_submission(user, submission: Submission) -> bool:
    """An active mentor of the submission's cohort, or staff. Never one's own work."""
    if not _signed_in(user) or submission.learner_id == user.pk:
        return False
    return user.is_staff or is_cohort_mentor(user, submission.cohort_id)


def can_comment_submission(user, submission: Submission) -> bool:
    """The learner (active in the cohort) and the cohort's mentors or staff."""
    return can_edit_submission(user, submission) or can_review_submission(user, submission)


def can_reassign_submission(user, submission: Submission) -> bool:
    return _staff(user)


def can_acknowledge_review(user, review) -> bool:
    """The learner whose work was reviewed, while a learner of the cohort."""
    return can_edit_submission(user, review.submission)


# --- saved replies ------------------------------------------------------------------------


def _mentored_cohort_ids(user) -> list[int]:
    return sorted(
        cohort_id
        for cohort_id, role in active_membership_roles(user).items()
        if role == Membership.Role.MENTOR
    )


def can_use_saved_replies(user) -> bool:
    """Staff and active mentors of any cohort keep and use saved replies; nobody else."""
    return _staff(user) or (_signed_in(user) and bool(_mentored_cohort_ids(user)))


def saved_replies_visible_to(user) -> Q:
    """A filter on ``SavedReply``: the replies shared with a cohort one actively mentors and
    the ones staff shared with every cohort; staff see all. Learners and others: none."""
    if _staff(user):
        return Q()
    if not _signed_in(user):
        return Q(pk__in=[])
    mentored = _mentored_cohort_ids(user)
    if not mentored:
        return Q(pk__in=[])
    return Q(cohort_id__in=mentored) | Q(cohort__isnull=True, shared_with_all=True)


def can_edit_saved_reply(user, reply) -> bool:
    """Staff edit and delete any reply; a mentor their own, while they still mentor its
    cohort (a staff-wide reply is staff's alone)."""
    if _staff(user):
        return True
    return (
        _signed_in(user)
        and reply.author_id == user.pk
        and reply.cohort_id is not None
        and is_cohort_mentor(user, reply.cohort_id)
    )


def saved_reply_fits(reply, submission: Submission) -> bool:
    """The reply is for the submission's lab, and shared with its cohort or with all."""
    return reply.lab_id == submission.lab_id and (
        reply.cohort_id == submission.cohort_id or reply.shared_with_all
    )


def saved_reply_editor(user):
    """``can_edit_saved_reply`` for lists: one membership read per request (the cached
    roles) instead of one per row. Services check again with ``can_edit_saved_reply``."""
    if _staff(user):
        return lambda reply: True
    if not _signed_in(user):
        return lambda reply: False
    mentored = set(_mentored_cohort_ids(user))
    return lambda reply: reply.author_id == user.pk and reply.cohort_id in mentored


def mentors_anywhere(user) -> bool:
    """An active mentor of at least one cohort (read from the database, not a cache)."""
    return _signed_in(user) and (
        Membership.objects.filter(user=user, role=Membership.Role.MENTOR, active=True).exists()
    )


def can_set_away(actor, user) -> bool:
    """Away mode: a mentor for themself, staff for any mentor. Learners (who mentor no
    cohort) have no away mode, and a mentor never sets another mentor away."""
    if not _signed_in(actor) or not mentors_anywhere(user):
        return False
    return actor.pk == user.pk or bool(actor.is_staff)
