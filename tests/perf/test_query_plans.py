"""The mentor queue and the cohort matrix use indexes on a sizeable dataset (PostgreSQL).

Seeds ~14,000 submissions in 20 cohorts (each cohort ~5% of the rows, as in production) with the demo seeder (bulk rows, as the load bench does), runs
ANALYZE so the planner sees real statistics, and asserts that each query reaches
submissions_submission through an index, never a sequential scan of the whole table.
Figures and the plans themselves: docs/performance.md.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CURRICULUM = Path(settings.BASE_DIR) / "curriculum" / "data" / "000_534dd0f80d9aa631.txt"
SUBMISSIONS = "submissions_submission"


@pytest.fixture
def large_world(db):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    from accounts.models import User
    from cohorts.models import Membership
    from demo.seeding import seed_demo
    from submissions.models import Submission

    call_command("import_curriculum", str(CURRICULUM), stdout=open("/dev/null", "w"))  # noqa: SIM115
    seed_demo(cohorts=20, learners=30, mentors=2, progress=1, use_services=False)
    assert Submission.objects.count() > 10_000
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    mentor_membership = Membership.objects.filter(role="mentor").select_related("user", "cohort")[0]
    return {
        "mentor": mentor_membership.user,
        "cohort": mentor_membership.cohort,
        "staff": User.objects.filter(is_staff=True).first(),
    }


def _plan(queryset) -> str:
    return queryset.explain()


def _assert_indexed(plan: str, label: str, table: str = SUBMISSIONS) -> None:
    assert f"Seq Scan on {table}" not in plan, f"{label}: full scan of {table}\n{plan}"
    index_use = re.search(rf"(Index|Index Only) Scan (using \S+ )?on {table}", plan)
    bitmap = re.search(rf"Bitmap Heap Scan on {table}", plan)
    assert index_use or bitmap, f"{label}: no index on {table}\n{plan}"


def test_queue_and_matrix_use_indexes(large_world):
    """One test, so the dataset is seeded once."""
    from submissions.models import Submission
    from submissions.selectors import QUEUE_TABS, _queue_base, mentor_queue

    for user_key in ("mentor", "staff"):
        user = large_world[user_key]
        for tab in QUEUE_TABS:
            _assert_indexed(_plan(mentor_queue(user=user, tab=tab)[:25]), f"{user_key} queue {tab}")
        _assert_indexed(_plan(_queue_base(user=user).values("pk")), f"{user_key} queue counts")

    # The matrix reads every submission of one cohort (the cohorts and labs are few).
    plan = _plan(Submission.objects.filter(cohort=large_world["cohort"]))
    _assert_indexed(plan, "matrix submissions")

    # The staff cohort page's review turnaround reads one cohort's iterations; with the
    # default random_page_cost this was a scan of every iteration (settings.py sets 1.1).
    from django.db.models import Min

    from submissions.models import Iteration

    stats = (
        Iteration.objects.filter(submission__cohort=large_world["cohort"])
        .annotate(first_review_at=Min("reviews__created_at"))
        .values_list("submitted_at", "first_review_at")
    )
    _assert_indexed(_plan(stats), "cohort stats iterations", table="submissions_iteration")


def test_visible_submissions_filter_uses_indexes(large_world):
    """What the API list and every permission-filtered list run for a mentor."""
    from submissions.models import Submission
    from submissions.permissions import submissions_visible_to

    mentor = large_world["mentor"]
    plan = _plan(Submission.objects.filter(submissions_visible_to(mentor)).order_by("-updated_at"))
    _assert_indexed(plan, "submissions visible to a mentor")


def _explain_sql(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_page_stamps_use_indexes(large_world):
    """The stamp queries run on every request of a cached page (core.fragments): each must
    reach the submissions through an index, so a cached page's cost stays flat."""
    from django.utils import timezone

    from cohorts.models import Cohort, Membership
    from cohorts.selectors import membership_roles_stamp
    from core.fragments import navigation_sources, stamp_query
    from dashboards.mentor_feedback import feedback_sources
    from dashboards.selectors import cohort_matrix_stamp_query, learner_home_stamp_query
    from notifications.selectors import unread_stamp
    from submissions.selectors import queue_stamp

    learner = Membership.objects.filter(role="learner").select_related("user")[0].user
    plan = _explain_sql(*learner_home_stamp_query(learner))
    _assert_indexed(plan, "learner home stamp")

    mentor = large_world["mentor"]
    sources = [
        *queue_stamp(user=mentor, now=timezone.now()),
        *membership_roles_stamp(mentor),
        unread_stamp(mentor),
    ]
    _assert_indexed(_explain_sql(*stamp_query(*sources)), "mentor queue stamp")

    cohort = Cohort.objects.select_related("track").get(pk=large_world["cohort"].pk)
    plan = _explain_sql(*cohort_matrix_stamp_query(cohort))
    _assert_indexed(plan, "cohort matrix stamp")
    # The mentor home's: the same, with the feedback table's and the navigation's sources.
    extra = [*feedback_sources(cohort, [mentor.pk]), *navigation_sources(mentor)]
    _assert_indexed(_explain_sql(*cohort_matrix_stamp_query(cohort, *extra)), "mentor home stamp")


def test_turnaround_sample_reads_recent_work_only(large_world):
    """The lab page and every hand-in's answer predict the review time from the cohort's
    recent verdicts: the sample must reach the cohort's submissions by their last activity
    (an index range), not read its whole history of iterations and reviews."""
    from django.utils import timezone

    from submissions.wait import _COHORT_REVIEWED, TURNAROUND_WINDOW

    since = timezone.now() - TURNAROUND_WINDOW
    plan = _explain_sql(*_COHORT_REVIEWED.statement(cohort=large_world["cohort"].pk, since=since))
    _assert_indexed(plan, "turnaround sample")
    index_ranges = re.findall(r"Index Cond: \((.*)\)", plan)
    assert any("last_activity_at >=" in cond for cond in index_ranges), plan


def _rows_read(statement: tuple[str, list], table: str) -> int:
    """Rows the statement's plan read from `table`, run with EXPLAIN ANALYZE (planned as
    for a large table: the test's tables are small enough for sequential scans)."""
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]

    def rows(node) -> int:
        own = (
            node["Actual Rows"] * node["Actual Loops"] if node.get("Relation Name") == table else 0
        )
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan)


def test_turnaround_sample_passes_over_work_never_reviewed():
    """A deadline's burst of hand-ins is recent work with no verdict yet: each hand-in's
    answer samples the cohort's turnaround, and must not read the iterations of the
    hundreds handed in just before it (1 ms a hand-in at 1,000 in a burst)."""
    from django.utils import timezone

    from submissions import services
    from submissions.wait import _COHORT_REVIEWED, TURNAROUND_WINDOW
    from tests.factories import CohortFactory, LabFactory, MentorMembershipFactory, hand_in

    cohort = CohortFactory()
    lab = LabFactory(track=cohort.track, week=1)
    mentor = MentorMembershipFactory(cohort=cohort, capacity=100).user
    handed_in = [hand_in(cohort, lab) for _ in range(30)]
    services.review_create(
        actor=mentor, submission=handed_in[0], verdict="request_changes", body="Fix the tests."
    )

    since = timezone.now() - TURNAROUND_WINDOW
    assert len(_COHORT_REVIEWED.tuples(cohort=cohort.pk, since=since)) == 1
    statement = _COHORT_REVIEWED.statement(cohort=cohort.pk, since=since)
    # The reviewed hand-in's iteration, not the 30.
    assert _rows_read(statement, "submissions_iteration") == 1


def test_mentor_loads_read_the_open_and_latest_assignments_only():
    """Every submit picks a mentor from each one's open reviews and latest assignment in the
    cohort: those must be index probes, not a read of every assignment the mentor ever had
    (6-8 ms a submit at the bench's ten-times size, 560 assignments a mentor)."""
    from submissions import services
    from submissions.models import Assignment
    from submissions.services.assignments import _MENTOR_USERS
    from tests.factories import CohortFactory, LabFactory, MentorMembershipFactory, hand_in

    cohort = CohortFactory()
    lab = LabFactory(track=cohort.track, week=1)
    mentor = MentorMembershipFactory(cohort=cohort, capacity=100).user
    handed_in = [hand_in(cohort, lab) for _ in range(12)]
    for submission in handed_in[:10]:
        services.review_create(
            actor=mentor, submission=submission, verdict="approve", body="Well done."
        )
    assert Assignment.objects.filter(mentor=mentor, cohort=cohort).count() == 12

    (loaded,) = _MENTOR_USERS.models(cohort=cohort.pk)
    assert loaded.open_count == 2
    latest = Assignment.objects.filter(mentor=mentor).order_by("-assigned_at")[0]
    assert loaded.last_assigned_at == latest.assigned_at
    statement = _MENTOR_USERS.statement(cohort=cohort.pk)
    # Two open assignments and the latest one, not the mentor's 12.
    assert _rows_read(statement, "submissions_assignment") == 3
    assert _rows_read(statement, "submissions_submission") == 0
