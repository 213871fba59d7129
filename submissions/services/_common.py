"""Helpers shared by the submission services: row locks, refusals, the open assignment."""

import datetime as dt

from cohorts.models import Cohort
from cohorts.selectors import lab_revision_for
from core.exceptions import ApplicationError
from curriculum.models import Lab, LabRevision

from ..models import Assignment, Submission

S = Submission.State


def _locked(submission: Submission) -> Submission:
    """The submission's row, locked until the transaction ends, with cohort and lab."""
    return (
        Submission.objects.select_for_update(of=("self",))
        .select_related("cohort", "lab", "lab__current_revision", "learner")
        .get(pk=submission.pk)
    )


def _refresh_caller(target: Submission, source: Submission) -> None:
    """Let the caller's instance reflect what the service saved."""
    if target is source:
        return
    for field in Submission._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def lab_revision_of(lab: Lab, *, cohort: Cohort | None = None) -> LabRevision | None:
    """The revision of `lab` the cohort's learners answer (a pinned cohort's older one):
    `cohorts.selectors.lab_revision_for`, the one reader of lab text for a cohort."""
    return lab_revision_for(cohort=cohort, lab=lab)


def deliverables_of(lab: Lab, *, cohort: Cohort | None = None) -> list:
    """The deliverables the cohort's learners tick (the pinned revision's for a kept
    cohort); without a cohort, the lab's current ones."""
    revision = lab_revision_of(lab, cohort=cohort)
    return list(revision.deliverables if revision is not None else lab.deliverables or [])


def _invalid(errors: dict[str, str]) -> ApplicationError:
    message = " ".join(errors.values())
    return ApplicationError(message, code="invalid", extra={"errors": errors})


def _forbidden(message: str) -> ApplicationError:
    return ApplicationError(message, code="forbidden")


def _open_assignment(submission: Submission) -> Assignment | None:
    return Assignment.objects.filter(submission=submission, ended_at__isnull=True).first()


def _end_open_assignment(submission: Submission, *, now: dt.datetime) -> Assignment | None:
    assignment = _open_assignment(submission)
    if assignment is not None:
        assignment.ended_at = now
        assignment.save(update_fields=["ended_at"])
    return assignment
