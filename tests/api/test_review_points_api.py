"""Review points over the API: raised with a review, listed with their state, answered by the
learner, waived by a mentor who approves with a reason; and the schema that describes them."""

import pytest
import yaml
from django.utils import timezone

from submissions import services
from submissions.models import ReviewPoint, Submission

pytestmark = pytest.mark.django_db


def _hand_in(world, client, *, notes="v1", checklist=(0,), commit="abc1234", **submit_body):
    response = client.post(
        "/api/v1/submissions/",
        {
            "cohort": world.cohort.slug,
            "lab": world.labs[0].slug,
            "repo_url": "https://github.com/ada/lab",
            "commit": commit,
            "notes": notes,
            "checklist": list(checklist),
        },
        format="json",
    )
    assert response.status_code in (200, 201), response.json()
    pk = response.json()["id"]
    response = client.post(f"/api/v1/submissions/{pk}/submit/", submit_body, format="json")
    return pk, response


def _started(world):
    world.cohort.start_date = timezone.localdate()
    world.cohort.save()


def test_a_mentor_and_a_learner_go_through_three_iterations_of_one_lab_by_api(world):
    _started(world)
    learner, mentor = world.client("learner"), world.client("mentor")

    # Iteration 1: handed in by a CI job by slugs.
    pk, response = _hand_in(world, learner)
    assert response.status_code == 200, response.json()
    review = mentor.post(
        f"/api/v1/submissions/{pk}/reviews/",
        {
            "verdict": "request_changes",
            "body": "Close, two things.",
            "marks": {"1": "not_met"},
            "points": [
                {"text": "Add a test for the empty input.", "deliverable": None},
                {"text": "Show the output of step one.", "deliverable": 0},
            ],
        },
        format="json",
    )
    assert review.status_code == 201, review.json()
    points = learner.get(f"/api/v1/submissions/{pk}/points/").json()["results"]
    assert [(p["text"], p["deliverable"], p["state"]) for p in points] == [
        ("Add a test for the empty input.", None, "open"),
        ("Show the output of step one.", 0, "open"),
        ("", 1, "open"),
    ]
    assert sorted(review.json()["points"]) == sorted(p["id"] for p in points)
    assert points[2]["deliverable_text"] == "Do the second thing."
    assert points[0]["raised_in"] == 1 and points[0]["raised_by"]["id"] == world.mentor.pk

    # Iteration 2: two answered, one knowingly left open.
    for point, reply in zip(points[:2], ("Added test_empty.", "Output in the notes."), strict=True):
        answered = learner.post(
            f"/api/v1/submissions/{pk}/points/{point['id']}/address/",
            {"reply": reply},
            format="json",
        )
        assert answered.status_code == 200, answered.json()
        assert answered.json()["state"] == "addressed"
        assert answered.json()["addressed_in"] is None
    learner.patch(f"/api/v1/submissions/{pk}/", {"notes": "v2"}, format="json")
    refused = learner.post(f"/api/v1/submissions/{pk}/submit/", {}, format="json")
    assert refused.status_code == 400
    assert "1 point is not answered yet" in refused.json()["errors"]["points"][0]
    handed = learner.post(
        f"/api/v1/submissions/{pk}/submit/", {"leave_points_open": True}, format="json"
    )
    assert handed.status_code == 200, handed.json()
    assert handed.json()["iteration_count"] == 2
    states = {
        p["text"] or p["deliverable"]: p
        for p in mentor.get(f"/api/v1/submissions/{pk}/points/").json()["results"]
    }
    assert states["Add a test for the empty input."]["addressed_in"] == 2
    assert states["Add a test for the empty input."]["reply"] == "Added test_empty."
    assert states[1]["state"] == "open"

    # The mentor asks for one more change.
    again = mentor.post(
        f"/api/v1/submissions/{pk}/reviews/",
        {
            "verdict": "request_changes",
            "points": [{"text": "Name the test after the case.", "deliverable": None}],
        },
        format="json",
    )
    assert again.status_code == 201, again.json()
    open_points = [
        p
        for p in learner.get(f"/api/v1/submissions/{pk}/points/").json()["results"]
        if p["state"] == "open"
    ]
    assert len(open_points) == 2
    answered = learner.post(
        f"/api/v1/submissions/{pk}/points/{open_points[1]['id']}/address/",
        {"reply": "Renamed."},
        format="json",
    )
    assert answered.status_code == 200

    # Iteration 3: approved; the point left open needs a reason.
    assert (
        learner.post(
            f"/api/v1/submissions/{pk}/submit/", {"leave_points_open": True}, format="json"
        ).json()["iteration_count"]
        == 3
    )
    refused = mentor.post(
        f"/api/v1/submissions/{pk}/reviews/", {"verdict": "approve"}, format="json"
    )
    assert refused.status_code == 400
    assert "1 point is still open" in refused.json()["errors"]["waive_reason"][0]
    assert Submission.objects.get(pk=pk).state == Submission.State.SUBMITTED
    approved = mentor.post(
        f"/api/v1/submissions/{pk}/reviews/",
        {"verdict": "approve", "waive_reason": "Step two is optional this week."},
        format="json",
    )
    assert approved.status_code == 201, approved.json()
    final = {p["id"]: p for p in learner.get(f"/api/v1/submissions/{pk}/points/").json()["results"]}
    assert sorted(p["state"] for p in final.values()) == [
        "addressed",
        "addressed",
        "addressed",
        "waived",
    ]
    waived = next(p for p in final.values() if p["state"] == "waived")
    assert waived["waive_reason"] == "Step two is optional this week."
    assert waived["waived_by"]["id"] == world.mentor.pk
    assert Submission.objects.get(pk=pk).state == Submission.State.APPROVED


@pytest.mark.parametrize(
    ("points", "field"),
    [
        ([{"text": "", "deliverable": None}], "non_field_errors"),
        ([{}], "non_field_errors"),
        ([{"text": "x" * 1001}], "text"),
        ([{"text": "ok", "deliverable": -1}], "deliverable"),
        ([{"text": "ok", "deliverable": "one"}], "deliverable"),
        ([{"text": f"p{i}"} for i in range(21)], None),
        ("nope", None),
    ],
)
def test_bad_points_are_a_400_that_changes_nothing(world, points, field):
    _started(world)
    pk, _ = _hand_in(world, world.client("learner"))
    response = world.client("mentor").post(
        f"/api/v1/submissions/{pk}/reviews/",
        {"verdict": "request_changes", "body": "x", "points": points},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "points" in response.json()["errors"]
    if field:
        assert field in str(response.json()["errors"]["points"])
    assert Submission.objects.get(pk=pk).state == Submission.State.SUBMITTED
    assert not ReviewPoint.objects.exists()


def test_a_deliverable_out_of_range_is_refused(world):
    _started(world)
    pk, _ = _hand_in(world, world.client("learner"))
    response = world.client("mentor").post(
        f"/api/v1/submissions/{pk}/reviews/",
        {"verdict": "request_changes", "points": [{"text": "ok", "deliverable": 2}]},
        format="json",
    )
    assert response.status_code == 400
    assert "no deliverable 2" in response.json()["errors"]["points"][0]
    assert not ReviewPoint.objects.exists()


def _with_point(world):
    _started(world)
    pk, _ = _hand_in(world, world.client("learner"))
    submission = Submission.objects.get(pk=pk)
    services.review_create(
        actor=world.mentor,
        submission=submission,
        verdict="request_changes",
        points=[{"text": "Secret advice for the learner.", "deliverable": None}],
    )
    return submission, ReviewPoint.objects.get(submission=submission)


@pytest.mark.parametrize(
    ("who", "list_status", "address_status"),
    [
        ("learner", 200, 200),
        ("mentor", 200, 403),
        ("staff", 200, 403),
        ("other_learner", 404, 404),
        ("other_mentor", 404, 404),
        ("anonymous", 401, 401),
    ],
)
def test_who_sees_and_answers_points(world, who, list_status, address_status):
    submission, point = _with_point(world)
    client = world.client(who)
    listed = client.get(f"/api/v1/submissions/{submission.pk}/points/")
    assert listed.status_code == list_status
    if list_status == 200:
        assert listed.json()["results"][0]["text"] == "Secret advice for the learner."
    else:
        assert "Secret advice" not in listed.content.decode()
    answered = client.post(
        f"/api/v1/submissions/{submission.pk}/points/{point.pk}/address/",
        {"reply": "done"},
        format="json",
    )
    assert answered.status_code == address_status
    point.refresh_from_db()
    assert point.state == ("addressed" if address_status == 200 else "open")


def test_a_point_of_other_work_is_a_404_even_for_its_own_learner(world):
    submission, _ = _with_point(world)
    other = services.submission_get_or_create_draft(
        learner=world.other_learner, cohort=world.cohort, lab=world.labs[0]
    )
    services.submission_save_draft(
        actor=world.other_learner,
        submission=other,
        repo_url="https://github.com/bo/lab",
        commit_sha="",
        notes="",
        checklist=[],
    )
    services.submission_submit(actor=world.other_learner, submission=other)
    services.review_create(
        actor=world.mentor,
        submission=other,
        verdict="request_changes",
        points=[{"text": "Theirs.", "deliverable": None}],
    )
    theirs = ReviewPoint.objects.get(submission=other)
    # Through one's own submission's URL, another's point does not exist.
    response = world.client("learner").post(
        f"/api/v1/submissions/{submission.pk}/points/{theirs.pk}/address/",
        {"reply": "mine"},
        format="json",
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "open"


def test_answering_twice_or_badly_is_refused(world):
    submission, point = _with_point(world)
    client = world.client("learner")
    url = f"/api/v1/submissions/{submission.pk}/points/{point.pk}/address/"
    assert client.post(url, {}, format="json").status_code == 400
    too_long = client.post(url, {"reply": "x" * 501}, format="json")
    assert too_long.status_code == 400 and "reply" in too_long.json()["errors"]
    assert client.post(url, {"reply": "Done."}, format="json").status_code == 200
    again = client.post(url, {"reply": "Changed my mind."}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    point.refresh_from_db()
    assert point.reply == "Done."


def test_the_review_list_names_each_reviews_points_in_constant_queries(
    world, django_assert_max_num_queries
):
    submission, point = _with_point(world)
    client = world.client("mentor")
    with django_assert_max_num_queries(12):
        reviews = client.get(f"/api/v1/submissions/{submission.pk}/reviews/").json()["results"]
    assert reviews[0]["points"] == [point.pk]
    with django_assert_max_num_queries(12):
        assert client.get(f"/api/v1/submissions/{submission.pk}/points/").status_code == 200


def test_schema_describes_points_waive_reason_and_leave_points_open(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]
    review_request = components["ReviewCreateRequest"]["properties"]
    assert review_request["points"]["type"] == "array"
    assert "at most 20" in review_request["points"]["description"]
    item = components["ReviewPointInputRequest"]["properties"]
    assert item["text"]["maxLength"] == 1000
    assert item["deliverable"]["nullable"] and item["deliverable"]["minimum"] == 0
    assert "waived" in review_request["waive_reason"]["description"]
    assert review_request["waive_reason"]["maxLength"] == 300
    point = components["ReviewPoint"]["properties"]
    for name in ("state", "reply", "addressed_in", "waive_reason", "deliverable", "raised_in"):
        assert name in point
    assert "open" in point["state"]["description"]
    assert components["ReviewPointAddressRequest"]["properties"]["reply"]["maxLength"] == 500
    assert "points" in components["Review"]["properties"]
    submit = schema["paths"]["/api/v1/submissions/{id}/submit/"]["post"]
    body = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/SubmitRequest")
    assert "leave_points_open" in components["SubmitRequest"]["properties"]
    assert "/api/v1/submissions/{submission_pk}/points/" in schema["paths"]
    address = schema["paths"]["/api/v1/submissions/{submission_pk}/points/{id}/address/"]
    assert address["post"]["requestBody"]
