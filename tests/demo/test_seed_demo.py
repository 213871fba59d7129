import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from cohorts.models import Cohort, Membership
from notifications.models import Event
from submissions.models import Assignment, Comment, Iteration, Review, ReviewPoint, Submission
from tests.factories import CohortFactory, LabFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def track():
    track = TrackFactory(name="Go Mastery", slug="go")
    for week in range(1, 9):
        LabFactory(track=track, week=week, slug=f"go-{week}")
    return track


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def snapshot():
    return sorted(
        Submission.objects.values_list(
            "learner__email", "lab__week", "state", "iteration_count", "assigned_to__email"
        )
    )


def test_fails_clearly_without_a_curriculum():
    with pytest.raises(CommandError, match="import_curriculum"):
        run()
    assert not User.objects.exists()


def test_default_demo_prints_accounts_and_makes_the_small_cohort(track):
    lines = run()
    roles = [line.split()[0] for line in lines]
    assert roles == ["admin", "mentor", "mentor"] + ["learner"] * 5
    assert lines[0] == "admin admin@demo.cohortlabs.local demo-admin-pass"
    for line in lines:
        role, email, password = line.split()
        user = User.objects.get(email=email)
        assert user.check_password(password)
        assert user.is_staff == (role == "admin")
    cohort = Cohort.objects.get()
    assert cohort.slug.startswith("demo-") and cohort.track == track
    assert cohort.memberships.filter(role=Membership.Role.LEARNER).count() == 5
    assert cohort.memberships.filter(role=Membership.Role.MENTOR).count() == 2


def test_every_state_appears_with_consistent_rows(track):
    run()
    # The current lab of each learner went through the services: events and a thread.
    assert Event.objects.filter(kind="submission.submitted").exists()
    assert Event.objects.filter(kind="review.posted").exists()
    assert Comment.objects.exists()
    states = set(Submission.objects.values_list("state", flat=True))
    assert states == set(Submission.State.values)
    for submission in Submission.objects.all():
        iterations = Iteration.objects.filter(submission=submission).count()
        assert iterations == submission.iteration_count
        open_assignments = Assignment.objects.filter(submission=submission, ended_at__isnull=True)
        if submission.state in ("submitted", "in_review"):
            assert open_assignments.count() == 1
            assert submission.review_due_at is not None
        else:
            assert not open_assignments.exists()
        if submission.state == "approved":
            assert submission.reviews.last().verdict == Review.Verdict.APPROVE
            assert submission.approved_at is not None
        if submission.state == "changes_requested":
            assert submission.reviews.last().verdict == Review.Verdict.REQUEST_CHANGES
        if submission.state == "draft":
            assert submission.iteration_count == 0


def test_running_twice_adds_nothing(track):
    run()
    counts = (User.objects.count(), Submission.objects.count(), Review.objects.count())
    before = snapshot()
    run()
    assert (User.objects.count(), Submission.objects.count(), Review.objects.count()) == counts
    assert snapshot() == before


def _forget_submissions():
    for model in (Comment, ReviewPoint, Review, Assignment, Iteration, Submission):
        model.objects.all().delete()


def test_same_seed_same_data_and_other_seed_differs(track):
    run("--seed", "7", "--learners", "12")
    first = snapshot()
    _forget_submissions()
    run("--seed", "7", "--learners", "12")
    assert snapshot() == first
    _forget_submissions()
    run("--seed", "8", "--learners", "12")
    assert snapshot() != first


def test_never_touches_data_it_did_not_create(track):
    outsider = UserFactory(email="real@example.com")
    real_cohort = CohortFactory(track=track, slug="spring-2026")
    Membership.objects.create(user=outsider, cohort=real_cohort, role="learner")
    password_hash = outsider.password
    run("--cohorts", "2", "--learners", "3")
    outsider.refresh_from_db()
    assert outsider.password == password_hash
    assert not Submission.objects.filter(learner=outsider).exists()
    assert list(real_cohort.memberships.values_list("user_id", flat=True)) == [outsider.pk]
    assert set(Cohort.objects.exclude(pk=real_cohort.pk).values_list("slug", flat=True)) == {
        "demo-1",
        "demo-2",
    }
    emails = User.objects.exclude(pk=outsider.pk).values_list("email", flat=True)
    assert all(email.endswith("@demo.cohortlabs.local") for email in emails)


def test_progress_bounds_and_sizes(track):
    run("--cohorts", "2", "--learners", "4", "--mentors", "1", "--progress", "0", "--bulk")
    assert not Submission.objects.exists()
    assert Membership.objects.filter(role="learner").count() == 8
    run("--cohorts", "2", "--learners", "4", "--mentors", "1", "--progress", "1", "--bulk")
    # Older cohorts have every lab released: at progress 1 each learner touched all of them.
    older = Cohort.objects.get(slug="demo-2")
    assert Submission.objects.filter(cohort=older).count() == 4 * 8


@pytest.mark.parametrize("args", [["--progress", "1.5"], ["--cohorts", "0"], ["--mentors", "0"]])
def test_bad_arguments_are_refused_and_write_nothing(track, args):
    with pytest.raises(CommandError):
        run(*args)
    assert not User.objects.exists()


def test_bulk_rows_get_their_state_from_the_state_machine(track):
    """The fast writer never sets a state by hand: a plan whose actions cannot lead to the
    state it names is refused by the state machine, and nothing is written."""
    import datetime as dt

    from django.utils import timezone

    from demo.seeding import DemoError, Plan, Slot, Step, write_bulk
    from tests.factories import MembershipFactory, MentorMembershipFactory

    cohort = CohortFactory(track=track)
    learner = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    lab = track.labs.get(week=1)
    now = timezone.now()
    slot = Slot(lab=lab, release_at=now - dt.timedelta(days=3), due_at=now + dt.timedelta(days=4))
    at = now - dt.timedelta(hours=5)
    later = at + dt.timedelta(hours=1)
    # "Approved" with no review; "in review" after an approval.
    for state, steps in (
        (Submission.State.APPROVED, [Step("submit", at)]),
        (Submission.State.IN_REVIEW, [Step("submit", at), Step("review", later, "approve")]),
    ):
        plan = Plan(learner, mentor, cohort, slot, state, steps, recent=False, seed=1)
        with pytest.raises(DemoError):
            write_bulk([plan], now=now)
        assert not Submission.objects.exists()
