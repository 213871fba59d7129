"""``/api/v1/saved-replies/``: the same services and rules as the pages, over HTTP."""

import pytest
import yaml

from submissions import saved_replies, services
from submissions.models import SavedReply, SavedReplyUse
from tests.api.conftest import token_client
from tests.factories import MentorMembershipFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/saved-replies/"


def _reply(world, **kwargs):
    values = {
        "actor": world.mentor,
        "lab": world.labs[0],
        "cohort": world.cohort,
        "title": "Add tests",
        "body": "Please add a test for the empty input.",
    }
    values.update(kwargs)
    return saved_replies.saved_reply_create(**values)


def _submitted(world, lab):
    submission = services.submission_get_or_create_draft(
        learner=world.learner, cohort=world.cohort, lab=lab
    )
    services.submission_save_draft(
        actor=world.learner,
        submission=submission,
        repo_url="https://github.com/ada/lab",
        commit_sha="",
        notes="",
        checklist=[],
    )
    services.submission_submit(actor=world.learner, submission=submission)
    return submission


def test_a_mentor_creates_lists_by_lab_updates_uses_and_deletes(world):
    client = world.client("mentor")
    response = client.post(
        URL,
        {
            "title": "Second step",
            "body": "Look again at step two.",
            "lab": world.labs[0].pk,
            "deliverable": 1,
            "cohort": world.cohort.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["lab"] == world.labs[0].pk and created["deliverable"] == 1
    assert created["cohort"] == world.cohort.pk and created["shared_with_all"] is False
    assert created["author"] == {"id": world.mentor.pk, "name": world.mentor.display_name}
    assert created["usage_count"] == 0 and created["can_edit"] is True
    _reply(world, lab=world.labs[1], title="Week two")

    listed = client.get(URL, {"lab": world.labs[0].pk}).json()
    assert [r["title"] for r in listed["results"]] == ["Second step"]
    assert client.get(URL).json()["count"] == 2

    detail = f"{URL}{created['id']}/"
    response = client.patch(detail, {"body": "Re-read step two."}, format="json")
    assert response.status_code == 200
    assert response.json()["body"] == "Re-read step two."
    assert response.json()["title"] == "Second step"  # left out: kept

    submission = _submitted(world, world.labs[0])
    response = client.post(f"{detail}use/", {"submission": submission.pk}, format="json")
    assert response.status_code == 200 and response.json()["usage_count"] == 1
    assert client.post(f"{detail}use/", {}, format="json").json()["usage_count"] == 2
    assert SavedReplyUse.objects.filter(submission=submission).count() == 1

    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": ""}, "title"),
        ({"body": "x" * 5001}, "body"),
        ({"deliverable": 7}, "deliverable"),
        ({"lab": 999999}, "lab"),
        ({"cohort": None}, "cohort"),
        ({"cohort": "other"}, "cohort"),  # a cohort the mentor cannot see
        ({"lab": "lab-of-other-path"}, "lab"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_saves_nothing(world, body, field):
    from tests.factories import LabFactory

    data = {
        "title": "t",
        "body": "b",
        "lab": world.labs[0].pk,
        "cohort": world.cohort.pk,
    }
    if body.get("cohort") == "other":
        body = {"cohort": world.other_cohort.pk}
    if body.get("lab") == "lab-of-other-path":
        body = {"lab": LabFactory().pk}
    data.update(body)
    response = world.client("mentor").post(URL, data, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not SavedReply.objects.exists()


def test_bad_lab_filter_is_a_400(world):
    response = world.client("mentor").get(URL, {"lab": "abc"})
    assert response.status_code == 400 and "lab" in response.json()["errors"]


def test_learners_get_403_everywhere_and_anonymous_401(world):
    reply = _reply(world)
    detail = f"{URL}{reply.pk}/"
    for who, expected in (("learner", 403), ("anonymous", 401)):
        client = world.client(who)
        assert client.get(URL).status_code == expected
        assert client.post(URL, {"title": "t"}, format="json").status_code == expected
        assert client.get(detail).status_code == expected
        assert client.patch(detail, {"title": "x"}, format="json").status_code == expected
        assert client.delete(detail).status_code == expected
        assert client.post(f"{detail}use/", {}, format="json").status_code == expected
    reply.refresh_from_db()
    assert reply.title == "Add tests" and reply.usage_count == 0


def test_a_mentor_of_another_cohort_gets_404_for_a_cohort_reply(world):
    reply = _reply(world)
    client = world.client("other_mentor")
    detail = f"{URL}{reply.pk}/"
    assert client.get(URL).json()["count"] == 0
    for response in (
        client.get(detail),
        client.patch(detail, {"title": "x"}, format="json"),
        client.delete(detail),
        client.post(f"{detail}use/", {}, format="json"),
    ):
        assert response.status_code == 404
    reply.refresh_from_db()
    assert reply.title == "Add tests" and reply.usage_count == 0


def test_a_fellow_mentor_uses_but_cannot_change_a_reply(world):
    fellow = MentorMembershipFactory(cohort=world.cohort).user
    reply = _reply(world)
    client = token_client(fellow)
    detail = f"{URL}{reply.pk}/"
    assert client.get(detail).json()["can_edit"] is False
    assert client.patch(detail, {"title": "x"}, format="json").status_code == 403
    assert client.delete(detail).status_code == 403
    assert client.post(f"{detail}use/", {}, format="json").json()["usage_count"] == 1


def test_staff_share_with_every_cohort_and_every_mentor_sees_it(world):
    response = world.client("staff").post(
        URL,
        {
            "title": "Read the brief",
            "body": "See the lab's notes.",
            "lab": world.labs[0].pk,
            "shared_with_all": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    reply = response.json()
    assert reply["cohort"] is None and reply["shared_with_all"] is True
    for who in ("mentor", "other_mentor"):
        listed = world.client(who).get(URL).json()["results"]
        assert [(r["id"], r["can_edit"]) for r in listed] == [(reply["id"], False)]
    # A mentor may not share with all.
    response = world.client("mentor").post(
        URL,
        {"title": "t", "body": "b", "lab": world.labs[0].pk, "shared_with_all": True},
        format="json",
    )
    assert response.status_code == 403


def test_use_with_a_submission_it_does_not_fit_is_a_400_and_counts_nothing(world):
    reply = _reply(world, lab=world.labs[1])
    submission = _submitted(world, world.labs[0])
    client = world.client("mentor")
    response = client.post(f"{URL}{reply.pk}/use/", {"submission": submission.pk}, format="json")
    assert response.status_code == 400 and "submission" in response.json()["errors"]
    response = client.post(f"{URL}{reply.pk}/use/", {"submission": 999999}, format="json")
    assert response.status_code == 400 and "submission" in response.json()["errors"]
    reply.refresh_from_db()
    assert reply.usage_count == 0


def test_the_list_costs_the_same_few_queries_for_many_replies(world, django_assert_max_num_queries):
    client = world.client("mentor")
    _reply(world)
    with django_assert_max_num_queries(8) as few:
        assert client.get(URL).status_code == 200
    for index in range(40):
        _reply(world, title=f"Tip {index}", lab=world.labs[index % 3])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"page_size": 100})
    assert response.json()["count"] == 41


def test_schema_describes_saved_replies(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/saved-replies/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/v1/saved-replies/{id}/"])
    assert "post" in paths["/api/v1/saved-replies/{id}/use/"]
    parameters = paths["/api/v1/saved-replies/"]["get"]["parameters"]
    lab = next(p for p in parameters if p["name"] == "lab")
    assert lab["schema"]["type"] == "integer" and lab.get("description")
    components = schema["components"]["schemas"]
    reply = components["SavedReply"]["properties"]
    for name in (
        "id",
        "title",
        "body",
        "lab",
        "deliverable",
        "cohort",
        "shared_with_all",
        "author",
        "usage_count",
        "last_used_at",
        "can_edit",
        "created_at",
        "updated_at",
    ):
        assert name in reply, name
    for name in ("deliverable", "cohort", "usage_count", "can_edit", "shared_with_all"):
        assert reply[name].get("description"), name
    assert reply["deliverable"].get("nullable") and reply["cohort"].get("nullable")
    create = components["SavedReplyCreateRequest"]["properties"]
    assert {"title", "body", "lab", "deliverable", "cohort", "shared_with_all"} <= set(create)
    use = components["SavedReplyUseRequest"]["properties"]
    assert use["submission"].get("description") and use["submission"].get("nullable")
