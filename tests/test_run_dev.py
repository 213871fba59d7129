"""`make run` serves on PORT; the links in its emails must point there too."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def run_dev():
    spec = importlib.util.spec_from_file_location("run_dev", ROOT / "scripts" / "run_dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def email_link_in(env: dict[str, str]) -> str:
    """The absolute link an email made by a process with `env` carries."""
    code = (
        "import django; django.setup(); "
        "from notifications.emails import absolute; print(absolute('/dashboard/'))"
    )
    result = subprocess.run(  # noqa: S603 - fixed command
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}


def test_links_follow_the_port_make_run_serves(run_dev, tmp_path):
    env = run_dev.child_env(base_env(), tmp_path / ".env", "8112")
    assert email_link_in(env) == "http://127.0.0.1:8112/dashboard/"


def test_an_explicit_site_url_wins(run_dev, tmp_path):
    env = run_dev.child_env(
        {**base_env(), "SITE_URL": "https://labs.example.org"}, tmp_path / ".env", "8112"
    )
    assert email_link_in(env) == "https://labs.example.org/dashboard/"
    dotenv = tmp_path / ".env"
    dotenv.write_text("# local settings\nSITE_URL=https://dev.example.org\n")
    assert "SITE_URL" not in run_dev.child_env(base_env(), dotenv, "8112")
