"""A saved reply for one deliverable stays on that deliverable when a curriculum update
removes or reorders a lab's deliverables: it moves to where the same text is now, or to the
whole lab when the text is gone, in the import's own transaction."""

import pytest

from core.exceptions import ApplicationError
from curriculum import impact
from curriculum.models import Lab, Track
from curriculum.services import import_apply, import_curriculum_file, import_preview
from submissions import saved_replies
from submissions.models import SavedReply
from tests.curriculum.conftest import labs_index
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _file(first_steps: list[str]) -> bytes:
    """Path Alpha: week 1 with `first_steps`, week 2 unchanged."""
    steps = "\n".join(f"{n}. {text}" for n, text in enumerate(first_steps, start=1))
    return labs_index(
        {
            "Alpha": [
                (1, "Module 1", "Parsers", f"Build a parser:\n{steps}"),
                (2, "Module 2", "Measures", "Measure it:\n1. Time it.\n2. Report the times."),
            ]
        }
    )


BEFORE = ["Write the parser.", "Test the parser.", "Benchmark the parser.", "Test the parser."]


@pytest.fixture
def world():
    staff = StaffFactory()
    import_curriculum_file(actor=None, source=_file(BEFORE), filename="c.txt")
    track = Track.objects.get(name="Alpha")
    labs = {lab.week: Lab.objects.get(pk=lab.pk) for lab in Lab.objects.filter(track=track)}
    assert saved_replies._deliverables(labs[1]) == BEFORE

    def reply(lab, deliverable, title):
        return saved_replies.saved_reply_create(
            actor=staff,
            lab=lab,
            title=title,
            body="b",
            shared_with_all=True,
            deliverable=deliverable,
        )

    replies = {
        "write": reply(labs[1], 0, "write"),
        "test": reply(labs[1], 1, "test"),
        "bench": reply(labs[1], 2, "bench"),
        "test again": reply(labs[1], 3, "test again"),  # the second "Test the parser."
        "whole": reply(labs[1], None, "whole"),
        "other lab": reply(labs[2], 1, "other lab"),
    }
    return {"staff": staff, "labs": labs, "replies": replies}


def _indexes(world) -> dict[str, int | None]:
    return {
        title: SavedReply.objects.get(pk=reply.pk).deliverable
        for title, reply in world["replies"].items()
    }


def test_an_update_moves_replies_to_their_deliverables_text_or_the_whole_lab(world):
    # Benchmark moves first, one "Test the parser." goes, "Write the parser." is reworded.
    after = ["Benchmark the parser.", "Write a parser.", "Test the parser.", "Document it."]
    record = import_preview(actor=world["staff"], source=_file(after), filename="c.txt")
    import_apply(actor=world["staff"], curriculum_import=record)
    assert saved_replies._deliverables(Lab.objects.get(pk=world["labs"][1].pk)) == after
    assert _indexes(world) == {
        "write": None,  # reworded: its text is gone, so the whole lab
        "test": 2,  # the first "Test the parser." is now the third deliverable
        "bench": 0,
        "test again": 2,  # its repeat is gone: the remaining one
        "whole": None,
        "other lab": 1,  # a lab the update does not change keeps its index
    }
    label = saved_replies.deliverable_label(
        Lab.objects.get(pk=world["labs"][1].pk), _indexes(world)["bench"]
    )
    assert label == "Deliverable 1: Benchmark the parser."


def test_a_refused_import_leaves_the_replies_as_they_were(world):
    """The remap runs in the import's transaction: a hook refusing after it rolls it back."""
    after = ["Test the parser.", "Write the parser."]
    record = import_preview(actor=world["staff"], source=_file(after), filename="c.txt")

    def refuse(**kwargs):
        raise ApplicationError("Refused by a later hook.", code="invalid")

    impact.register_apply_hook(refuse)
    try:
        with pytest.raises(ApplicationError):
            import_apply(actor=world["staff"], curriculum_import=record)
    finally:
        impact._apply_hooks.remove(refuse)
    assert _indexes(world) == {
        "write": 0,
        "test": 1,
        "bench": 2,
        "test again": 3,
        "whole": None,
        "other lab": 1,
    }
    assert saved_replies._deliverables(Lab.objects.get(pk=world["labs"][1].pk)) == BEFORE


def test_the_remap_is_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    previous = {lab.pk: lab.current_revision_id for lab in world["labs"].values()}
    with django_assert_max_num_queries(5):  # a savepoint pair, replies, labs, revisions
        changed = saved_replies.saved_replies_remap_deliverables(previous_revisions=previous)
    assert changed == 0  # the same revisions: nothing moves
