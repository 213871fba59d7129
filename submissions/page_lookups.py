"""The lookups the learner's lab page and the mentor's review page make before their cache,
each in one statement compiled once per process.

These run on every visit, cached or not, and decide 404 and the locked page: composed by
the ORM they were six (lab page) and three (review page) queries, about half of a cached
visit's CPU. The answers are the ones the separate lookups gave (the same rows, model
instances loaded through the ORM's converters and `from_db`).
"""

from __future__ import annotations

import dataclasses
import functools

from django.db import connection
from django.db.models import Exists, OuterRef

from cohorts.models import Cohort, Extension, Membership, ScheduleOverride
from cohorts.selectors import ScheduleEntry, schedule_entry_from
from core.prepared import Param, PreparedQuery
from curriculum.models import Lab, LabRevision, Track

from .models import Submission


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


# --- the learner's lab page ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LabPageRows:
    """What `_learner_lab` needs: None where the page is a 404."""

    cohort: Cohort
    lab: Lab
    entry: ScheduleEntry
    submission: Submission | None


@dataclasses.dataclass(frozen=True)
class _OverrideAndExtension:
    """The shape `schedule_entry_from` reads (the schedule context annotations)."""

    ctx_override_release_at: object
    ctx_override_due_at: object
    ctx_extension_due_at: object


# Each table of the statement: its model and alias, in SELECT order. The lab and what hangs
# from it are LEFT JOINs, so a missing lab (404) still answers with the cohort.
_LAB_PAGE_TABLES = (
    (Cohort, "c"),
    (Track, "t"),
    (Lab, "l"),
    (LabRevision, "r"),
    (Submission, "s"),
)


@functools.cache
def _lab_page_sql(vendor: str) -> str:
    quote = connection.ops.quote_name

    def table(model) -> str:
        return quote(model._meta.db_table)

    def col(alias: str, model, name: str) -> str:
        return f"{alias}.{quote(model._meta.get_field(name).column)}"

    columns = ", ".join(
        f"{alias}.{quote(field.column)}"
        for model, alias in _LAB_PAGE_TABLES
        for field in model._meta.concrete_fields
    )
    # Identifiers only, quoted, from the models' metadata; every value is a parameter.
    return (
        f"SELECT {columns}, "  # noqa: S608
        f"EXISTS(SELECT 1 FROM {table(Membership)} m "
        f"WHERE {col('m', Membership, 'user')} = %(user)s "
        f"AND {col('m', Membership, 'cohort')} = {col('c', Cohort, 'id')} "
        f"AND {col('m', Membership, 'role')} = %(learner_role)s "
        f"AND {col('m', Membership, 'active')} = %(true)s), "
        f"{col('o', ScheduleOverride, 'release_at')}, {col('o', ScheduleOverride, 'due_at')}, "
        f"{col('e', Extension, 'due_at')} "
        f"FROM {table(Cohort)} c "
        f"INNER JOIN {table(Track)} t ON {col('t', Track, 'id')} = {col('c', Cohort, 'track')} "
        f"LEFT JOIN {table(Lab)} l ON {col('l', Lab, 'id')} = %(lab)s "
        f"AND {col('l', Lab, 'track')} = {col('c', Cohort, 'track')} "
        f"LEFT JOIN {table(LabRevision)} r "
        f"ON {col('r', LabRevision, 'id')} = {col('l', Lab, 'current_revision')} "
        # Unique per (cohort, lab), (cohort, lab, learner) and (learner, cohort, lab): at
        # most one row each, so the statement answers one row or none.
        f"LEFT JOIN {table(ScheduleOverride)} o "
        f"ON {col('o', ScheduleOverride, 'cohort')} = {col('c', Cohort, 'id')} "
        f"AND {col('o', ScheduleOverride, 'lab')} = {col('l', Lab, 'id')} "
        f"LEFT JOIN {table(Extension)} e ON {col('e', Extension, 'cohort')} = {col('c', Cohort, 'id')} "
        f"AND {col('e', Extension, 'lab')} = {col('l', Lab, 'id')} "
        f"AND {col('e', Extension, 'learner')} = %(user)s "
        f"LEFT JOIN {table(Submission)} s "
        f"ON {col('s', Submission, 'cohort')} = {col('c', Cohort, 'id')} "
        f"AND {col('s', Submission, 'lab')} = {col('l', Lab, 'id')} "
        f"AND {col('s', Submission, 'learner')} = %(user)s "
        f"WHERE {col('c', Cohort, 'id')} = %(cohort)s"
    )


@functools.cache
def _converters(model, alias: str, vendor: str) -> tuple:
    """Per concrete column of `model`: the converters the ORM applies to a value read from
    the database (as `SQLCompiler.get_converters`), with the column expression they take."""
    result = []
    for field in model._meta.concrete_fields:
        expression = field.get_col(alias)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        result.append((tuple(converters), expression))
    return tuple(result)


def _load(model, alias: str, values) -> object | None:
    """A model instance from its columns as read, or None for a LEFT JOIN's missing row."""
    if values[0] is None:  # the primary key
        return None
    converted = []
    for value, (converters, expression) in zip(
        values, _converters(model, alias, connection.vendor), strict=True
    ):
        for converter in converters:
            value = converter(value, expression, connection)
        converted.append(value)
    return model.from_db(
        connection.alias, [field.attname for field in model._meta.concrete_fields], converted
    )


def lab_page_rows(*, user, cohort_id: int, lab_id: int) -> LabPageRows | None:
    """The cohort (with its track), the lab (with its current revision), the learner's
    schedule entry for it and their submission, in one statement; None when the page is a
    404: no such cohort, `user` not an active learner of it, or no such lab in its track."""
    if not _signed_in(user):
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _lab_page_sql(connection.vendor),
            {
                "user": user.pk,
                "cohort": cohort_id,
                "lab": lab_id,
                "learner_role": Membership.Role.LEARNER.value,
                "true": True,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    loaded = {}
    start = 0
    for model, alias in _LAB_PAGE_TABLES:
        end = start + len(model._meta.concrete_fields)
        loaded[model] = _load(model, alias, row[start:end])
        start = end
    is_learner, override_release_at, override_due_at, extension_due_at = row[start:]
    cohort, track, lab = loaded[Cohort], loaded[Track], loaded[Lab]
    if not is_learner or lab is None:
        return None
    cohort.track = track
    lab.track = track
    lab.current_revision = loaded[LabRevision]
    submission = loaded[Submission]
    if submission is not None:
        submission.cohort, submission.lab, submission.learner = cohort, lab, user
    context = _OverrideAndExtension(
        *(_datetime(value) for value in (override_release_at, override_due_at, extension_due_at))
    )
    entry = schedule_entry_from(context, cohort=cohort, lab=lab, learner=user)
    return LabPageRows(cohort=cohort, lab=lab, entry=entry, submission=submission)


def _datetime(value):
    """A datetime column outside a model, as the ORM would give it (SQLite reads text)."""
    if value is None:
        return None
    field = ScheduleOverride._meta.get_field("due_at")
    expression = field.get_col("o")
    for converter in connection.ops.get_db_converters(expression):
        value = converter(value, expression, connection)
    return value


# --- the mentor's review page -------------------------------------------------------------


def _role_of_viewer(role: str) -> Exists:
    return Exists(
        Membership.objects.filter(
            user_id=Param("user"), cohort_id=OuterRef("cohort_id"), role=role, active=True
        )
    )


_SUBMISSION_FOR_REVIEW = PreparedQuery(
    lambda: (
        Submission.objects.filter(pk=Param("pk"))
        .select_related(
            "cohort", "cohort__track", "lab", "lab__current_revision", "learner", "assigned_to"
        )
        .annotate(viewer_mentors=_role_of_viewer(Membership.Role.MENTOR))
    )
)


def submission_for_review(*, user, pk: int) -> Submission | None:
    """`selectors.submission_for_user` and the viewer's mentor membership of its cohort in
    one statement: the submission with its cohort, track, lab, revision, learner and mentor
    if `user` may see it (own work, a cohort they actively mentor, staff), else None. The
    row carries `viewer_mentors` (an active mentor of its cohort) for
    `permissions.can_review_submission`."""
    if not _signed_in(user):
        return None
    submission = _SUBMISSION_FOR_REVIEW.first(pk=pk, user=user.pk)
    if submission is None:
        return None
    if not (user.is_staff or submission.learner_id == user.pk or submission.viewer_mentors):
        return None
    return submission


def can_review(user, submission: Submission) -> bool:
    """`permissions.can_review_submission` for a row from `submission_for_review`."""
    if not _signed_in(user) or submission.learner_id == user.pk:
        return False
    return bool(user.is_staff or submission.viewer_mentors)
