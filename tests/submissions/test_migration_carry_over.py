"""Work handed in before drafts carried files over gets the copies it would have had."""

import importlib

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile

from submissions import services
from submissions.models import Attachment

from .test_attachments import PNG

pytestmark = pytest.mark.django_db

migration = importlib.import_module("submissions.migrations.0005_i18a_carry_over_files")


def test_drafts_of_earlier_work_get_the_latest_iterations_files(world):
    submission = world.draft()
    services.attachment_add(
        actor=world.learner, submission=submission, uploaded_file=SimpleUploadedFile("a.png", PNG)
    )
    iteration = services.submission_submit(actor=world.learner, submission=submission)
    # As before the change: the draft had no files after a submit.
    Attachment.objects.filter(iteration=None).delete()
    untouched = world.draft(learner=world.add_learner())

    migration.carry_over(apps, None)
    migration.carry_over(apps, None)  # running twice adds nothing more

    drafts = Attachment.objects.filter(submission=submission, iteration=None)
    assert [(a.original_name, a.file.name) for a in drafts] == [
        (a.original_name, a.file.name) for a in iteration.attachments.all()
    ]
    assert not Attachment.objects.filter(submission=untouched).exists()
