"""The learner's lab page: each step shown once, and what changed since their work."""

import re

import pytest
from django.urls import reverse

from curriculum.services import lab_edit
from submissions import services
from submissions.models import Iteration
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

LONG_STEP = (
    "Run `nvidia-smi` and `nvidia-smi -q` on the box. Read every line and write down the "
    "clocks, the power draw and the memory in use."
)
BODY = (
    f"Look at the GPU first.\n\n- {LONG_STEP}\n- Plot the clocks.\n\nKeep the notes for week 3.\n"
)


def lab_url(world):
    return reverse("submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.lab.pk})


def page(client, world, user=None) -> str:
    client.force_login(user or world.learner)
    response = client.get(lab_url(world))
    assert response.status_code == 200
    return response.content.decode()


def without_details(html: str) -> str:
    return re.sub(r"<details.*?</details>", "", html, flags=re.S)


def correct(world, body=BODY, note="Marked the commands as code"):
    staff = StaffFactory()
    return lab_edit(actor=staff, lab=world.lab, title=world.lab.title, body=body, note=note)


def test_each_step_is_shown_once_and_rendered_as_in_the_lab(client, world):
    correct(world)
    html = page(client, world)
    # No raw Markdown anywhere on the page: the checklist renders code like the lab does.
    assert "`nvidia-smi`" not in html
    # Visible text: the step appears once (in "The lab"); the checklist shows a short label
    # with the whole step one click away.
    visible = without_details(html)
    assert visible.count("Read every line and write down the clocks") == 1
    labels = re.findall(r'<label for="id_checklist_\d+">(.*?)</label>', html, flags=re.S)
    assert labels[0] == ("Run <code>nvidia-smi</code> and <code>nvidia-smi -q</code> on the box.")
    assert labels[1] == "Plot the clocks."
    full = re.search(r'<details class="step-full">.*?</details>', html, flags=re.S).group(0)
    assert (
        "Read every line and write down the clocks" in full and "<code>nvidia-smi -q</code>" in full
    )


def test_handed_in_work_lists_the_steps_once_too(client, world):
    correct(world)
    world.submitted(checklist=[0, 1])
    html = page(client, world)
    assert "`nvidia-smi`" not in html
    assert without_details(html).count("Read every line and write down the clocks") == 1


def test_learner_sees_what_changed_since_their_last_iteration(client, world):
    world.submitted()
    assert "This lab changed" not in page(client, world)
    revision = correct(world, body=BODY.replace("GPU", "<b>GPU</b>"))
    html = page(client, world)
    assert "This lab changed on" in html
    assert revision.created_at.strftime("%-d %b %Y") in html
    assert "Your last iteration (iteration 1) answered revision 1." in html
    assert "now at revision 2" in html and "Marked the commands as code" in html
    diff = html[html.index('class="worddiff"') :]
    diff = diff[: diff.index("</div>")]
    assert "<ins>" in diff and "<del>" in diff
    assert "&lt;b&gt;GPU&lt;/b&gt;" in diff  # the text is shown, never run as markup


def test_draft_started_before_the_change_is_told_a_draft_after_is_not(client, world):
    world.draft()
    correct(world)
    html = page(client, world)
    assert "You started your draft on revision 1." in html
    late = world.add_learner()
    world.draft(learner=late)
    assert "This lab changed" not in page(client, world, late)


def test_approved_work_is_not_nagged_and_new_iterations_record_their_revision(client, world):
    submission = world.submitted()
    services.review_create(
        actor=submission.assigned_to, submission=submission, verdict="approve", body=""
    )
    revision = correct(world)
    assert "This lab changed" not in page(client, world)
    other = world.add_learner()
    resubmitted = world.submitted(learner=other)
    assert Iteration.objects.get(submission=resubmitted).lab_revision == revision
