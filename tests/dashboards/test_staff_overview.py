"""The staff home across cohorts (issue 15, point 5): per cohort and per mentor, open
reviews, median turnaround and SLA compliance over the last 30 days, and per cohort the
learners at risk; each figure links to the rows behind it."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort, Extension, Membership
from dashboards import selectors
from dashboards import staff_overview as staff_overview_module
from dashboards.staff_overview import staff_overview
from submissions.models import Iteration, Review, Submission
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

S = Submission.State
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def _handin(cohort, lab, learner, *, at, state=S.SUBMITTED, assigned=None, due=None, reviews=()):
    """A submission handed in at `at` (one iteration), with `reviews` as (reviewer, after)."""
    submission = Submission.objects.create(
        learner=learner,
        cohort=cohort,
        lab=lab,
        state=state,
        assigned_to=assigned,
        review_due_at=due,
        iteration_count=1,
        submitted_at=at,
        first_submitted_at=at,
        last_activity_at=at,
    )
    iteration = Iteration.objects.create(
        submission=submission, number=1, repo_url="https://github.com/x/y", submitted_at=at
    )
    for reviewer, after in reviews:
        Review.objects.create(
            submission=submission,
            iteration=iteration,
            reviewer=reviewer,
            verdict=Review.Verdict.COMMENT,
            body="ok",
            created_at=at + after,
        )
    return submission


@pytest.fixture
def world(db):
    """Cohort "Turn" (SLA 24 h) with two mentors and hand-ins whose figures are worked out
    by hand in the tests; cohort "Risk" with learners on both sides of the at-risk rule."""
    now = timezone.now()
    turn = CohortFactory(name="Turn", review_sla_hours=24, start_date=(now - 60 * D).date())
    ann = MentorMembershipFactory(cohort=turn, user=UserFactory(name="Ann Mentor")).user
    bob = MentorMembershipFactory(cohort=turn, user=UserFactory(name="Bob Mentor")).user
    labs = [LabFactory(track=turn.track, week=w) for w in range(1, 7)]
    people = [MembershipFactory(cohort=turn).user for _ in range(3)]
    subs = {
        # first review by Ann after 10 h (kept); Bob's second review does not count
        "i1": _handin(turn, labs[0], people[0], at=now - 10 * D, state=S.APPROVED,
                      reviews=[(ann, 10 * H), (bob, 40 * H)]),
        # Bob after 30 h (missed)
        "i2": _handin(turn, labs[1], people[0], at=now - 5 * D, state=S.APPROVED,
                      reviews=[(bob, 30 * H)]),
        # Ann after 2 h (kept)
        "i3": _handin(turn, labs[2], people[0], at=now - 3 * D, state=S.CHANGES_REQUESTED,
                      reviews=[(ann, 2 * H)]),
        # waiting 48 h, assigned to Bob, review overdue (missed; open; overdue)
        "i4": _handin(turn, labs[3], people[1], at=now - 2 * D, state=S.IN_REVIEW,
                      assigned=bob, due=now - 1 * D),
        # waiting 1 h, unassigned (within the SLA: not counted yet; open)
        "i5": _handin(turn, labs[4], people[2], at=now - 1 * H, due=now + 23 * H),
        # 40 days ago, reviewed after 100 h: outside the window
        "i6": _handin(turn, labs[5], people[2], at=now - 40 * D, state=S.APPROVED,
                      reviews=[(ann, 100 * H)]),
    }  # fmt: skip

    risk = CohortFactory(name="Risk", start_date=(now - 20 * D).date())
    # Weeks 1 and 2 are past due, week 3 released and due ahead, week 4 not released.
    w = [LabFactory(track=risk.track, week=n) for n in range(1, 5)]

    def learner(name, joined):
        m = MembershipFactory(cohort=risk, user=UserFactory(name=name))
        Membership.objects.filter(pk=m.pk).update(joined_at=now - joined)
        return m.user

    fine = learner("Fine", 20 * D)  # both handed in, active
    for lab in w[:2]:
        _handin(risk, lab, fine, at=now - 1 * D, state=S.APPROVED)
    behind = learner("Behind", 2 * D)  # nothing handed in: 2 behind
    extended = learner("Extended", 20 * D)  # week 1 in, week 2 extended: 0 behind
    _handin(risk, w[0], extended, at=now - 2 * D, state=S.APPROVED)
    Extension.objects.create(
        cohort=risk, lab=w[1], learner=extended, due_at=now + 3 * D, reason="ill"
    )
    idle = learner("Idle", 20 * D)  # both handed in, but 10 days ago
    for lab in w[:2]:
        _handin(risk, lab, idle, at=now - 10 * D, state=S.APPROVED)
    one = learner("One", 20 * D)  # week 1 in: 1 behind, active
    _handin(risk, w[0], one, at=now - 1 * D, state=S.APPROVED)
    # Extension pulled earlier on a lab due ahead: past due for this learner only.
    pulled = learner("Pulled", 20 * D)
    _handin(risk, w[0], pulled, at=now - 1 * D, state=S.APPROVED)
    Extension.objects.create(cohort=risk, lab=w[2], learner=pulled, due_at=now - 1 * H, reason="x")
    # week 2 not in, week 3 past due by extension: 2 behind
    return {
        "now": now, "turn": turn, "risk": risk, "ann": ann, "bob": bob, "subs": subs,
        "at_risk": {behind, idle, pulled}, "staff": StaffFactory(),
    }  # fmt: skip


def _by_cohort(rows):
    return {row.cohort.name: row for row in rows}


def test_turnaround_sla_and_open_reviews_match_the_hand_computed_figures(world):
    rows = _by_cohort(staff_overview(cohorts=[world["turn"]], now=world["now"]))
    turn = rows["Turn"].figures
    # In the window: i1 10 h, i2 30 h, i3 2 h reviewed; i4 waiting past 24 h; i5 within it.
    assert turn.reviewed == 3
    assert turn.median_hours == pytest.approx(10)  # nearest rank: 2nd of 3
    assert (turn.within_sla, turn.breached, turn.sla_percent) == (2, 2, 50)
    assert (turn.open_reviews, turn.overdue_reviews) == (2, 1)  # i4, i5; i4 overdue
    mentors = {m.mentor.display_name: m.figures for m in rows["Turn"].mentors}
    assert list(mentors) == ["Ann Mentor", "Bob Mentor"]
    ann, bob = mentors["Ann Mentor"], mentors["Bob Mentor"]
    assert ann.median_hours == pytest.approx(2)  # [2, 10]: 1st of 2
    assert (ann.within_sla, ann.breached, ann.sla_percent) == (2, 0, 100)
    assert (ann.open_reviews, ann.overdue_reviews) == (0, 0)
    assert bob.median_hours == pytest.approx(30)
    assert (bob.within_sla, bob.breached, bob.sla_percent) == (0, 2, 0)  # i2 late, i4 waiting
    assert (bob.open_reviews, bob.overdue_reviews) == (1, 1)


def _figures(f):
    return (f.reviewed, f.median_hours, f.within_sla, f.breached, f.open_reviews, f.overdue_reviews)


@pytest.fixture
def spread(db):
    """Two cohorts (SLA 24 h and 48 h), two mentors, and hand-ins whose figures are worked
    out by hand: even counts (the nearest-rank median is the lower middle), a first review
    before the hand-in (0 h), ties on the review time (the lower id is first), a hand-in
    exactly on the SLA, and waiting work assigned, unassigned and within the SLA."""
    now = timezone.now().replace(microsecond=0)
    one = CohortFactory(name="One", review_sla_hours=24)
    two = CohortFactory(name="Two", review_sla_hours=48)
    ann = MentorMembershipFactory(cohort=one, user=UserFactory(name="Ann")).user
    bob = MentorMembershipFactory(cohort=one, user=UserFactory(name="Bob")).user
    MentorMembershipFactory(cohort=two, user=ann)
    labs = {c.pk: [LabFactory(track=c.track, week=w) for w in range(1, 9)] for c in (one, two)}
    learner = MembershipFactory(cohort=one).user
    MembershipFactory(cohort=two, user=learner)

    def at(cohort, n, state=S.APPROVED, **kw):
        return _handin(cohort, labs[cohort.pk][n], learner, state=state, **kw)

    # One (24 h): Ann 1.5 h, 24 h (on the SLA: kept), 25 h; Bob 0 h (reviewed before the
    # hand-in), 12 h (tie at the same instant with Ann: Bob's review has the lower id).
    at(one, 0, at=now - 3 * D, reviews=[(ann, 1.5 * H)])
    at(one, 1, at=now - 4 * D, reviews=[(ann, 24 * H)])
    at(one, 2, at=now - 5 * D, reviews=[(ann, 25 * H), (bob, 26 * H)])
    at(one, 3, at=now - 6 * D, reviews=[(bob, -H)])
    at(one, 4, at=now - 7 * D, reviews=[(bob, 12 * H), (ann, 12 * H)])
    # waiting 30 h assigned to Ann (missed), 26 h unassigned (missed), 2 h (not counted)
    at(one, 5, at=now - 30 * H, state=S.SUBMITTED, assigned=ann, due=now - 6 * H)
    at(one, 6, at=now - 26 * H, state=S.SUBMITTED, due=now - 2 * H)
    at(one, 7, at=now - 2 * H, state=S.SUBMITTED, assigned=bob, due=now + 22 * H)
    # Two (48 h): Ann 40 h and 50 h; waiting 30 h (within 48 h: not counted).
    at(two, 0, at=now - 10 * D, reviews=[(ann, 40 * H)])
    at(two, 1, at=now - 12 * D, reviews=[(ann, 50 * H)])
    at(two, 2, at=now - 30 * H, state=S.SUBMITTED, assigned=ann, due=now + 18 * H)
    return {"now": now, "one": one, "two": two, "ann": ann, "bob": bob}


def test_window_figures_match_a_hand_computed_expectation(spread):
    rows = _by_cohort(staff_overview(cohorts=[spread["one"], spread["two"]], now=spread["now"]))
    one, two = rows["One"], rows["Two"]
    # One: turnarounds 0, 1.5, 12, 24, 25 -> median 12 (3rd of 5); kept 0, 1.5, 12, 24;
    # missed 25 and the two waiting past 24 h; open: the three waiting, two overdue.
    assert _figures(one.figures) == (5, pytest.approx(12), 4, 3, 3, 2)
    assert one.figures.sla_percent == 57  # 4 of 7
    mentors = {m.mentor.display_name: m.figures for m in one.mentors}
    # Ann: 1.5, 24, 25 -> median 24 (2nd of 3); kept 1.5, 24; missed 25 and the one waiting.
    assert _figures(mentors["Ann"]) == (3, pytest.approx(24), 2, 2, 1, 1)
    # Bob: 0 (clamped), 12 -> median 0 (1st of 2), both kept; his 2 h wait is not counted.
    assert _figures(mentors["Bob"]) == (2, 0, 2, 0, 1, 0)
    # Two: 40, 50 -> median 40 (1st of 2); 40 kept, 50 missed; the 30 h wait not counted.
    assert _figures(two.figures) == (2, pytest.approx(40), 1, 1, 1, 0)
    [ann_two] = two.mentors
    assert _figures(ann_two.figures) == (2, pytest.approx(40), 1, 1, 1, 0)


def test_the_sql_and_the_python_window_figures_agree(spread):
    """The database's aggregate (PostgreSQL) and the fallback (SQLite) count the same."""
    cohorts = [spread["one"], spread["two"]]
    expected = staff_overview_module._window_figures_python(cohorts=cohorts, now=spread["now"])
    window = (
        staff_overview_module._window_figures_sql
        if connection.vendor == "postgresql"
        else staff_overview_module._window_figures_python
    )
    got = window(cohorts=cohorts, now=spread["now"])
    assert got.keys() == expected.keys()
    for key, (reviewed, median, within, breached) in expected.items():
        median = median if median is None else pytest.approx(median, abs=1e-9)
        assert got[key] == (reviewed, median, within, breached), key


def test_at_risk_follows_the_matrix_rule_with_extensions(world):
    rows = _by_cohort(staff_overview(cohorts=[world["risk"], world["turn"]], now=world["now"]))
    assert rows["Risk"].at_risk == 3  # Behind, Idle, Pulled
    assert rows["Risk"].learners == 6
    for cohort in (world["risk"], world["turn"]):
        matrix = selectors.cohort_matrix(cohort=cohort, now=world["now"])
        assert rows[cohort.name].at_risk == len(matrix.at_risk)
    matrix = selectors.cohort_matrix(cohort=world["risk"], now=world["now"])
    assert {row.learner for row, _ in matrix.at_risk} == world["at_risk"]


def test_an_empty_cohort_reads_as_nothing_yet(db):
    empty = CohortFactory(name="Empty")
    [row] = staff_overview(cohorts=[empty])
    assert (row.figures.open_reviews, row.figures.median_hours, row.figures.sla_percent) == (
        0,
        None,
        None,
    )
    assert (row.at_risk, row.learners, row.mentors) == (0, 0, [])


@pytest.mark.parametrize("cohorts", [1, 4])
def test_the_page_is_a_fixed_number_of_queries(
    seeded, client, cohorts, django_assert_max_num_queries
):
    world = seeded(learners=6, cohorts=cohorts)
    assert Cohort.objects.count() == cohorts
    client.force_login(world["admin"])
    with django_assert_max_num_queries(16):
        response = client.get(reverse("dashboard:staff"))
    assert response.status_code == 200
    assert response.content.decode().count('data-figure="at-risk"') == cohorts


def test_at_risk_agrees_with_every_matrix_of_a_seeded_demo(seeded):
    seeded(learners=8, cohorts=3, progress=0.5)
    cohorts = list(Cohort.objects.select_related("track"))
    now = timezone.now()
    rows = staff_overview(cohorts=cohorts, now=now)
    for row in rows:
        matrix = selectors.cohort_matrix(cohort=row.cohort, now=now)
        assert row.at_risk == len(matrix.at_risk), row.cohort.name
        assert row.learners == len(matrix.rows)


def _links(html: str, row_id: str) -> dict[str, str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return {
        kind: href.replace("&amp;", "&")
        for kind, href in re.findall(r'data-figure="([a-z-]+)" href="([^"]+)"', row)
    }


def _queue_rows(client, url) -> set[int]:
    html = client.get(url).content.decode()
    return {int(pk) for pk in re.findall(r'id="queue-row-(\d+)"', html)}


def test_each_figure_links_to_exactly_the_rows_it_counts(world, client):
    client.force_login(world["staff"])
    html = client.get(reverse("dashboard:staff")).content.decode()
    subs, turn = world["subs"], world["turn"]
    cohort_links = _links(html, f"cohort-{turn.pk}")
    assert _queue_rows(client, cohort_links["open"]) == {subs["i4"].pk, subs["i5"].pk}
    assert _queue_rows(client, cohort_links["overdue"]) == {subs["i4"].pk}
    bob = _links(html, f"mentor-{turn.pk}-{world['bob'].pk}")
    assert _queue_rows(client, bob["open"]) == {subs["i4"].pk}
    assert _queue_rows(client, bob["overdue"]) == {subs["i4"].pk}
    ann = _links(html, f"mentor-{turn.pk}-{world['ann'].pk}")
    assert _queue_rows(client, ann["open"]) == set()
    # The figures say what the links list.
    row = re.search(rf'<tr id="cohort-{turn.pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-figure="open" href="[^"]+">2<', row)
    assert re.search(r'data-figure="sla" href="[^"]+">50&nbsp;%<', row)
    assert re.search(r'data-figure="turnaround" href="[^"]+">10.0&nbsp;h<', row)
    # At risk leads to the cohort page's at-risk list, which names exactly those learners.
    risk_links = _links(html, f"cohort-{world['risk'].pk}")
    page = client.get(risk_links["at-risk"].split("#")[0]).content.decode()
    section = page.split('id="risk-heading"', 1)[1].split("</section>", 1)[0]
    named = set(re.findall(r"learners/(\d+)/", section))
    assert named == {str(u.pk) for u in world["at_risk"]}
    assert risk_links["at-risk"].endswith("#risk-heading")


def test_queue_mentor_filter_is_validated_and_shown(world, client):
    client.force_login(world["staff"])
    bob = world["bob"]
    url = reverse("submissions:queue")
    shown = client.get(url, {"tab": "all", "mentor": bob.pk}).content.decode()
    assert "Assigned to <strong>Bob Mentor</strong>" in shown
    # Someone who mentors no cohort: the filter is dropped, the whole queue shows.
    stranger = UserFactory()
    everything = _queue_rows(client, f"{url}?tab=all&mentor={stranger.pk}")
    assert everything == _queue_rows(client, f"{url}?tab=all")
    assert _queue_rows(client, f"{url}?tab=all&mentor=x1") == everything


def test_only_staff_see_the_overview(world, client):
    url = reverse("dashboard:staff")
    assert client.get(url).status_code == 302  # anonymous: to sign in
    client.force_login(world["ann"])  # a mentor
    assert client.get(url).status_code == 302
    client.force_login(world["subs"]["i1"].learner)
    assert client.get(url).status_code == 302


def test_times_on_the_page_are_in_the_viewers_zone(world, client):
    staff = world["staff"]
    staff.time_zone = "Asia/Tokyo"
    staff.save(update_fields=["time_zone"])
    client.force_login(staff)
    html = client.get(reverse("dashboard:staff")).content.decode()
    shown = re.search(r"now \((\d+ \w+ \d{4}, \d\d:\d\d) JST\)", html).group(1)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    at = dt.datetime.strptime(shown, "%d %b %Y, %H:%M").replace(tzinfo=tokyo)
    assert abs(at - timezone.now()) < dt.timedelta(minutes=5)


def test_no_cohorts_empty_state(client, db):
    client.force_login(StaffFactory())
    html = client.get(reverse("dashboard:staff")).content.decode()
    assert "No cohorts yet." in html and "mentors-heading" not in html


def test_api_gives_the_same_figures_to_staff_only(world, client):
    url = "/api/v1/staff/overview/"
    assert client.get(url).status_code in (401, 403)
    for someone in (world["ann"], world["subs"]["i1"].learner):
        client.force_login(someone)
        assert client.get(url).status_code == 403
    client.force_login(world["staff"])
    body = client.get(url).json()
    assert (body["count"], body["page"], body["num_pages"], body["window_days"]) == (2, 1, 1, 30)
    turn = next(r for r in body["results"] if r["cohort"]["id"] == world["turn"].pk)
    assert turn["open_reviews"] == 2 and turn["overdue_reviews"] == 1
    assert turn["median_turnaround_hours"] == pytest.approx(10)
    assert (turn["sla_percent"], turn["sla_within"], turn["sla_counted"]) == (50, 2, 4)
    assert _queue_rows(client, turn["queue_url"]) == {
        world["subs"]["i4"].pk,
        world["subs"]["i5"].pk,
    }
    bob = next(m for m in turn["mentors"] if m["id"] == world["bob"].pk)
    assert (bob["open_reviews"], bob["sla_percent"], bob["median_turnaround_hours"]) == (1, 0, 30)
    assert _queue_rows(client, bob["queue_url"]) == {world["subs"]["i4"].pk}
    risk = next(r for r in body["results"] if r["cohort"]["id"] == world["risk"].pk)
    assert (risk["at_risk"], risk["learners"]) == (3, 6)
    assert client.get(url, {"page": "junk"}).status_code == 200
