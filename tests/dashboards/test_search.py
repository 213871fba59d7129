"""Search (issue 15, point 4): each person finds only what they may open."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from dashboards import search as search_module
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    SubmissionFactory,
    UserFactory,
)


@pytest.fixture
def world(db):
    now = timezone.now()
    # Started 10 days ago: week 1 is out; week 5 opens weeks from now.
    cohort = CohortFactory(name="Spring", start_date=(now - dt.timedelta(days=10)).date())
    other = CohortFactory(name="Autumn")
    released = LabFactory(
        track=cohort.track, week=1, title="Containers basics", body="Build a pelican image."
    )
    future = LabFactory(
        track=cohort.track,
        week=5,
        title="Orchestration",
        body="Deploy the flamingo cluster.",
        deliverables=["Scale the heron service"],
    )
    future_titled = LabFactory(
        track=cohort.track, week=6, title="Flamingo finale", body="Secret flamingo steps."
    )
    learner = MembershipFactory(cohort=cohort, user=UserFactory(name="Ada Quill")).user
    peer = MembershipFactory(cohort=cohort, user=UserFactory(name="Bea Quill")).user
    outsider = MembershipFactory(cohort=other, user=UserFactory(name="Cy Quill")).user
    mentor = MentorMembershipFactory(cohort=cohort, user=UserFactory(name="Dee Mentor")).user
    other_mentor = MentorMembershipFactory(cohort=other, user=UserFactory(name="Eve Mentor")).user
    own = SubmissionFactory(learner=learner, cohort=cohort, lab=released)
    peers = SubmissionFactory(learner=peer, cohort=cohort, lab=released)
    outsiders = SubmissionFactory(learner=outsider, cohort=other)
    return {
        "cohort": cohort,
        "other": other,
        "released": released,
        "future": future,
        "future_titled": future_titled,
        "learner": learner,
        "peer": peer,
        "outsider": outsider,
        "mentor": mentor,
        "other_mentor": other_mentor,
        "staff": StaffFactory(name="Sam Staff"),
        "own": own,
        "peers": peers,
        "outsiders": outsiders,
    }


def _urls(results):
    return {r.url for r in results}


def _sub_url(submission):
    return reverse("submissions:detail", kwargs={"pk": submission.pk})


def _lab_url(lab):
    return reverse("curriculum:lab", kwargs={"track_slug": lab.track.slug, "lab_slug": lab.slug})


def test_lab_found_by_title_and_by_released_text(world):
    learner = world["learner"]
    assert _urls(search_module.search(learner, "containers").labs) == {_lab_url(world["released"])}
    assert _urls(search_module.search(learner, "pelican").labs) == {_lab_url(world["released"])}


def test_unreleased_lab_text_is_not_matched_for_a_learner_but_its_title_is(world):
    learner = world["learner"]
    # "flamingo" is in the text of two unreleased labs, and in the title of one of them.
    found = search_module.search(learner, "flamingo").labs
    assert _urls(found) == {_lab_url(world["future_titled"])}
    assert search_module.search(learner, "heron").labs == []  # a deliverable, unreleased
    assert _urls(search_module.search(learner, "orchestration").labs) == {_lab_url(world["future"])}


def test_a_mentor_and_staff_match_unreleased_text(world):
    expected = {_lab_url(world["future"]), _lab_url(world["future_titled"])}
    for who in ("mentor", "staff"):
        assert _urls(search_module.search(world[who], "flamingo").labs) == expected
        assert _urls(search_module.search(world[who], "heron").labs) == {_lab_url(world["future"])}


def test_a_learner_finds_only_their_own_submissions_and_nobody(world):
    results = search_module.search(world["learner"], "quill")
    assert _urls(results.submissions) == {_sub_url(world["own"])}
    assert results.people == []
    by_lab = search_module.search(world["learner"], "containers basics")
    assert _urls(by_lab.submissions) == {_sub_url(world["own"])}


def test_a_mentor_finds_the_people_and_work_of_their_cohorts_only(world):
    results = search_module.search(world["mentor"], "quill")
    people = {r.title for r in results.people}
    assert people == {"Ada Quill", "Bea Quill"}
    assert "Cy Quill" not in people
    assert _urls(results.submissions) == {_sub_url(world["own"]), _sub_url(world["peers"])}
    assert reverse(
        "dashboard:learner-history",
        kwargs={"cohort_id": world["cohort"].pk, "user_id": world["learner"].pk},
    ) in _urls(results.people)
    # Another cohort's mentor is not found either.
    assert search_module.search(world["mentor"], "eve mentor").people == []


def test_staff_find_everyone_and_all_submissions(world):
    results = search_module.search(world["staff"], "quill")
    assert {r.title for r in results.people} == {"Ada Quill", "Bea Quill", "Cy Quill"}
    assert _urls(results.submissions) == {
        _sub_url(world["own"]),
        _sub_url(world["peers"]),
        _sub_url(world["outsiders"]),
    }
    by_email = search_module.search(world["staff"], world["other_mentor"].email)
    assert [r.title for r in by_email.people] == ["Eve Mentor"]


def test_every_result_opens_for_the_viewer(world, client):
    for who in ("learner", "mentor", "other_mentor", "staff"):
        client.force_login(world[who])
        for query in ("quill", "flamingo", "mentor", "containers", "lab"):
            for result in search_module.search(world[who], query).all:
                response = client.get(result.url, follow=True)
                assert response.status_code == 200, (who, query, result)


def test_empty_and_overlong_queries(world):
    assert search_module.search(world["staff"], "   ").all == []
    assert search_module.search(world["staff"], None).all == []
    long = "quill " + "x" * 500
    results = search_module.search(world["staff"], long)
    assert len(results.query) == search_module.MAX_QUERY_LENGTH
    assert results.all == []


@pytest.mark.parametrize(
    "query",
    ['"unclosed', "-", "a & | ! :* ()", "' OR 1=1 --", "%", "_", "\\", "𝔭elican"],
)
def test_odd_queries_are_answered_not_crashed(world, client, query):
    client.force_login(world["staff"])
    assert client.get(reverse("dashboard:search"), {"q": query}).status_code == 200
    response = client.get("/api/v1/search/", {"q": query})
    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


def test_a_nul_in_the_query_is_a_clear_400(world, client):
    client.force_login(world["staff"])
    assert client.get(reverse("dashboard:search"), {"q": "pel\x00ican"}).status_code == 400
    assert client.get("/api/v1/search/", {"q": "pel\x00ican"}).status_code == 400


def test_query_count_does_not_grow_with_results(world, django_assert_max_num_queries):
    for index in range(25):
        learner = UserFactory(name=f"Quill {index}")
        MembershipFactory(cohort=world["cohort"], user=learner)
        SubmissionFactory(learner=learner, cohort=world["cohort"], lab=world["released"])
        LabFactory(track=world["cohort"].track, week=20 + index, title=f"Quill lab {index}")
    mentor = world["mentor"]
    # Memberships (once, shared by the rules), the lab rule's overrides, the readable
    # candidates, then one query per kind of result.
    with django_assert_max_num_queries(6):
        results = search_module.search(mentor, "quill")
    assert len(results.people) == search_module.LIMIT
    assert len(results.submissions) == search_module.LIMIT
    assert len(results.labs) == search_module.LIMIT


def test_search_page_shows_results_and_escapes_the_query(world, client):
    client.force_login(world["mentor"])
    response = client.get(reverse("dashboard:search"), {"q": "Quill"})
    assert response.status_code == 200
    assert "Ada Quill" in response.text and "Cy Quill" not in response.text
    evil = '<script>alert("x")</script>'
    response = client.get(reverse("dashboard:search"), {"q": evil})
    assert response.status_code == 200
    assert evil not in response.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in response.text


def test_search_page_empty_state_and_header_box(world, client):
    client.force_login(world["learner"])
    response = client.get(reverse("dashboard:search"))
    assert response.status_code == 200
    assert 'class="empty"' in response.text
    home = client.get(reverse("curriculum:browse"))
    assert f'action="{reverse("dashboard:search")}"' in home.text


def test_search_page_needs_sign_in(client, db):
    response = client.get(reverse("dashboard:search"), {"q": "x"})
    assert response.status_code == 302


def test_api_shape_and_scope(world, client):
    client.force_login(world["learner"])
    response = client.get("/api/v1/search/", {"q": "quill"})
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"type": "submission", "title": r.title, "url": r.url}
            for r in search_module.search(world["learner"], "quill").submissions
        ]
    }
    assert [r["url"] for r in response.json()["results"]] == [_sub_url(world["own"])]
    client.force_login(world["staff"])
    data = client.get("/api/v1/search/", {"q": "flamingo"}).json()
    assert {r["type"] for r in data["results"]} == {"lab"}
    assert all(set(r) == {"type", "title", "url"} for r in data["results"])
    assert client.get("/api/v1/search/").json() == {"results": []}


def test_api_needs_credentials(client, db):
    assert client.get("/api/v1/search/", {"q": "x"}).status_code in (401, 403)


def test_the_database_path_under_test(world):
    """Both paths are run by CI (SQLite by default, PostgreSQL with DATABASE_URL): stemming
    is what PostgreSQL's full-text search adds; substring matching works on both."""
    found = _urls(search_module.search(world["learner"], "contain").labs)
    assert found == {_lab_url(world["released"])}  # a substring of the title
    stemmed = _urls(search_module.search(world["learner"], "pelicans").labs)
    if connection.vendor == "postgresql":
        assert stemmed == {_lab_url(world["released"])}
    else:
        assert stemmed == set()
