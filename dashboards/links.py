"""URLs of pages other apps own, in one place (their names are the contract; see architecture.md).

A missing page must not break a dashboard: the link is left out instead.
"""

from django.urls import NoReverseMatch, reverse


def _first(name: str, attempts: list[dict]) -> str:
    for kwargs in attempts:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return ""


def lab_url(*, cohort, lab) -> str:
    """The learner's lab page (`submissions:lab`)."""
    cohort_id = getattr(cohort, "pk", cohort)
    lab_id = getattr(lab, "pk", lab)
    return _first(
        "submissions:lab",
        [
            {"cohort_id": cohort_id, "lab_id": lab_id},
            {"cohort_pk": cohort_id, "lab_pk": lab_id},
            {"cohort": cohort_id, "lab": lab_id},
        ],
    )


def review_url(submission_id: int) -> str:
    """The mentor's review page of a submission (`submissions:review`)."""
    return _first(
        "submissions:review",
        [{"submission_id": submission_id}, {"pk": submission_id}, {"submission_pk": submission_id}],
    )


def queue_url() -> str:
    return _first("submissions:queue", [{}])
