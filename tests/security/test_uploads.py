"""Upload limits hold before anything is stored; downloads can never render in the browser."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.security.world import PDF_BYTES, build_world


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return build_world()


# Every test here runs with media in a local folder, then in a bucket on S3 (moto).
pytestmark = pytest.mark.usefixtures("media_storage")


def _add_url(world) -> str:
    """Files are chosen in the lab page's one form and saved with the draft."""
    return reverse(
        "submissions:lab",
        kwargs={"cohort_id": world.reviewed.cohort_id, "lab_id": world.reviewed.lab_id},
    )


@pytest.mark.django_db
def test_attachment_download_is_a_sandboxed_download(client, world):
    client.force_login(world.owner)
    html = client.get(reverse("submissions:attachment", kwargs={"pk": world.attachment.pk}))
    api = client.get(
        f"/api/v1/submissions/{world.reviewed.pk}/attachments/{world.attachment.pk}/download/"
    )
    for response in (html, api):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.django_db
def test_html_disguised_as_pdf_is_refused_and_nothing_is_stored(client, world, media_storage):
    from submissions.models import Attachment

    client.force_login(world.owner)
    before_rows, before_files = Attachment.objects.count(), len(media_storage.stored_names())
    evil = SimpleUploadedFile(
        "notes.pdf", b"<html><script>alert(document.cookie)</script></html>", "application/pdf"
    )
    response = client.post(_add_url(world), {"action": "save", "files": evil})
    assert response.status_code in (200, 400)  # the form again, with the error on the field
    assert Attachment.objects.count() == before_rows
    assert len(media_storage.stored_names()) == before_files


@pytest.mark.django_db
def test_oversized_attachment_is_refused_before_storing(client, world, settings, media_storage):
    from submissions.models import Attachment

    settings.ATTACHMENT_MAX_BYTES = 1024
    client.force_login(world.owner)
    before_rows, before_files = Attachment.objects.count(), len(media_storage.stored_names())
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 4096, "application/pdf")
    response = client.post(_add_url(world), {"action": "save", "files": big})
    assert response.status_code in (200, 400, 413)
    assert Attachment.objects.count() == before_rows
    assert len(media_storage.stored_names()) == before_files
    assert (
        "limit" in response.content.decode().lower() or "large" in response.content.decode().lower()
    )


@pytest.mark.django_db
def test_huge_form_bodies_are_refused_before_parsing(client, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(world.owner)
    response = client.post(
        reverse("submissions:comment", kwargs={"pk": world.reviewed.pk}), {"body": "x" * 20_000}
    )
    assert response.status_code == 400
    assert world.reviewed.comments.count() == 1


@pytest.mark.django_db
def test_oversized_curriculum_upload_is_refused_before_storing(client, world, settings):
    from curriculum.models import CurriculumImport

    settings.CURRICULUM_MAX_BYTES = 2048
    client.force_login(world.staff)
    before = CurriculumImport.objects.count()
    big = SimpleUploadedFile("labs.txt", b"Labs\n" + b"x" * 10_000, "text/plain")
    response = client.post(reverse("curriculum:import_upload"), {"file": big})
    assert response.status_code in (200, 400, 413)
    assert CurriculumImport.objects.count() == before
