"""The media disk fills up during an upload: a clear answer, and nothing half-written."""

from __future__ import annotations

import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from submissions.models import Attachment
from tests.api.conftest import world  # noqa: F401 - the API tests' people and labs
from tests.api.test_submissions_api import _draft


@pytest.fixture
def full_disk(tmp_path, settings):
    """MEDIA_ROOT on a 64 KiB tmpfs (a real file system that runs out of room; the test
    runs as root, as CI does, to mount it)."""
    root = tmp_path / "small"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(root)], check=True)  # noqa: S603,S607
    settings.MEDIA_ROOT = root
    yield root
    subprocess.run(["umount", str(root)], check=True)  # noqa: S603,S607


@pytest.mark.root
def test_an_upload_that_does_not_fit_is_refused_clearly_and_leaves_nothing(world, full_disk):  # noqa: F811
    submission_id = _draft(world).json()["id"]
    url = f"/api/v1/submissions/{submission_id}/attachments/"
    client = world.client("learner")
    client.raise_request_exception = False
    big = SimpleUploadedFile("notes.txt", b"line of notes\n" * 10_000)  # 140 KB
    answer = client.post(url, {"file": big}, format="multipart")
    assert answer.status_code == 507, answer.content
    assert answer.json()["code"] == "insufficient_storage"
    assert "nothing was saved" in answer.json()["detail"]
    assert "Errno" not in answer.content.decode()
    # No row, and no half-written file (Django's storage left 64 KiB of it behind).
    assert Attachment.objects.count() == 0
    assert [p for p in full_disk.rglob("*") if p.is_file()] == []

    # A file that fits still goes in: the failure left no debris taking up the room.
    small = SimpleUploadedFile("notes.txt", b"line of notes\n" * 2_000)  # 28 KB
    assert client.post(url, {"file": small}, format="multipart").status_code == 201
    assert Attachment.objects.count() == 1
