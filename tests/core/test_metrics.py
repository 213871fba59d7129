"""The operator's /metrics page: who may read it, and that its figures are the system's."""

import datetime as dt
import shutil
import socket
import subprocess
import time

import pytest
import redis
from django.core import mail
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from core.metrics import cache_fail_open
from notifications.models import Event, Notification
from tests.submissions.conftest import make_world

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def scrape() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples
        }

    return scrape


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


# --- who can read it ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", f"Token {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_metrics_are_a_404_without_the_operator_token(client, settings, staff, header):
    settings.METRICS_TOKEN = TOKEN
    client.force_login(staff)  # a staff session is not the operator
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 404
    assert b"cohortlabs_" not in response.content


@pytest.mark.django_db
def test_metrics_are_a_404_for_everyone_while_no_token_is_set(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer None").status_code == 404


# --- what it shows ------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_are_counted_and_timed_by_view_and_status(client, scrape):
    name = "cohortlabs_http_request_duration_seconds_count"
    before = scrape()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page/42").status_code == 404
    assert client.post("/healthz").status_code == 405
    after = scrape()

    def delta(**labels):
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert delta(view="healthz", method="GET", status="200") == 3
    assert delta(view="healthz", method="POST", status="405") == 1
    # Unknown paths share one series: a scanner cannot make a series per URL.
    assert delta(view="<unmatched>", method="GET", status="404") == 1
    assert not any("/no/such/page" in str(key) for key in after)
    bucket = value(
        after,
        "cohortlabs_http_request_duration_seconds_bucket",
        view="healthz",
        method="GET",
        status="200",
        le="+Inf",
    )
    assert bucket == value(after, name, view="healthz", method="GET", status="200")


@pytest.mark.django_db
def test_cache_fail_opens_are_counted(scrape):
    name = "cohortlabs_cache_fail_opens_total"
    before = value(scrape(), name, cache="default") or 0
    cache_fail_open()
    cache_fail_open("default")
    assert value(scrape(), name, cache="default") == before + 2


@pytest.mark.django_db
def test_outbox_backlog_is_what_the_worker_has_not_processed(
    scrape, django_capture_on_commit_callbacks
):
    world = make_world(mentors=1)
    samples = scrape()
    assert value(samples, "cohortlabs_outbox_backlog") == 0
    assert value(samples, "cohortlabs_outbox_oldest_age_seconds") == 0
    # The enqueue after commit never runs: as if the broker or the worker were down.
    with django_capture_on_commit_callbacks(execute=False):
        world.submitted()
        world.submitted(learner=world.add_learner())
    waiting = Event.objects.filter(processed_at__isnull=True)
    assert waiting.count() >= 2
    waiting.update(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    samples = scrape()
    assert value(samples, "cohortlabs_outbox_backlog") == waiting.count()
    assert 600 <= value(samples, "cohortlabs_outbox_oldest_age_seconds") < 660


@pytest.mark.django_db
def test_submit_to_email_latency_is_measured_from_the_submit(
    scrape, django_capture_on_commit_callbacks
):
    world = make_world(mentors=1)
    samples = scrape()
    assert value(samples, "cohortlabs_submit_emails_recent") == 0
    assert value(samples, "cohortlabs_submit_email_latency_seconds", quantile="0.95") is None

    with django_capture_on_commit_callbacks(execute=True):
        world.submitted()
    emailed = Notification.objects.filter(
        event__kind="submission.submitted", email_status=Notification.EmailStatus.SENT
    )
    assert emailed.count() == 1 and len(mail.outbox) == 1
    # The submit happened 90 s before its e-mail went out.
    sent = emailed.get()
    Event.objects.filter(pk=sent.event_id).update(
        created_at=sent.emailed_at - dt.timedelta(seconds=90)
    )
    samples = scrape()
    assert value(samples, "cohortlabs_submit_emails_recent") == 1
    for q in ("0.5", "0.95", "1.0"):
        assert value(samples, "cohortlabs_submit_email_latency_seconds", quantile=q) == 90

    # Sent more than five minutes ago: no longer part of the recent latency.
    emailed.update(emailed_at=sent.emailed_at - dt.timedelta(minutes=6))
    assert value(scrape(), "cohortlabs_submit_emails_recent") == 0


# --- queue depth, read from the broker at scrape time -------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A Redis of our own on a free port, so that the test owns every key in it."""
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


def _put(url: str, queue: str, count: int, **transport_options) -> None:
    with Connection(url, transport_options=transport_options) as conn:
        simple = conn.SimpleQueue(queue)
        for i in range(count):
            simple.put({"n": i})
        simple.close()


def _depths(samples) -> dict[str, float]:
    return {
        dict(labels)["queue"]: v
        for (name, labels), v in samples.items()
        if name == "cohortlabs_celery_queue_depth"
    }


@pytest.mark.redis_server
@pytest.mark.django_db
def test_queue_depth_per_queue_from_redis(scrape, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    _put(redis_url, "notifications", 3)
    _put(redis_url, "scheduling", 1)
    samples = scrape()
    assert value(samples, "cohortlabs_broker_up") == 1
    assert _depths(samples) == {"default": 0, "notifications": 3, "scheduling": 1}


@pytest.mark.django_db
def test_queue_depth_per_queue_from_the_filesystem_broker(scrape, settings, tmp_path, monkeypatch):
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(tmp_path / "control"),
    }
    settings.CELERY_BROKER_URL = "filesystem://"
    monkeypatch.setitem(app.conf, "broker_transport_options", options)
    _put("filesystem://", "default", 2, **options)
    _put("filesystem://", "notifications", 5, **options)
    samples = scrape()
    assert value(samples, "cohortlabs_broker_up") == 1
    assert _depths(samples) == {"default": 2, "notifications": 5, "scheduling": 0}


@pytest.mark.django_db
def test_a_down_broker_is_reported_and_the_page_still_answers(scrape, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_free_port()}/0"  # nobody listens
    samples = scrape()
    assert value(samples, "cohortlabs_broker_up") == 0
    assert _depths(samples) == {}
    assert value(samples, "cohortlabs_outbox_backlog") == 0
