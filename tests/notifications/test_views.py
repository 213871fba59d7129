"""The bell, the notifications page and the preferences page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, Preference
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def make(user, n: int = 1, *, read: bool = False, text: str = "Something happened", link=""):
    rows = [
        Notification(
            recipient=user,
            kind="review.posted",
            text=f"{text} {i}",
            link=link,
            read_at=timezone.now() if read else None,
        )
        for i in range(n)
    ]
    return Notification.objects.bulk_create(rows)


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_bell_is_one_query_and_polls_its_partial(signed_in, user, django_assert_max_num_queries):
    make(user, 3)
    make(user, 2, read=True)
    make(UserFactory(), 4)
    # At most session + user + the count (sessions may come from the cache); the count
    # is the bell's only query of its own.
    with django_assert_max_num_queries(3) as captured:
        response = signed_in.get(reverse("notifications:bell"), HTTP_HX_REQUEST="true")
    own = [
        q["sql"]
        for q in captured.captured_queries
        if "django_session" not in q["sql"] and "accounts_user" not in q["sql"]
    ]
    assert len(own) == 1 and "COUNT(*)" in own[0]
    body = response.content.decode()
    assert response.status_code == 200
    assert '<span class="count" aria-hidden="true">3</span>' in body
    assert 'hx-trigger="every 30s' in body
    assert f'href="{reverse("notifications:list")}"' in body  # works as a plain link
    assert "HX-Request" in response["Vary"]
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_bell_in_the_header_of_every_page(signed_in, user):
    make(user, 120)
    body = signed_in.get(reverse("notifications:preferences")).content.decode()
    assert 'id="notification-bell"' in body
    assert ">99+<" in body
    assert "Notifications: 120 unread" in body


def test_bell_poll_when_signed_out_swaps_nothing(client):
    response = client.get(reverse("notifications:bell"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204


def test_list_shows_only_mine_unread_first_paginated(
    signed_in, user, django_assert_max_num_queries
):
    make(user, 5, text="Old news", read=True)
    make(user, 30, text="Fresh")
    make(UserFactory(), 3, text="Not yours")
    with django_assert_max_num_queries(8):
        response = signed_in.get(reverse("notifications:list"))
    body = response.content.decode()
    assert "Not yours" not in body
    assert body.count('class="notification unread"') == 25
    assert "Old news" not in body  # unread first: read ones are on page 2
    page2 = signed_in.get(reverse("notifications:list") + "?page=2").content.decode()
    assert page2.count('class="notification unread"') == 5
    assert "Old news" in page2
    assert "Page 2 of 2" in page2


def test_list_query_count_does_not_grow_with_notifications(
    signed_in, user, django_assert_max_num_queries
):
    make(user, 3)
    with django_assert_max_num_queries(8) as few:
        signed_in.get(reverse("notifications:list"))
    make(user, 60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        signed_in.get(reverse("notifications:list"))


def test_empty_state(signed_in):
    body = signed_in.get(reverse("notifications:list")).content.decode()
    assert "Nothing here yet" in body


def test_mark_one_read_without_js_redirects_back(signed_in, user):
    (mine,) = make(user)
    response = signed_in.post(reverse("notifications:mark_read", args=[mine.pk]), {"page": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:list") + "?page=1"
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_one_read_with_htmx_returns_the_list_and_tells_the_bell(signed_in, user):
    first, second = make(user, 2)
    response = signed_in.post(
        reverse("notifications:mark_read", args=[first.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    body = response.content.decode()
    assert 'id="notification-list"' in body
    assert "<html" not in body
    assert body.count('class="notification unread"') == 1


def test_cannot_mark_or_open_someone_elses(signed_in):
    (theirs,) = make(UserFactory())
    assert signed_in.post(reverse("notifications:mark_read", args=[theirs.pk])).status_code == 404
    assert signed_in.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_needs_post(signed_in, user):
    (mine,) = make(user)
    assert signed_in.get(reverse("notifications:mark_read", args=[mine.pk])).status_code == 405
    assert signed_in.get(reverse("notifications:mark_all_read")).status_code == 405


def test_mark_all_read_touches_only_mine(signed_in, user):
    make(user, 4)
    (theirs,) = make(UserFactory())
    response = signed_in.post(reverse("notifications:mark_all_read"), follow=True)
    assert "Marked 4 notifications read." in response.content.decode()
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_marks_read_and_follows_only_local_links(signed_in, user):
    (local,) = make(user, link="/submissions/7/")
    (evil,) = make(user, link="https://evil.example/phish")
    response = signed_in.get(reverse("notifications:open", args=[local.pk]))
    assert response["Location"] == "/submissions/7/"
    local.refresh_from_db()
    assert local.read_at is not None
    response = signed_in.get(reverse("notifications:open", args=[evil.pk]))
    assert response["Location"] == reverse("notifications:list")


def test_pages_need_sign_in(client):
    for name in ("notifications:list", "notifications:preferences"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/login" in response["Location"]
    assert client.post(reverse("notifications:mark_all_read")).status_code == 302


def test_preferences_show_a_learner_only_what_can_concern_them(signed_in, user):
    MembershipFactory(user=user)
    body = signed_in.get(reverse("notifications:preferences")).content.decode()
    assert '<label for="id_review.posted">Feedback on your work</label>' in body
    assert '<option value="email" selected>' in body
    assert "Submissions to review" not in body  # a mentor's kind
    assert "Weekly staff summary" not in body


def test_preferences_page_saves_only_changes_from_the_defaults(client, staff):
    client.force_login(staff)
    user = staff
    signed_in = client
    body = signed_in.get(reverse("notifications:preferences")).content.decode()
    assert "Weekly staff summary" in body and "Submissions to review" in body
    assert '<option value="email" selected>Email weekly</option>' in body
    form = {
        "review.posted": "digest",
        "lab.released": "off",
        "digest.mentor_weekly": "off",
    }
    from notifications.handlers import KINDS

    for kind, info in KINDS.items():
        form.setdefault(kind, info.default)
    response = signed_in.post(reverse("notifications:preferences"), form)
    assert response.status_code == 302
    assert dict(Preference.objects.filter(user=user).values_list("kind", "channel")) == {
        "review.posted": "digest",
        "lab.released": "off",
        "digest.mentor_weekly": "off",
    }


def test_preferences_refuses_bad_choices_with_a_field_error(client, staff):
    signed_in = client
    signed_in.force_login(staff)
    response = signed_in.post(
        reverse("notifications:preferences"),
        {"review.posted": "pigeon", "digest.staff_weekly": "digest"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'aria-invalid="true"' in body
    assert "Select a valid choice" in body
    assert not Preference.objects.exists()
