import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from core.exceptions import ApplicationError
from submissions import services
from submissions.models import Attachment

# Every test here runs twice: media in a local folder, then in a bucket on S3 (moto).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_storage")]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(world, name, data, submission=None):
    submission = submission or world.draft()
    return services.attachment_add(
        actor=world.learner, submission=submission, uploaded_file=SimpleUploadedFile(name, data)
    )


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("shot.png", PNG, "image/png"),
        ("photo.JPG", JPEG, "image/jpeg"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("anim.gif", GIF, "image/gif"),
        ("report.pdf", PDF, "application/pdf"),
        ("notes.txt", "héllo wörld\n".encode(), "text/plain; charset=utf-8"),
        (
            "README.md",
            b"# Title\n\n<script>x</script> is only text here",
            "text/markdown; charset=utf-8",
        ),
        ("data.csv", b"a,b\n1,2\n", "text/csv; charset=utf-8"),
        ("data.json", b'{"a": [1, 2]}', "application/json"),
        ("lab.ipynb", NOTEBOOK, "application/x-ipynb+json"),
    ],
)
def test_allowed_files_are_stored_with_the_type_we_decide(world, name, data, content_type):
    attachment = upload(world, name, data)
    assert attachment.content_type == content_type
    assert attachment.size == len(data)
    assert attachment.original_name == name
    # Stored under a random name through the storage API, never the learner's name.
    assert name not in attachment.file.name
    assert default_storage.open(attachment.file.name).read() == data


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("evil.png", HTML),  # HTML disguised as an image
        ("evil.gif", b"GIF8" + HTML),  # truncated magic
        ("evil.jpg", PNG),  # a PNG is not a JPEG
        ("evil.pdf", HTML),
        ("page.html", HTML),  # type not allowed at all
        ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
        ("run.exe", b"MZ\x90\x00" + b"\x00" * 100),
        ("noext", b"hello"),
        ("notes.txt", PNG),  # binary disguised as text
        ("notes.txt", b"\xff\xfe\x00h\x00i"),  # not UTF-8
        ("notes.md", b"ok\x00hidden"),
        ("data.json", b"{not json"),
        ("lab.ipynb", b'{"cells": "no"}'),
        ("lab.ipynb", b"[1, 2]"),
        ("data.csv", b'a,"b\n'),
        ("empty.txt", b""),
        ("zip.txt", b"PK\x03\x04" + b"\x00" * 40),
    ],
)
def test_disallowed_or_disguised_files_are_refused(world, name, data):
    with pytest.raises(ApplicationError) as err:
        upload(world, name, data)
    assert err.value.code == "invalid"
    assert "file" in err.value.extra["errors"]
    assert not Attachment.objects.exists()


def test_size_limit(world, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    upload(world, "ok.txt", b"a" * 1000)
    with pytest.raises(ApplicationError) as err:
        upload(world, "big.txt", b"a" * 1001)
    assert "larger than" in err.value.message
    assert Attachment.objects.count() == 1


def test_at_most_five_per_iteration(world):
    submission = world.draft()
    for i in range(5):
        upload(world, f"n{i}.txt", b"x", submission=submission)
    with pytest.raises(ApplicationError) as err:
        upload(world, "six.txt", b"x", submission=submission)
    assert "At most 5" in err.value.message
    # After submit and changes requested, the next iteration starts with the same five
    # files: one must go before another can come.
    services.submission_submit(actor=world.learner, submission=submission)
    services.review_create(
        actor=world.mentor, submission=submission, verdict="request_changes", body="again"
    )
    with pytest.raises(ApplicationError):
        upload(world, "again.txt", b"x", submission=submission)
    carried = submission.attachments.filter(iteration=None).first()
    services.attachment_remove(actor=world.learner, attachment=carried)
    upload(world, "again.txt", b"x", submission=submission)


def test_path_and_control_characters_are_stripped_from_names(world):
    attachment = upload(world, "../../etc/pass\x00wd\r\n.txt", b"x")
    assert attachment.original_name == "passwd.txt"


def test_only_the_learner_uploads_and_only_while_editable(world):
    submission = world.draft()
    with pytest.raises(ApplicationError) as err:
        services.attachment_add(
            actor=world.mentor,
            submission=submission,
            uploaded_file=SimpleUploadedFile("a.txt", b"x"),
        )
    assert err.value.code == "forbidden"
    services.submission_submit(actor=world.learner, submission=submission)
    with pytest.raises(ApplicationError) as err:
        upload(world, "late.txt", b"x", submission=submission)
    assert err.value.code == "invalid_transition"


def test_removing_a_draft_file(world, django_capture_on_commit_callbacks):
    attachment = upload(world, "a.txt", b"x")
    name = attachment.file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_remove(actor=world.learner, attachment=attachment)
    assert not Attachment.objects.exists()
    assert not default_storage.exists(name)


@pytest.mark.parametrize("media_storage", ["s3"], indirect=True)
def test_on_s3_files_are_private_and_only_the_download_view_serves_them(
    world, media_storage, client, outsider
):
    from urllib.parse import parse_qs, urlsplit

    from django.urls import reverse

    attachment = upload(world, "report.pdf", PDF)
    assert media_storage.stored_names() == [attachment.file.name]
    # The object carries no grant beyond its owner's: nobody reads the bucket directly.
    acl = media_storage.bucket.Object(attachment.file.name).Acl()
    assert [grant["Permission"] for grant in acl.grants] == ["FULL_CONTROL"]
    assert acl.grants[0]["Grantee"]["Type"] == "CanonicalUser"
    # A URL signed by the storage (none is shown to users) is valid for a minute at most.
    signed = parse_qs(urlsplit(default_storage.url(attachment.file.name)).query)
    assert int(signed["X-Amz-Expires"][0]) <= 60

    url = reverse("submissions:attachment", kwargs={"pk": attachment.pk})
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(world.mentor)
    response = client.get(url)
    # Streamed by Django with its sandbox headers, never a redirect to the bucket.
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF
    assert not any(media_storage.bucket.name in value for _, value in response.items())
