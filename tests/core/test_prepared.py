"""core.prepared: a query compiled once gives what its QuerySet gives, with each call's values."""

import datetime as dt

import pytest
from django.db import models, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone

from core.prepared import Param, PreparedQuery
from submissions.models import Submission
from tests.factories import CohortFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def _submissions_of_cohort():
    return (
        Submission.objects.filter(cohort_id=Param("cohort"), state=Param("state"))
        .select_related("learner", "lab")
        .annotate(learner_initial=F("learner__name"))
        .order_by("pk")
    )


def test_models_match_the_queryset_for_each_calls_values():
    first, second = CohortFactory(), CohortFactory()
    ours = SubmissionFactory.create_batch(2, cohort=first, state=Submission.State.SUBMITTED)
    SubmissionFactory(cohort=first, state=Submission.State.DRAFT)
    theirs = SubmissionFactory(cohort=second, state=Submission.State.SUBMITTED)
    prepared = PreparedQuery(_submissions_of_cohort)

    for cohort, expected in ((first, ours), (second, [theirs])):
        rows = prepared.models(cohort=cohort.pk, state=Submission.State.SUBMITTED)
        assert [row.pk for row in rows] == [s.pk for s in expected]
        for row, submission in zip(rows, expected, strict=True):
            assert row.learner.email == submission.learner.email  # select_related, no query
            assert row.lab.title == submission.lab.title
            assert row.learner_initial == submission.learner.name
            assert row._state.adding is False and row._state.db == "default"
    assert prepared.models(cohort=first.pk, state="approved") == []


def test_select_related_objects_load_without_another_query(django_assert_num_queries):
    submission = SubmissionFactory(state=Submission.State.SUBMITTED)
    prepared = PreparedQuery(_submissions_of_cohort)
    prepared.sql()  # compiled beforehand: the call itself is one statement
    with django_assert_num_queries(1):
        (row,) = prepared.models(cohort=submission.cohort_id, state="submitted")
        assert row.learner.name == submission.learner.name


def test_built_once_per_process():
    built = []

    def build():
        built.append(1)
        return Submission.objects.filter(pk=Param("pk"))

    submission = SubmissionFactory()
    prepared = PreparedQuery(build)
    for _ in range(3):
        assert prepared.first(pk=submission.pk).pk == submission.pk
    assert prepared.first(pk=submission.pk + 1000) is None
    assert len(built) == 1


def test_values_rows_are_named_and_converted_like_values():
    cohort = CohortFactory()
    SubmissionFactory.create_batch(3, cohort=cohort, state=Submission.State.SUBMITTED)
    SubmissionFactory(cohort=cohort, state=Submission.State.DRAFT)
    prepared = PreparedQuery(
        lambda: (
            Submission.objects.filter(cohort_id=Param("cohort"))
            .values("state")
            .annotate(n=Count("pk"))
            .order_by("state")
        )
    )
    expected = list(
        Submission.objects.filter(cohort_id=cohort.pk)
        .values("state")
        .annotate(n=Count("pk"))
        .order_by("state")
    )
    assert (
        prepared.dicts(cohort=cohort.pk)
        == expected
        == [
            {"state": "draft", "n": 1},
            {"state": "submitted", "n": 3},
        ]
    )


def test_datetime_params_are_prepared_for_the_column():
    # On SQLite a datetime is compared as text: the value must be written as the column is.
    now = timezone.now()
    old = SubmissionFactory(submitted_at=now - dt.timedelta(days=3))
    new = SubmissionFactory(submitted_at=now - dt.timedelta(hours=1))
    prepared = PreparedQuery(
        lambda: Submission.objects.filter(
            submitted_at__gte=Param("since", output_field=models.DateTimeField())
        ).values_list("pk", "submitted_at")
    )
    rows = prepared.tuples(since=now - dt.timedelta(days=1))
    assert rows == [(new.pk, new.submitted_at)]
    assert rows[0][1].tzinfo is not None  # converted back as the ORM converts it
    assert {pk for pk, _ in prepared.tuples(since=now - dt.timedelta(days=7))} == {old.pk, new.pk}


def test_params_inside_subqueries_and_scalar():
    learner = UserFactory()
    SubmissionFactory.create_batch(2, learner=learner)
    SubmissionFactory()
    prepared = PreparedQuery(
        lambda: (
            Submission.objects.filter(
                learner_id=Subquery(
                    Submission.objects.filter(
                        learner_id=Param("learner"), pk=OuterRef("pk")
                    ).values("learner_id")
                )
            )
            .values("learner_id")
            .annotate(n=Count("pk"))
        )
    )
    assert prepared.scalar(learner=learner.pk) == learner.pk
    assert prepared.dicts(learner=learner.pk) == [{"learner_id": learner.pk, "n": 2}]
    assert prepared.scalar(learner=learner.pk + 1000) is None


def test_locking_query_compiles_inside_the_transaction():
    submission = SubmissionFactory()
    prepared = PreparedQuery(lambda: Submission.objects.select_for_update().filter(pk=Param("pk")))
    with transaction.atomic():
        assert prepared.first(pk=submission.pk) == submission
    with transaction.atomic():
        assert prepared.first(pk=submission.pk) == submission


def test_a_missing_value_is_refused_before_anything_runs(django_assert_num_queries):
    prepared = PreparedQuery(lambda: Submission.objects.filter(pk=Param("pk")))
    prepared.sql()
    with django_assert_num_queries(0), pytest.raises(TypeError, match="Param\\('pk'\\)"):
        prepared.models()
