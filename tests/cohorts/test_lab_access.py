"""One rule decides who reads a lab's text, and every path follows it (issue 14, point 3).

- staff, and the active mentors of a cohort on the lab's track, read every lab;
- a learner reads a lab once it is released to them (their cohort's schedule, overrides
  included);
- anyone else (signed in, in no cohort of the track, or whose membership ended) sees titles.

Each person is checked on the lab page, the track page and the API (detail and list), so a
path that forgets the rule fails here.
"""

import datetime as dt
import secrets

import pytest
from django.test import Client
from django.utils import timezone

from cohorts.permissions import can_read_lab_text
from cohorts.services import membership_deactivate, schedule_override_set
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    UserFactory,
)

SECRET = "LABTEXT" + secrets.token_hex(6)


@pytest.fixture
def people(db):
    now = timezone.now()
    # Started 10 days ago: weeks 1 and 2 are out by default, week 3 opens in 4 days.
    cohort = CohortFactory(start_date=(now - dt.timedelta(days=10)).date())
    track = cohort.track
    released = LabFactory(track=track, week=1, body=f"Released {SECRET}-1", deliverables=["a"])
    future = LabFactory(
        track=track, week=3, body=f"Future {SECRET}-2", deliverables=[f"Step {SECRET}-2"]
    )
    held_back = LabFactory(track=track, week=2, slug="held", body=f"Held {SECRET}-3")
    staff = StaffFactory()
    # An override moves one released-by-default lab into the future for this cohort.
    schedule_override_set(
        actor=staff,
        cohort=cohort,
        lab=held_back,
        release_at=now + dt.timedelta(days=9),
        due_at=None,
    )
    ended_learner = MembershipFactory(cohort=cohort)
    ended_mentor = MentorMembershipFactory(cohort=cohort)
    membership_deactivate(actor=staff, membership=ended_learner)
    membership_deactivate(actor=staff, membership=ended_mentor)
    other_track_mentor = MentorMembershipFactory().user
    # A mentor of a *later* cohort on the same track: mentors see the whole track.
    later = CohortFactory(track=track, start_date=(now + dt.timedelta(days=60)).date())
    return {
        "labs": {"released": released, "future": future, "held_back": held_back},
        "staff": staff,
        "mentor": MentorMembershipFactory(cohort=cohort).user,
        "later_mentor": MentorMembershipFactory(cohort=later).user,
        "learner": MembershipFactory(cohort=cohort).user,
        "later_learner": MembershipFactory(cohort=later).user,
        "outsider": UserFactory(),
        "other_track_mentor": other_track_mentor,
        "ended_learner": ended_learner.user,
        "ended_mentor": ended_mentor.user,
    }


EVERYTHING = {"released", "future", "held_back"}
EXPECTED = {
    "staff": EVERYTHING,
    "mentor": EVERYTHING,
    "later_mentor": EVERYTHING,
    "learner": {"released"},
    "later_learner": set(),
    "outsider": set(),
    "other_track_mentor": set(),
    "ended_learner": set(),
    "ended_mentor": set(),
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_lab_page_shows_text_only_to_those_the_rule_allows(people, who):
    client = Client()
    client.force_login(people[who])
    for name, lab in people["labs"].items():
        response = client.get(lab.get_absolute_url())
        assert response.status_code == 200
        page = response.content.decode()
        assert lab.title in page  # titles are for everyone signed in
        shown = f"{SECRET}-" in page
        assert shown == (name in EXPECTED[who]), f"{who} on {name}: text shown={shown}"
        assert shown == can_read_lab_text(people[who], lab)


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_track_page_never_quotes_lab_text(people, who):
    client = Client()
    client.force_login(people[who])
    track = people["labs"]["future"].track
    page = client.get(f"/curriculum/paths/{track.slug}/").content.decode()
    assert SECRET not in page
    assert all(lab.title in page for lab in people["labs"].values())


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_api_gives_text_only_to_those_the_rule_allows(people, who):
    from tests.api.conftest import token_client

    client = token_client(people[who])
    listed = {row["id"]: row for row in client.get("/api/v1/labs/?page_size=100").json()["results"]}
    for name, lab in people["labs"].items():
        readable = name in EXPECTED[who]
        detail = client.get(f"/api/v1/labs/{lab.pk}/")
        rows = [detail.json()] if detail.status_code == 200 else []
        rows += [listed[lab.pk]] if lab.pk in listed else []
        for row in rows:
            assert row["content_available"] is readable, (who, name)
            assert (row["body"] is not None) is readable, (who, name)
            assert (SECRET in str(row)) is readable, (who, name)
        if not rows:
            assert not readable, f"{who} may read {name} but the API hides it"


def test_ended_memberships_see_no_tracks_or_labs_through_the_api(people):
    """Ending a membership takes the track and its labs out of the API at once."""
    from tests.api.conftest import token_client

    for who in ("ended_learner", "ended_mentor"):
        client = token_client(people[who])
        assert client.get("/api/v1/tracks/").json()["count"] == 0
        assert client.get("/api/v1/labs/").json()["count"] == 0
        lab = people["labs"]["released"]
        assert client.get(f"/api/v1/labs/{lab.pk}/").status_code == 404
        assert client.get(f"/api/v1/tracks/{lab.track.slug}/").status_code == 404


def test_a_learner_reads_a_lab_once_an_override_releases_it(people):
    lab = people["labs"]["future"]
    learner = people["learner"]
    assert not can_read_lab_text(learner, lab)
    cohort = learner.memberships.get().cohort
    schedule_override_set(
        actor=people["staff"],
        cohort=cohort,
        lab=lab,
        release_at=timezone.now() - dt.timedelta(minutes=1),
        due_at=None,
    )
    client = Client()
    client.force_login(learner)
    assert f"{SECRET}-2" in client.get(lab.get_absolute_url()).content.decode()


def test_anonymous_people_are_sent_to_sign_in(people):
    response = Client().get(people["labs"]["released"].get_absolute_url())
    assert response.status_code == 302 and "/login/" in response.url


@pytest.mark.parametrize("who", ["learner", "mentor", "outsider"])
def test_the_track_page_and_the_lab_list_cost_the_same_for_3_labs_or_30(people, who):
    """The rule loads memberships and overrides once per request, not once per lab."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.api.conftest import token_client

    track = people["labs"]["future"].track
    client = Client()
    client.force_login(people[who])
    api = token_client(people[who])

    def count(url, via):
        with CaptureQueriesContext(connection) as queries:
            assert via.get(url).status_code == 200
        return len(queries.captured_queries)

    page, listing = f"/curriculum/paths/{track.slug}/", "/api/v1/labs/?page_size=100"
    count(page, client), count(listing, api)  # the token's first use writes its last-use time
    before = (count(page, client), count(listing, api))
    for week in range(4, 31):
        LabFactory(track=track, week=week)
    assert (count(page, client), count(listing, api)) == before
