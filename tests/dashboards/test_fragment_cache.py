"""The cached learner panel and cohort matrix never show stale work.

Each test reads a page (which caches its fragment), changes something through the service
that owns it, and reads the page again: the change must show on the very next request.
"""

import datetime as dt
import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cohorts import services as cohort_services
from cohorts.models import Membership
from core import fragments
from curriculum.exporter import curriculum_data, to_json
from curriculum.selectors import tracks_with_labs
from curriculum.services import import_curriculum_file
from notifications.services import notifications_mark_all_read
from submissions import services as submission_services
from tests.factories import CohortFactory, MembershipFactory, StaffFactory
from tests.submissions.conftest import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world(mentors=1)


def learner_home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("dashboard:learner"))
    assert response.status_code == 200
    return response.content.decode()


def week_row(html: str, lab) -> str:
    """The learner's row for `lab` in the week table."""
    table = html[html.index('class="table week-table"') :]
    start = table.index(lab.title)
    return table[start : table.index("</tr>", start)]


def matrix(client, user, cohort) -> str:
    client.force_login(user)
    response = client.get(reverse("dashboard:mentor"), {"cohort": cohort.pk})
    assert response.status_code == 200
    return response.content.decode()


def test_a_hand_in_shows_at_once(client, world):
    assert "Not started" in week_row(learner_home(client, world.learner), world.lab)
    world.draft()
    assert "Draft" in week_row(learner_home(client, world.learner), world.lab)
    world.submitted()
    assert "Submitted" in week_row(learner_home(client, world.learner), world.lab)


def test_a_review_shows_at_once_with_its_feedback(client, world):
    submission = world.submitted()
    assert "No feedback yet" in learner_home(client, world.learner)
    submission_services.review_create(
        actor=world.mentor, submission=submission, verdict="approve", body="Lovely work, ship it."
    )
    html = learner_home(client, world.learner)
    assert "Approved" in week_row(html, world.lab)
    assert "Lovely work, ship it." in html


def test_a_comment_updates_the_matrix_activity(client, world):
    submission = world.submitted()
    matrix(client, world.mentor, world.cohort)
    stamp = _matrix_stamp(world.cohort)
    submission_services.comment_create(actor=world.learner, submission=submission, body="Ping")
    assert _matrix_stamp(world.cohort) != stamp


def _matrix_stamp(cohort):
    from dashboards.selectors import cohort_matrix_stamp

    cohort.refresh_from_db()
    return cohort_matrix_stamp(cohort, now=timezone.now())


def test_an_extension_and_its_revocation_show_at_once(client, world):
    staff = StaffFactory()
    assert "(extended)" not in learner_home(client, world.learner)
    due = timezone.now() + dt.timedelta(days=30)
    extension = cohort_services.extension_grant(
        actor=staff, cohort=world.cohort, lab=world.lab, learner=world.learner,
        due_at=due, reason="Illness",
    )  # fmt: skip
    assert "(extended)" in week_row(learner_home(client, world.learner), world.lab)
    cohort_services.extension_revoke(actor=staff, extension=extension)
    assert "(extended)" not in learner_home(client, world.learner)


def test_a_schedule_override_shows_at_once(client, world):
    staff = StaffFactory()
    learner_home(client, world.learner)
    due = (timezone.now() + dt.timedelta(days=20)).replace(hour=17, minute=45)
    cohort_services.schedule_override_set(
        actor=staff, cohort=world.cohort, lab=world.lab, due_at=due
    )
    assert due.strftime("%H:%M") in week_row(learner_home(client, world.learner), world.lab)


def test_a_cohort_rename_shows_at_once(client, world):
    learner_home(client, world.learner)
    cohort_services.cohort_update(actor=StaffFactory(), cohort=world.cohort, name="Renamed cohort")
    assert "Renamed cohort" in learner_home(client, world.learner)


def test_a_curriculum_update_shows_at_once(client, world):
    before = learner_home(client, world.learner)
    assert world.lab.title in before
    data = curriculum_data(tracks_with_labs().filter(pk=world.cohort.track_id))
    lab_data = next(
        lab for track in data["tracks"] for lab in track["labs"] if lab["slug"] == world.lab.slug
    )
    lab_data["title"] = "A brand new title"
    import_curriculum_file(
        actor=StaffFactory(), source=to_json(data).encode(), filename="update.json"
    )
    assert "A brand new title" in learner_home(client, world.learner)


def test_the_panel_turns_overdue_when_the_due_time_passes(client, world, monkeypatch):
    from cohorts.selectors import schedule_entry

    due_at = schedule_entry(cohort=world.cohort, lab=world.lab).due_at
    # Two minutes apart, well inside the panel's max age: only its end of validity (the
    # due time) can make the second request build it again.
    monkeypatch.setattr(timezone, "now", lambda: due_at - dt.timedelta(minutes=1))
    assert "Overdue" not in week_row(learner_home(client, world.learner), world.lab)
    monkeypatch.setattr(timezone, "now", lambda: due_at + dt.timedelta(minutes=1))
    assert "Overdue" in week_row(learner_home(client, world.learner), world.lab)


def test_each_time_zone_gets_its_own_panel(client, world):
    world.submitted()
    utc = learner_home(client, world.learner)
    world.learner.time_zone = "Asia/Tokyo"
    world.learner.save(update_fields=["time_zone"])
    tokyo = learner_home(client, world.learner)
    assert "JST" in week_row(tokyo, world.lab)
    assert "JST" not in week_row(utc, world.lab)


def test_one_learner_never_sees_anothers_panel(client, world):
    other = MembershipFactory(cohort=world.cohort, role=Membership.Role.LEARNER).user
    world.submitted()
    assert "Submitted" in week_row(learner_home(client, world.learner), world.lab)
    assert "Not started" in week_row(learner_home(client, other), world.lab)


def test_the_matrix_follows_enrolment_and_work(client, world):
    staff = StaffFactory()
    assert "Newcomer Person" not in matrix(client, world.mentor, world.cohort)
    membership = cohort_services.membership_add(
        actor=staff, cohort=world.cohort, email="newcomer@example.com", name="Newcomer Person",
        role=Membership.Role.LEARNER,
    )  # fmt: skip
    assert "Newcomer Person" in matrix(client, world.mentor, world.cohort)
    world.submitted(learner=membership.user)
    html = matrix(client, world.mentor, world.cohort)
    assert f"Newcomer Person · Week 1 · {world.lab.title}: Submitted" in html
    cohort_services.membership_deactivate(actor=staff, membership=membership)
    assert "Newcomer Person" not in matrix(client, world.mentor, world.cohort)


def test_the_staff_overview_follows_reviews(client, world):
    submission = world.submitted()
    staff = StaffFactory()
    client.force_login(staff)
    url = reverse("dashboard:staff-cohort", args=[world.cohort.pk])
    assert "0 hand-ins reviewed, 1 waiting" in client.get(url).content.decode()
    submission_services.review_create(actor=world.mentor, submission=submission, verdict="approve")
    assert "1 hand-in reviewed, 0 waiting" in client.get(url).content.decode()


# --- the helper itself ----------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def build_counter(ends_at=None):
    calls = []

    def build():
        calls.append(1)
        return f"<p>built {len(calls)}</p>", ends_at

    return build, calls


def fragment(build, *, now=NOW, parts=(1,), max_age=600):
    return fragments.cached_fragment(
        name="test",
        parts=parts,
        now=now,
        max_age=max_age,
        build=build,
    )


def test_a_fragment_is_built_once_per_key():
    build, calls = build_counter()
    assert fragment(build) == fragment(build) == "<p>built 1</p>"
    assert fragment(build, parts=(2,)) == "<p>built 2</p>"
    assert len(calls) == 2


def test_a_fragment_expires_at_the_instant_it_stops_being_true():
    ends_at = NOW + dt.timedelta(minutes=5)
    build, calls = build_counter(ends_at=ends_at)
    fragment(build)
    fragment(build, now=ends_at - dt.timedelta(seconds=1))
    assert len(calls) == 1
    fragment(build, now=ends_at)
    assert len(calls) == 2


def test_max_age_bounds_a_fragment_without_an_end():
    build, calls = build_counter()
    fragment(build, max_age=60)
    fragment(build, now=NOW + dt.timedelta(seconds=59), max_age=60)
    fragment(build, now=NOW + dt.timedelta(seconds=61), max_age=60)
    assert len(calls) == 2


def test_the_key_changes_with_any_template(tmp_path, monkeypatch, settings):
    (tmp_path / "page.html").write_text("<p>one</p>")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "_bit.html").write_text("<p>bit</p>")
    monkeypatch.setattr(fragments, "TEMPLATES_DIR", tmp_path)
    settings.DEBUG = True  # re-read on change, as in development
    key = fragments.fragment_key(name="x", parts=(1,))
    assert fragments.fragment_key(name="x", parts=(1,)) == key
    (tmp_path / "parts" / "_bit.html").write_text("<p>an included template changed</p>")
    assert fragments.fragment_key(name="x", parts=(1,)) != key


# --- the learner's whole page ---------------------------------------------------------------


def test_the_bell_follows_notifications(client, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = world.submitted()
    with django_capture_on_commit_callbacks(execute=True):
        submission_services.review_create(
            actor=world.mentor, submission=submission, verdict="approve", body="Good."
        )
    assert "has-unread" in learner_home(client, world.learner)
    notifications_mark_all_read(actor=world.learner)
    assert "has-unread" not in learner_home(client, world.learner)


def test_a_flash_message_is_shown_once_and_never_cached(client, world):
    learner_home(client, world.learner)  # a cached page exists
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(messages.SUCCESS, "Welcome to the cohort!")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies[storage.cookie_name] = carrier.cookies[storage.cookie_name].value
    assert "Welcome to the cohort!" in learner_home(client, world.learner)
    assert "Welcome to the cohort!" not in learner_home(client, world.learner)


def test_the_navigation_follows_roles_and_names(client, world):
    html = learner_home(client, world.learner)
    assert reverse("dashboard:mentor") not in html
    other = make_world(mentors=0)
    cohort_services.membership_add(
        actor=StaffFactory(), cohort=other.cohort, email=world.learner.email,
        role=Membership.Role.MENTOR,
    )  # fmt: skip
    assert reverse("dashboard:mentor") in learner_home(client, world.learner)
    world.learner.name = "Brand New Name"
    world.learner.save(update_fields=["name"])
    assert "Brand New Name" in learner_home(client, world.learner)


def test_htmx_and_full_requests_get_their_own_pages(client, world):
    client.force_login(world.learner)
    full = client.get(reverse("dashboard:learner")).content.decode()
    partial = client.get(reverse("dashboard:learner"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" in full and "<html" not in partial
    assert "<html" in client.get(reverse("dashboard:learner")).content.decode()


# --- which cohort the learner's home opens on (issue 18.3) ---------------------------------


def opened_on(html: str) -> str:
    return re.search(r'<h2 id="cohort-heading">([^<]*)</h2>', html).group(1)


def test_a_future_draft_cohort_never_takes_over_the_home(client, world):
    submission = world.submitted()
    submission_services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Redo."
    )
    assert opened_on(learner_home(client, world.learner)) == world.cohort.name
    future = CohortFactory(
        name="Next year",
        track=world.cohort.track,
        start_date=timezone.localdate() + dt.timedelta(days=200),
        status="draft",
    )
    cohort_services.membership_add(
        actor=StaffFactory(), cohort=future, email=world.learner.email, role="learner"
    )
    html = learner_home(client, world.learner)
    assert opened_on(html) == world.cohort.name
    assert "Changes requested" in html
    assert f"?cohort={future.pk}" in html, "the other cohort is one click away"
    client.force_login(world.learner)
    asked = client.get(reverse("dashboard:learner"), {"cohort": future.pk}).content.decode()
    assert opened_on(asked) == "Next year"
    assert "Started" not in asked


def test_the_home_moves_to_a_cohort_when_it_starts(client, world, monkeypatch):
    """The choice depends on the clock, so it is part of the cached page's key."""
    later = CohortFactory(
        name="Later cohort",
        track=world.cohort.track,
        start_date=timezone.localdate() + dt.timedelta(days=2),
        status="active",
    )
    MembershipFactory(cohort=later, user=world.learner)
    real_now = timezone.now()
    assert opened_on(learner_home(client, world.learner)) == world.cohort.name
    monkeypatch.setattr(timezone, "now", lambda: real_now + dt.timedelta(days=3))
    assert opened_on(learner_home(client, world.learner)) == "Later cohort"


def test_the_panel_says_review_overdue_when_the_review_time_passes(client, world, monkeypatch):
    """The mentors' lateness, not the learner's, and on time: its instant ends the entry."""
    submission = world.submitted()
    due = submission.review_due_at
    monkeypatch.setattr(timezone, "now", lambda: due - dt.timedelta(minutes=1))
    row = week_row(learner_home(client, world.learner), world.lab)
    assert "Review overdue" not in row and "late" not in row.lower()
    monkeypatch.setattr(timezone, "now", lambda: due + dt.timedelta(minutes=1))
    assert "Review overdue" in week_row(learner_home(client, world.learner), world.lab)


def test_changing_ones_zone_on_the_profile_changes_the_next_panel(client, world):
    world.submitted()
    before = week_row(learner_home(client, world.learner), world.lab)
    assert "JST" not in before
    response = client.post(
        reverse("accounts:profile"), {"name": "Learner", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 302
    after = week_row(learner_home(client, world.learner), world.lab)
    assert "JST" in after
