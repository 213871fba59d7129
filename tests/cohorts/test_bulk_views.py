"""Issue 15.3 pages: extend a lab for everyone, shift the schedule (preview, then confirm),
announcements. Forms work without JavaScript; htmx gets the panel as a fragment."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Announcement, Extension, ScheduleOverride, ScheduleShift
from cohorts.selectors import schedule_entry
from cohorts.services import announcement_send
from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
)


@pytest.fixture
def setup(db):
    cohort = CohortFactory(start_date=timezone.localdate() - dt.timedelta(days=8))
    labs = [
        LabFactory(track=cohort.track, week=week, title=f"Lab number {week}")
        for week in (1, 2, 3, 4)
    ]
    learners = [MembershipFactory(cohort=cohort).user for _ in range(3)]
    mentor = MentorMembershipFactory(cohort=cohort).user
    return {
        "cohort": cohort,
        "labs": labs,
        "learners": learners,
        "mentor": mentor,
        "staff": StaffFactory(),
        "other_mentor": MentorMembershipFactory().user,
    }


def _local(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def test_a_mentor_previews_then_confirms_an_extension_for_everyone(client, setup):
    cohort, lab = setup["cohort"], setup["labs"][2]
    client.force_login(setup["mentor"])
    url = reverse("cohorts:extension_all", args=[cohort.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert "Lab number 3" in page.content.decode()
    due = schedule_entry(cohort=cohort, lab=lab).due_at + dt.timedelta(days=4)
    keeper = setup["learners"][0]
    Extension.objects.create(
        cohort=cohort, lab=lab, learner=keeper, due_at=due + dt.timedelta(days=3), reason="ill"
    )
    form = {"lab": lab.pk, "due_at": _local(due), "reason": "Holiday"}

    preview = client.post(url, {**form, "action": "preview"})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Check before you confirm" in html
    assert "<strong>2</strong> learners get this extension" in html
    assert keeper.display_name in html and "already has a later extension" in html
    assert Extension.objects.count() == 1  # a preview writes nothing
    fingerprint = html.split('name="fingerprint" value="')[1].split('"')[0]

    done = client.post(url, {**form, "action": "apply", "fingerprint": fingerprint}, follow=True)
    assert done.redirect_chain[-1][0].endswith(f"/cohorts/{cohort.slug}/schedule/#extensions")
    text = done.content.decode()
    assert "Week 3 extended for 2 learners." in text
    assert "1 already had a later extension and keep it" in text
    assert Extension.objects.filter(lab=lab, due_at=due).count() == 2


def test_htmx_gets_the_panel_and_errors_change_nothing(client, setup):
    cohort = setup["cohort"]
    client.force_login(setup["staff"])
    url = reverse("cohorts:extension_all", args=[cohort.slug])
    response = client.post(
        url, {"lab": setup["labs"][2].pk, "due_at": "", "reason": ""}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx
    assert "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<div id="bulk-panel">') and "<html" not in html
    assert "This field is required." in html
    plain = client.post(url, {"lab": setup["labs"][2].pk, "due_at": "", "reason": ""})
    assert plain.status_code == 400 and "<html" in plain.content.decode()
    early = client.post(
        url,
        {
            "lab": setup["labs"][2].pk,
            "due_at": "2001-01-01T00:00",
            "reason": "x",
            "action": "apply",
        },
    )
    assert early.status_code == 400
    assert "must be later than the lab" in early.content.decode()
    assert not Extension.objects.exists()


def test_staff_preview_and_shift_the_schedule_then_see_the_record(client, setup):
    cohort = setup["cohort"]
    client.force_login(setup["staff"])
    url = reverse("cohorts:schedule_shift", args=[cohort.slug])
    assert client.get(url).status_code == 200
    preview = client.post(url, {"days": "7", "action": "preview"})
    html = preview.content.decode()
    assert preview.status_code == 200 and "Moving by <strong>+7 days</strong>" in html
    assert "released, stays" in html  # week 2 is open: its release stays
    assert not ScheduleOverride.objects.exists()
    fingerprint = html.split('name="fingerprint" value="')[1].split('"')[0]
    done = client.post(
        url, {"days": "7", "action": "apply", "fingerprint": fingerprint}, follow=True
    )
    text = done.content.decode()
    assert "Schedule moved by +7 days: 3 labs and 0 extensions." in text
    assert ScheduleShift.objects.get().shifted_by == setup["staff"]
    # The schedule page tells staff and mentors it happened.
    client.force_login(setup["mentor"])
    schedule = client.get(reverse("cohorts:schedule", args=[cohort.slug])).content.decode()
    assert "Schedule shifts" in schedule and "+7 days" in schedule


@pytest.mark.parametrize("days", ["0", "61", "-61", "", "x"])
def test_a_bad_shift_is_refused_and_changes_nothing(client, setup, days):
    client.force_login(setup["staff"])
    url = reverse("cohorts:schedule_shift", args=[setup["cohort"].slug])
    response = client.post(url, {"days": days, "action": "apply"})
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not ScheduleOverride.objects.exists() and not ScheduleShift.objects.exists()


def test_who_reaches_the_bulk_pages(client, setup):
    cohort = setup["cohort"]
    extension = reverse("cohorts:extension_all", args=[cohort.slug])
    shift = reverse("cohorts:schedule_shift", args=[cohort.slug])
    expected = {
        "learner": (403, 403),
        "mentor": (200, 403),
        "other_mentor": (404, 404),
        "staff": (200, 200),
    }
    for who, (on_extension, on_shift) in expected.items():
        user = setup["learners"][0] if who == "learner" else setup[who]
        client.force_login(user)
        assert client.get(extension).status_code == on_extension, who
        assert client.get(shift).status_code == on_shift, who
        assert client.post(shift, {"days": "7", "action": "apply"}).status_code in (on_shift, 302)
    client.logout()
    assert client.get(extension).status_code == 302
    assert not ScheduleShift.objects.filter(shifted_by=setup["mentor"]).exists()


def test_members_read_announcements_and_only_mentors_and_staff_send(
    client, setup, django_assert_max_num_queries
):
    cohort, learner = setup["cohort"], setup["learners"][0]
    url = reverse("cohorts:announcements", args=[cohort.slug])
    for n in range(25):
        announcement_send(actor=setup["mentor"], cohort=cohort, title=f"Note {n}", body="*hi*")
    client.force_login(learner)
    with django_assert_max_num_queries(12):
        page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Note 24" in html and "<em>hi</em>" in html and "Page 1 of 2" in html
    assert "Send to the cohort" not in html
    assert client.post(url, {"title": "t", "body": "b"}).status_code == 403
    # The cohort's page shows the latest ones.
    schedule = client.get(reverse("cohorts:schedule", args=[cohort.slug])).content.decode()
    assert "Latest announcements" in schedule and "Note 24" in schedule

    client.force_login(setup["other_mentor"])
    assert client.get(url).status_code == 404

    client.force_login(setup["mentor"])
    bad = client.post(url, {"title": "", "body": ""})
    assert bad.status_code == 400 and "This field is required." in bad.content.decode()
    sent = client.post(url, {"title": "Holiday week", "body": "No labs."})
    latest = Announcement.objects.first()
    assert latest.title == "Holiday week" and latest.author == setup["mentor"]
    assert sent["Location"].endswith(f"#announcement-{latest.pk}")


def test_the_staff_overview_and_the_mentor_matrix_link_the_actions(client, setup):
    cohort = setup["cohort"]
    client.force_login(setup["staff"])
    overview = client.get(reverse("dashboard:staff-cohort", args=[cohort.pk])).content.decode()
    for name in ("extension_all", "schedule_shift", "announcements"):
        assert reverse(f"cohorts:{name}", args=[cohort.slug]) in overview
    client.force_login(setup["mentor"])
    matrix = client.get(reverse("dashboard:mentor") + f"?cohort={cohort.pk}").content.decode()
    assert reverse("cohorts:extension_all", args=[cohort.slug]) in matrix
    assert reverse("cohorts:announcements", args=[cohort.slug]) in matrix
    assert reverse("cohorts:schedule_shift", args=[cohort.slug]) not in matrix
