import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cohorts.models import Membership
from dashboards.selectors import cohort_stats
from submissions.models import Submission
from tests.factories import CohortFactory, MembershipFactory, MentorMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# Fixed ceilings: a page's queries must not grow with the cohort (asserted at 5 and 200).
# The first request builds the cached fragment; later ones only check its stamp.
LEARNER_HOME_MAX = 10
# The per-mentor feedback table (dashboards.selectors.mentor_feedback) is its own cached
# fragment on both pages: its stamp (one query) on every visit, plus, when the cohort's
# submissions changed, the list of its reviewers (whose names the stamp digests) and the
# table's own query.
MENTOR_FEEDBACK = 1
MENTOR_FEEDBACK_DRAWN = MENTOR_FEEDBACK + 2
# The mentor home is cached whole: session, user, the mentor's cohorts (which also answer
# the navigation's roles) and one stamp (matrix, feedback table and bell). Drawn: + the
# cohort's reviews and its reviewers' names (when the submissions changed), the matrix
# (5), the feedback table and the bell.
MENTOR_HOME_CACHED = 4
MENTOR_HOME_MAX = MENTOR_HOME_CACHED + 2 + 5 + 1 + 1
# The staff cohort page's mentor list with away mode (submissions.services.mentor_loads:
# mentors, their open reviews) is not cached (away mode changes no submission).
MENTOR_AWAY_LIST = 2
STAFF_COHORT_MAX = 13 + 6 + MENTOR_FEEDBACK_DRAWN + MENTOR_AWAY_LIST  # + CAPACITY_FORECAST (below)
# Cached: session, user, the page's stamp.
LEARNER_HOME_CACHED = 3
# Cached: session, user, cohorts, roles, stamp, unread count.
MATRIX_CACHED = 6
# The staff cohort page's capacity warning is not cached (submissions.wait.capacity_forecast:
# mentor capacity, labs, overrides, extensions, submissions, learners).
CAPACITY_FORECAST = 6


def count_queries(client, url, **headers) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def same_page(one, other) -> bool:
    """The same HTML apart from the CSRF token, which Django masks afresh on every response."""
    token = re.compile(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')
    return token.sub(r"\1", one.content.decode()) == token.sub(r"\1", other.content.decode())


def assert_csp_clean(html: str) -> None:
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"


@pytest.mark.parametrize("size", [5, 200])
def test_learner_home_queries_do_not_grow(client, seeded, size, django_assert_max_num_queries):
    world = seeded(learners=size)
    client.force_login(world["learner"])
    with django_assert_max_num_queries(LEARNER_HOME_MAX):
        first = client.get(reverse("dashboard:learner"))
    with django_assert_max_num_queries(LEARNER_HOME_CACHED):
        again = client.get(reverse("dashboard:learner"))
    assert first.status_code == again.status_code == 200
    assert same_page(again, first)


@pytest.mark.parametrize("size", [5, 200])
def test_matrix_queries_do_not_grow(client, seeded, size, django_assert_max_num_queries):
    world = seeded(learners=size)
    client.force_login(world["mentor"])
    url = reverse("dashboard:mentor")
    with django_assert_max_num_queries(MENTOR_HOME_MAX):
        response = client.get(url, {"sort": "progress", "page": 2})
    assert response.status_code == 200
    with django_assert_max_num_queries(MENTOR_HOME_CACHED):
        again = client.get(url, {"sort": "progress", "page": 2})
    assert same_page(again, response)


@pytest.mark.parametrize("size", [5, 200])
def test_staff_cohort_queries_do_not_grow(client, seeded, size, django_assert_max_num_queries):
    world = seeded(learners=size)
    client.force_login(world["admin"])
    url = reverse("dashboard:staff-cohort", args=[world["cohort"].pk])
    with django_assert_max_num_queries(STAFF_COHORT_MAX):
        response = client.get(url)
    assert response.status_code == 200
    with django_assert_max_num_queries(
        MATRIX_CACHED + CAPACITY_FORECAST + MENTOR_FEEDBACK + MENTOR_AWAY_LIST
    ):
        again = client.get(url)
    assert same_page(again, response)


def test_same_query_count_at_both_sizes(client, seeded, track):
    def counts(world) -> tuple[int, ...]:
        result = []
        for user, url in (
            (world["mentor"], "dashboard:mentor"),
            (world["learner"], "dashboard:learner"),
        ):
            client.force_login(user)
            cache.clear()
            built, _ = count_queries(client, reverse(url))
            cached, _ = count_queries(client, reverse(url))
            result += [built, cached]
        return tuple(result)

    small = counts(seeded(learners=5))
    # Grow the same cohort to 200 learners: seed_demo adds the missing ones.
    large = counts(seeded(learners=200))
    assert small == large


def test_learner_home_shows_progress_weeks_chart_and_feedback(client, seeded):
    world = seeded()
    learner, cohort = world["learner"], world["cohort"]
    client.force_login(learner)
    response = client.get(reverse("dashboard:learner"))
    html = response.content.decode()
    approved = Submission.objects.filter(learner=learner, cohort=cohort, state="approved").count()
    assert f"Progress: {approved} of " in html
    assert f'value="{approved}"' in html
    assert "<svg" in html and "Labs approved over the weeks" in html
    assert 'role="img"' in html
    for lab_week in range(1, 11):
        assert f"Go lab {lab_week}" in html
    assert "chip chip-approved" in html
    assert "Not released" in html  # the last weeks of the demo cohort are still to come
    assert "Recent feedback" in html
    assert_csp_clean(html)


def test_learner_home_htmx_renders_only_the_panel_and_varies(client, seeded):
    world = seeded()
    client.force_login(world["learner"])
    full = client.get(reverse("dashboard:learner"))
    partial = client.get(reverse("dashboard:learner"), HTTP_HX_REQUEST="true")
    assert "HX-Request" in full["Vary"] and "HX-Request" in partial["Vary"]
    assert b"<html" in full.content
    assert b"<html" not in partial.content
    assert partial.content.strip().startswith(b'<div id="cohort-panel"')


def test_learner_home_empty_state(client):
    client.force_login(UserFactory())
    response = client.get(reverse("dashboard:learner"))
    assert "You are not in a cohort yet" in response.content.decode()


def test_matrix_cells_link_to_reviews_and_tell_state_in_text(client, seeded):
    world = seeded()
    client.force_login(world["mentor"])
    html = client.get(reverse("dashboard:mentor")).content.decode()
    assert "cell cell-approved" in html
    assert ": Approved" in html  # tooltip and hidden text say the state, not only the colour
    assert 'class="legend"' in html
    assert_csp_clean(html)
    assert (
        reverse("dashboard:learner-history", args=[world["cohort"].pk, world["learner"].pk]) in html
    )


def test_matrix_sort_by_progress_puts_the_most_advanced_first(client, seeded):
    world = seeded(learners=12)
    client.force_login(world["mentor"])
    response = client.get(reverse("dashboard:mentor"), {"sort": "progress"})
    html = response.content.decode()
    cells = re.findall(r'<td class="num">(\d+)/(\d+)</td>', html)
    percents = [round(100 * int(a) / int(r)) if int(r) else 0 for a, r in cells]
    assert len(percents) == 12
    assert len(set(percents)) > 1  # the check below means something
    assert percents == sorted(percents, reverse=True)
    assert 'aria-sort="descending"' in response.content.decode()


def test_mentor_sees_only_their_cohorts(client, seeded, track):
    world = seeded()
    other = CohortFactory(track=track, name="Other cohort")
    MembershipFactory(cohort=other)
    client.force_login(world["mentor"])
    response = client.get(reverse("dashboard:mentor"), {"cohort": other.pk})
    assert response.context["current"] == world["cohort"]
    assert "Other cohort" not in response.content.decode()


def test_learner_history_is_for_the_cohorts_mentors_and_staff(client, seeded, track):
    world = seeded()
    url = reverse("dashboard:learner-history", args=[world["cohort"].pk, world["learner"].pk])
    outsider_mentor = MentorMembershipFactory(cohort=CohortFactory(track=track)).user
    classmate = (
        Membership.objects.filter(cohort=world["cohort"], role="learner")
        .exclude(user=world["learner"])[0]
        .user
    )
    for user in (outsider_mentor, classmate, world["learner"]):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    for user in (world["mentor"], world["admin"]):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert world["learner"].email in response.content.decode()


def test_at_risk_lists_learners_behind_with_the_reason(client, seeded, track):
    world = seeded()
    # A new learner who has done nothing while every released lab came due is behind.
    MembershipFactory(cohort=world["cohort"], user__name="Idle Person")
    client.force_login(world["mentor"])
    response = client.get(reverse("dashboard:mentor"))
    html = response.content.decode()
    risk_list = html[html.index('class="plain-list risk-list"') :]
    entry = re.search(r"Idle Person</a>\s*<span class=\"chip chip-late\">([^<]*)</span>", risk_list)
    assert entry is not None, "the idle learner is not in the at-risk list"
    assert "labs behind the schedule" in entry.group(1)


def test_staff_pages(client, seeded):
    world = seeded()
    client.force_login(world["admin"])
    listing = client.get(reverse("dashboard:staff"))
    assert world["cohort"].name in listing.content.decode()
    assert "HX-Request" in listing["Vary"]
    detail = client.get(reverse("dashboard:staff-cohort", args=[world["cohort"].pk]))
    html = detail.content.decode()
    assert "median time to first review" in html
    assert "Progress distribution" in html and "Hand-ins per week" in html
    assert html.count("<svg") >= 2
    assert_csp_clean(html)
    stats = cohort_stats(cohort=world["cohort"])
    assert stats.turnaround.reviewed > 0
    assert stats.turnaround.median_hours <= stats.turnaround.p90_hours
    assert f"{stats.turnaround.reviewed} hand-ins reviewed" in html


def test_staff_pages_refuse_non_staff(client, seeded):
    world = seeded()
    client.force_login(world["mentor"])
    assert client.get(reverse("dashboard:staff")).status_code == 302
    url = reverse("dashboard:staff-cohort", args=[world["cohort"].pk])
    assert client.get(url).status_code == 302


def test_learner_home_shows_due_times_in_the_learners_zone(client, seeded):
    world = seeded()
    learner = world["learner"]
    learner.time_zone = "Asia/Tokyo"
    learner.save()
    client.force_login(learner)
    html = client.get(reverse("dashboard:learner")).content.decode()
    # Due 23:59 UTC is 08:59 the next morning in Tokyo.
    assert "08:59 JST" in html
    learner.time_zone = "Not/AZone"
    learner.save()
    assert client.get(reverse("dashboard:learner")).status_code == 200


def test_matrix_escapes_names_and_titles(client, seeded, track):
    world = seeded()
    MembershipFactory(cohort=world["cohort"], user__name='<img src=x onerror="alert(1)">')
    client.force_login(world["mentor"])
    html = client.get(reverse("dashboard:mentor")).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
