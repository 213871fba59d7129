"""Every input of a cached page is in its key: one test per input, each changing only that
input (through the path that changes it in production: a service, an import, the admin) and
reading the page again at once. Dropping the input from the page's stamp makes its test fail.

And only what a page understands is in its key: junk query strings reuse the same entry.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts import services as cohort_services
from cohorts.models import Extension, Membership
from curriculum.exporter import curriculum_data, to_json
from curriculum.selectors import tracks_with_labs
from curriculum.services import import_curriculum_file
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort():
    """A cohort 17 days in: weeks 1 and 2 are past due, so every learner who has handed
    nothing in is two labs behind (overdue cells in the matrix, listed as at risk)."""
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=17))
    LabFactory(track=cohort.track, week=1, title="First lab")
    LabFactory(track=cohort.track, week=2, title="Second lab")
    return cohort


@pytest.fixture
def mentor(cohort):
    return MentorMembershipFactory(cohort=cohort).user


@pytest.fixture
def staff():
    return StaffFactory()


def learner(cohort, name: str, **fields) -> Membership:
    return MembershipFactory(cohort=cohort, user=UserFactory(name=name), **fields)


def matrix(client, mentor, cohort, params=None) -> str:
    client.force_login(mentor)
    response = client.get(reverse("dashboard:mentor"), {"cohort": cohort.pk, **(params or {})})
    assert response.status_code == 200
    return response.content.decode()


def overview(client, staff, cohort, params=None) -> str:
    client.force_login(staff)
    response = client.get(reverse("dashboard:staff-cohort", args=[cohort.pk]), params or {})
    assert response.status_code == 200
    return response.content.decode()


def cell(html: str, name: str, lab) -> str:
    """The title of one matrix cell: '<name> · Week <n> · <title>: <status>'."""
    prefix = f"{name} · Week {lab.week} · {lab.title}: "
    start = html.index(prefix) + len(prefix)
    return html[start : html.index('"', start)]


def first_lab(cohort):
    return cohort.track.labs.get(week=1)


# --- the learners of the matrix and the staff overview ------------------------------------


def _swap_setup(cohort):
    """Four learners enrolled at the same instant (as a CSV enrolment does), with
    consecutive ids: the first and last active, the middle two ended, so both pairs have
    the same count, newest join and sum of ids."""
    joined = timezone.now() - dt.timedelta(days=1)
    members = [learner(cohort, name, joined_at=joined) for name in ("Ann", "Bob", "Cid", "Dee")]
    ids = [m.user_id for m in members]
    assert ids[0] + ids[3] == ids[1] + ids[2]
    staff = StaffFactory()
    for membership in members[1:3]:
        cohort_services.membership_deactivate(actor=staff, membership=membership)
    return staff, members


def _swap(staff, members):
    for membership in (members[0], members[3]):
        cohort_services.membership_deactivate(actor=staff, membership=membership)
    for membership in members[1:3]:
        cohort_services.membership_reactivate(actor=staff, membership=membership)


def test_matrix_shows_learners_swapped_with_the_same_id_sum(client, cohort, mentor):
    staff, members = _swap_setup(cohort)
    html = matrix(client, mentor, cohort)
    assert "Ann · Week 1" in html and "Bob · Week 1" not in html
    _swap(staff, members)
    html = matrix(client, mentor, cohort)
    assert "Bob · Week 1" in html and "Cid · Week 1" in html
    assert "Ann · Week 1" not in html and "Dee · Week 1" not in html


def test_staff_overview_shows_learners_swapped_with_the_same_id_sum(client, cohort):
    staff, members = _swap_setup(cohort)
    assert ">Ann</a>" in overview(client, staff, cohort)  # at risk: two labs behind
    _swap(staff, members)
    html = overview(client, staff, cohort)
    assert ">Bob</a>" in html and ">Cid</a>" in html
    assert ">Ann</a>" not in html and ">Dee</a>" not in html


def test_a_deactivated_account_leaves_the_matrix_and_the_overview(client, cohort, mentor, staff):
    gone = learner(cohort, "Gone Soon").user
    learner(cohort, "Staying")
    assert "Gone Soon · Week 1" in matrix(client, mentor, cohort)
    assert ">Gone Soon</a>" in overview(client, staff, cohort)
    gone.is_active = False  # as the admin's "active" checkbox does
    gone.save(update_fields=["is_active"])
    assert "Gone Soon" not in matrix(client, mentor, cohort)
    assert ">Gone Soon</a>" not in overview(client, staff, cohort)


def test_a_learner_renamed_shows_at_once_in_the_matrix(client, cohort, mentor):
    user = learner(cohort, "Old Name").user
    assert "Old Name · Week 1" in matrix(client, mentor, cohort)
    user.name = "New Name"
    user.save(update_fields=["name"])
    assert "New Name · Week 1" in matrix(client, mentor, cohort)


def test_a_learner_who_becomes_a_mentor_leaves_the_matrix(client, cohort, mentor, staff):
    membership = learner(cohort, "Promoted Person")
    assert "Promoted Person · Week 1" in matrix(client, mentor, cohort)
    cohort_services.membership_change_role(actor=staff, membership=membership, role="mentor")
    assert "Promoted Person · Week 1" not in matrix(client, mentor, cohort)


def test_staff_overview_follows_a_learners_join_time(client, staff):
    """Someone who has handed nothing in counts as inactive from the day they joined."""
    cohort = CohortFactory(start_date=timezone.localdate())
    LabFactory(track=cohort.track, week=1)
    membership = learner(cohort, "Newcomer")
    assert "no activity" not in overview(client, staff, cohort)
    membership.joined_at = timezone.now() - dt.timedelta(days=12)  # corrected in the admin
    membership.save(update_fields=["joined_at"])
    assert "no activity for 12 days" in overview(client, staff, cohort)


# --- extensions and overrides ---------------------------------------------------------------


def test_matrix_follows_an_extension(client, cohort, mentor, staff):
    user = learner(cohort, "Extended Person").user
    lab = first_lab(cohort)
    assert cell(matrix(client, mentor, cohort), "Extended Person", lab) == "Overdue"
    cohort_services.extension_grant(
        actor=staff, cohort=cohort, lab=lab, learner=user,
        due_at=timezone.now() + dt.timedelta(days=5), reason="Illness",
    )  # fmt: skip
    assert cell(matrix(client, mentor, cohort), "Extended Person", lab) == "Not started"


def test_matrix_follows_an_extension_edited_in_the_admin(client, cohort, mentor, staff):
    """The admin saves the new due time and nothing else: no change time moves."""
    user = learner(cohort, "Extended Person").user
    lab = first_lab(cohort)
    extension = cohort_services.extension_grant(
        actor=staff, cohort=cohort, lab=lab, learner=user,
        due_at=timezone.now() - dt.timedelta(hours=1), reason="A day more",
    )  # fmt: skip
    assert cell(matrix(client, mentor, cohort), "Extended Person", lab) == "Overdue"
    extension.due_at = timezone.now() + dt.timedelta(days=5)
    extension.save(update_fields=["due_at"])
    assert cell(matrix(client, mentor, cohort), "Extended Person", lab) == "Not started"


def test_matrix_follows_an_extension_revoked_and_another_granted(client, cohort, mentor, staff):
    one = learner(cohort, "First Person").user
    two = learner(cohort, "Second Person").user
    lab = first_lab(cohort)
    later = timezone.now() + dt.timedelta(days=5)
    extension = cohort_services.extension_grant(
        actor=staff, cohort=cohort, lab=lab, learner=two, due_at=later, reason="Illness"
    )
    html = matrix(client, mentor, cohort)
    assert cell(html, "Second Person", lab) == "Not started"
    assert cell(html, "First Person", lab) == "Overdue"
    # One extension ends and one starts with the very same grant time: same count and
    # newest time in the table, different learners.
    Extension.objects.filter(pk=extension.pk).update(learner=one)
    html = matrix(client, mentor, cohort)
    assert cell(html, "First Person", lab) == "Not started"
    assert cell(html, "Second Person", lab) == "Overdue"


def test_matrix_follows_a_schedule_override(client, cohort, mentor, staff):
    learner(cohort, "Someone")
    lab = first_lab(cohort)
    assert cell(matrix(client, mentor, cohort), "Someone", lab) == "Overdue"
    cohort_services.schedule_override_set(
        actor=staff, cohort=cohort, lab=lab, due_at=timezone.now() + dt.timedelta(days=3)
    )
    assert cell(matrix(client, mentor, cohort), "Someone", lab) == "Not started"
    cohort_services.schedule_override_clear(actor=staff, cohort=cohort, lab=lab)
    assert cell(matrix(client, mentor, cohort), "Someone", lab) == "Overdue"


def test_staff_overview_follows_an_extension(client, cohort, staff):
    user = learner(cohort, "Behind Person").user
    assert "2 labs behind" in overview(client, staff, cohort)
    cohort_services.extension_grant(
        actor=staff, cohort=cohort, lab=first_lab(cohort), learner=user,
        due_at=timezone.now() + dt.timedelta(days=5), reason="Illness",
    )  # fmt: skip
    assert "2 labs behind" not in overview(client, staff, cohort)


def test_staff_overview_follows_a_schedule_override(client, cohort, staff):
    learner(cohort, "Behind Person")
    assert "2 labs behind" in overview(client, staff, cohort)
    cohort_services.schedule_override_set(
        actor=staff, cohort=cohort, lab=first_lab(cohort),
        due_at=timezone.now() + dt.timedelta(days=3),
    )  # fmt: skip
    assert "2 labs behind" not in overview(client, staff, cohort)


# --- labs and submissions ---------------------------------------------------------------------


def test_matrix_follows_a_curriculum_import(client, cohort, mentor, staff):
    learner(cohort, "Someone")
    assert "Week 1 · First lab" in matrix(client, mentor, cohort)
    data = curriculum_data(tracks_with_labs().filter(pk=cohort.track_id))
    lab = next(lab for track in data["tracks"] for lab in track["labs"] if lab["week"] == 1)
    lab["title"] = "Renamed lab"
    import_curriculum_file(actor=staff, source=to_json(data).encode(), filename="update.json")
    html = matrix(client, mentor, cohort)
    assert "Week 1 · Renamed lab" in html and "First lab" not in html


def test_matrix_follows_a_lab_edited_in_the_admin(client, cohort, mentor):
    learner(cohort, "Someone")
    assert "Week 1 · First lab" in matrix(client, mentor, cohort)
    lab = first_lab(cohort)
    lab.title = "Retitled lab"
    lab.save()
    assert "Week 1 · Retitled lab" in matrix(client, mentor, cohort)


def test_matrix_follows_a_hand_in(client, cohort, mentor):
    from submissions import services as submission_services

    user = learner(cohort, "Worker").user
    lab = first_lab(cohort)
    assert cell(matrix(client, mentor, cohort), "Worker", lab) == "Overdue"
    submission = submission_services.submission_get_or_create_draft(
        learner=user, cohort=cohort, lab=lab
    )
    submission_services.submission_save_draft(
        actor=user, submission=submission, repo_url="https://github.com/example/lab",
        commit_sha="", notes="", checklist=[],
    )  # fmt: skip
    submission_services.submission_submit(actor=user, submission=submission)
    assert cell(matrix(client, mentor, cohort), "Worker", lab).startswith("Submitted")


def test_matrix_stamp_follows_a_submission_replaced_or_written_out_of_order(cohort):
    """The cohort's submissions are stamped by their count and the sum of their change
    times (no digest of every row): a row deleted while another is added keeps the count,
    and a write committed after a later one keeps the newest time; both move the sum."""
    from dashboards.selectors import cohort_matrix_stamp
    from submissions.models import Submission
    from tests.factories import SubmissionFactory

    lab = first_lab(cohort)
    first = SubmissionFactory(cohort=cohort, lab=lab, learner=learner(cohort, "One").user)
    SubmissionFactory(cohort=cohort, lab=lab, learner=learner(cohort, "Two").user)
    before = cohort_matrix_stamp(cohort, now=timezone.now())
    first.delete()
    SubmissionFactory(cohort=cohort, lab=lab, learner=learner(cohort, "Three").user)
    replaced = cohort_matrix_stamp(cohort, now=timezone.now())
    assert replaced != before
    newest = Submission.objects.filter(cohort=cohort).order_by("-updated_at").first()
    older = Submission.objects.filter(cohort=cohort).exclude(pk=newest.pk).get()
    # A write stamped before the newest change, committed after it.
    Submission.objects.filter(pk=older.pk).update(
        updated_at=newest.updated_at - dt.timedelta(microseconds=1)
    )
    assert cohort_matrix_stamp(cohort, now=timezone.now()) != replaced


# --- the learner's home -----------------------------------------------------------------------


def test_learner_home_follows_an_extension_edited_in_the_admin(client, cohort, staff):
    user = learner(cohort, "Extended Person").user
    lab = first_lab(cohort)
    extension = cohort_services.extension_grant(
        actor=staff, cohort=cohort, lab=lab, learner=user,
        due_at=timezone.now() - dt.timedelta(hours=1), reason="A day more",
    )  # fmt: skip
    client.force_login(user)
    page = client.get(reverse("dashboard:learner")).content.decode()
    assert "2 overdue" in page or "Overdue" in page
    overdue_before = page.count("Overdue")
    extension.due_at = timezone.now() + dt.timedelta(days=5)
    extension.save(update_fields=["due_at"])
    after = client.get(reverse("dashboard:learner")).content.decode()
    assert after.count("Overdue") < overdue_before


def test_learner_home_follows_a_lab_edited_in_the_admin(client, cohort):
    user = learner(cohort, "Someone").user
    client.force_login(user)
    assert "First lab" in client.get(reverse("dashboard:learner")).content.decode()
    lab = first_lab(cohort)
    lab.title = "Retitled lab"
    lab.save()
    assert "Retitled lab" in client.get(reverse("dashboard:learner")).content.decode()


# --- the learner's schedule (cohorts.views.schedule, cached whole) --------------------------


def schedule_page(client, user, cohort) -> str:
    client.force_login(user)
    response = client.get(reverse("cohorts:schedule", args=[cohort.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_learner_schedule_follows_an_extension(client, cohort, mentor):
    user = learner(cohort, "Someone").user
    assert "Not sure yet" not in schedule_page(client, user, cohort)
    cohort_services.extension_grant(
        actor=mentor,
        cohort=cohort,
        lab=first_lab(cohort),
        learner=user,
        due_at=timezone.now() + dt.timedelta(days=3),
        reason="Not sure yet",
    )
    assert "Not sure yet" in schedule_page(client, user, cohort)


def test_learner_schedule_shows_only_the_learners_own_extension(client, cohort, mentor):
    user = learner(cohort, "Someone").user
    other = learner(cohort, "Other").user
    assert "Your extension" in schedule_page(client, user, cohort)
    cohort_services.extension_grant(
        actor=mentor,
        cohort=cohort,
        lab=first_lab(cohort),
        learner=other,
        due_at=timezone.now() + dt.timedelta(days=3),
        reason="Theirs only",
    )
    assert "Theirs only" not in schedule_page(client, user, cohort)
    assert "Theirs only" in schedule_page(client, other, cohort)


def test_learner_schedule_follows_a_schedule_override(client, cohort, staff):
    user = learner(cohort, "Someone").user
    assert "Changed" not in schedule_page(client, user, cohort)
    cohort_services.schedule_override_set(
        actor=staff,
        cohort=cohort,
        lab=first_lab(cohort),
        release_at=None,
        due_at=timezone.now() + dt.timedelta(days=9),
    )
    assert "Changed" in schedule_page(client, user, cohort)


def test_learner_schedule_follows_a_lab_edited_in_the_admin(client, cohort):
    user = learner(cohort, "Someone").user
    assert "First lab" in schedule_page(client, user, cohort)
    lab = first_lab(cohort)
    lab.title = "Retitled lab"
    lab.save()
    assert "Retitled lab" in schedule_page(client, user, cohort)


def test_learner_schedule_follows_the_bell(client, cohort):
    from notifications.models import Notification

    user = learner(cohort, "Someone").user
    before = schedule_page(client, user, cohort)
    Notification.objects.create(recipient=user, kind="comment.added", text="A message")
    assert schedule_page(client, user, cohort) != before


def test_learner_schedule_releases_a_lab_at_its_release_time(client, monkeypatch):
    """Inside the page's max age, only its end of validity (the next release) redraws it."""
    from cohorts.selectors import cohort_schedule

    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=3))
    LabFactory(track=cohort.track, week=1, title="First lab")
    LabFactory(track=cohort.track, week=2, title="Second lab")
    user = learner(cohort, "Someone").user
    release = cohort_schedule(cohort=cohort)[1].release_at
    monkeypatch.setattr(timezone, "now", lambda: release - dt.timedelta(seconds=10))
    assert "Not released yet" in schedule_page(client, user, cohort)
    monkeypatch.setattr(timezone, "now", lambda: release + dt.timedelta(seconds=10))
    assert "Not released yet" not in schedule_page(client, user, cohort)


def test_learner_schedule_queries_stay_put_and_the_cached_page_is_cheaper(
    client, cohort, django_assert_max_num_queries
):
    user = learner(cohort, "Someone").user
    for week in range(3, 30):
        LabFactory(track=cohort.track, week=week)
    client.force_login(user)
    url = reverse("cohorts:schedule", args=[cohort.slug])
    with django_assert_max_num_queries(SCHEDULE_DRAWN):
        assert client.get(url).status_code == 200
    # Cached: session, user, memberships, the cohort, the stamp.
    with django_assert_max_num_queries(SCHEDULE_CACHED):
        assert client.get(url).status_code == 200


# Drawn: + the latest announcements and the cohort's pinned labs (one query each).
SCHEDULE_DRAWN = 11
SCHEDULE_CACHED = 5


# --- keys hold only what a page understands -------------------------------------------------


JUNK = [
    {"utm_source": "x" * 50},
    {"cohort": "abc"},
    {"cohort": "987654"},
    {"cohort": "-1"},
    {"page": "9999"},
    {"page": "-7"},
    {"page": "0"},
    {"page": "two"},
    {"sort": "nonsense"},
    {"tab": "nonsense"},
    {"state": "nonsense"},
    {"lab": "987654"},
    {"lab": "x"},
    {"a": "1", "b": "2", "c": "3"},
]


def test_junk_parameters_reuse_the_learner_homes_entry(client, cohort, recording):
    user = learner(cohort, "Someone").user
    client.force_login(user)
    client.get(reverse("dashboard:learner"))
    assert len(recording.stored) == 1
    for i, params in enumerate(JUNK * 3):
        response = client.get(reverse("dashboard:learner"), {**params, "n": str(i)})
        assert response.status_code == 200
        assert "First lab" in response.content.decode()
    assert len(set(recording.stored)) == 1


def test_junk_parameters_reuse_the_matrix_entry(client, cohort, mentor, recording):
    learner(cohort, "Someone")
    matrix(client, mentor, cohort)
    # The page, its matrix and its per-mentor feedback table: one entry each.
    assert sorted(key.split(":")[2] for key in recording.stored) == [
        "mentor-feedback",
        "mentor-home",
        "mentor-matrix",
    ]
    for i, params in enumerate(JUNK * 3):
        html = matrix(client, mentor, cohort, {"cohort": cohort.pk, **params, "n": str(i)})
        assert "Someone · Week 1" in html
    assert len(set(recording.stored)) == 3


def test_junk_parameters_reuse_the_staff_overview_entry(client, cohort, staff, recording):
    learner(cohort, "Someone")
    overview(client, staff, cohort)
    for i, params in enumerate(JUNK):
        overview(client, staff, cohort, {**params, "n": str(i)})
    # The overview and the per-mentor feedback table: one entry each.
    assert sorted(key.split(":")[2] for key in set(recording.stored)) == [
        "mentor-feedback",
        "staff-cohort",
    ]


def test_junk_parameters_add_no_review_queue_entries(client, cohort, mentor, recording):
    learner(cohort, "Someone")
    client.force_login(mentor)
    url = reverse("submissions:queue")
    assert client.get(url).status_code == 200
    assert len(recording.stored) == 1
    for i, params in enumerate(JUNK * 3):
        response = client.get(url, {**params, "n": str(i)})
        assert response.status_code == 200
    assert len(set(recording.stored)) == 1


def test_the_queue_keys_on_its_valid_filters(client, cohort, mentor, recording):
    """A valid filter is a page of its own; the same filter spelled with junk around it
    reuses that page's entry."""
    learner(cohort, "Someone")
    client.force_login(mentor)
    url = reverse("submissions:queue")
    client.get(url, {"tab": "all", "cohort": cohort.pk})
    client.get(url, {"tab": "all", "cohort": cohort.pk, "junk": "1", "page": "500"})
    client.get(url, {"cohort": cohort.pk, "tab": "all", "lab": "987654"})
    client.get(url)
    assert len(set(recording.stored)) == 2


# --- the clock ------------------------------------------------------------------------------


def test_staff_overview_counts_overdue_reviews_at_the_due_time(client, staff, monkeypatch):
    """Twenty seconds apart, well inside the overview's max age: only its end of validity
    (the review due time) can make the second request draw it again."""
    from tests.submissions.conftest import make_world

    world = make_world(mentors=1)
    submission = world.submitted()
    due = submission.review_due_at
    monkeypatch.setattr(timezone, "now", lambda: due - dt.timedelta(seconds=10))
    assert "1 overdue" not in overview(client, staff, world.cohort)
    monkeypatch.setattr(timezone, "now", lambda: due + dt.timedelta(seconds=10))
    assert "(1 overdue)" in overview(client, staff, world.cohort)


def test_staff_overview_counts_a_missed_sla_when_it_passes(client, staff, monkeypatch):
    from tests.submissions.conftest import make_world

    world = make_world(mentors=1)
    submission = world.submitted()
    # A shorter SLA from now on: the hand-in misses it long before its review is due.
    cohort_services.cohort_update(actor=staff, cohort=world.cohort, review_sla_hours=1)
    sla_ends = submission.submitted_at + dt.timedelta(hours=1)
    assert submission.review_due_at > sla_ends + dt.timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: sla_ends - dt.timedelta(seconds=10))
    assert "missed it" not in overview(client, staff, world.cohort)
    monkeypatch.setattr(timezone, "now", lambda: sla_ends + dt.timedelta(seconds=10))
    assert "1 missed it" in overview(client, staff, world.cohort)


# --- the mentor's home (cached whole: dashboards.views.mentor_home) -------------------------


def test_mentor_home_tabs_follow_another_cohort_renamed(client, cohort, mentor, staff):
    other = MentorMembershipFactory(user=mentor, cohort=CohortFactory(name="Second cohort")).cohort
    learner(cohort, "Someone")
    assert "Second cohort" in matrix(client, mentor, cohort)
    cohort_services.cohort_update(actor=staff, cohort=other, name="Renamed cohort")
    html = matrix(client, mentor, cohort)
    assert "Renamed cohort" in html and "Second cohort" not in html


def test_mentor_home_follows_the_bell(client, cohort, mentor):
    from notifications.models import Notification

    learner(cohort, "Someone")
    before = matrix(client, mentor, cohort)
    Notification.objects.create(recipient=mentor, kind="comment.added", text="A message")
    assert matrix(client, mentor, cohort) != before


def test_mentor_home_follows_a_new_role_in_the_navigation(client, cohort, mentor):
    learner(cohort, "Someone")
    assert "My labs" not in matrix(client, mentor, cohort)
    MembershipFactory(user=mentor, cohort=CohortFactory())  # learns in another cohort
    assert "My labs" in matrix(client, mentor, cohort)


def test_mentor_home_follows_away_mode_set_elsewhere(client, cohort, mentor):
    from submissions.services import mentor_set_away

    learner(cohort, "Someone")
    assert "available for new reviews" in matrix(client, mentor, cohort)
    until = timezone.localdate() + dt.timedelta(days=3)
    mentor_set_away(actor=mentor, user=mentor, until=until, note="At a conference")
    html = matrix(client, mentor, cohort)
    assert "At a conference" in html and "available for new reviews" not in html


def test_mentor_home_ends_away_mode_when_it_runs_out(client, cohort, mentor, monkeypatch):
    """Inside the page's max age, only its end of validity (the end of away mode) can make
    the second request draw it again."""
    from submissions.services import mentor_set_away

    learner(cohort, "Someone")
    mentor_set_away(
        actor=mentor, user=mentor, until=timezone.localdate() + dt.timedelta(days=1), note=""
    )
    mentor.refresh_from_db()
    back = mentor.away_until
    monkeypatch.setattr(timezone, "now", lambda: back - dt.timedelta(seconds=10))
    assert "available for new reviews" not in matrix(client, mentor, cohort)
    monkeypatch.setattr(timezone, "now", lambda: back + dt.timedelta(seconds=10))
    assert "available for new reviews" in matrix(client, mentor, cohort)


def test_mentor_home_follows_a_comment_in_the_at_risk_list(client, mentor, staff):
    """A learner idle for a week leaves the at-risk list when they write again: a comment
    changes only the submission's activity, which the page's stamp must see."""
    from submissions import services as submission_services
    from submissions.models import Submission

    cohort = CohortFactory(start_date=timezone.localdate())
    lab = LabFactory(track=cohort.track, week=1)
    MentorMembershipFactory(user=mentor, cohort=cohort)
    user = learner(cohort, "Quiet Person", joined_at=timezone.now() - dt.timedelta(days=20)).user
    submission = submission_services.submission_get_or_create_draft(
        learner=user, cohort=cohort, lab=lab
    )
    Submission.objects.filter(pk=submission.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(days=10)
    )
    assert "no activity for 10 days" in matrix(client, mentor, cohort)
    submission_services.comment_create(actor=user, submission=submission, body="Still here")
    html = matrix(client, mentor, cohort)
    assert "no activity for 10 days" not in html and "Nobody is falling behind" in html
