import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from submissions import services
from submissions.models import Attachment, Comment, Iteration, Review, Submission
from tests.api.conftest import ROLES
from tests.factories import LabFactory, MembershipFactory

pytestmark = pytest.mark.django_db

REPO = "https://github.com/learner/lab-1"


def _draft(world, client=None, **fields):
    client = client or world.client("learner")
    body = {"cohort": world.cohort.pk, "lab": world.labs[0].pk, "repo_url": REPO, **fields}
    return client.post("/api/v1/submissions/", body, format="json")


def _submitted(world):
    submission = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.labs[0]
    )
    services.submission_save_draft(
        actor=world.learner,
        submission=submission,
        repo_url=REPO,
        commit_sha="abc1234",
        notes="",
        checklist=[0],
    )
    services.submission_submit(actor=world.learner, submission=submission)
    submission.refresh_from_db()
    return submission


def test_learner_creates_then_updates_a_draft(world):
    created = _draft(world, commit="ABCDEF1", checklist=[1, 0], notes="first try")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "draft" and body["commit"] == "abcdef1" and body["checklist"] == [0, 1]
    assert body["learner"]["id"] == world.learner.pk

    again = _draft(world, commit="1234567")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    # Fields left out keep their value.
    assert again.json()["notes"] == "first try" and again.json()["checklist"] == [0, 1]

    patched = world.client("learner").patch(
        f"/api/v1/submissions/{body['id']}/", {"notes": "second"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["notes"] == "second"
    assert patched.json()["commit"] == "1234567"


def test_bad_draft_input_is_400_per_field_and_leaves_nothing(world):
    response = _draft(world, repo_url="ftp://example.com/x", commit="zz", checklist=[7])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"repo_url", "commit_sha", "checklist"} or set(errors) >= {"repo_url"}
    assert not Submission.objects.exists()


def test_drafts_only_for_learners_of_the_cohort(world):
    assert _draft(world, client=world.client("mentor")).status_code == 403
    assert _draft(world, client=world.client("staff")).status_code == 403
    other = _draft(world, client=world.client("other_mentor"))
    assert other.status_code == 400 and "cohort" in other.json()["errors"]
    assert _draft(world, client=world.client("anonymous")).status_code == 401
    wrong_lab = LabFactory(track=world.other_cohort.track, week=9)
    assert _draft(world, lab=wrong_lab.pk).status_code == 400
    assert not Submission.objects.exists()


def test_submission_detail_matrix(world):
    submission = _submitted(world)
    statuses = {
        who: world.client(who).get(f"/api/v1/submissions/{submission.pk}/").status_code
        for who in ROLES
    }
    assert statuses == {
        "learner": 200,
        "other_learner": 404,
        "mentor": 200,
        "other_mentor": 404,
        "staff": 200,
        "anonymous": 401,
    }
    for nested in ["iterations", "reviews", "comments", "attachments"]:
        url = f"/api/v1/submissions/{submission.pk}/{nested}/"
        assert world.client("other_learner").get(url).status_code == 404
        assert world.client("learner").get(url).status_code == 200


def test_list_is_scoped_and_filters(world):
    mine = _submitted(world)
    theirs = services.submission_get_or_create_draft(
        learner=world.other_learner, cohort=world.cohort, lab=world.labs[0]
    )

    def ids(who, q=""):
        return [
            s["id"] for s in world.client(who).get(f"/api/v1/submissions/{q}").json()["results"]
        ]

    assert ids("learner") == [mine.pk]
    assert ids("other_learner") == [theirs.pk]
    assert sorted(ids("mentor")) == sorted([mine.pk, theirs.pk])
    assert ids("other_mentor") == []
    assert ids("mentor", "?state=submitted") == [mine.pk]
    assert ids("mentor", f"?learner={world.other_learner.pk}") == [theirs.pk]
    assigned = mine.assigned_to_id == world.mentor.pk
    assert ids("mentor", "?assigned_to=me") == ([mine.pk] if assigned else [])
    assert world.client("mentor").get("/api/v1/submissions/?assigned_to=bob").status_code == 400
    assert world.client("mentor").get("/api/v1/submissions/?state=lost").status_code == 400


def test_submit_is_idempotent_with_a_key(world):
    submission_id = _draft(world).json()["id"]
    client = world.client("learner")
    url = f"/api/v1/submissions/{submission_id}/submit/"
    first = client.post(url, HTTP_IDEMPOTENCY_KEY="ci-run-42")
    assert first.status_code == 200, first.content
    assert first.json()["state"] == "submitted" and first.json()["iteration_count"] == 1
    retry = client.post(url, HTTP_IDEMPOTENCY_KEY="ci-run-42")
    assert retry.status_code == 200 and retry.json()["iteration_count"] == 1
    assert Iteration.objects.filter(submission_id=submission_id).count() == 1
    no_key = client.post(url)
    assert no_key.status_code == 409
    assert no_key.json()["code"] == "invalid_transition"
    assert set(no_key.json()) >= {"detail", "errors"}


def test_submit_without_repo_is_400(world):
    submission_id = _draft(world, repo_url="").json()["id"]
    response = world.client("learner").post(f"/api/v1/submissions/{submission_id}/submit/")
    assert response.status_code == 400
    assert "repo_url" in response.json()["errors"]
    assert Submission.objects.get(pk=submission_id).state == "draft"


def test_only_the_learner_submits(world):
    submission_id = _draft(world).json()["id"]
    url = f"/api/v1/submissions/{submission_id}/submit/"
    assert world.client("mentor").post(url).status_code == 403
    assert world.client("other_learner").post(url).status_code == 404
    assert world.client("other_mentor").post(url).status_code == 404
    assert world.client("anonymous").post(url).status_code == 401
    assert Submission.objects.get(pk=submission_id).state == "draft"


def test_claim_release_matrix(world):
    submission = _submitted(world)
    url = f"/api/v1/submissions/{submission.pk}"
    assert world.client("learner").post(f"{url}/claim/").status_code == 403
    assert world.client("other_learner").post(f"{url}/claim/").status_code == 404
    assert world.client("other_mentor").post(f"{url}/claim/").status_code == 404
    claimed = world.client("mentor").post(f"{url}/claim/")
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["state"] == "in_review"
    assert claimed.json()["assigned_to"]["id"] == world.mentor.pk
    twice = world.client("mentor").post(f"{url}/claim/")
    assert twice.status_code == 409
    assert world.client("learner").post(f"{url}/release/").status_code == 403
    released = world.client("mentor").post(f"{url}/release/")
    assert released.status_code == 200 and released.json()["state"] == "submitted"
    assert world.client("mentor").post(f"{url}/release/").status_code == 409


def test_reviews(world):
    submission = _submitted(world)
    url = f"/api/v1/submissions/{submission.pk}/reviews/"
    body = {"verdict": "request_changes", "body": "Add tests.", "marks": {"0": "not_met"}}
    assert world.client("learner").post(url, body, format="json").status_code == 403
    assert world.client("other_mentor").post(url, body, format="json").status_code == 404
    bad = world.client("mentor").post(url, {"verdict": "maybe"}, format="json")
    assert bad.status_code == 400 and "verdict" in bad.json()["errors"]
    bad_marks = world.client("mentor").post(
        url, {"verdict": "approve", "marks": {"99": "met"}}, format="json"
    )
    assert bad_marks.status_code == 400 and "marks" in bad_marks.json()["errors"]
    posted = world.client("mentor").post(url, body, format="json")
    assert posted.status_code == 201, posted.content
    assert posted.json()["verdict"] == "request_changes" and posted.json()["iteration"] == 1
    assert Submission.objects.get(pk=submission.pk).state == "changes_requested"
    listed = world.client("learner").get(url).json()
    assert [r["id"] for r in listed["results"]] == [posted.json()["id"]]
    assert Review.objects.count() == 1


def test_a_second_verdict_is_409_unless_it_revises(world):
    submission = _submitted(world)
    url = f"/api/v1/submissions/{submission.pk}/reviews/"
    mentor = world.client("mentor")
    first = mentor.post(url, {"verdict": "request_changes", "body": "Add tests."}, format="json")
    assert first.status_code == 201
    again = mentor.post(url, {"verdict": "request_changes", "body": "Add tests."}, format="json")
    assert again.status_code == 409
    assert "already has a verdict" in again.json()["detail"]
    assert Review.objects.count() == 1
    revised = mentor.post(url, {"verdict": "approve", "revise": True}, format="json")
    assert revised.status_code == 201, revised.content
    assert Submission.objects.get(pk=submission.pk).state == "approved"
    assert Review.objects.count() == 2


def test_review_of_a_draft_is_409(world):
    submission_id = _draft(world).json()["id"]
    response = world.client("mentor").post(
        f"/api/v1/submissions/{submission_id}/reviews/", {"verdict": "approve"}, format="json"
    )
    assert response.status_code == 409


def test_comments(world):
    submission = _submitted(world)
    url = f"/api/v1/submissions/{submission.pk}/comments/"
    assert (
        world.client("learner").post(url, {"body": "Question?"}, format="json").status_code == 201
    )
    assert world.client("mentor").post(url, {"body": "Answer."}, format="json").status_code == 201
    assert world.client("other_learner").post(url, {"body": "Hi"}, format="json").status_code == 404
    empty = world.client("learner").post(url, {"body": "   "}, format="json")
    assert empty.status_code == 400 and "body" in empty.json()["errors"]
    missing = world.client("learner").post(url, {}, format="json")
    assert missing.status_code == 400 and "body" in missing.json()["errors"]
    bodies = [c["body"] for c in world.client("staff").get(url).json()["results"]]
    assert bodies == ["Question?", "Answer."]
    assert Comment.objects.count() == 2


@pytest.mark.usefixtures("media_storage")
def test_attachments_upload_download_and_remove(world):
    submission_id = _draft(world).json()["id"]
    url = f"/api/v1/submissions/{submission_id}/attachments/"
    client = world.client("learner")
    upload = client.post(
        url, {"file": SimpleUploadedFile("notes.txt", b"hello\n")}, format="multipart"
    )
    assert upload.status_code == 201, upload.content
    attachment = upload.json()
    assert attachment["name"] == "notes.txt" and attachment["iteration"] is None

    download = world.client("mentor").get(f"{url}{attachment['id']}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"hello\n"
    assert "attachment" in download["Content-Disposition"]
    assert "sandbox" in download["Content-Security-Policy"]
    assert (
        world.client("other_learner").get(f"{url}{attachment['id']}/download/").status_code == 404
    )

    disguised = client.post(
        url, {"file": SimpleUploadedFile("shot.png", b"<html>hi</html>")}, format="multipart"
    )
    assert disguised.status_code == 400 and "file" in disguised.json()["errors"]
    missing = client.post(url, {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["errors"]
    by_mentor = world.client("mentor").post(
        url, {"file": SimpleUploadedFile("x.txt", b"x")}, format="multipart"
    )
    assert by_mentor.status_code == 403

    client.post(f"/api/v1/submissions/{submission_id}/submit/")
    iterations = client.get(f"/api/v1/submissions/{submission_id}/iterations/").json()["results"]
    assert [a["id"] for a in iterations[0]["attachments"]] == [attachment["id"]]
    frozen = client.delete(f"{url}{attachment['id']}/")
    assert frozen.status_code == 409
    assert Attachment.objects.filter(pk=attachment["id"]).exists()


@pytest.mark.usefixtures("media_storage")
def test_remove_a_draft_attachment(world):
    submission_id = _draft(world).json()["id"]
    url = f"/api/v1/submissions/{submission_id}/attachments/"
    client = world.client("learner")
    attachment_id = client.post(
        url, {"file": SimpleUploadedFile("a.md", b"# hi\n")}, format="multipart"
    ).json()["id"]
    assert world.client("mentor").delete(f"{url}{attachment_id}/").status_code == 403
    assert client.delete(f"{url}{attachment_id}/").status_code == 204
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["", "{id}/", "{id}/iterations/", "{id}/reviews/", "{id}/comments/", "{id}/attachments/"],
)
def test_query_counts_do_not_depend_on_size(world, path):
    mentor = APIClient()
    mentor.force_authenticate(world.mentor)
    first = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=world.labs[0]
    )
    services.submission_save_draft(
        actor=world.learner, submission=first, repo_url=REPO, commit_sha="", notes="", checklist=[]
    )
    services.attachment_add(
        actor=world.learner, submission=first, uploaded_file=SimpleUploadedFile("0.txt", b"0")
    )
    services.submission_submit(actor=world.learner, submission=first)
    services.comment_create(actor=world.mentor, submission=first, body="one")
    services.review_create(actor=world.mentor, submission=first, verdict="comment", body="hm")
    url = "/api/v1/submissions/" + path.format(id=first.pk)
    with CaptureQueriesContext(connection) as small:
        assert mentor.get(url + "?page_size=2").status_code == 200
    for n in range(12):
        learner = MembershipFactory(cohort=world.cohort).user
        submission = services.submission_get_or_create_draft(
            learner=learner, cohort=world.cohort, lab=world.labs[n % 3]
        )
        services.submission_save_draft(
            actor=learner,
            submission=submission,
            repo_url=REPO,
            commit_sha="",
            notes="",
            checklist=[],
        )
        services.submission_submit(actor=learner, submission=submission)
        services.comment_create(actor=world.mentor, submission=first, body=f"c{n}")
    services.review_create(
        actor=world.mentor, submission=first, verdict="request_changes", body="x"
    )
    services.submission_save_draft(
        actor=world.learner, submission=first, repo_url=REPO, commit_sha="", notes="", checklist=[]
    )
    services.attachment_add(
        actor=world.learner, submission=first, uploaded_file=SimpleUploadedFile("a.txt", b"a")
    )
    services.submission_submit(actor=world.learner, submission=first)
    services.review_create(actor=world.mentor, submission=first, verdict="comment", body="y")
    mentor.force_authenticate(type(world.mentor).objects.get(pk=world.mentor.pk))
    with CaptureQueriesContext(connection) as large:
        assert mentor.get(url + "?page_size=50").status_code == 200
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


@pytest.mark.usefixtures("media_storage")
def test_download_of_a_lost_file_is_404_not_500(world):
    submission_id = _draft(world).json()["id"]
    url = f"/api/v1/submissions/{submission_id}/attachments/"
    client = world.client("learner")
    attachment_id = client.post(
        url, {"file": SimpleUploadedFile("a.txt", b"a")}, format="multipart"
    ).json()["id"]
    stored = Attachment.objects.get(pk=attachment_id).file
    stored.storage.delete(stored.name)
    response = client.get(f"{url}{attachment_id}/download/")
    assert response.status_code == 404
    assert response.json()["detail"] == "The file is no longer stored."


@pytest.mark.parametrize("value", ["-3.06e216", "1.5", "99999999999999999999999", "abc", "0"])
def test_id_filters_refuse_nonsense_with_400(world, value):
    for name in ["cohort", "lab", "learner"]:
        response = world.client("staff").get(f"/api/v1/submissions/?{name}={value}")
        assert response.status_code == 400, (name, value)
        assert name in response.json()["errors"]


def test_permission_is_checked_before_the_body(world):
    submission = _submitted(world)
    base = f"/api/v1/submissions/{submission.pk}"
    learner = world.client("learner")
    assert learner.post(f"{base}/reviews/", {"verdict": "??"}, format="json").status_code == 403
    assert learner.post(f"{base}/reassign/", {"mentor": "x"}, format="json").status_code == 403
    mentor = world.client("mentor")
    assert mentor.patch(f"{base}/", {"commit": "zz"}, format="json").status_code == 403
    assert mentor.post(f"{base}/attachments/", {}, format="multipart").status_code == 403
    cohort = f"/api/v1/cohorts/{world.cohort.pk}"
    assert learner.post(f"{cohort}/extensions/", {}, format="json").status_code == 403
    assert learner.post(f"{cohort}/overrides/", {}, format="json").status_code == 403
    assert learner.post(f"{cohort}/members/", {}, format="json").status_code == 403
