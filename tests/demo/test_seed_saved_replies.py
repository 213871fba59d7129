"""The demo gives its mentors saved replies to try on the review page, once."""

import pytest

from submissions.models import SavedReply
from submissions.permissions import saved_replies_visible_to
from tests.demo.test_seed_demo import run, track  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_demo_mentors_have_saved_replies_and_a_rerun_adds_none(track):  # noqa: F811
    run()
    replies = list(SavedReply.objects.order_by("pk").values_list("title", "shared_with_all"))
    assert ("Re-read the brief", True) in replies and len(replies) == 3
    mentor = SavedReply.objects.filter(cohort__isnull=False).first().author
    assert SavedReply.objects.filter(saved_replies_visible_to(mentor)).count() == 3
    run()
    assert SavedReply.objects.count() == 3
