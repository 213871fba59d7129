"""The admin's lab pins page: staff see which cohorts are kept on which revisions (list,
filters, search) and may end pins, which goes through `cohort_pins_end` like the cohort
page; nothing else changes there."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cohorts.models import Cohort, CohortLabPin
from cohorts.selectors import lab_revision_for
from cohorts.services import cohort_keep_current, cohort_pins_end
from tests.cohorts.pin_world import make_pin_world
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cohorts_cohortlabpin_changelist"


@pytest.fixture
def world():
    world = make_pin_world(with_work=False)
    cohort_keep_current(actor=world.staff, cohort=world.running)  # 3 labs
    cohort_keep_current(actor=world.staff, cohort=world.other)
    cohort_pins_end(actor=world.staff, cohort=world.other, lab=world.labs[1])
    return world


def _listed(client, **query) -> set[int]:
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return set(response.context["cl"].result_list.values_list("pk", flat=True))


def test_staff_list_filter_and_search_the_pins(world, client):
    client.force_login(world.staff)
    pins = CohortLabPin.objects
    assert _listed(client) == set(pins.values_list("pk", flat=True))
    assert _listed(client, state="open") == set(
        pins.filter(ended_at=None).values_list("pk", flat=True)
    )
    assert _listed(client, state="ended") == {pins.get(cohort=world.other, lab=world.labs[1]).pk}
    assert _listed(client, q="Spring") == set(
        pins.filter(cohort=world.running).values_list("pk", flat=True)
    )
    assert _listed(client, cohort__id__exact=world.other.pk) == set(
        pins.filter(cohort=world.other).values_list("pk", flat=True)
    )
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "Spring Go" in html and "Ended by staff" in html


def test_the_list_is_a_fixed_number_of_queries(world, client):
    client.force_login(world.staff)
    client.get(reverse(CHANGELIST))  # warm the content types and sessions
    with CaptureQueriesContext(connection) as queries:
        few = client.get(reverse(CHANGELIST))
    assert len(queries) <= 16  # session, user, counts, the page, one per filter's choices
    for cohort in (world.draft_cohort, world.beta):
        cohort_keep_current(actor=world.staff, cohort=cohort)
    with CaptureQueriesContext(connection) as more:
        many = client.get(reverse(CHANGELIST))
    assert len(more) == len(queries)
    assert len(many.context["cl"].result_list) > len(few.context["cl"].result_list)


def test_pins_are_read_only_in_the_admin(world, client):
    client.force_login(world.staff)
    pin = CohortLabPin.objects.filter(cohort=world.running).first()
    assert client.get(reverse("admin:cohorts_cohortlabpin_add")).status_code == 403
    change = reverse("admin:cohorts_cohortlabpin_change", args=[pin.pk])
    assert client.get(change).status_code == 200  # a view, without a save button
    revision = pin.revision_id
    client.post(change, {"revision": world.labs[2].current_revision_id, "ended_at": ""})
    pin.refresh_from_db()
    assert pin.revision_id == revision and pin.ended_at is None
    delete = reverse("admin:cohorts_cohortlabpin_delete", args=[pin.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert CohortLabPin.objects.filter(pk=pin.pk).exists()


def test_ending_pins_goes_through_the_service(world, client):
    client.force_login(world.staff)
    lab = world.labs[2]
    pin = CohortLabPin.objects.get(cohort=world.running, lab=lab)
    stamp = Cohort.objects.get(pk=world.running.pk).updated_at
    client.post(reverse(CHANGELIST), {"action": "end_pins", "_selected_action": [pin.pk]})
    pin.refresh_from_db()
    assert pin.ended_at is not None and pin.ended_by == world.staff
    # The service's side effects: cached pages see the change (the cohort is touched) and
    # the cohort reads the latest text of that lab only.
    assert Cohort.objects.get(pk=world.running.pk).updated_at > stamp
    assert lab_revision_for(cohort=world.running, lab=lab) == lab.current_revision
    assert CohortLabPin.objects.filter(cohort=world.running, ended_at=None).count() == 2


def test_only_staff_reach_the_page(world, client):
    client.force_login(UserFactory())
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and "/login/" in response["Location"]
