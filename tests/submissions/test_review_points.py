"""Review points: raised by a request for changes, answered by the learner, waived only with a
reason (submissions.services.points), on the real database."""

import pytest
from django.db import IntegrityError, transaction

from core.exceptions import ApplicationError
from notifications.models import Event
from submissions import services
from submissions.models import Review, ReviewPoint, Submission
from submissions.review_points import points_of, since_last_review
from submissions.selectors import submission_history

P = ReviewPoint.State


def _request_changes(world, submission, **kwargs):
    values = {"verdict": "request_changes", "body": "See the points."}
    values.update(kwargs)
    return services.review_create(actor=world.mentor, submission=submission, **values)


def _state(submission) -> str:
    return Submission.objects.get(pk=submission.pk).state


def test_requested_changes_and_not_met_deliverables_become_points(world):
    submission = world.submitted(checklist=[0])
    review = _request_changes(
        world,
        submission,
        points=[
            {"text": "Add a test for the empty input.", "deliverable": None},
            {"text": "The second step is missing its output.", "deliverable": 1},
        ],
        marks={"0": "not_met", "1": "not_met"},
    )
    points = list(points_of(submission))
    # Deliverable 1 is named by a written point: no second point for it.
    assert [(p.text, p.deliverable, p.state) for p in points] == [
        ("Add a test for the empty input.", None, P.OPEN),
        ("The second step is missing its output.", 1, P.OPEN),
        ("", 0, P.OPEN),
    ]
    assert points[2].deliverable_text == "Do the first thing."
    assert points[2].label == "Do the first thing."
    assert {p.review_id for p in points} == {review.pk}


def test_points_alone_are_enough_to_request_changes(world):
    submission = world.submitted()
    _request_changes(
        world, submission, body="", points=[{"text": "Rename x.", "deliverable": None}]
    )
    assert _state(submission) == Submission.State.CHANGES_REQUESTED
    assert points_of(submission).count() == 1


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([{"text": "", "deliverable": None}], "say what to change, or choose a deliverable"),
        ([{"text": "x" * 1001, "deliverable": None}], "limited to 1,000 characters"),
        ([{"text": "Fix it", "deliverable": 2}], "no deliverable 2"),
        ([{"text": "Fix it", "deliverable": -1}], "no deliverable -1"),
        ([{"text": "Fix it", "deliverable": "two"}], "must be a number"),
        ([{"text": f"p{i}", "deliverable": None} for i in range(21)], "At most 20 points"),
        ("not a list", "must be a list"),
    ],
)
def test_bad_points_are_refused_and_change_nothing(world, points, message):
    submission = world.submitted()
    with pytest.raises(ApplicationError) as exc:
        _request_changes(world, submission, points=points)
    assert exc.value.code == "invalid"
    assert message in exc.value.extra["errors"]["points"]
    assert _state(submission) == Submission.State.SUBMITTED
    assert not Review.objects.filter(submission=submission).exists()
    assert not ReviewPoint.objects.exists()


def test_points_only_with_a_request_for_changes(world):
    submission = world.submitted()
    for verdict in ("approve", "comment"):
        with pytest.raises(ApplicationError) as exc:
            services.review_create(
                actor=world.mentor,
                submission=submission,
                verdict=verdict,
                body="ok",
                points=[{"text": "Rename x.", "deliverable": None}],
            )
        assert "when you request changes" in exc.value.extra["errors"]["points"]
    assert not ReviewPoint.objects.exists()
    assert _state(submission) == Submission.State.SUBMITTED


def test_the_learner_answers_a_point_and_it_goes_in_with_the_next_iteration(world):
    submission = world.submitted()
    _request_changes(world, submission, points=[{"text": "Add a test.", "deliverable": None}])
    point = points_of(submission).get()
    answered = services.point_address(
        actor=world.learner, point=point, reply="  Added test_empty.  "
    )
    assert answered.state == P.ADDRESSED
    assert answered.reply == "Added test_empty."
    assert answered.addressed_at is not None
    assert answered.addressed_in is None
    iteration = services.submission_submit(actor=world.learner, submission=submission)
    point.refresh_from_db()
    assert iteration.number == 2
    assert point.addressed_in_id == iteration.pk


@pytest.mark.parametrize(
    ("reply", "message"),
    [("", "what you changed"), ("   ", "what you changed"), ("x" * 501, "500")],
)
def test_a_bad_reply_is_refused(world, reply, message):
    submission = world.submitted()
    _request_changes(world, submission, points=[{"text": "Add a test.", "deliverable": None}])
    point = points_of(submission).get()
    with pytest.raises(ApplicationError) as exc:
        services.point_address(actor=world.learner, point=point, reply=reply)
    assert exc.value.code == "invalid"
    assert message in exc.value.extra["errors"]["reply"]
    point.refresh_from_db()
    assert (point.state, point.reply) == (P.OPEN, "")


def test_only_the_learner_answers_only_open_points_only_while_changes_are_requested(world):
    submission = world.submitted()
    _request_changes(world, submission, points=[{"text": "Add a test.", "deliverable": None}])
    point = points_of(submission).get()
    for someone in (world.mentor, world.add_learner()):
        with pytest.raises(ApplicationError) as exc:
            services.point_address(actor=someone, point=point, reply="done")
        assert exc.value.code == "forbidden"
    services.point_address(actor=world.learner, point=point, reply="done")
    with pytest.raises(ApplicationError) as exc:
        services.point_address(actor=world.learner, point=point, reply="again")
    assert exc.value.code == "invalid_transition"
    assert "already addressed" in exc.value.message
    point.refresh_from_db()
    assert point.reply == "done"

    # Handed in with one point left open: it cannot be answered while waiting for review.
    _request_changes(
        world,
        submission,
        revise=True,
        points=[{"text": "And the docs.", "deliverable": None}],
    )
    services.submission_submit(actor=world.learner, submission=submission, leave_points_open=True)
    docs = points_of(submission).get(text="And the docs.")
    with pytest.raises(ApplicationError) as exc:
        services.point_address(actor=world.learner, point=docs, reply="done")
    assert exc.value.code == "invalid_transition"
    assert "submitted and waiting for review" in exc.value.message


def test_resubmitting_with_open_points_needs_the_learner_to_say_so(world):
    submission = world.submitted()
    _request_changes(
        world,
        submission,
        points=[
            {"text": "Add a test.", "deliverable": None},
            {"text": "Explain the choice.", "deliverable": None},
        ],
    )
    first, second = points_of(submission)
    services.point_address(actor=world.learner, point=first, reply="Added.")
    with pytest.raises(ApplicationError) as exc:
        services.submission_submit(actor=world.learner, submission=submission)
    assert exc.value.code == "invalid"
    assert "1 point is not answered yet" in exc.value.extra["errors"]["points"]
    assert _state(submission) == Submission.State.CHANGES_REQUESTED
    assert submission.iterations.count() == 1
    first.refresh_from_db()
    assert first.addressed_in is None

    iteration = services.submission_submit(
        actor=world.learner, submission=submission, leave_points_open=True
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.addressed_in_id) == (P.ADDRESSED, iteration.pk)
    assert (second.state, second.addressed_in_id) == (P.OPEN, None)


def test_the_page_answers_are_all_or_nothing(world):
    submission = world.submitted()
    _request_changes(
        world,
        submission,
        points=[{"text": "One.", "deliverable": None}, {"text": "Two.", "deliverable": None}],
    )
    one, two = points_of(submission)
    with pytest.raises(ApplicationError) as exc:
        services.points_address(
            actor=world.learner, submission=submission, replies={one.pk: "ok", two.pk: "x" * 501}
        )
    assert set(exc.value.extra["errors"]) == {f"reply_{two.pk}"}
    assert points_of(submission).filter(state=P.OPEN).count() == 2
    # A point of someone else's work cannot be answered through this submission.
    other = world.submitted(learner=world.add_learner())
    _request_changes(world, other, points=[{"text": "Theirs.", "deliverable": None}])
    theirs = points_of(other).get()
    with pytest.raises(ApplicationError) as exc:
        services.points_address(
            actor=world.learner, submission=submission, replies={theirs.pk: "mine now"}
        )
    assert f"reply_{theirs.pk}" in exc.value.extra["errors"]
    theirs.refresh_from_db()
    assert theirs.state == P.OPEN
    assert (
        services.points_address(
            actor=world.learner, submission=submission, replies={one.pk: "ok", two.pk: " "}
        )
        == 1
    )


def test_approve_with_open_points_is_refused_without_a_reason_and_changes_nothing(world):
    submission = world.submitted()
    _request_changes(world, submission, points=[{"text": "Add a test.", "deliverable": None}])
    services.submission_submit(actor=world.learner, submission=submission, leave_points_open=True)
    events = Event.objects.count()
    with pytest.raises(ApplicationError) as exc:
        services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    assert exc.value.code == "invalid"
    assert "1 point is still open" in exc.value.extra["errors"]["waive_reason"]
    assert _state(submission) == Submission.State.SUBMITTED
    assert Review.objects.filter(submission=submission).count() == 1
    assert Event.objects.count() == events
    assert points_of(submission).get().state == P.OPEN

    services.review_create(
        actor=world.mentor,
        submission=submission,
        verdict="approve",
        waive_reason="  The test is covered by the integration suite.  ",
    )
    point = points_of(submission).get()
    assert _state(submission) == Submission.State.APPROVED
    assert point.state == P.WAIVED
    assert point.waived_by == world.mentor
    assert point.waive_reason == "The test is covered by the integration suite."
    assert point.waived_at is not None


def test_a_waive_reason_is_bounded(world):
    submission = world.submitted()
    _request_changes(world, submission, points=[{"text": "Add a test.", "deliverable": None}])
    services.submission_submit(actor=world.learner, submission=submission, leave_points_open=True)
    with pytest.raises(ApplicationError) as exc:
        services.review_create(
            actor=world.mentor, submission=submission, verdict="approve", waive_reason="x" * 301
        )
    assert "300 characters" in exc.value.extra["errors"]["waive_reason"]
    assert points_of(submission).get().state == P.OPEN


def test_approve_needs_no_reason_when_every_point_is_addressed(world):
    submission = world.submitted()
    _request_changes(world, submission, points=[{"text": "Add a test.", "deliverable": None}])
    services.point_address(actor=world.learner, point=points_of(submission).get(), reply="Done.")
    services.submission_submit(actor=world.learner, submission=submission)
    services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    assert _state(submission) == Submission.State.APPROVED
    assert points_of(submission).get().state == P.ADDRESSED


def test_a_not_met_deliverable_with_an_open_point_is_not_raised_twice(world):
    submission = world.submitted()
    _request_changes(world, submission, marks={"0": "not_met"})
    services.submission_submit(actor=world.learner, submission=submission, leave_points_open=True)
    _request_changes(world, submission, marks={"0": "not_met", "1": "not_met"})
    assert sorted(points_of(submission).values_list("deliverable", flat=True)) == [0, 1]


def test_review_posted_says_how_many_points(world):
    submission = world.submitted()
    review = _request_changes(
        world,
        submission,
        points=[{"text": "One.", "deliverable": None}],
        marks={"1": "not_met"},
    )
    event = Event.objects.get(kind="review.posted", data__review_id=review.pk)
    assert event.data["points"] == 2
    assert event.data["open_points"] == 2
    from notifications.services import event_process

    event_process(event_id=event.pk)
    notification = world.learner.notifications.get(event=event)
    assert "2 points to answer." in notification.text


def test_a_point_needs_text_or_a_deliverable_in_the_database_too(world):
    submission = world.submitted()
    review = _request_changes(world, submission, points=[{"text": "One.", "deliverable": None}])
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewPoint.objects.create(submission=submission, review=review, text="")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewPoint.objects.create(
            submission=submission, review=review, text="x", state=P.ADDRESSED
        )


def test_since_last_review_compares_with_the_iteration_a_mentor_last_reviewed(world):
    submission = world.submitted(notes="first", checklist=[0])
    _request_changes(world, submission, points=[{"text": "Tick both.", "deliverable": None}])
    services.point_address(actor=world.learner, point=points_of(submission).get(), reply="Ticked.")
    world.draft(notes="first\nsecond", checklist=[0, 1], commit_sha="abcdef1")
    services.submission_submit(actor=world.learner, submission=submission)
    history = submission_history(submission)
    since = since_last_review(iterations=history["iterations"], reviews=history["reviews"])
    assert (since.reviewed.number, since.latest.number) == (1, 2)
    assert since.diff.commit_changed
    assert ("add", "second") in since.diff.notes
    assert [c["text"] for c in since.diff.checklist] == ["Do the second thing."]

    # Iteration 2 is reviewed: nothing new since.
    _request_changes(world, submission, points=[{"text": "More.", "deliverable": None}])
    history = submission_history(submission)
    assert since_last_review(iterations=history["iterations"], reviews=history["reviews"]) is None
