"""A CI job hands in by slugs; the API tells when the review is expected and links commits."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from submissions import services
from submissions.models import Submission
from tests.factories import CohortFactory, LabFactory, MembershipFactory, MentorMembershipFactory

pytestmark = pytest.mark.django_db

REPO = "https://github.com/ada/lab-1"
SHAS = ["1111111aaaa", "2222222bbbb", "3333333cccc"]


def _ci_hand_in(client, cohort, lab, sha, repo=REPO):
    body = {"cohort": cohort, "lab": lab, "repo_url": repo, "commit": sha}
    draft = client.post("/api/v1/submissions/", body, format="json")
    if draft.status_code >= 400:
        return draft
    return client.post(
        f"/api/v1/submissions/{draft.json()['id']}/submit/", HTTP_IDEMPOTENCY_KEY=sha
    )


def test_ci_job_hands_in_by_slugs_and_gets_409_naming_the_state(world):
    client = world.client("learner")
    lab = world.labs[0]
    done = _ci_hand_in(client, world.cohort.slug, lab.slug, SHAS[0])
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "submitted" and done.json()["lab"]["slug"] == lab.slug

    again = client.post(
        "/api/v1/submissions/",
        {"cohort": world.cohort.slug, "lab": lab.slug, "repo_url": REPO, "commit": SHAS[1]},
        format="json",
    )
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "invalid_transition" and body["state"] == "submitted"
    assert "submitted and waiting for review" in body["detail"]
    submission = Submission.objects.get()
    assert submission.commit_sha == SHAS[0].lower()  # nothing changed

    # Submitting again without a new key: 409 naming the state too.
    resubmit = client.post(f"/api/v1/submissions/{submission.pk}/submit/")
    assert resubmit.status_code == 409 and resubmit.json()["state"] == "submitted"

    services.submission_claim(actor=world.mentor, submission=submission)
    in_review = client.post(
        "/api/v1/submissions/",
        {"cohort": world.cohort.slug, "lab": lab.slug, "commit": SHAS[1]},
        format="json",
    )
    assert in_review.status_code == 409 and in_review.json()["state"] == "in_review"
    assert "in review" in in_review.json()["detail"]


def test_ids_still_work_and_may_be_strings(world):
    client = world.client("learner")
    response = client.post(
        "/api/v1/submissions/",
        {"cohort": str(world.cohort.pk), "lab": world.labs[0].pk, "repo_url": REPO},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("cohort", "lab", "field"),
    [
        ("no-such-cohort", "lab", "cohort"),
        ("OTHER", "lab", "cohort"),  # a cohort that exists, but not the caller's
        ("OTHER_ID", "lab", "cohort"),
        ("mine", "no-such-lab", "lab"),
        ("mine", "OTHER_LAB", "lab"),  # a lab of another track
        (True, "lab", "cohort"),
        ({"slug": "x"}, "lab", "cohort"),
        ("", "lab", "cohort"),
    ],
)
def test_unknown_or_foreign_slugs_are_a_clear_400_that_reveals_nothing(world, cohort, lab, field):
    other_lab = world.other_cohort.track.labs.first()
    values = {
        "OTHER": world.other_cohort.slug,
        "OTHER_ID": world.other_cohort.pk,
        "mine": world.cohort.slug,
        "lab": world.labs[0].slug,
        "OTHER_LAB": other_lab.slug,
    }
    body = {
        "cohort": values.get(cohort, cohort) if isinstance(cohort, str) else cohort,
        "lab": values.get(lab, lab),
        "repo_url": REPO,
    }
    response = world.client("learner").post("/api/v1/submissions/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    if field == "cohort" and isinstance(cohort, str) and cohort:
        # Someone else's cohort reads exactly like one that does not exist.
        assert response.json()["errors"]["cohort"] == ["None of your cohorts has this id or slug."]
    assert not Submission.objects.exists()


def test_waiting_work_carries_expected_review_and_queue_position(world):
    client = world.client("learner")
    draft_only = client.post(
        "/api/v1/submissions/",
        {"cohort": world.cohort.slug, "lab": world.labs[1].slug, "repo_url": REPO},
        format="json",
    ).json()
    assert draft_only["expected_review_by"] is None and draft_only["queue_position"] is None

    ahead = MembershipFactory(cohort=world.cohort).user
    assert (
        _ci_hand_in(token_for(ahead), world.cohort.slug, world.labs[0].slug, SHAS[0]).status_code
        == 200
    )
    mine = _ci_hand_in(client, world.cohort.slug, world.labs[0].slug, SHAS[0]).json()
    assert mine["queue_position"] == 2
    expected = parse_datetime(mine["expected_review_by"])
    submitted = parse_datetime(mine["submitted_at"])
    # One mentor holding 10 reviews in a 48 h SLA: one every 4.8 h, second in line: 9.6 h.
    assert dt.timedelta(hours=9.5) < expected - submitted <= dt.timedelta(hours=9.7)
    assert expected <= parse_datetime(mine["review_due_at"])

    detail = client.get(f"/api/v1/submissions/{mine['id']}/").json()
    assert detail["queue_position"] == 2
    listed = {row["id"]: row for row in client.get("/api/v1/submissions/").json()["results"]}
    assert listed[mine["id"]]["queue_position"] == 2
    assert listed[draft_only["id"]]["queue_position"] is None


def token_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_iterations_link_commits_and_compare_views(world):
    client = world.client("learner")
    lab = world.labs[0]
    for number, sha in enumerate(SHAS, start=1):
        assert _ci_hand_in(client, world.cohort.slug, lab.slug, sha).status_code == 200
        submission = Submission.objects.get()
        if number < len(SHAS):
            services.review_create(
                actor=world.mentor,
                submission=submission,
                verdict="request_changes",
                body="Add tests.",
            )
    rows = client.get(f"/api/v1/submissions/{submission.pk}/iterations/").json()["results"]
    assert [row["number"] for row in rows] == [1, 2, 3]
    assert [row["commit_url"] for row in rows] == [f"{REPO}/commit/{sha.lower()}" for sha in SHAS]
    assert rows[0]["compare_url"] is None
    assert rows[1]["compare_url"] == f"{REPO}/compare/{SHAS[0]}...{SHAS[1]}"
    assert rows[2]["compare_url"] == f"{REPO}/compare/{SHAS[1]}...{SHAS[2]}"
    # Paged one at a time, the compare view still knows the previous iteration.
    page = client.get(f"/api/v1/submissions/{submission.pk}/iterations/?page_size=1&page=3").json()[
        "results"
    ]
    assert page[0]["compare_url"] == rows[2]["compare_url"]


def test_unknown_hosts_get_no_links(world):
    client = world.client("learner")
    repo = "https://git.example.test/ada/lab-1"
    assert _ci_hand_in(client, world.cohort.pk, world.labs[0].pk, SHAS[0], repo).status_code == 200
    submission = Submission.objects.get()
    rows = client.get(f"/api/v1/submissions/{submission.pk}/iterations/").json()["results"]
    assert rows[0]["commit_url"] is None and rows[0]["compare_url"] is None


def test_list_queries_stay_constant_with_waiting_work_in_many_cohorts(world):
    staff = APIClient()
    staff.force_authenticate(world.staff)

    def fill(n_cohorts):
        for _ in range(n_cohorts):
            cohort = CohortFactory()
            lab = LabFactory(track=cohort.track, week=1)
            MentorMembershipFactory(cohort=cohort)
            for _ in range(3):
                learner = MembershipFactory(cohort=cohort).user
                submission = services.submission_get_or_create_draft(
                    learner=learner, cohort=cohort, lab=lab
                )
                services.submission_save_draft(
                    actor=learner,
                    submission=submission,
                    repo_url=REPO,
                    commit_sha=SHAS[0],
                    notes="",
                    checklist=[],
                )
                services.submission_submit(actor=learner, submission=submission)

    fill(1)
    with CaptureQueriesContext(connection) as small:
        response = staff.get("/api/v1/submissions/?page_size=100")
    assert response.status_code == 200
    assert all(row["queue_position"] for row in response.json()["results"])
    fill(6)
    with CaptureQueriesContext(connection) as large:
        response = staff.get("/api/v1/submissions/?page_size=100")
    assert len(response.json()["results"]) == 21
    assert all(row["expected_review_by"] for row in response.json()["results"])
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
