import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from submissions import services
from submissions.models import Iteration, Review, Submission
from tests.factories import StaffFactory

from .conftest import make_world
from .test_attachments import PNG

pytestmark = pytest.mark.django_db


def lab_url(world, lab=None):
    return reverse(
        "submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": (lab or world.lab).pk}
    )


def login(client, user):
    client.force_login(user)
    return client


# --- learner lab page ---------------------------------------------------------------------


def test_lab_page_shows_lab_form_and_deliverables(client, world):
    world.lab.current_revision.body = "# Build it\n\n<script>alert(1)</script>"
    world.lab.current_revision.save()
    response = login(client, world.learner).get(lab_url(world))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Build it</h1>" in html
    assert "<script>alert(1)" not in html
    assert world.lab.deliverables[0] in html
    assert 'name="repo_url"' in html and 'value="submit"' in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_save_then_submit_from_the_page(client, world):
    login(client, world.learner)
    data = {
        "repo_url": "https://github.com/me/lab",
        "commit_sha": "abc1234",
        "notes": "done",
        "checklist": ["0", "1"],
        "idempotency_key": "click-1",
    }
    response = client.post(lab_url(world), {**data, "action": "save"})
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.state == "draft" and submission.checklist == [0, 1]
    response = client.post(lab_url(world), {**data, "action": "submit"})
    assert response.status_code == 302
    # A double click posts the same form again: same iteration, no error.
    response = client.post(lab_url(world), {**data, "action": "submit"}, follow=True)
    assert response.status_code == 200
    assert "handed in" in response.content.decode()
    assert Iteration.objects.count() == 1
    submission.refresh_from_db()
    assert submission.state == "submitted"
    page = client.get(lab_url(world)).content.decode()
    assert "Iteration 1" in page and "waiting for review" in page


def test_bad_input_shows_field_errors_and_stores_nothing(client, world):
    login(client, world.learner)
    response = client.post(
        lab_url(world),
        {"repo_url": "javascript:alert(1)", "commit_sha": "zzz", "action": "submit"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "http:// or https://" in html
    assert "hexadecimal" in html
    assert not Iteration.objects.exists()
    assert Submission.objects.filter(repo_url__startswith="javascript").count() == 0


def test_htmx_inline_validation_returns_the_field_error(client, world):
    login(client, world.learner)
    url = reverse(
        "submissions:validate", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk}
    )
    response = client.post(
        url, {"field": "commit_sha", "commit_sha": "nothex!"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="err-commit_sha"' in html and "hexadecimal" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
    ok = client.post(url, {"field": "commit_sha", "commit_sha": "abcdef1"}, HTTP_HX_REQUEST="true")
    assert "hexadecimal" not in ok.content.decode()


def test_unreleased_lab_shows_when_it_opens(client, world):
    from tests.factories import LabFactory

    future = LabFactory(track=world.cohort.track, week=6)
    response = login(client, world.learner).get(lab_url(world, future))
    assert response.status_code == 200
    assert "opens on" in response.content.decode()
    assert future.body not in response.content.decode()


# --- who sees what ------------------------------------------------------------------------


def _submitted_with_file(world):
    submission = world.draft()
    attachment = services.attachment_add(
        actor=world.learner,
        submission=submission,
        uploaded_file=SimpleUploadedFile("shot.png", PNG),
    )
    services.submission_submit(actor=world.learner, submission=submission)
    services.comment_create(actor=world.learner, submission=submission, body="secret thread")
    return submission, attachment


@pytest.mark.usefixtures("media_storage")
def test_no_page_or_download_leaks_to_other_learners_or_other_cohorts_mentors(client, db):
    world = make_world(mentors=1)
    other = make_world(mentors=1)
    classmate = world.add_learner()
    submission, attachment = _submitted_with_file(world)
    urls = [
        reverse("submissions:review", kwargs={"pk": submission.pk}),
        reverse("submissions:detail", kwargs={"pk": submission.pk}),
        reverse("submissions:attachment", kwargs={"pk": attachment.pk}),
    ]
    posts = [
        (reverse("submissions:comment", kwargs={"pk": submission.pk}), {"body": "hi"}),
        (reverse("submissions:claim", kwargs={"pk": submission.pk}), {}),
        (reverse("submissions:review", kwargs={"pk": submission.pk}), {"verdict": "approve"}),
    ]
    for intruder in (classmate, other.learner, other.mentor):
        login(client, intruder)
        for url in urls:
            assert client.get(url).status_code == 404, (intruder, url)
        for url, data in posts:
            assert client.post(url, data).status_code == 404, (intruder, url)
        # The classmate's own lab page never shows someone else's work.
        page = client.get(lab_url(world)).content.decode()
        assert "secret thread" not in page and "shot.png" not in page
    assert not Review.objects.exists()
    assert submission.comments.count() == 1
    # The owner, the cohort's mentor and staff do see it.
    for allowed in (world.learner, world.mentor, StaffFactory()):
        login(client, allowed)
        assert client.get(urls[2]).status_code == 200


@pytest.mark.usefixtures("media_storage")
def test_download_is_an_attachment_and_never_inline(client, world):
    submission = world.draft()
    html = b"<!doctype html><script>alert(1)</script>"
    attachment = services.attachment_add(
        actor=world.learner, submission=submission, uploaded_file=SimpleUploadedFile("x.txt", html)
    )
    response = login(client, world.mentor).get(
        reverse("submissions:attachment", kwargs={"pk": attachment.pk})
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="x.txt"' in response["Content-Disposition"]
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == html


# --- mentor review page -------------------------------------------------------------------


def test_review_page_shows_iteration_diff_and_posts_a_review(client, world):
    submission = world.submitted(notes="first line\nsecond line")
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="Add tests"
    )
    world.draft(notes="first line\nsecond line changed", checklist=[0, 1])
    services.submission_submit(actor=world.learner, submission=submission)
    login(client, world.mentor)
    url = reverse("submissions:review", kwargs={"pk": submission.pk})
    html = client.get(url).content.decode()
    assert "Changes since iteration 1" in html
    assert "second line changed" in html
    assert "Now ticked:" in html
    assert "Add tests" in html
    response = client.post(url, {"verdict": "approve", "body": "Great", "mark_0": "met"})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == "approved"
    assert Review.objects.filter(verdict="approve").get().marks == {"0": "met"}


def test_review_form_errors_are_shown(client, world):
    submission = world.submitted()
    response = login(client, world.mentor).post(
        reverse("submissions:review", kwargs={"pk": submission.pk}),
        {"verdict": "request_changes", "body": ""},
    )
    assert response.status_code == 400
    assert "Say what needs to change" in response.content.decode()


def test_learner_visiting_the_review_page_goes_to_the_lab_page(client, world):
    submission = world.submitted()
    response = login(client, world.learner).get(
        reverse("submissions:review", kwargs={"pk": submission.pk})
    )
    assert response.status_code == 302 and response["Location"] == lab_url(world)


# --- queue --------------------------------------------------------------------------------


def test_queue_tabs_counts_and_oldest_first(client, db):
    world = make_world(mentors=1, capacity=1)
    mine = world.submitted()
    unassigned = [world.submitted(learner=world.add_learner()) for _ in range(2)]
    login(client, world.mentor)
    url = reverse("submissions:queue")
    html = client.get(url).content.decode()
    counts = dict(
        re.findall(r'>(Mine|Unassigned|Overdue|All) <span class="count"[^>]*>(\d+)', html)
    )
    assert counts == {"Mine": "1", "Unassigned": "2", "Overdue": "0", "All": "3"}
    assert f"queue-row-{mine.pk}" in html
    html = client.get(url, {"tab": "unassigned"}).content.decode()
    positions = [html.index(f"queue-row-{s.pk}") for s in unassigned]
    assert positions == sorted(positions)
    assert f"queue-row-{mine.pk}" not in html


def test_queue_htmx_returns_the_panel_and_varies(client, world):
    world.submitted()
    login(client, world.mentor)
    response = client.get(reverse("submissions:queue"), {"tab": "all"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-panel">')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
    full = client.get(reverse("submissions:queue"))
    assert "HX-Request" in full["Vary"] and "<html" in full.content.decode()


def test_queue_filters(client, db):
    world = make_world(mentors=1)
    other_lab_world_lab = world.lab
    from tests.factories import LabFactory

    second_lab = LabFactory(track=world.cohort.track, week=2, title="Second")
    from django.utils import timezone

    from cohorts.models import ScheduleOverride

    ScheduleOverride.objects.create(
        cohort=world.cohort, lab=second_lab, release_at=timezone.now() - timezone.timedelta(days=1)
    )
    a = world.submitted()
    b = world.submitted(lab=second_lab)
    login(client, world.mentor)
    html = client.get(
        reverse("submissions:queue"), {"tab": "all", "lab": second_lab.pk}
    ).content.decode()
    assert f"queue-row-{b.pk}" in html and f"queue-row-{a.pk}" not in html
    html = client.get(
        reverse("submissions:queue"),
        {"tab": "all", "lab": other_lab_world_lab.pk, "state": "approved"},
    ).content.decode()
    assert f"queue-row-{a.pk}" not in html
    # A bad filter value is ignored rather than failing.
    assert (
        client.get(reverse("submissions:queue"), {"cohort": "x", "state": "bogus"}).status_code
        == 200
    )


def test_claim_and_release_in_place_with_htmx_and_without(client, db):
    world = make_world(mentors=2, capacity=0)
    submission = world.submitted()
    login(client, world.mentor)
    claim_url = reverse("submissions:claim", kwargs={"pk": submission.pk})
    response = client.post(claim_url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="queue-row-{submission.pk}"')
    assert "Claimed." in html and "Release" in html
    # The tab counts are refreshed out of band: it is now the mentor's, none unassigned.
    assert 'id="tab-count-mine" hx-swap-oob="true">1<' in html
    assert 'id="tab-count-unassigned" hx-swap-oob="true">0<' in html
    # The other mentor loses the race and is told, in place.
    login(client, world.other_mentor)
    html = client.post(claim_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Already claimed by" in html
    # Without JavaScript: a normal post and a redirect back.
    login(client, world.mentor)
    response = client.post(
        reverse("submissions:release", kwargs={"pk": submission.pk}),
        {"next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("submissions:queue")
    submission.refresh_from_db()
    assert submission.state == "submitted" and submission.assigned_to is None


def test_queue_is_for_mentors(client, world):
    assert login(client, world.learner).get(reverse("submissions:queue")).status_code == 403


def _populate(world, learners: int):
    """Handed-in work in every tab: some assigned, the rest unassigned, all overdue."""
    from django.utils import timezone

    for _ in range(learners):
        world.submitted(learner=world.add_learner())
    Submission.objects.update(review_due_at=timezone.now() - timezone.timedelta(hours=1))


@pytest.mark.parametrize("tab", ["mine", "unassigned", "overdue", "all"])
def test_queue_query_count_does_not_grow_with_data(client, django_assert_max_num_queries, tab):
    small = make_world(mentors=2, capacity=1)
    _populate(small, 3)
    login(client, small.mentor)
    url = reverse("submissions:queue")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small_run:
        assert client.get(url, {"tab": tab}).status_code == 200
    _populate(small, 40)
    with django_assert_max_num_queries(len(small_run.captured_queries)):
        response = client.get(url, {"tab": tab})
    assert response.status_code == 200
    # The tab counts also page the list (no count of its own): one query fewer than before.
    assert len(small_run.captured_queries) <= 11


def test_review_page_query_count_is_bounded(client, django_assert_max_num_queries, world):
    submission = world.submitted()
    for i in range(5):
        services.comment_create(actor=world.learner, submission=submission, body=f"c{i}")
        services.review_create(
            actor=world.mentor, submission=submission, verdict="comment", body="x"
        )
    login(client, world.mentor)
    with django_assert_max_num_queries(20):
        assert (
            client.get(reverse("submissions:review", kwargs={"pk": submission.pk})).status_code
            == 200
        )


def test_comment_thread_with_htmx_and_without(client, world):
    submission = world.submitted()
    url = reverse("submissions:comment", kwargs={"pk": submission.pk})
    login(client, world.learner)
    html = client.post(
        url, {"body": "**Question** <script>x</script>"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.lstrip().startswith('<section class="card sub-thread" id="thread"')
    assert "<strong>Question</strong>" in html and "<script>x" not in html
    empty = client.post(url, {"body": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 200 and "field-error" in empty.content.decode()
    login(client, world.mentor)
    response = client.post(url, {"body": "Answer", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("submissions:review", kwargs={"pk": submission.pk}) + "#thread"
    )
    assert submission.comments.count() == 2


def test_admin_screens_load_for_staff(client, world):
    submission = world.submitted()
    login(client, StaffFactory())
    for name in ("submission", "iteration", "attachment", "review", "comment", "assignment"):
        assert client.get(reverse(f"admin:submissions_{name}_changelist")).status_code == 200
    change = reverse("admin:submissions_submission_change", args=[submission.pk])
    assert client.get(change).status_code == 200


def test_detail_link_sends_each_person_to_their_page(client, world):
    submission = world.submitted()
    url = reverse("submissions:detail", kwargs={"pk": submission.pk})
    assert login(client, world.learner).get(url)["Location"] == lab_url(world)
    assert login(client, world.mentor).get(url)["Location"] == reverse(
        "submissions:review", kwargs={"pk": submission.pk}
    )


def test_lab_page_query_count_does_not_grow_with_history(client, world):
    submission = world.submitted()
    login(client, world.learner)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(lab_url(world)).status_code == 200
    for i in range(4):
        services.review_create(
            actor=world.mentor, submission=submission, verdict="request_changes", body=f"r{i}"
        )
        services.comment_create(actor=world.learner, submission=submission, body=f"c{i}")
        world.draft(notes=f"take {i}")
        services.attachment_add(
            actor=world.learner,
            submission=submission,
            uploaded_file=SimpleUploadedFile(f"f{i}.txt", b"x"),
        )
        services.submission_submit(actor=world.learner, submission=submission)
    with CaptureQueriesContext(connection) as big:
        response = client.get(lab_url(world))
    assert response.status_code == 200 and "Iteration 5" in response.content.decode()
    assert len(big) == len(small), [q["sql"] for q in big.captured_queries]
