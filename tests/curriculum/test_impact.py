"""The impact of a curriculum update, as the import preview lists it (page, API, command):
per changed lab, the cohorts running it, the learners with a draft or open work, and the
claimed reviews. Against hand-made data on the real database."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from curriculum.impact import IMPACT_LIST_LIMIT, import_impact
from curriculum.models import CurriculumImport
from tests.cohorts.pin_world import curriculum, make_pin_world

pytestmark = pytest.mark.django_db


def by_lab(impact):
    return {entry["week"]: entry for entry in impact}


def test_impact_lists_running_cohorts_open_work_and_claimed_reviews():
    world = make_pin_world()
    record = world.preview(changed_weeks=(2,))
    impact = import_impact(record.diff)
    assert [entry["lab_id"] for entry in impact] == [world.labs[2].pk]
    lab = impact[0]
    assert (lab["track"], lab["week"], lab["title"]) == ("Alpha", 2, "Lab number 2")
    # Not ended: active and not-yet-started cohorts; never a finished one or another path.
    assert [c["name"] for c in lab["cohorts"]] == ["Spring Go", "Summer Go", "Autumn Go"]
    assert not any(c["pinned"] for c in lab["cohorts"])
    learners = lab["learners"]
    # Drafts: Ada (Spring), Fay (Summer); Eve left, Hal's cohort finished, Gus is on week 3.
    assert (learners["drafts"], learners["open"], learners["more"]) == (2, 2, 0)
    listed = {p["name"]: (p["cohort"], p["state"]) for p in learners["listed"]}
    assert listed == {
        "Ada Draft": ("Spring Go", "draft"),
        "Fay Other": ("Summer Go", "draft"),
        "Ben Waiting": ("Spring Go", "submitted"),
        "Cy Claimed": ("Spring Go", "in_review"),
    }
    claimed = world.submissions["Cy Claimed"]
    assert lab["reviews"]["claimed"] == 1
    assert lab["reviews"]["listed"] == [
        {
            "submission_id": claimed.pk,
            "learner": "Cy Claimed",
            "cohort": "Spring Go",
            "mentor": "Mona Mentor",
            "claimed_at": lab["reviews"]["listed"][0]["claimed_at"],
            "url": reverse("submissions:review", kwargs={"pk": claimed.pk}),
        }
    ]
    assert lab["reviews"]["listed"][0]["claimed_at"]


def test_an_import_that_changes_nothing_people_work_on_has_no_impact():
    world = make_pin_world()
    assert import_impact(world.preview(changed_weeks=()).diff) == []


def test_the_lists_are_bounded_and_the_counts_exact():
    world = make_pin_world(with_work=False)
    for number in range(IMPACT_LIST_LIMIT + 3):
        world.draft(f"Learner {number}", world.running)
    lab = import_impact(world.preview().diff)[0]
    assert lab["learners"]["drafts"] == IMPACT_LIST_LIMIT + 3
    assert len(lab["learners"]["listed"]) == IMPACT_LIST_LIMIT
    assert lab["learners"]["more"] == 3


def test_impact_costs_the_same_queries_for_one_changed_lab_or_many(
    django_assert_max_num_queries,
):
    world = make_pin_world()
    one = world.preview(changed_weeks=(2,))
    three = world.preview(changed_weeks=(1, 2, 3))
    with CaptureQueriesContext(connection) as single:
        assert len(import_impact(one.diff)) == 1
    with django_assert_max_num_queries(len(single.captured_queries)):
        assert len(import_impact(three.diff)) == 3
    # labs 1, cohorts 2 (cohorts, pins), submissions 3 (counts, learners, claimed reviews)
    assert len(single.captured_queries) == 6


def test_preview_page_lists_the_impact_and_offers_a_choice_per_cohort(client):
    world = make_pin_world()
    record = world.preview()
    client.force_login(world.staff)
    page = client.get(reverse("curriculum:import_detail", args=[record.pk])).content.decode()
    assert "Who this update reaches" in page
    for name in ("Ada Draft", "Ben Waiting", "Cy Claimed", "Fay Other", "Mona Mentor"):
        assert name in page
    for name in ("Eve Left", "Hal Finished", "Dee Approved", "Gus Week3", "Old Go"):
        assert name not in page
    assert "2 drafts" in page and "2 handed in" in page and "1 in review" in page
    for cohort in (world.running, world.other, world.draft_cohort):
        assert f'name="cohort-{cohort.pk}" value="keep"' in page
    assert f'name="cohort-{world.finished.pk}"' not in page


def test_api_preview_carries_the_impact_in_one_import_not_in_lists(client):
    world = make_pin_world()
    record = world.preview()
    client.force_login(world.staff)
    detail = client.get(f"/api/v1/curriculum/imports/{record.pk}/").json()
    lab = detail["impact"][0]
    assert lab["lab_id"] == world.labs[2].pk
    assert [c["id"] for c in lab["cohorts"]] == [
        world.running.pk,
        world.other.pk,
        world.draft_cohort.pk,
    ]
    assert lab["learners"]["drafts"] == 2 and lab["reviews"]["claimed"] == 1
    listing = client.get("/api/v1/curriculum/imports/").json()
    assert all(row["impact"] is None for row in listing["results"])


def test_api_upload_as_dry_run_returns_the_impact(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    world = make_pin_world()
    client.force_login(world.staff)
    response = client.post(
        "/api/v1/curriculum/imports/",
        {"file": SimpleUploadedFile("c.txt", curriculum(changed_weeks=(2,))), "dry_run": "true"},
    )
    assert response.status_code == 201
    assert response.json()["impact"][0]["learners"]["open"] == 2


def test_command_dry_run_prints_the_impact(tmp_path, capsys):
    world = make_pin_world()
    path = tmp_path / "c.txt"
    path.write_bytes(curriculum(changed_weeks=(2,)))
    call_command("import_curriculum", str(path), "--json", "--dry-run")
    out = json.loads(capsys.readouterr().out)
    assert out["applied"] is False
    assert out["impact"][0]["lab_id"] == world.labs[2].pk
    assert out["impact"][0]["learners"]["drafts"] == 2
    call_command("import_curriculum", str(path), "--dry-run")
    text = capsys.readouterr().out
    assert (
        "impact   Alpha · Week 2 · Lab number 2: cohorts: Spring Go, Summer Go, Autumn Go;" in text
    )
    assert "2 drafts, 2 handed in; 1 reviews claimed" in text


def test_command_keep_cohort_pins_it(tmp_path, capsys):
    world = make_pin_world(with_work=False)
    path = tmp_path / "c.txt"
    path.write_bytes(curriculum(changed_weeks=(2,)))
    call_command("import_curriculum", str(path), "--json", "--keep-cohort", str(world.running.pk))
    out = json.loads(capsys.readouterr().out)
    assert out["applied"] is True
    kept = {c["id"]: c["pinned"] for c in out["impact"][0]["cohorts"]}
    assert kept == {world.running.pk: True, world.other.pk: False, world.draft_cohort.pk: False}
    assert CurriculumImport.objects.filter(status="applied").count() == 2
