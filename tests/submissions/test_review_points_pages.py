"""Review points from the pages (test client, no JavaScript unless an htmx header says so):
the review form's point rows, the learner's answers on the lab page, "Since your last
review", and approval with open points."""

import re

import pytest
from django.urls import reverse

from submissions import services
from submissions.models import Review, ReviewPoint, Submission
from tests.factories import MentorMembershipFactory

pytestmark = pytest.mark.django_db


def _lab_url(world):
    return reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})


def _review_url(submission):
    return reverse("submissions:review", kwargs={"pk": submission.pk})


def _hand_in(client, world, *, notes, checklist=(0,), action="submit", **extra):
    data = {
        "repo_url": "https://github.com/ada/lab",
        "commit_sha": "",
        "notes": notes,
        "checklist": [str(i) for i in checklist],
        "action": action,
        **extra,
    }
    return client.post(_lab_url(world), data)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _points(submission):
    return list(ReviewPoint.objects.filter(submission=submission).order_by("pk"))


def test_a_mentor_and_a_learner_go_through_three_iterations_of_one_lab_by_pages(
    client, world, django_assert_max_num_queries
):
    learner, mentor = world.learner, world.mentor
    # Iteration 1.
    client.force_login(learner)
    assert _hand_in(client, world, notes="first try").status_code == 302
    submission = Submission.objects.get(learner=learner, lab=world.lab)

    client.force_login(mentor)
    page = _text(client.get(_review_url(submission)))
    assert "Since your last review" not in page  # nothing reviewed yet
    assert 'name="point_text"' in page
    response = client.post(
        _review_url(submission),
        {
            "verdict": "request_changes",
            "body": "Nearly there.",
            "mark_1": "not_met",
            "point_text": ["Add a test for the empty input.", ""],
            "point_deliverable": ["", ""],
            "action": "review",
        },
    )
    assert response.status_code == 302
    test_point, step_point = _points(submission)
    assert test_point.text == "Add a test for the empty input."
    assert (step_point.text, step_point.deliverable) == ("", 1)

    # Iteration 2: the learner must answer each point or say they leave it open.
    client.force_login(learner)
    page = _text(client.get(_lab_url(world)))
    assert "Your mentor's points" in page
    assert "Add a test for the empty input." in page and "Do the second thing." in page
    refused = _hand_in(
        client,
        world,
        notes="first try\nwith a test",
        checklist=(0, 1),
        **{f"reply_{test_point.pk}": "Added test_empty."},
    )
    assert refused.status_code == 400
    page = _text(refused)
    assert "1 point is not answered yet" in page
    assert "Added test_empty.</textarea>" in page  # what was typed comes back
    assert submission.iterations.count() == 1
    assert ReviewPoint.objects.filter(submission=submission, state="open").count() == 2
    handed = _hand_in(
        client,
        world,
        notes="first try\nwith a test",
        checklist=(0, 1),
        **{
            f"reply_{test_point.pk}": "Added test_empty.",
            f"reply_{step_point.pk}": "Step two now prints its output.",
        },
    )
    assert handed.status_code == 302
    assert submission.iterations.count() == 2

    # The mentor's page opens on what changed and what the learner answered.
    client.force_login(mentor)
    with django_assert_max_num_queries(16):
        response = client.get(_review_url(submission))
    page = _text(response)
    since = page.index("Since your last review")
    assert since < page.index('id="iteration-heading"')
    assert "Changes since iteration 1" in page
    assert "+ with a test" in page
    assert "Now ticked:" in page
    assert "Added test_empty." in page and "Step two now prints its output." in page
    assert page.count("Addressed in iteration 2") == 2
    response = client.post(
        _review_url(submission),
        {
            "verdict": "request_changes",
            "point_text": ["Name the test after the case.", "Explain the output."],
            "point_deliverable": ["", "1"],
            "action": "review",
        },
    )
    assert response.status_code == 302
    rename, explain = _points(submission)[2:]
    assert explain.deliverable == 1

    # Iteration 3: one answer saved with the draft, the other left open on purpose.
    client.force_login(learner)
    saved = _hand_in(
        client,
        world,
        notes="first try\nwith a test\nrenamed",
        checklist=(0, 1),
        action="save",
        **{f"reply_{rename.pk}": "Renamed to test_empty_input."},
    )
    assert saved.status_code == 302
    rename.refresh_from_db()
    assert (rename.state, rename.addressed_in) == ("addressed", None)
    assert Submission.objects.get(pk=submission.pk).state == "changes_requested"
    page = _text(client.get(_lab_url(world)))
    assert "Renamed to test_empty_input." in page
    assert f'name="reply_{rename.pk}"' not in page  # answered: no box any more
    handed = _hand_in(
        client,
        world,
        notes="first try\nwith a test\nrenamed",
        checklist=(0, 1),
        leave_points_open="1",
    )
    assert handed.status_code == 302
    assert submission.iterations.count() == 3
    rename.refresh_from_db()
    assert rename.addressed_in.number == 3

    # Approving with a point still open takes a reason; without one nothing changes.
    client.force_login(mentor)
    page = _text(client.get(_review_url(submission)))
    assert "Changes since iteration 2" in page
    assert "Not answered by the learner." in page
    assert "1 point is still open. To approve anyway, say why" in page
    refused = client.post(_review_url(submission), {"verdict": "approve", "action": "review"})
    assert refused.status_code == 400
    assert "Not approved: 1 point is still open." in _text(refused)
    assert Submission.objects.get(pk=submission.pk).state == "submitted"
    assert Review.objects.filter(submission=submission).count() == 2
    approved = client.post(
        _review_url(submission),
        {
            "verdict": "approve",
            "waive_reason": "The output is shown in the notes.",
            "action": "review",
        },
    )
    assert approved.status_code == 302
    assert Submission.objects.get(pk=submission.pk).state == "approved"
    explain.refresh_from_db()
    assert (explain.state, explain.waived_by, explain.waive_reason) == (
        "waived",
        mentor,
        "The output is shown in the notes.",
    )

    # The learner sees every point's outcome.
    client.force_login(learner)
    page = _text(client.get(_lab_url(world)))
    assert "Waived by" in page and "The output is shown in the notes." in page
    assert page.count("Addressed in iteration") == 3


def test_point_rows_are_added_and_removed_without_javascript(client, world):
    submission = world.submitted()
    client.force_login(world.mentor)
    response = client.post(
        _review_url(submission),
        {
            "verdict": "request_changes",
            "body": "typed so far",
            "point_text": ["First point"],
            "point_deliverable": ["1"],
            "action": "add_point",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('name="point_text"') == 2
    assert "First point</textarea>" in page
    assert "typed so far</textarea>" in page  # nothing typed is lost
    assert re.search(r'<option value="1" selected>', page)
    response = client.post(
        _review_url(submission),
        {
            "point_text": ["First point", "Second"],
            "point_deliverable": ["", ""],
            "remove_point": "0",
        },
    )
    page = response.content.decode()
    assert page.count('name="point_text"') == 1
    assert "Second</textarea>" in page and "First point" not in page
    assert not Review.objects.exists()


def test_point_rows_are_swapped_in_place_with_htmx(client, world):
    submission = world.submitted()
    client.force_login(world.mentor)
    response = client.post(
        _review_url(submission),
        {"point_text": ["Keep"], "point_deliverable": [""], "action": "add_point"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    page = response.content.decode()
    assert page.lstrip().startswith('<fieldset class="field pt-rows" id="point-rows"')
    assert "<html" not in page
    assert page.count('name="point_text"') == 2
    assert not Review.objects.exists()


def test_posting_a_message_keeps_the_points_typed(client, world):
    submission = world.submitted()
    client.force_login(world.mentor)
    response = client.post(
        _review_url(submission),
        {
            "action": "message",
            "message": "A question first.",
            "point_text": ["Keep this point"],
            "point_deliverable": [""],
        },
    )
    assert response.status_code == 302
    page = client.get(_review_url(submission)).content.decode()
    assert "Keep this point</textarea>" in page
    assert "Your review is not posted yet" in page
    assert not ReviewPoint.objects.exists()


def test_a_refused_point_is_shown_beside_the_rows(client, world):
    submission = world.submitted()
    client.force_login(world.mentor)
    response = client.post(
        _review_url(submission),
        {
            "verdict": "request_changes",
            "body": "x",
            "point_text": ["y" * 1001],
            "point_deliverable": [""],
            "action": "review",
        },
    )
    assert response.status_code == 400
    page = _text(response)
    assert 'id="points-error"' in page and "limited to 1,000 characters" in page
    assert "Your review was not posted: see the points below." in page
    assert not Review.objects.exists()


def test_points_are_not_shown_to_mentors_of_other_cohorts(client, world):
    submission = world.submitted()
    services.review_create(
        actor=world.mentor,
        submission=submission,
        verdict="request_changes",
        points=[{"text": "Private advice", "deliverable": None}],
    )
    from tests.factories import CohortFactory

    stranger = MentorMembershipFactory(cohort=CohortFactory()).user
    client.force_login(stranger)
    response = client.get(_review_url(submission))
    assert response.status_code == 404
    assert "Private advice" not in response.content.decode()


@pytest.mark.parametrize("count", [1, 12])
def test_the_pages_read_points_in_constant_queries(
    client, world, count, django_assert_max_num_queries
):
    submission = world.submitted()
    services.review_create(
        actor=world.mentor,
        submission=submission,
        verdict="request_changes",
        points=[{"text": f"Point {i}", "deliverable": None} for i in range(count)],
    )
    services.submission_submit(actor=world.learner, submission=submission, leave_points_open=True)
    client.force_login(world.mentor)
    with django_assert_max_num_queries(16):
        page = client.get(_review_url(submission)).content.decode()
    assert page.count('class="pt-item pt-open"') == count
    client.force_login(world.learner)
    with django_assert_max_num_queries(24):
        page = client.get(_lab_url(world)).content.decode()
    assert page.count('class="pt-item pt-open"') == count
