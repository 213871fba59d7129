"""The work a curriculum update lands on: the curriculum impact provider for submissions,
and its apply hook (both registered in `submissions.apps`; `curriculum.impact` defines the
hooks).

The apply hook (`saved_replies_for_import`) keeps saved replies on their deliverable when
an update removes or reorders a lab's deliverables (by text; the whole lab when it is
gone), in the import's transaction.

Per changed lab: the learners with a draft or open work on it (counts, and the most recently
active ones by name with a link), and the reviews claimed (in review, by whom). Only work
in cohorts that have not ended, by learners who are still active learners there. Three
queries, whatever the number of labs (the lists are cut per lab by a window function).
"""

from __future__ import annotations

from django.db.models import Count, Exists, F, OuterRef, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from cohorts.models import Cohort, Membership
from curriculum.impact import IMPACT_LIST_LIMIT

from .models import Submission

S = Submission.State
OPEN = (S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED)


def _work(lab_ids):
    still_learning = Membership.objects.filter(
        cohort_id=OuterRef("cohort_id"),
        user_id=OuterRef("learner_id"),
        role=Membership.Role.LEARNER,
        active=True,
    )
    return (
        Submission.objects.filter(lab_id__in=lab_ids, state__in=(S.DRAFT, *OPEN))
        .exclude(cohort__status=Cohort.Status.FINISHED)
        .filter(Exists(still_learning))
    )


def _listed(queryset):
    """The first IMPACT_LIST_LIMIT rows per lab, most recently active first."""
    return (
        queryset.annotate(
            row=Window(
                RowNumber(),
                partition_by=[F("lab_id")],
                order_by=[F("last_activity_at").desc(), F("pk").desc()],
            )
        )
        .filter(row__lte=IMPACT_LIST_LIMIT)
        .select_related("learner", "cohort", "assigned_to")
        .order_by("lab_id", "row")
    )


def impact_work(labs: list[dict]) -> dict[int, dict]:
    lab_ids = [lab["lab_id"] for lab in labs]
    out = {
        lab_id: {
            "learners": {"drafts": 0, "open": 0, "listed": [], "more": 0},
            "reviews": {"claimed": 0, "listed": [], "more": 0},
        }
        for lab_id in lab_ids
    }
    if not lab_ids:
        return out
    work = _work(lab_ids)
    counts = work.values("lab_id", "state").annotate(n=Count("pk")).order_by()
    for row in counts:
        entry = out[row["lab_id"]]
        if row["state"] == S.DRAFT:
            entry["learners"]["drafts"] += row["n"]
        else:
            entry["learners"]["open"] += row["n"]
        if row["state"] == S.IN_REVIEW:
            entry["reviews"]["claimed"] += row["n"]
    for submission in _listed(work):
        out[submission.lab_id]["learners"]["listed"].append(
            {
                "submission_id": submission.pk,
                "name": submission.learner.display_name,
                "cohort": submission.cohort.name,
                "state": submission.state,
                "state_label": submission.get_state_display(),
                "url": reverse("submissions:review", kwargs={"pk": submission.pk}),
            }
        )
    for submission in _listed(work.filter(state=S.IN_REVIEW)):
        out[submission.lab_id]["reviews"]["listed"].append(
            {
                "submission_id": submission.pk,
                "learner": submission.learner.display_name,
                "cohort": submission.cohort.name,
                "mentor": submission.assigned_to.display_name if submission.assigned_to else None,
                "claimed_at": submission.claimed_at.isoformat() if submission.claimed_at else None,
                "url": reverse("submissions:review", kwargs={"pk": submission.pk}),
            }
        )
    for entry in out.values():
        learners, reviews = entry["learners"], entry["reviews"]
        learners["more"] = learners["drafts"] + learners["open"] - len(learners["listed"])
        reviews["more"] = reviews["claimed"] - len(reviews["listed"])
    return out


def saved_replies_for_import(
    *, actor, curriculum_import, previous_revisions: dict[int, int | None], keep_cohorts
) -> None:
    """The curriculum apply hook: remap the saved replies of the changed labs to their
    deliverables' new places (`saved_replies.saved_replies_remap_deliverables`)."""
    from .saved_replies import saved_replies_remap_deliverables

    saved_replies_remap_deliverables(previous_revisions=previous_revisions)
