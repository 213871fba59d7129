"""Request bodies are bounded before they are read: an over-limit body is refused (413)
from its Content-Length, with a limit for each kind of route (uploads, forms, API); a body
without a Content-Length (chunked) is read only up to the limit."""

import io
import re
import socket
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from tests.security.world import PDF_BYTES, build_world

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"


class CountingStream:
    """A request body that records how much of it the server reads."""

    def __init__(self, data: bytes):
        self.stream = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = self.stream.readline(size)
        self.read_bytes += len(line)
        return line


def wsgi_call(path: str, *, body: CountingStream, **environ) -> tuple[int, bytes]:
    """One request through the production WSGI entry point (config.wsgi)."""
    from config.wsgi import application

    env = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        **environ,
    }
    status = []
    # As Django's test client does: the handler's signals would close the test database
    # connection (the test's own transaction) at the start and end of the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(env, lambda s, headers, exc_info=None: status.append(s))
        content = b"".join(chunks)
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(status[0].split()[0]), content


def test_an_anonymous_sign_in_post_with_a_huge_declared_body_is_refused_unread(db):
    body = CountingStream(b"email=a%40b.test&password=x")
    status, content = wsgi_call(LOGIN, body=body, CONTENT_LENGTH=str(60 * 1024 * 1024))
    assert status == 413
    assert b"The request body is too large: at most 1 MB is accepted here." in content
    assert body.read_bytes == 0


def test_a_form_body_over_the_limit_is_refused(client, settings):
    settings.FORM_BODY_MAX_BYTES = 2000
    response = client.post(LOGIN, {"email": "a@b.test", "password": "x" * 3000})
    assert response.status_code == 413
    assert "at most 1 KB" in response.content.decode()
    ok = client.post(LOGIN, {"email": "a@b.test", "password": "x" * 100})
    assert ok.status_code == 200  # the form again: wrong password


def test_an_api_body_over_the_limit_is_refused_as_json(client, settings):
    settings.API_BODY_MAX_BYTES = 2000
    response = client.post(
        TOKEN, {"email": "a@b.test", "password": "x" * 3000}, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "too large" in response.json()["detail"]


def test_a_content_length_that_is_not_a_number_is_refused(db):
    status, _ = wsgi_call(LOGIN, body=CountingStream(b""), CONTENT_LENGTH="12abc")
    assert status == 400


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return build_world()


def test_uploads_get_their_files_limit_not_the_forms(client, world, settings):
    """A hand-in with files as big as the attachment limit goes through where a form of
    that size would be refused."""
    from submissions.models import Attachment

    settings.FORM_BODY_MAX_BYTES = 4096
    settings.ATTACHMENT_MAX_BYTES = 64 * 1024
    settings.ATTACHMENT_MAX_PER_ITERATION = 2
    client.force_login(world.owner)
    url = reverse(
        "submissions:lab", kwargs={"cohort_id": world.cohort.pk, "lab_id": world.reviewed.lab_id}
    )
    form = {"repo_url": "https://github.com/me/lab", "notes": "n", "action": "save"}
    before = Attachment.objects.count()
    pdf = SimpleUploadedFile("notes.pdf", PDF_BYTES + b"0" * 20_000, "application/pdf")
    response = client.post(url, {**form, "files": [pdf]})
    assert response.status_code != 413
    assert Attachment.objects.count() == before + 1
    # Past the files' limit and the margin: refused before anything is read or stored.
    settings.UPLOAD_BODY_MARGIN_BYTES = 1024
    huge = SimpleUploadedFile("huge.pdf", PDF_BYTES + b"0" * 140_000, "application/pdf")
    assert client.post(url, {**form, "files": [huge]}).status_code == 413
    assert Attachment.objects.count() == before + 1
    comment = reverse("submissions:comment", kwargs={"pk": world.reviewed.pk})
    assert client.post(comment, {"body": "x" * 20_000}).status_code == 413


def test_a_chunked_body_is_read_only_up_to_the_limit(db, settings):
    settings.FORM_BODY_MAX_BYTES = 4096
    body = CountingStream(b"password=" + b"x" * 1_000_000)
    status, content = wsgi_call(LOGIN, body=body, HTTP_TRANSFER_ENCODING="chunked")
    assert status == 413
    assert b"too large" in content
    assert body.read_bytes <= 4097


def test_a_chunked_body_within_the_limit_reaches_the_view(db):
    """A chunked API call signs in like any other: the body read here is the one the view
    parses (Django alone would see an empty body without a Content-Length)."""
    from tests.factories import UserFactory

    user = UserFactory(email="chunked@example.com")
    user.set_password("a-long-password-1")
    user.save()
    data = b'{"email": "chunked@example.com", "password": "a-long-password-1"}'
    status, content = wsgi_call(
        TOKEN,
        body=CountingStream(data),
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_TYPE="application/json",
    )
    assert status in (200, 201), content
    assert b"token" in content


def _raw_post(live_server, path: str, length: int) -> bytes:
    host, port = live_server.thread.host, live_server.thread.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n\r\nemail=a".encode()
        )
        sock.settimeout(10)
        # The reply may arrive in several packets (headers first): read the head, then as
        # much body as it declares (the connection may stay open).
        reply = b""
        while b"\r\n\r\n" not in reply and (chunk := sock.recv(4096)):
            reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        match = re.search(rb"(?i)content-length:\s*(\d+)", head)
        # Without a length the body ends when the server closes the connection, or, if it
        # keeps it open waiting for the rest of the declared upload, when nothing more comes.
        wanted = int(match.group(1)) if match else None
        sock.settimeout(10 if wanted else 1)
        try:
            while (wanted is None or len(body) < wanted) and (chunk := sock.recv(4096)):
                body += chunk
        except TimeoutError:
            assert wanted is None, "the declared body did not arrive"
        return head + b"\r\n\r\n" + body


def test_a_live_server_answers_a_lying_content_length_at_once(live_server):
    """The client declares 60 MB and sends 7 bytes: the answer comes without waiting for
    the rest (a server reading the body first would wait until the socket times out)."""
    reply = _raw_post(live_server, LOGIN, 60 * 1024 * 1024)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"too large" in reply
    api = _raw_post(live_server, TOKEN, 10 * 1024 * 1024)
    assert api.startswith(b"HTTP/1.1 413")
