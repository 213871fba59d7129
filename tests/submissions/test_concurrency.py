"""Real parallel transactions against PostgreSQL: threads with their own connections.

SQLite serialises writers on the whole file, which would prove nothing; these run in CI
(and locally with DATABASE_URL pointing at PostgreSQL).
"""

import pytest

from core.exceptions import ApplicationError
from submissions import services
from submissions.models import Assignment, Iteration, Review, Submission
from tests.parallel import postgres_only, run_in_parallel  # noqa: F401 - autouse fixture

from .conftest import make_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_claims_exactly_one_wins():
    world = make_world(mentors=2, capacity=0)
    submission = world.submitted()
    results = run_in_parallel(
        lambda: services.submission_claim(
            actor=world.mentor, submission=Submission.objects.get(pk=submission.pk)
        ),
        lambda: services.submission_claim(
            actor=world.other_mentor, submission=Submission.objects.get(pk=submission.pk)
        ),
    )
    wins = [r for r in results if isinstance(r, Submission)]
    losses = [r for r in results if isinstance(r, ApplicationError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "invalid_transition" and "Already claimed" in losses[0].message
    submission.refresh_from_db()
    assert submission.state == Submission.State.IN_REVIEW
    assert submission.assigned_to_id == wins[0].assigned_to_id
    assert Assignment.objects.filter(submission=submission, ended_at__isnull=True).count() == 1


@pytest.mark.parametrize("key", [None, "same-click"])
def test_double_submit_makes_one_iteration(key):
    world = make_world(mentors=1)
    submission = world.draft()

    def submit():
        return services.submission_submit(
            actor=world.learner,
            submission=Submission.objects.get(pk=submission.pk),
            idempotency_key=key,
        )

    results = run_in_parallel(submit, submit, submit)
    assert Iteration.objects.filter(submission=submission).count() == 1
    iterations = [r for r in results if isinstance(r, Iteration)]
    errors = [r for r in results if isinstance(r, ApplicationError)]
    if key:
        assert len(iterations) == 3 and len({i.pk for i in iterations}) == 1, results
    else:
        assert len(iterations) == 1 and len(errors) == 2, results
        assert all(e.code == "invalid_transition" for e in errors)
    assert Assignment.objects.filter(submission=submission).count() == 1


def test_concurrent_verdicts_one_wins_and_the_other_is_told():
    world = make_world(mentors=2)
    submission = world.submitted()
    results = run_in_parallel(
        lambda: services.review_create(
            actor=world.mentor,
            submission=Submission.objects.get(pk=submission.pk),
            verdict="approve",
            body="ok",
        ),
        lambda: services.review_create(
            actor=world.other_mentor,
            submission=Submission.objects.get(pk=submission.pk),
            verdict="request_changes",
            body="not yet",
        ),
    )
    wins = [r for r in results if isinstance(r, Review)]
    losses = [r for r in results if isinstance(r, ApplicationError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "conflict" and "revise the verdict" in losses[0].message
    assert wins[0].reviewer.display_name in losses[0].message
    assert Review.objects.filter(submission=submission).count() == 1
    submission.refresh_from_db()
    expected = {"approve": "approved", "request_changes": "changes_requested"}[wins[0].verdict]
    assert submission.state == expected


def test_concurrent_submits_never_exceed_a_mentors_capacity():
    world = make_world(mentors=1, capacity=1)
    learners = [world.learner] + [world.add_learner() for _ in range(3)]
    drafts = [world.draft(learner=learner) for learner in learners]
    results = run_in_parallel(
        *[
            (
                lambda d=d: services.submission_submit(
                    actor=d.learner, submission=Submission.objects.get(pk=d.pk)
                )
            )
            for d in drafts
        ]
    )
    assert all(isinstance(r, Iteration) for r in results), results
    assert Assignment.objects.filter(mentor=world.mentor, ended_at__isnull=True).count() == 1
    assert Submission.objects.filter(assigned_to__isnull=True, state="submitted").count() == 3
