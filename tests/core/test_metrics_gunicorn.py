"""/metrics under gunicorn with several workers adds up what every worker counted."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _healthz_count(body: bytes) -> float:
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if (
                sample.name == "cohortlabs_http_request_duration_seconds_count"
                and sample.labels == {"view": "healthz", "method": "GET", "status": "200"}
            ):
                return sample.value
    return 0


def test_every_worker_is_counted_and_logs_are_json(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL", "TEST_DATABASE_NAME")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        METRICS_TOKEN=TOKEN,
        LOG_FORMAT="json",
    )
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stderr=log,
        stdout=log,
    )
    try:
        for _ in range(300):
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        served = 1
        for _ in range(30):
            assert _get(f"{base}/healthz")[0] == 200
            served += 1
        assert _get(f"{base}/metrics")[0] == 404
        # Each scrape may land on either worker: all of them see every request.
        for _ in range(6):
            status, body = _get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200
            assert _healthz_count(body) == served
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    log.seek(0)
    lines = [line for line in log.read().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert any(
        r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records
    )
