"""Turnaround and helpfulness per mentor, side by side (staff cohort page, mentor home)."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.selectors import mentor_feedback
from submissions import feedback, services
from submissions.models import Iteration, Review
from tests.factories import StaffFactory
from tests.submissions.conftest import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _review(world, mentor, submission, *, hours_after_hand_in: float):
    review = services.review_create(
        actor=mentor, submission=submission, verdict="comment", body="A note."
    )
    handed_in = Iteration.objects.get(pk=review.iteration_id).submitted_at
    Review.objects.filter(pk=review.pk).update(
        created_at=handed_in + dt.timedelta(hours=hours_after_hand_in)
    )
    return review


@pytest.fixture
def scene(db):
    world = make_world(mentors=2)
    # A mentor with a name, one known only by email (the table shows the email's local part).
    world.mentor.name = "Ada Mentor"
    world.mentor.save()
    world.other_mentor.name = ""
    world.other_mentor.save()
    ada, bo = world.mentor, world.other_mentor
    work = world.submitted()
    # Ada: 2 h, 10 h and 4 h after the hand-in -> nearest-rank median 4 h.
    # Two of three acknowledged (one rated helpful, one only seen): 67 % seen, 100 % of 1 rated.
    a1 = _review(world, ada, work, hours_after_hand_in=2)
    a2 = _review(world, ada, work, hours_after_hand_in=10)
    _review(world, ada, work, hours_after_hand_in=4)
    feedback.review_acknowledge(actor=world.learner, review=a1, helpful=True)
    feedback.review_acknowledge(actor=world.learner, review=a2)
    # Bo: one review 6 h after, rated not helpful: 100 % seen, 0 % of 1 rated.
    b1 = _review(world, bo, work, hours_after_hand_in=6)
    feedback.review_acknowledge(actor=world.learner, review=b1, helpful=False, note="Vague")
    # Another cohort's reviews are not this cohort's figures.
    elsewhere = make_world(mentors=1)
    _review(elsewhere, elsewhere.mentor, elsewhere.submitted(), hours_after_hand_in=1)
    return world


def test_figures_per_mentor_by_hand(scene):
    rows = mentor_feedback(cohort=scene.cohort)
    assert [row.mentor_id for row in rows] == [scene.mentor.pk, scene.other_mentor.pk]
    ada, bo = rows
    assert (ada.name, ada.reviews, ada.median_turnaround_hours) == ("Ada Mentor", 3, 4.0)
    assert (ada.acknowledged_percent, ada.rated, ada.helpful_percent) == (67, 1, 100)
    assert bo.name == scene.other_mentor.email.split("@")[0]
    assert (bo.reviews, bo.median_turnaround_hours) == (1, 6.0)
    assert (bo.acknowledged_percent, bo.rated, bo.helpful_percent) == (100, 1, 0)


def test_no_rating_yet_shows_no_percentage(db):
    world = make_world(mentors=1)
    _review(world, world.mentor, world.submitted(), hours_after_hand_in=3)
    [row] = mentor_feedback(cohort=world.cohort)
    assert (row.acknowledged_percent, row.helpful_percent) == (0, None)


def test_median_is_nearest_rank_and_never_negative(db):
    """The median is computed in PostgreSQL (percentile_disc): with an even count it is the
    lower middle value (rank ceil(n / 2)), not the mean of the two; a review dated before
    the hand-in counts as 0 h."""
    world = make_world(mentors=1)
    work = world.submitted()
    for hours in (10, 2, 7, -3):
        _review(world, world.mentor, work, hours_after_hand_in=hours)
    [row] = mentor_feedback(cohort=world.cohort)
    assert (row.reviews, row.median_turnaround_hours) == (4, 2.0)
    _review(world, world.mentor, work, hours_after_hand_in=-1)
    _review(world, world.mentor, work, hours_after_hand_in=-2)
    [row] = mentor_feedback(cohort=world.cohort)
    assert (row.reviews, row.median_turnaround_hours) == (6, 0.0)


def test_one_query_however_many_mentors_and_reviews(scene, django_assert_num_queries):
    with django_assert_num_queries(1):
        mentor_feedback(cohort=scene.cohort)
    extra = scene.add_mentor()
    for _ in range(3):
        _review(scene, extra, scene.submitted(learner=scene.add_learner()), hours_after_hand_in=1)
    with django_assert_num_queries(1):
        assert len(mentor_feedback(cohort=scene.cohort)) == 3


def _table(html: str) -> str:
    start = html.index('id="mentor-feedback-heading"')
    return html[start : html.index("</section>", start)]


def test_staff_see_the_table_on_the_cohort_overview(client, scene):
    client.force_login(StaffFactory())
    html = client.get(reverse("dashboard:staff-cohort", args=[scene.cohort.pk])).content.decode()
    table = _table(html)
    assert "Ada Mentor" in table and "4.0 h" in table and "67 %" in table and "100 %" in table


def test_mentors_see_it_for_their_own_cohort_and_the_query_count_stays_put(client, scene):
    client.force_login(scene.mentor)
    url = reverse("dashboard:mentor")
    with CaptureQueriesContext(connection) as small:
        html = client.get(url, {"cohort": scene.cohort.pk}).content.decode()
    assert "Ada Mentor" in _table(html) and "6.0 h" in _table(html)
    cache.clear()
    extra = scene.add_mentor()
    for _ in range(4):
        _review(scene, extra, scene.submitted(learner=scene.add_learner()), hours_after_hand_in=2)
    with CaptureQueriesContext(connection) as large:
        client.get(url, {"cohort": scene.cohort.pk})
    assert len(large.captured_queries) == len(small.captured_queries)


# The table is a cached fragment keyed on `mentor_feedback_stamp`: each input it is computed
# from changes the page at once, through the service that changes it (docs/architecture.md).


def _mentor_table(client, scene) -> str:
    client.force_login(scene.mentor)
    response = client.get(reverse("dashboard:mentor"), {"cohort": scene.cohort.pk})
    assert response.status_code == 200
    return _table(response.content.decode())


def _staff_table(client, scene, staff) -> str:
    client.force_login(staff)
    response = client.get(reverse("dashboard:staff-cohort", args=[scene.cohort.pk]))
    return _table(response.content.decode())


def _ada(table: str) -> str:
    return table.split("Ada Mentor")[1].split("</tr>")[0]


def test_cached_table_follows_a_rating_changed(client, scene):
    staff = StaffFactory()
    assert '>100 % <span class="muted small">of 1' in _ada(_mentor_table(client, scene))
    assert '>100 % <span class="muted small">of 1' in _ada(_staff_table(client, scene, staff))
    a1 = Review.objects.filter(reviewer=scene.mentor).order_by("pk").first()
    # Ada's only rating turns to "not helpful": 0 % of 1 rated.
    feedback.review_acknowledge(actor=scene.learner, review=a1, helpful=False)
    assert '>0 % <span class="muted small">of 1' in _ada(_mentor_table(client, scene))
    assert '>0 % <span class="muted small">of 1' in _ada(_staff_table(client, scene, staff))


def test_cached_table_follows_an_acknowledgement(client, scene):
    assert "67 %" in _mentor_table(client, scene)
    a3 = Review.objects.filter(reviewer=scene.mentor).order_by("pk").last()
    feedback.review_acknowledge(actor=scene.learner, review=a3)
    row = _ada(_mentor_table(client, scene))
    assert "67 %" not in row and ">100 %</td>" in row


def test_cached_table_follows_a_new_review(client, scene):
    assert '<td class="num">3</td>' in _ada(_mentor_table(client, scene))
    _review(
        scene, scene.mentor, scene.submitted(learner=scene.add_learner()), hours_after_hand_in=1
    )
    assert '<td class="num">4</td>' in _ada(_mentor_table(client, scene))


def test_cached_table_follows_a_mentor_renamed(client, scene):
    assert "Ada Mentor" in _mentor_table(client, scene)
    scene.mentor.name = "Ada Reviewer"
    scene.mentor.save(update_fields=["name"])
    table = _mentor_table(client, scene)
    assert "Ada Reviewer" in table and "Ada Mentor" not in table


def test_cached_table_follows_a_new_reviewer_and_their_new_name(client, scene):
    # The stamp digests the names of the reviewers listed when the cohort's work last
    # changed: one who reviews for the first time must join that list at once.
    newcomer = scene.add_mentor(user__name="Cy Newcomer")
    assert "Cy Newcomer" not in _mentor_table(client, scene)
    _review(scene, newcomer, scene.submitted(learner=scene.add_learner()), hours_after_hand_in=1)
    assert "Cy Newcomer" in _mentor_table(client, scene)
    newcomer.name = "Cy Renamed"
    newcomer.save(update_fields=["name"])
    table = _mentor_table(client, scene)
    assert "Cy Renamed" in table and "Cy Newcomer" not in table
