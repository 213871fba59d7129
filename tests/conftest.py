import os
import shutil

import pytest

from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory


def _missing(marker: str) -> str | None:
    """Why a test with `marker` cannot run on this machine, or None."""
    from django.conf import settings

    if marker == "postgres" and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        return "needs PostgreSQL (set DATABASE_URL)"
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis (set REDIS_URL)"
    if marker == "redis_server" and shutil.which("redis-server") is None:
        return "starts its own redis-server (install Redis)"
    if marker == "root" and os.geteuid() != 0:
        return "needs root (mounts a file system)"
    return None


def pytest_collection_modifyitems(config, items):
    """`make test` on a laptop with SQLite and no Redis runs what it can and says what it
    left out; CI has every service and refuses to leave anything out (.ci/no_skips.py)."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    for item in items:
        for marker in ("postgres", "redis", "redis_server", "root"):
            if marker not in item.keywords:
                continue
            reason = _missing(marker)
            if reason is None:
                continue
            if in_ci:
                raise pytest.UsageError(f"CI: {item.nodeid} cannot run: {reason}.")
            item.add_marker(pytest.mark.skip(reason=reason))
            break


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Tests never touch the developer's media or mail folders, and run tasks inline
    # unless a test drives a real worker (marked `redis`).
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.AXES_ENABLED = False
    from django.core.cache import cache

    cache.clear()  # throttle counters and cached sessions start empty in every test
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


# --- media storage: local folder or S3 -------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible server (moto) on a free loopback port, for the whole run."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class MediaStorage:
    """What a test needs to know about where attachments went, whichever the backend."""

    def __init__(self, kind: str, *, root=None, bucket=None):
        self.kind, self.root, self.bucket = kind, root, bucket

    def stored_names(self) -> list[str]:
        if self.kind == "s3":
            return sorted(obj.key for obj in self.bucket.objects.all())
        root = self.root
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(params=["local", "s3"])
def media_storage(request, settings, tmp_path):
    """Run a test with media in a local folder, then again in a fresh bucket on S3.

    The S3 variant uses the production options (settings.S3_MEDIA_OPTIONS) against the
    moto server, so uploads, downloads and deletions really go over HTTP to a bucket.
    """
    if request.param == "local":
        yield MediaStorage("local", root=tmp_path / "media")
        return
    import uuid

    import boto3

    endpoint = request.getfixturevalue("s3_endpoint")
    credentials = {
        "aws_access_key_id": "test-key",
        "aws_secret_access_key": "test-secret",
        "region_name": "us-east-1",
    }
    bucket = boto3.resource("s3", endpoint_url=endpoint, **credentials).Bucket(
        f"media-{uuid.uuid4().hex}"
    )
    bucket.create()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **settings.S3_MEDIA_OPTIONS,
                "bucket_name": bucket.name,
                "endpoint_url": endpoint,
                "access_key": credentials["aws_access_key_id"],
                "secret_key": credentials["aws_secret_access_key"],
                "region_name": credentials["region_name"],
            },
        },
    }
    yield MediaStorage("s3", bucket=bucket)
    bucket.objects.all().delete()
    bucket.delete()


class RecordingCache:
    """The page cache, recording the key of every entry stored (a page drawn)."""

    def __init__(self, cache):
        self.cache = cache
        self.stored = []

    def get(self, key, *args, **kwargs):
        return self.cache.get(key, *args, **kwargs)

    def get_many(self, keys, *args, **kwargs):
        return self.cache.get_many(keys, *args, **kwargs)

    def set(self, key, *args, **kwargs):
        self.stored.append(key)
        return self.cache.set(key, *args, **kwargs)


@pytest.fixture
def recording(monkeypatch):
    """The keys of the pages and fragments drawn during the test (`recording.stored`)."""
    from core import fragments

    recorder = RecordingCache(fragments.cache)
    monkeypatch.setattr(fragments, "cache", recorder)
    return recorder
