"""Saved replies: what mentors and staff need (save per lab and deliverable, share with the
cohort's mentors or, staff, with all; insert into a review; counted per insert), and
that nobody else sees or changes them. Real database, real services."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cohorts.services import membership_deactivate
from core.exceptions import ApplicationError
from submissions import saved_replies, services
from submissions.models import SavedReply, SavedReplyUse
from submissions.permissions import saved_replies_visible_to
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def _handed_in(*, learner, cohort, lab):
    """The learner's work on the lab, handed in through the services."""
    submission = services.submission_get_or_create_draft(learner=learner, cohort=cohort, lab=lab)
    services.submission_save_draft(
        actor=learner,
        submission=submission,
        repo_url="https://github.com/ada/intro",
        commit_sha="",
        notes="",
        checklist=[],
    )
    services.submission_submit(actor=learner, submission=submission)
    submission.refresh_from_db()
    return submission


@pytest.fixture
def world():
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=20))
    # Another cohort on the SAME path: its mentor can open the lab but not cohort A's replies.
    other = CohortFactory(track=cohort.track, start_date=cohort.start_date)
    lab = LabFactory(track=cohort.track, week=1, title="Intro lab")
    lab2 = LabFactory(track=cohort.track, week=2, title="Second lab")
    mentor = MentorMembershipFactory(cohort=cohort, user__name="Mia Mentor").user
    fellow = MentorMembershipFactory(cohort=cohort, user__name="Fred Fellow").user
    other_mentor = MentorMembershipFactory(cohort=other).user
    learner = MembershipFactory(cohort=cohort).user
    staff = StaffFactory()
    submission = _handed_in(learner=learner, cohort=cohort, lab=lab)

    class W:
        pass

    w = W()
    w.__dict__.update(locals())
    return w


def _reply(world, **kwargs):
    values = {
        "actor": world.mentor,
        "lab": world.lab,
        "cohort": world.cohort,
        "title": "Add tests",
        "body": "Please add a test for the empty input.",
    }
    values.update(kwargs)
    return saved_replies.saved_reply_create(**values)


def _visible(user):
    return set(
        SavedReply.objects.filter(saved_replies_visible_to(user)).values_list("pk", flat=True)
    )


# --- services -----------------------------------------------------------------------------


def test_a_mentor_saves_a_reply_for_a_deliverable_of_a_lab_of_their_cohort(world):
    reply = _reply(world, deliverable=1, title="  Second step  ")
    reply.refresh_from_db()
    assert (reply.title, reply.deliverable, reply.cohort, reply.shared_with_all) == (
        "Second step",
        1,
        world.cohort,
        False,
    )
    assert reply.author == world.mentor and reply.usage_count == 0
    assert saved_replies.deliverable_label(world.lab, 1) == "Deliverable 2: Do the second thing."


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"body": ""}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"deliverable": 2}, "deliverable"),  # the lab has two deliverables: 0 and 1
        ({"cohort": None}, "cohort"),
    ],
)
def test_bad_input_is_refused_by_field_and_saves_nothing(world, changes, field):
    with pytest.raises(ApplicationError) as error:
        _reply(world, **changes)
    assert error.value.code == "invalid"
    assert field in error.value.extra["errors"]
    assert not SavedReply.objects.exists()


def test_a_lab_of_another_path_is_refused(world):
    elsewhere = LabFactory()
    with pytest.raises(ApplicationError) as error:
        _reply(world, lab=elsewhere)
    assert "lab" in error.value.extra["errors"]


def test_only_staff_share_with_every_cohort_and_only_mentors_share_with_theirs(world):
    with pytest.raises(ApplicationError) as error:
        _reply(world, cohort=None, shared_with_all=True)
    assert error.value.code == "forbidden"
    with pytest.raises(ApplicationError) as error:
        _reply(world, actor=world.other_mentor)  # cohort A is not theirs
    assert error.value.code == "forbidden"
    with pytest.raises(ApplicationError) as error:
        _reply(world, actor=world.learner)
    assert error.value.code == "forbidden"
    shared = _reply(world, actor=world.staff, cohort=None, shared_with_all=True)
    assert shared.cohort is None and shared.shared_with_all
    assert SavedReply.objects.count() == 1


def test_the_database_refuses_a_reply_with_no_scope_or_two(world):
    from django.db import IntegrityError, transaction

    reply = _reply(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedReply.objects.filter(pk=reply.pk).update(shared_with_all=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedReply.objects.filter(pk=reply.pk).update(cohort=None)


def test_update_and_delete_are_the_authors_or_staffs(world):
    reply = _reply(world)
    for intruder in (world.fellow, world.other_mentor, world.learner):
        with pytest.raises(ApplicationError) as error:
            saved_replies.saved_reply_update(actor=intruder, reply=reply, title="Mine", body="x")
        assert error.value.code == "forbidden"
        with pytest.raises(ApplicationError):
            saved_replies.saved_reply_delete(actor=intruder, reply=reply)
    updated = saved_replies.saved_reply_update(
        actor=world.mentor, reply=reply, title="Tests", body="Add a test.", deliverable=0
    )
    assert (updated.title, updated.body, updated.deliverable) == ("Tests", "Add a test.", 0)
    with pytest.raises(ApplicationError) as error:
        saved_replies.saved_reply_update(
            actor=world.mentor, reply=reply, title="Tests", body="", deliverable=0
        )
    reply.refresh_from_db()
    assert reply.body == "Add a test."  # a refused edit changes nothing
    saved_replies.saved_reply_update(actor=world.staff, reply=reply, title="By staff", body="b")
    saved_replies.saved_reply_delete(actor=world.staff, reply=reply)
    assert not SavedReply.objects.exists()


def test_a_mentor_who_left_the_cohort_can_no_longer_change_their_reply(world):
    reply = _reply(world)
    membership = world.mentor.memberships.get(cohort=world.cohort)
    membership_deactivate(actor=world.staff, membership=membership)
    with pytest.raises(ApplicationError):
        saved_replies.saved_reply_update(actor=world.mentor, reply=reply, title="t", body="b")
    # A new request reads the memberships afresh (the roles are cached per user object).
    assert reply.pk not in _visible(type(world.mentor).objects.get(pk=world.mentor.pk))
    assert reply.pk in _visible(world.fellow)  # the cohort keeps it


def test_use_counts_each_insert_and_logs_lab_cohort_and_submission(world):
    reply = _reply(world)
    used = saved_replies.saved_reply_use(
        actor=world.fellow, reply=reply, submission=world.submission
    )
    used = saved_replies.saved_reply_use(actor=world.mentor, reply=reply)
    assert used.usage_count == 2 and used.last_used_at is not None
    uses = list(
        SavedReplyUse.objects.order_by("pk").values_list("user", "lab", "cohort", "submission")
    )
    assert uses == [
        (world.fellow.pk, world.lab.pk, world.cohort.pk, world.submission.pk),
        (world.mentor.pk, world.lab.pk, world.cohort.pk, None),
    ]
    # Deleting the reply keeps the lab's figures.
    saved_replies.saved_reply_delete(actor=world.mentor, reply=reply)
    assert SavedReplyUse.objects.filter(lab=world.lab).count() == 2


def test_use_refuses_replies_one_cannot_see_and_submissions_they_do_not_fit(world):
    reply = _reply(world)
    with pytest.raises(ApplicationError) as error:
        saved_replies.saved_reply_use(actor=world.other_mentor, reply=reply)
    assert error.value.code == "not_found"
    other_lab = _reply(world, lab=world.lab2, title="Other lab")
    with pytest.raises(ApplicationError) as error:
        saved_replies.saved_reply_use(
            actor=world.mentor, reply=other_lab, submission=world.submission
        )
    assert "submission" in error.value.extra["errors"]
    with pytest.raises(ApplicationError) as error:
        saved_replies.saved_reply_use(actor=world.learner, reply=reply)
    reply.refresh_from_db()
    other_lab.refresh_from_db()
    assert reply.usage_count == other_lab.usage_count == 0
    assert not SavedReplyUse.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_mentors_inserting_at_once_both_count(world):
    reply = _reply(world)
    barrier = threading.Barrier(2)
    errors = []

    def insert(user):
        try:
            barrier.wait(timeout=10)
            saved_replies.saved_reply_use(actor=user, reply=reply)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=insert, args=(u,)) for u in (world.mentor, world.fellow)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    reply.refresh_from_db()
    assert reply.usage_count == 2


# --- who sees what ------------------------------------------------------------------------


def test_visibility_cohort_shared_and_staff_global(world):
    mine = _reply(world)
    global_reply = _reply(world, actor=world.staff, cohort=None, shared_with_all=True)
    other_reply = _reply(world, actor=world.other_mentor, cohort=world.other)
    assert _visible(world.mentor) == _visible(world.fellow) == {mine.pk, global_reply.pk}
    assert _visible(world.other_mentor) == {global_reply.pk, other_reply.pk}
    assert _visible(world.learner) == set()
    assert _visible(world.staff) == {mine.pk, global_reply.pk, other_reply.pk}
    # The review menu: the submission's lab, its cohort's and staff's replies only.
    _reply(world, lab=world.lab2, title="Week 2")
    menu = saved_replies.saved_replies_for_review(user=world.fellow, submission=world.submission)
    assert [r.pk for r in menu] == sorted([mine.pk, global_reply.pk])
    assert (
        saved_replies.saved_replies_for_review(user=world.learner, submission=world.submission)
        == []
    )


# --- pages --------------------------------------------------------------------------------


def test_management_page_lists_per_lab_with_counts_and_an_empty_state(client, world):
    client.force_login(world.mentor)
    response = client.get(reverse("submissions:saved-replies"))
    assert response.status_code == 200
    assert "No saved replies yet." in response.content.decode()
    reply = _reply(world, title="Add tests")
    saved_replies.saved_reply_use(actor=world.mentor, reply=reply)
    _reply(world, lab=world.lab2, title="Week two tip")
    response = client.get(reverse("submissions:saved-replies"), {"lab": world.lab.pk})
    html = response.content.decode()
    assert "Add tests" in html and "Week two tip" not in html
    assert reverse("submissions:saved-reply-edit", args=[reply.pk]) in html
    row = html[html.index("Add tests") :]
    assert '<td data-label="Uses">1' in row
    assert response["Vary"] and "HX-Request" in response["Vary"]
    empty = client.get(reverse("submissions:saved-replies"), {"lab": world.lab2.pk, "page": 9})
    assert "Week two tip" in empty.content.decode()  # a page past the end shows the last


def test_management_page_is_paginated_with_bounded_queries(
    client, world, django_assert_max_num_queries
):
    for index in range(30):
        _reply(world, title=f"Tip {index:02d}", lab=world.lab if index % 2 else world.lab2)
    client.force_login(world.fellow)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("submissions:saved-replies"))
    html = response.content.decode()
    assert "Page 1 of 2" in html and "30 in all" in html
    # Fellow mentors use each other's replies but edit only their own.
    assert reverse("submissions:saved-reply-edit", args=[SavedReply.objects.first().pk]) not in html


def test_learners_and_outsiders_are_refused_every_page(client, world):
    reply = _reply(world)
    pages = [
        ("get", reverse("submissions:saved-replies")),
        ("get", reverse("submissions:saved-reply-new")),
        ("get", reverse("submissions:saved-reply-usage")),
        ("get", reverse("submissions:saved-reply-edit", args=[reply.pk])),
        ("post", reverse("submissions:saved-reply-delete", args=[reply.pk])),
    ]
    client.force_login(world.learner)
    for method, url in pages:
        assert getattr(client, method)(url).status_code == 403, url
    client.force_login(world.other_mentor)
    assert client.get(reverse("submissions:saved-reply-edit", args=[reply.pk])).status_code == 404
    assert (
        client.post(reverse("submissions:saved-reply-delete", args=[reply.pk])).status_code == 404
    )
    assert client.get(reverse("submissions:saved-reply-usage")).status_code == 403
    client.force_login(world.fellow)  # sees it, may not change it
    assert client.get(reverse("submissions:saved-reply-edit", args=[reply.pk])).status_code == 403
    assert (
        client.post(reverse("submissions:saved-reply-delete", args=[reply.pk])).status_code == 403
    )
    assert SavedReply.objects.filter(pk=reply.pk).exists()


def test_create_edit_and_delete_through_the_pages(client, world):
    client.force_login(world.mentor)
    url = reverse("submissions:saved-reply-new")
    # Without JavaScript, "Show its deliverables" redraws the form for the chosen lab.
    response = client.post(
        url, {"action": "pick-lab", "lab": world.lab.pk, "title": "Kept", "body": "Typed"}
    )
    html = response.content.decode()
    assert "2. Do the second thing." in html and "Kept" in html and "Typed" in html
    response = client.post(
        url, {"lab": world.lab.pk, "title": "", "body": "", "scope": world.cohort.pk}
    )
    assert response.status_code == 400 and not SavedReply.objects.exists()
    response = client.post(
        url,
        {
            "lab": world.lab.pk,
            "deliverable": 1,
            "scope": world.cohort.pk,
            "title": "Second step",
            "body": "Look again at **step two**.",
        },
    )
    assert response.status_code == 302
    reply = SavedReply.objects.get()
    assert (reply.deliverable, reply.cohort, reply.author) == (1, world.cohort, world.mentor)
    edit = reverse("submissions:saved-reply-edit", args=[reply.pk])
    assert "Second step" in client.get(edit).content.decode()
    response = client.post(
        edit, {"title": "Step two", "body": "Re-read step two.", "deliverable": ""}
    )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.title, reply.deliverable, reply.cohort) == ("Step two", None, world.cohort)
    client.post(reverse("submissions:saved-reply-delete", args=[reply.pk]))
    assert not SavedReply.objects.exists()


def test_a_mentor_cannot_share_with_every_cohort_through_the_form(client, world):
    client.force_login(world.mentor)
    response = client.post(
        reverse("submissions:saved-reply-new"),
        {"lab": world.lab.pk, "scope": "all", "title": "t", "body": "b"},
    )
    assert response.status_code == 400 and not SavedReply.objects.exists()


def test_review_page_offers_the_menu_and_insert_appends_and_counts(client, world):
    reply = _reply(world, title="Add tests", body="Please add a test.")
    other_lab = _reply(world, lab=world.lab2, title="Not this lab")
    client.force_login(world.fellow)
    review_url = reverse("submissions:review", args=[world.submission.pk])
    response = client.get(review_url)
    html = response.content.decode()
    assert "Insert a saved reply" in html and "Add tests" in html
    assert "Not this lab" not in html
    assert "js/saved_replies.js" in html
    reply.refresh_from_db()
    assert reply.usage_count == 0  # loading the page counts nothing
    insert = reverse("submissions:saved-reply-insert", args=[world.submission.pk])
    response = client.post(
        insert,
        {
            "saved_reply": reply.pk,
            "body": "Good start.",
            "verdict": "request_changes",
            "message": "A message not sent yet",
            "mark_0": "met",
        },
        follow=True,
    )
    assert response.redirect_chain == [(insert, 303)]
    assert response.status_code == 200
    form = response.context["review_form"]
    assert form["body"].value() == "Good start.\n\nPlease add a test."
    assert form["verdict"].value() == "request_changes"
    assert form["mark_0"].value() == "met"
    assert "A message not sent yet" in response.content.decode()
    assert "Inserted “Add tests”" in response.content.decode()
    reply.refresh_from_db()
    assert reply.usage_count == 1
    # The JavaScript path counts only, answering JSON.
    response = client.post(insert, {"saved_reply": reply.pk}, HTTP_ACCEPT="application/json")
    assert response.json() == {"id": reply.pk, "usage_count": 2}
    # A reply of another lab, or none, inserts nothing and counts nothing.
    response = client.post(insert, {"saved_reply": other_lab.pk, "body": "Kept"})
    assert response.status_code == 400
    assert response.context["review_form"]["body"].value() == "Kept"
    response = client.post(insert, {"body": "Kept"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    other_lab.refresh_from_db()
    assert other_lab.usage_count == 0 and SavedReplyUse.objects.count() == 2
    # Nothing was posted as a review.
    assert not world.submission.reviews.exists()


def test_reloading_the_page_after_an_insert_counts_no_second_use(client, world):
    """Without JavaScript, Insert is a POST answered by a redirect (303) to a page drawn by
    GET: reloading it, or coming back to it, redraws the same review box and counts
    nothing; a second Insert (a new POST) counts again."""
    reply = _reply(world, title="Add tests", body="Please add a test.")
    client.force_login(world.fellow)
    insert = reverse("submissions:saved-reply-insert", args=[world.submission.pk])
    typed = {"saved_reply": reply.pk, "body": "Good start.", "mark_0": "met"}
    response = client.post(insert, typed)
    assert response.status_code == 303 and response["Location"] == insert
    for _ in range(3):  # the redirect, then two reloads
        page = client.get(insert)
        assert page.status_code == 200
        assert page.context["review_form"]["body"].value() == "Good start.\n\nPlease add a test."
        assert page.context["review_form"]["mark_0"].value() == "met"
        assert "Inserted “Add tests”" in page.content.decode()
    reply.refresh_from_db()
    assert reply.usage_count == 1 and SavedReplyUse.objects.count() == 1
    # Inserting again from the redrawn page is a second use, appended once more.
    again = client.post(insert, {**typed, "body": page.context["review_form"]["body"].value()})
    assert again.status_code == 303
    body = client.get(insert).context["review_form"]["body"].value()
    assert body == "Good start.\n\nPlease add a test.\n\nPlease add a test."
    reply.refresh_from_db()
    assert reply.usage_count == 2
    # Without an insert in this session, the address leads to the review page.
    client.force_login(world.mentor)
    response = client.get(insert)
    assert response.status_code == 302
    assert response["Location"] == reverse("submissions:review", args=[world.submission.pk])
    assert not world.submission.reviews.exists()


def test_the_session_keeps_the_typed_reviews_of_the_latest_few_inserts_only(client, world):
    """Each no-JavaScript Insert keeps the typed review form in the session until the page
    is drawn; a mentor inserting on many submissions keeps only the latest five there."""
    reply = _reply(world, title="Add tests", body="Please add a test.")
    submissions = [world.submission] + [
        _handed_in(
            learner=MembershipFactory(cohort=world.cohort).user, cohort=world.cohort, lab=world.lab
        )
        for _ in range(6)
    ]
    client.force_login(world.fellow)
    for n, submission in enumerate(submissions):
        insert = reverse("submissions:saved-reply-insert", args=[submission.pk])
        assert (
            client.post(insert, {"saved_reply": reply.pk, "body": f"Typed {n}"}).status_code == 303
        )
    kept = client.session["saved-reply-insert"]
    assert list(kept) == [str(s.pk) for s in submissions[-5:]]
    # The latest are drawn with what was typed; the oldest lead back to their review page.
    latest = reverse("submissions:saved-reply-insert", args=[submissions[-1].pk])
    body = client.get(latest).context["review_form"]["body"].value()
    assert body == "Typed 6\n\nPlease add a test."
    oldest = reverse("submissions:saved-reply-insert", args=[submissions[0].pk])
    assert client.get(oldest)["Location"] == reverse("submissions:review", args=[submissions[0].pk])


def test_insert_is_refused_to_those_who_cannot_review(client, world):
    reply = _reply(world)
    insert = reverse("submissions:saved-reply-insert", args=[world.submission.pk])
    for user in (world.learner, world.other_mentor):
        client.force_login(user)
        assert client.post(insert, {"saved_reply": reply.pk}).status_code == 404
        assert client.get(insert).status_code == 404
    reply.refresh_from_db()
    assert reply.usage_count == 0


def test_staff_ranking_of_labs_by_use(client, world):
    tip = _reply(world, title="tip")
    week2 = _reply(world, lab=world.lab2, title="week 2")
    for _ in range(3):
        saved_replies.saved_reply_use(actor=world.mentor, reply=week2)
    saved_replies.saved_reply_use(actor=world.fellow, reply=tip)
    # An old use counts in "all time" only.
    SavedReplyUse.objects.filter(reply=tip).update(used_at=timezone.now() - dt.timedelta(days=200))
    saved_replies.saved_reply_use(actor=world.fellow, reply=tip)
    rows = saved_replies.lab_usage_ranking()
    assert [(r.lab, r.recent_uses, r.total_uses, r.mentors, r.replies) for r in rows] == [
        (world.lab2, 3, 3, 1, 1),
        (world.lab, 1, 2, 1, 1),
    ]
    client.force_login(world.staff)
    html = client.get(reverse("submissions:saved-reply-usage")).content.decode()
    assert html.index("Second lab") < html.index("Intro lab")
    SavedReplyUse.objects.all().delete()
    html = client.get(reverse("submissions:saved-reply-usage")).content.decode()
    assert "No saved reply has been inserted into a review yet." in html


def test_navigation_links_saved_replies_for_mentors_and_staff_only(client, world):
    url = reverse("submissions:saved-replies")
    for user, shown in ((world.mentor, True), (world.learner, False)):
        client.force_login(user)
        html = client.get(reverse("cohorts:mine")).content.decode()
        assert (f'href="{url}"' in html) is shown, user
    # Staff (whose bar is full) reach them from the staff home, ranking first.
    client.force_login(world.staff)
    html = client.get(reverse("dashboard:staff")).content.decode()
    assert f'href="{reverse("submissions:saved-reply-usage")}"' in html


def test_htmx_gets_only_the_list_and_the_deliverables_fragment(client, world):
    _reply(world, title="Add tests")
    client.force_login(world.mentor)
    response = client.get(
        reverse("submissions:saved-replies"), {"lab": world.lab.pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="reply-list">') and "Add tests" in html
    assert "<html" not in html
    response = client.get(
        reverse("submissions:saved-reply-new"), {"lab": world.lab.pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="deliverable-field">')
    assert "2. Do the second thing." in html


def test_the_review_menu_costs_the_same_queries_for_many_replies(
    client, world, django_assert_max_num_queries
):
    client.force_login(world.fellow)
    url = reverse("submissions:review", args=[world.submission.pk])
    _reply(world, title="First")
    with django_assert_max_num_queries(60) as one:
        client.get(url)
    for index in range(20):
        _reply(world, title=f"Tip {index}", deliverable=index % 2)
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count('data-body="') == 21
