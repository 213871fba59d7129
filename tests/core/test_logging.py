"""LOG_FORMAT=json: one JSON object per line, with the request id of the request it is about.

Each case runs the app in a fresh Python process, as a server starts it, so the logging
configuration under test is the one config/settings.py builds from the environment.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging

import django

django.setup()
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path


def lab(request):
    logging.getLogger("cohortlabs.lab").info("handing in %s", "week 3")
    return HttpResponse("ok")


urlpatterns = [path("lab", lab)]

with override_settings(ROOT_URLCONF="__main__"):
    client = Client()
    given = client.get("/lab", HTTP_X_REQUEST_ID="proxy-id.42")
    made = client.get("/lab")
    junk = client.get("/missing", HTTP_X_REQUEST_ID="bad id\\twith spaces")
print(given["X-Request-ID"], made["X-Request-ID"], junk["X-Request-ID"], flush=True)
logging.getLogger("cohortlabs.boot").warning("no request here")
"""


def run_app(log_format: str) -> tuple[list[str], list[str]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": "INFO",
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split(), done.stderr.splitlines()


def test_json_logs_are_one_object_per_line_with_the_request_id():
    (given, made, junk), lines = run_app("json")
    records = [json.loads(line) for line in lines]  # every line is JSON
    by_message = {record["message"]: record for record in records}

    inside = [r for r in records if r["message"] == "handing in week 3"]
    assert [r["request_id"] for r in inside] == ["proxy-id.42", made]
    assert inside[0]["level"] == "INFO" and inside[0]["logger"] == "cohortlabs.lab"
    assert inside[0]["time"].startswith("20")  # ISO 8601
    # The proxy's id is kept when it is sane; otherwise each request gets its own.
    assert given == "proxy-id.42"
    assert len(made) == 32 and made != junk and " " not in junk
    # Django's "Not Found" line is written after the response, and still carries the id.
    assert by_message["Not Found: /missing"]["request_id"] == junk
    assert by_message["Not Found: /missing"]["level"] == "WARNING"
    assert by_message["no request here"]["request_id"] is None


def test_plain_logs_stay_plain_by_default():
    _, lines = run_app("plain")
    assert any(line.endswith("INFO cohortlabs.lab handing in week 3") for line in lines)
    assert not any(line.startswith("{") for line in lines)


def test_an_unknown_log_format_stops_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "LOG_FORMAT": "xml"}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "LOG_FORMAT must be plain or json" in done.stderr
