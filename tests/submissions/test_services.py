import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Extension, Membership, ScheduleOverride
from core.exceptions import ApplicationError
from notifications.models import Event
from submissions import services
from submissions.models import Assignment, Iteration, Review, Submission
from submissions.state import TRANSITIONS
from tests.factories import LabFactory, StaffFactory

from .conftest import make_world

S = Submission.State
pytestmark = pytest.mark.django_db


def _kinds():
    return list(Event.objects.order_by("pk").values_list("kind", flat=True))


# --- the transition table ----------------------------------------------------------------


def test_transition_table_is_exactly_the_documented_one():
    table = {action: (set(t.sources), t.target) for action, t in TRANSITIONS.items()}
    assert table == {
        "submit": ({S.DRAFT, S.CHANGES_REQUESTED}, S.SUBMITTED),
        "claim": ({S.SUBMITTED}, S.IN_REVIEW),
        "release": ({S.IN_REVIEW}, S.SUBMITTED),
        "request_changes": ({S.SUBMITTED, S.IN_REVIEW}, S.CHANGES_REQUESTED),
        "approve": ({S.SUBMITTED, S.IN_REVIEW}, S.APPROVED),
        "revise_to_changes_requested": ({S.APPROVED}, S.CHANGES_REQUESTED),
        "revise_to_approved": ({S.CHANGES_REQUESTED}, S.APPROVED),
    }


# What each person-facing action does from each state, as docs/architecture.md and the
# state diagram say (written out here, not read from TRANSITIONS): the target state, None
# when the service must refuse with `invalid_transition`, or ALREADY_JUDGED when the
# iteration has a verdict and a second one is refused (code `conflict`) unless the mentor
# revises it; every refusal changes nothing.
ALREADY_JUDGED = "conflict"
DOCUMENTED = {
    S.DRAFT: {"submit": S.SUBMITTED, "claim": None, "release": None, "approve": None,
              "request_changes": None},
    S.SUBMITTED: {"submit": None, "claim": S.IN_REVIEW, "release": None, "approve": S.APPROVED,
                  "request_changes": S.CHANGES_REQUESTED},
    S.IN_REVIEW: {"submit": None, "claim": None, "release": S.SUBMITTED, "approve": S.APPROVED,
                  "request_changes": S.CHANGES_REQUESTED},
    S.CHANGES_REQUESTED: {"submit": S.SUBMITTED, "claim": None, "release": None,
                          "approve": ALREADY_JUDGED, "request_changes": ALREADY_JUDGED},
    S.APPROVED: {"submit": None, "claim": None, "release": None, "approve": ALREADY_JUDGED,
                 "request_changes": ALREADY_JUDGED},
}  # fmt: skip


def _in_state(world, state):
    """A submission brought to `state` through the services, as people do."""
    submission = world.draft()
    if state == S.DRAFT:
        return submission
    services.submission_submit(actor=world.learner, submission=submission)
    if state in (S.IN_REVIEW, S.CHANGES_REQUESTED, S.APPROVED):
        services.submission_claim(actor=world.mentor, submission=submission)
    if state == S.CHANGES_REQUESTED:
        services.review_create(
            actor=world.mentor, submission=submission, verdict="request_changes", body="Fix it."
        )
    if state == S.APPROVED:
        services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    submission.refresh_from_db()
    assert submission.state == state
    return submission


def _act(world, submission, action, *, revise=False):
    if action == "submit":
        services.submission_submit(actor=world.learner, submission=submission)
    elif action == "claim":
        services.submission_claim(actor=world.mentor, submission=submission)
    elif action == "release":
        services.submission_release(actor=world.mentor, submission=submission)
    else:
        services.review_create(
            actor=world.mentor, submission=submission, verdict=action, body="Fix it.", revise=revise
        )


@pytest.mark.parametrize("state", list(DOCUMENTED))
@pytest.mark.parametrize("action", ["submit", "claim", "release", "approve", "request_changes"])
def test_each_action_from_each_state_does_what_the_documentation_says(world, state, action):
    submission = _in_state(world, state)
    expected = DOCUMENTED[state][action]
    before = (Iteration.objects.count(), Review.objects.count(), Assignment.objects.count())
    if expected in (None, ALREADY_JUDGED):
        with pytest.raises(ApplicationError) as refused:
            _act(world, submission, action)
        assert refused.value.code == (expected or "invalid_transition")
        submission.refresh_from_db()
        assert submission.state == state
        assert (Iteration.objects.count(), Review.objects.count(), Assignment.objects.count()) == (
            before
        )
    else:
        _act(world, submission, action)
        submission.refresh_from_db()
        assert submission.state == expected


@pytest.mark.parametrize("state", [S.CHANGES_REQUESTED, S.APPROVED])
@pytest.mark.parametrize(
    ("action", "target"), [("approve", S.APPROVED), ("request_changes", S.CHANGES_REQUESTED)]
)
def test_a_revised_verdict_replaces_the_first(world, state, action, target):
    submission = _in_state(world, state)
    _act(world, submission, action, revise=True)
    submission.refresh_from_db()
    assert submission.state == target


# --- drafts -------------------------------------------------------------------------------


def test_draft_is_created_once_and_only_for_released_labs_of_active_learners(world, outsider):
    first = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.lab
    )
    again = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.lab
    )
    assert first.pk == again.pk and first.state == S.DRAFT
    with pytest.raises(ApplicationError) as err:
        services.submission_get_or_create_draft(
            learner=outsider, cohort=world.cohort, lab=world.lab
        )
    assert err.value.code == "forbidden"
    future = LabFactory(track=world.cohort.track, week=5)
    with pytest.raises(ApplicationError) as err:
        services.submission_get_or_create_draft(
            learner=world.learner, cohort=world.cohort, lab=future
        )
    assert err.value.code == "forbidden"
    other_track_lab = LabFactory()
    with pytest.raises(ApplicationError):
        services.submission_get_or_create_draft(
            learner=world.learner, cohort=world.cohort, lab=other_track_lab
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repo_url", "javascript:alert(1)"),
        ("repo_url", "ftp://example.com/repo"),
        ("repo_url", "not a url"),
        ("repo_url", "https://" + "a" * 600 + ".com"),
        ("commit_sha", "xyz1234"),
        ("commit_sha", "abc12"),
        ("commit_sha", "a" * 41),
        ("checklist", [7]),
        ("checklist", ["one"]),
        ("checklist", "0"),
        ("notes", "x" * 50_001),
    ],
)
def test_bad_draft_input_is_refused_and_nothing_stored(world, field, value):
    submission = world.draft(notes="kept")
    with pytest.raises(ApplicationError) as err:
        world.draft(**{field: value})
    assert err.value.code == "invalid"
    assert field in err.value.extra["errors"]
    submission.refresh_from_db()
    assert submission.notes == "kept"


def test_good_draft_is_saved_and_sha_lowercased(world):
    submission = world.draft(commit_sha="ABCDEF1", checklist=["1", 0, 1])
    submission.refresh_from_db()
    assert submission.commit_sha == "abcdef1"
    assert submission.checklist == [0, 1]


def test_only_the_learner_edits_the_draft(world):
    submission = world.draft()
    with pytest.raises(ApplicationError) as err:
        services.submission_save_draft(
            actor=world.mentor,
            submission=submission,
            repo_url="https://x.org",
            commit_sha="",
            notes="",
            checklist=[],
        )
    assert err.value.code == "forbidden"


def test_inactive_learner_cannot_edit_or_submit(world):
    submission = world.draft()
    Membership.objects.filter(user=world.learner).update(active=False)
    with pytest.raises(ApplicationError) as err:
        services.submission_submit(actor=world.learner, submission=submission)
    assert err.value.code == "forbidden"


# --- submit -------------------------------------------------------------------------------


def test_submit_freezes_an_iteration_and_assigns_the_mentor(world):
    submission = world.draft(checklist=[1], commit_sha="abc1234")
    iteration = services.submission_submit(actor=world.learner, submission=submission)
    submission.refresh_from_db()
    assert submission.state == S.SUBMITTED
    assert iteration.number == 1
    assert iteration.lab_revision_id == world.lab.current_revision_id
    assert iteration.commit_sha == "abc1234"
    assert [item["done"] for item in iteration.checklist] == [False, True]
    assert iteration.checklist[0]["text"] == world.lab.deliverables[0]
    assert not iteration.is_late
    assert submission.assigned_to == world.mentor
    assignment = Assignment.objects.get(submission=submission)
    assert assignment.mentor == world.mentor and assignment.reason == Assignment.Reason.AUTO
    assert assignment.due_at == iteration.submitted_at + dt.timedelta(hours=48)
    assert _kinds() == ["submission.submitted", "assignment.created"]
    # The draft can change later; the iteration does not.
    world.lab.refresh_from_db()
    assert Iteration.objects.get(pk=iteration.pk).notes == "My notes"


def test_empty_submit_is_refused(world):
    submission = world.draft(repo_url="")
    with pytest.raises(ApplicationError) as err:
        services.submission_submit(actor=world.learner, submission=submission)
    assert err.value.code == "invalid" and "repo_url" in err.value.extra["errors"]
    assert not Iteration.objects.exists()
    submission.refresh_from_db()
    assert submission.state == S.DRAFT


def test_second_submit_without_changes_requested_is_refused(world):
    submission = world.submitted()
    with pytest.raises(ApplicationError) as err:
        services.submission_submit(actor=world.learner, submission=submission)
    assert err.value.code == "invalid_transition"
    assert Iteration.objects.count() == 1


def test_same_idempotency_key_returns_the_same_iteration(world):
    submission = world.draft()
    first = services.submission_submit(
        actor=world.learner, submission=submission, idempotency_key="k1"
    )
    second = services.submission_submit(
        actor=world.learner, submission=submission, idempotency_key="k1"
    )
    assert first.pk == second.pk
    assert Iteration.objects.count() == 1
    assert _kinds().count("submission.submitted") == 1


def test_late_submission_respects_extensions(world):
    due = timezone.now() - dt.timedelta(hours=1)
    ScheduleOverride.objects.create(
        cohort=world.cohort, lab=world.lab, release_at=due - dt.timedelta(days=7), due_at=due
    )
    late = world.submitted()
    assert late.is_late
    other = world.add_learner()
    Extension.objects.create(
        cohort=world.cohort,
        lab=world.lab,
        learner=other,
        due_at=timezone.now() + dt.timedelta(days=1),
        reason="ill",
    )
    on_time = world.submitted(learner=other)
    assert not on_time.is_late
    assert not on_time.iterations.get().is_late


def test_submit_refused_for_unreleased_lab(world):
    submission = world.draft()
    ScheduleOverride.objects.create(
        cohort=world.cohort, lab=world.lab, release_at=timezone.now() + dt.timedelta(days=2)
    )
    with pytest.raises(ApplicationError) as err:
        services.submission_submit(actor=world.learner, submission=submission)
    assert err.value.code == "forbidden"
    assert not Iteration.objects.exists()


def test_attachments_are_frozen_with_the_iteration(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    submission = world.draft()
    attachment = services.attachment_add(
        actor=world.learner,
        submission=submission,
        uploaded_file=SimpleUploadedFile("notes.txt", b"hello"),
    )
    iteration = services.submission_submit(actor=world.learner, submission=submission)
    attachment.refresh_from_db()
    assert attachment.iteration_id == iteration.pk
    with pytest.raises(ApplicationError):
        services.attachment_remove(actor=world.learner, attachment=attachment)


# --- assignment rule ----------------------------------------------------------------------


def test_load_balancing_picks_fewest_open_then_least_recently_assigned(db):
    world = make_world(mentors=2)
    a, b = world.mentor, world.other_mentor
    learners = [world.learner] + [world.add_learner() for _ in range(3)]
    assigned = [world.submitted(learner=learner).assigned_to for learner in learners]
    # Tie at 0 goes to the never-assigned first, then alternates by load.
    assert sorted([assigned[0].pk, assigned[1].pk]) == sorted([a.pk, b.pk])
    assert assigned[2] == assigned[0] and assigned[3] == assigned[1]


def test_capacity_is_respected_and_overflow_waits_unassigned(db):
    world = make_world(mentors=2, capacity=1)
    Membership.objects.filter(user=world.other_mentor).update(capacity=2)
    learners = [world.learner] + [world.add_learner() for _ in range(3)]
    results = [world.submitted(learner=learner) for learner in learners]
    mentors = [s.assigned_to for s in results]
    assert mentors.count(world.mentor) == 1
    assert mentors.count(world.other_mentor) == 2
    assert mentors[3] is None
    assert results[3].review_due_at is not None
    assert Assignment.objects.filter(submission=results[3]).count() == 0
    assert _kinds().count("assignment.created") == 3


def test_inactive_mentor_is_never_picked(db):
    world = make_world(mentors=2)
    Membership.objects.filter(user=world.mentor).update(active=False)
    assert world.submitted().assigned_to == world.other_mentor


def test_resubmission_goes_back_to_the_mentor_who_requested_changes(db):
    world = make_world(mentors=2)
    submission = world.submitted()
    reviewer = world.other_mentor if submission.assigned_to == world.mentor else world.mentor
    # The other mentor (not the assignee) requests changes; the resubmission follows them,
    # even though they now have more open work than the first.
    services.review_create(
        actor=reviewer, submission=submission, verdict="request_changes", body="Fix tests"
    )
    for _ in range(2):
        world.submitted(learner=world.add_learner())
    world.draft(notes="fixed")
    services.submission_submit(actor=world.learner, submission=submission)
    submission.refresh_from_db()
    assert submission.iteration_count == 2
    assert submission.assigned_to == reviewer
    assert submission.assignments.get(ended_at__isnull=True).reason == Assignment.Reason.RESUBMIT


def test_resubmission_falls_back_when_that_mentor_left(db):
    world = make_world(mentors=2)
    submission = world.submitted()
    reviewer = submission.assigned_to
    services.review_create(
        actor=reviewer, submission=submission, verdict="request_changes", body="x"
    )
    Membership.objects.filter(user=reviewer).update(active=False)
    services.submission_submit(actor=world.learner, submission=submission)
    submission.refresh_from_db()
    assert submission.assigned_to not in (None, reviewer)


# --- claim, release, reassign -------------------------------------------------------------


def test_claim_and_release(db):
    world = make_world(mentors=2, capacity=0)
    submission = world.submitted()
    assert submission.assigned_to is None
    services.submission_claim(actor=world.mentor, submission=submission)
    submission.refresh_from_db()
    assert submission.state == S.IN_REVIEW and submission.assigned_to == world.mentor
    assert submission.claimed_at is not None
    with pytest.raises(ApplicationError) as err:
        services.submission_claim(actor=world.other_mentor, submission=submission)
    assert err.value.code == "invalid_transition" and "Already claimed" in err.value.message
    with pytest.raises(ApplicationError) as err:
        services.submission_release(actor=world.other_mentor, submission=submission)
    assert err.value.code == "forbidden"
    services.submission_release(actor=world.mentor, submission=submission)
    submission.refresh_from_db()
    assert submission.state == S.SUBMITTED and submission.assigned_to is None
    assert not submission.assignments.filter(ended_at__isnull=True).exists()
    with pytest.raises(ApplicationError) as err:
        services.submission_release(actor=world.mentor, submission=submission)
    assert err.value.code == "invalid_transition"


def test_claim_refused_from_draft_and_for_outsiders(world, outsider):
    submission = world.draft()
    with pytest.raises(ApplicationError) as err:
        services.submission_claim(actor=world.mentor, submission=submission)
    assert err.value.code == "invalid_transition"
    submitted = world.submitted()
    with pytest.raises(ApplicationError) as err:
        services.submission_claim(actor=outsider, submission=submitted)
    assert err.value.code == "forbidden"


def test_claiming_work_assigned_to_another_mentor_is_a_conflict(db):
    world = make_world(mentors=2)
    submission = world.submitted()
    other = world.other_mentor if submission.assigned_to == world.mentor else world.mentor
    with pytest.raises(ApplicationError) as err:
        services.submission_claim(actor=other, submission=submission)
    assert err.value.code == "conflict"
    services.submission_claim(actor=submission.assigned_to, submission=submission)
    submission.refresh_from_db()
    assert submission.state == S.IN_REVIEW
    assert submission.assignments.count() == 1  # own assignment kept


def test_reassign_is_for_staff_and_keeps_state(db):
    world = make_world(mentors=2)
    staff = StaffFactory()
    submission = world.submitted()
    services.submission_claim(actor=submission.assigned_to, submission=submission)
    target = world.other_mentor if submission.assigned_to == world.mentor else world.mentor
    with pytest.raises(ApplicationError) as err:
        services.submission_reassign(
            actor=world.mentor, submission=submission, mentor=target, reason="x"
        )
    assert err.value.code == "forbidden"
    with pytest.raises(ApplicationError) as err:
        services.submission_reassign(
            actor=staff, submission=submission, mentor=world.learner, reason="x"
        )
    assert err.value.code == "invalid"
    services.submission_reassign(actor=staff, submission=submission, mentor=target, reason="away")
    submission.refresh_from_db()
    assert submission.state == S.IN_REVIEW and submission.assigned_to == target
    assert submission.assignments.get(ended_at__isnull=True).reason == Assignment.Reason.REASSIGN
    assert "assignment.reassigned" in _kinds()
    # The escalation job reassigns as the system (no actor).
    back = world.mentor if target == world.other_mentor else world.other_mentor
    services.submission_reassign(actor=None, submission=submission, mentor=back, reason="overdue")
    assert submission.assignments.get(ended_at__isnull=True).reason == Assignment.Reason.ESCALATION


# --- reviews ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("approve", S.APPROVED),
        ("request_changes", S.CHANGES_REQUESTED),
        ("comment", S.SUBMITTED),
    ],
)
def test_review_verdicts_move_the_state(world, verdict, expected):
    submission = world.submitted()
    review = services.review_create(
        actor=world.mentor,
        submission=submission,
        verdict=verdict,
        body="Looks fine",
        marks={0: "met", "1": "na"},
    )
    submission.refresh_from_db()
    assert submission.state == expected
    assert review.marks == {"0": "met", "1": "na"}
    assert review.iteration.number == 1
    event = Event.objects.get(kind="review.posted")
    assert event.data["verdict"] == verdict
    open_assignment = submission.assignments.filter(ended_at__isnull=True).exists()
    assert open_assignment == (verdict == "comment")


def test_review_from_in_review_and_verdict_revisions(world):
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    services.review_create(actor=world.mentor, submission=submission, verdict="approve", body="")
    assert submission.state == S.APPROVED
    staff = StaffFactory()
    services.review_create(
        actor=staff, submission=submission, verdict="request_changes", body="Not yet", revise=True
    )
    assert submission.state == S.CHANGES_REQUESTED
    services.review_create(
        actor=world.mentor, submission=submission, verdict="approve", body="", revise=True
    )
    assert submission.state == S.APPROVED
    assert Review.objects.filter(submission=submission).count() == 3


def test_a_second_verdict_on_the_same_iteration_needs_revise(world):
    submission = world.submitted()
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Add tests"
    )
    for verdict in ("request_changes", "approve"):
        with pytest.raises(ApplicationError) as err:
            services.review_create(
                actor=world.mentor, submission=submission, verdict=verdict, body="Again"
            )
        assert err.value.code == "conflict"
        assert err.value.message.startswith(
            "Iteration 1 already has a verdict: you requested changes on "
        )
        assert "revise the verdict" in err.value.message
    other = world.add_mentor()
    with pytest.raises(ApplicationError) as err:
        services.review_create(actor=other, submission=submission, verdict="approve", body="")
    assert world.mentor.display_name in err.value.message
    assert Review.objects.filter(submission=submission).count() == 1
    # A comment is not a verdict; a new iteration gets its own verdict.
    services.review_create(actor=world.mentor, submission=submission, verdict="comment", body="x")
    world.draft(notes="tests added")
    services.submission_submit(actor=world.learner, submission=submission)
    services.review_create(actor=world.mentor, submission=submission, verdict="approve", body="")
    submission.refresh_from_db()
    assert submission.state == S.APPROVED


def test_review_refusals(world, outsider):
    draft = world.draft()
    with pytest.raises(ApplicationError) as err:
        services.review_create(actor=world.mentor, submission=draft, verdict="approve", body="")
    assert err.value.code == "invalid_transition"
    submitted = world.submitted()
    for actor in (outsider, world.learner):
        with pytest.raises(ApplicationError) as err:
            services.review_create(actor=actor, submission=submitted, verdict="approve", body="")
        assert err.value.code == "forbidden"
    for kwargs in (
        {"verdict": "maybe", "body": "x"},
        {"verdict": "comment", "body": "  "},
        {"verdict": "request_changes", "body": ""},
        {"verdict": "approve", "body": "", "marks": {"9": "met"}},
        {"verdict": "approve", "body": "", "marks": {"0": "great"}},
    ):
        with pytest.raises(ApplicationError) as err:
            services.review_create(actor=world.mentor, submission=submitted, **kwargs)
        assert err.value.code == "invalid"
    assert not Review.objects.exists()
    submitted.refresh_from_db()
    assert submitted.state == S.SUBMITTED


def test_mentor_of_another_cohort_cannot_review(world):
    other = make_world(mentors=1)
    submission = world.submitted()
    with pytest.raises(ApplicationError) as err:
        services.review_create(actor=other.mentor, submission=submission, verdict="approve")
    assert err.value.code == "forbidden"


def test_full_cycle_changes_requested_then_resubmit_then_approve(world):
    submission = world.submitted()
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="More tests"
    )
    world.draft(notes="Added tests", checklist=[0, 1])
    iteration = services.submission_submit(actor=world.learner, submission=submission)
    assert iteration.number == 2 and submission.state == S.SUBMITTED
    assert Iteration.objects.get(submission=submission, number=1).notes == "My notes"
    services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    submission.refresh_from_db()
    assert submission.state == S.APPROVED and submission.approved_at is not None
    with pytest.raises(ApplicationError) as err:
        services.submission_submit(actor=world.learner, submission=submission)
    assert err.value.code == "invalid_transition"
    with pytest.raises(ApplicationError) as err:
        world.draft(notes="after approval")
    assert err.value.code == "invalid_transition"


# --- comments -----------------------------------------------------------------------------


def test_comments_by_learner_and_mentor_only(world, outsider):
    submission = world.submitted()
    services.comment_create(actor=world.learner, submission=submission, body="Question")
    services.comment_create(actor=world.mentor, submission=submission, body="Answer")
    with pytest.raises(ApplicationError) as err:
        services.comment_create(actor=outsider, submission=submission, body="Hi")
    assert err.value.code == "forbidden"
    with pytest.raises(ApplicationError) as err:
        services.comment_create(actor=world.learner, submission=submission, body=" ")
    assert err.value.code == "invalid"
    assert submission.comments.count() == 2
    assert _kinds().count("comment.added") == 2


# --- scheduling ---------------------------------------------------------------------------


def test_remind_overdue_once(db):
    world = make_world(mentors=1, capacity=1)
    assigned = world.submitted()
    unassigned = world.submitted(learner=world.add_learner())
    assert unassigned.assigned_to is None
    later = timezone.now() + dt.timedelta(hours=49)
    assert services.assignments_remind_overdue(now=later) == 2
    assert services.assignments_remind_overdue(now=later) == 0
    assert Event.objects.filter(kind="review.overdue").count() == 2
    assert assigned.assignments.get().reminded_at == later


def test_not_overdue_is_not_reminded(world):
    world.submitted()
    assert services.assignments_remind_overdue(now=timezone.now() + dt.timedelta(hours=47)) == 0


def test_escalation_reassigns_once_after_half_the_sla(db):
    world = make_world(mentors=2)
    submission = world.submitted()
    first = submission.assigned_to
    just_overdue = timezone.now() + dt.timedelta(hours=49)
    assert services.assignments_escalate_overdue(now=just_overdue) == 0
    later = timezone.now() + dt.timedelta(hours=48 + 25)
    assert services.assignments_escalate_overdue(now=later) == 1
    assert services.assignments_escalate_overdue(now=later) == 0
    submission.refresh_from_db()
    assert submission.assigned_to not in (None, first)
    assert submission.assignments.get(ended_at__isnull=True).reason == Assignment.Reason.ESCALATION
    assert Event.objects.filter(kind="review.escalated").count() == 1
    assert Event.objects.filter(kind="assignment.reassigned").count() == 1


def test_escalation_without_room_tells_staff_and_keeps_the_mentor(world):
    submission = world.submitted()
    later = timezone.now() + dt.timedelta(hours=80)
    assert services.assignments_escalate_overdue(now=later) == 1
    assert services.assignments_escalate_overdue(now=later) == 0
    submission.refresh_from_db()
    assert submission.assigned_to == world.mentor
    assert Event.objects.get(kind="review.escalated").data["mentor_id"] is None


def test_abandoned_claims_are_released_once(world):
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    assert services.claims_release_abandoned(now=timezone.now() + dt.timedelta(hours=47)) == 0
    later = timezone.now() + dt.timedelta(hours=49)
    assert services.claims_release_abandoned(now=later) == 1
    assert services.claims_release_abandoned(now=later) == 0
    submission.refresh_from_db()
    assert submission.state == S.SUBMITTED and submission.assigned_to is None


def test_claims_with_a_review_since_are_not_abandoned(world):
    submission = world.submitted()
    services.submission_claim(actor=world.mentor, submission=submission)
    services.review_create(actor=world.mentor, submission=submission, verdict="comment", body="wip")
    assert services.claims_release_abandoned(now=timezone.now() + dt.timedelta(hours=60)) == 0


def test_tasks_wrap_the_services(world):
    from submissions import tasks

    world.submitted()
    assert tasks.remind_overdue_reviews.delay().get() == 0
    assert tasks.escalate_overdue_reviews.delay().get() == 0
    assert tasks.release_abandoned_claims.delay().get() == 0


def test_events_are_enqueued_only_after_commit(world, django_capture_on_commit_callbacks):
    submission = world.draft()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.submission_submit(actor=world.learner, submission=submission)
    # Two events (submitted, assignment created), one delivery task for both after commit.
    assert Event.objects.filter(target_id=submission.pk, processed_at__isnull=True).count() == 2
    assert len(callbacks) == 1


def _bring_to(world, state):
    """A submission in ``state``, reached through the services only."""
    submission = world.draft()
    if state == S.DRAFT:
        return submission
    services.submission_submit(actor=world.learner, submission=submission)
    if state == S.IN_REVIEW:
        services.submission_claim(actor=world.mentor, submission=submission)
    elif state == S.CHANGES_REQUESTED:
        services.review_create(
            actor=world.mentor, submission=submission, verdict="request_changes", body="x"
        )
    elif state == S.APPROVED:
        services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    submission.refresh_from_db()
    assert submission.state == state
    return submission


ACTIONS = {
    "submit": lambda w, s: services.submission_submit(actor=w.learner, submission=s),
    "claim": lambda w, s: services.submission_claim(actor=w.mentor, submission=s),
    "release": lambda w, s: services.submission_release(actor=w.mentor, submission=s),
    # With revise: a second verdict on the same iteration is otherwise refused with
    # "conflict" (test_a_second_verdict_on_the_same_iteration_needs_revise); here the
    # state table is what is checked.
    "approve": lambda w, s: services.review_create(
        actor=w.mentor, submission=s, verdict="approve", revise=True
    ),
    "request_changes": lambda w, s: services.review_create(
        actor=w.mentor, submission=s, verdict="request_changes", body="x", revise=True
    ),
}
# (state, action) -> resulting state, or None when refused with invalid_transition.
EXPECTED = {
    (S.DRAFT, "submit"): S.SUBMITTED,
    (S.DRAFT, "claim"): None,
    (S.DRAFT, "release"): None,
    (S.DRAFT, "approve"): None,
    (S.DRAFT, "request_changes"): None,
    (S.SUBMITTED, "submit"): None,
    (S.SUBMITTED, "claim"): S.IN_REVIEW,
    (S.SUBMITTED, "release"): None,
    (S.SUBMITTED, "approve"): S.APPROVED,
    (S.SUBMITTED, "request_changes"): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, "submit"): None,
    (S.IN_REVIEW, "claim"): None,
    (S.IN_REVIEW, "release"): S.SUBMITTED,
    (S.IN_REVIEW, "approve"): S.APPROVED,
    (S.IN_REVIEW, "request_changes"): S.CHANGES_REQUESTED,
    (S.CHANGES_REQUESTED, "submit"): S.SUBMITTED,
    (S.CHANGES_REQUESTED, "claim"): None,
    (S.CHANGES_REQUESTED, "release"): None,
    # A revised verdict on the same iteration replaces the earlier one.
    (S.CHANGES_REQUESTED, "approve"): S.APPROVED,
    (S.CHANGES_REQUESTED, "request_changes"): S.CHANGES_REQUESTED,
    (S.APPROVED, "submit"): None,
    (S.APPROVED, "claim"): None,
    (S.APPROVED, "release"): None,
    (S.APPROVED, "approve"): S.APPROVED,
    (S.APPROVED, "request_changes"): S.CHANGES_REQUESTED,
}


@pytest.mark.parametrize(("state", "action"), sorted(EXPECTED))
def test_every_transition_through_the_services(world, state, action):
    submission = _bring_to(world, state)
    iterations_before = Iteration.objects.count()
    expected = EXPECTED[(state, action)]
    if expected is None:
        with pytest.raises(ApplicationError) as err:
            ACTIONS[action](world, submission)
        assert err.value.code == "invalid_transition"
        submission.refresh_from_db()
        assert submission.state == state
        assert Iteration.objects.count() == iterations_before
    else:
        ACTIONS[action](world, submission)
        submission.refresh_from_db()
        assert submission.state == expected
