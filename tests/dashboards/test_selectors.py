import datetime as dt

import pytest
from django.utils import timezone

from cohorts.models import Cohort, Membership
from dashboards import charts, selectors
from dashboards.selectors import BurnUp, _percentile
from submissions import services as submission_services
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_percentile_nearest_rank():
    values = sorted([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert _percentile(values, 0.5) == 5.0
    assert _percentile(values, 0.9) == 9.0
    assert _percentile([], 0.5) is None
    assert _percentile([7.0], 0.9) == 7.0


def test_matrix_flags_inactivity_with_days(seeded):
    world = seeded(progress=0.5)
    later = timezone.now() + dt.timedelta(days=30)
    matrix = selectors.cohort_matrix(cohort=world["cohort"], now=later)
    reasons = dict((row.learner.pk, r) for row, r in matrix.at_risk)
    assert world["learner"].pk in reasons
    assert any(reason.startswith("no activity for") for reason in reasons[world["learner"].pk])


def test_burn_up_counts_and_schedule(seeded):
    world = seeded(progress=1)
    membership = world["cohort"].memberships.get(user=world["learner"])
    overview = selectors.learner_cohort(membership=membership)
    burn = overview.burn_up
    assert burn.weeks == 10
    assert burn.planned == sorted(burn.planned)  # cumulative
    assert burn.approved == sorted(burn.approved)
    assert burn.approved[-1] == overview.approved_count
    assert 0 < burn.current_week <= burn.weeks


def test_charts_use_attributes_not_styles_and_escape_labels():
    svg = charts.bar_chart_svg(
        chart_id="x", title="<b>t</b>", labels=["<i>a</i>", "b"], values=[3, 0], unit="things"
    )
    assert "style=" not in svg and "<i>" not in svg and "&lt;i&gt;" in svg
    assert 'fill="#1d4ed8"' in svg and "<title" in svg and "<desc" in svg
    burn = charts.burn_up_svg(
        BurnUp(weeks=4, current_week=2, planned=[1, 2, 3, 4], approved=[1, 1], total=4),
        chart_id="b",
    )
    assert "stroke-dasharray" in burn and "<circle" in burn and "style=" not in burn
    assert charts.burn_up_svg(BurnUp(0, 0, [], [], 0), chart_id="e") == ""


def send_back(learner, cohort):
    """The learner hands a lab in and a mentor of the cohort requests changes."""
    mentor = MentorMembershipFactory(cohort=cohort).user
    lab = LabFactory(track=cohort.track, week=1)
    submission = submission_services.submission_get_or_create_draft(
        learner=learner, cohort=cohort, lab=lab
    )
    submission_services.submission_save_and_submit(
        actor=learner,
        submission=submission,
        repo_url="https://git.example.org/x/y",
        commit_sha="",
        notes="",
        checklist=[],
    )
    submission_services.review_create(
        actor=mentor, submission=submission, verdict="request_changes", body="Again."
    )


def test_the_learner_home_opens_where_there_is_work_to_do():
    """Running work with changes requested first; a draft or future cohort never ahead of
    running work; a finished cohort with nothing left last; the newest start breaks ties."""
    learner = UserFactory()
    today = timezone.localdate()

    def join(name, status, days_from_now):
        cohort = CohortFactory(
            name=name, status=status, start_date=today + dt.timedelta(days=days_from_now)
        )
        MembershipFactory(cohort=cohort, user=learner, role=Membership.Role.LEARNER)
        return cohort

    done = join("finished", Cohort.Status.FINISHED, -400)
    draft = join("draft next year", Cohort.Status.DRAFT, 200)
    future = join("active next month", Cohort.Status.ACTIVE, 30)
    older = join("running older", Cohort.Status.ACTIVE, -60)
    newer = join("running newer", Cohort.Status.ACTIVE, -20)
    mentoring = CohortFactory(start_date=today)
    MembershipFactory(cohort=mentoring, user=learner, role=Membership.Role.MENTOR)

    def order():
        stamp = selectors.learner_home_stamp(learner)
        return [c.cohort_id for c in selectors.learner_home_cohorts(stamp, timezone.now())]

    assert order() == [newer.pk, older.pk, future.pk, draft.pk, done.pk]
    send_back(learner, older)
    assert order()[:2] == [older.pk, newer.pk]
    send_back(learner, done)
    assert order() == [older.pk, newer.pk, done.pk, future.pk, draft.pk]
    stamp = selectors.learner_home_stamp(learner)
    home = {c.cohort_id: c for c in selectors.learner_home_cohorts(stamp, timezone.now())}
    assert not home[draft.pk].timing.started and not home[future.pk].timing.started
    assert home[newer.pk].timing.started and home[newer.pk].timing.week == 3
