"""The compose stack cannot run here (no Docker engine), so check that it says what CI runs."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_service_with_a_healthcheck():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name


def test_compose_runs_the_modules_that_exist():
    services = _compose()["services"]
    assert "config.wsgi:application" in services["web"]["command"]
    worker = " ".join(services["worker"]["command"])
    assert "-A config worker" in worker
    # The worker consumes every queue config/celery.py routes tasks to.
    from config.celery import app

    for queue in app.conf.task_queues:
        assert queue.name in worker
    assert "-A config beat" in " ".join(services["beat"]["command"])
    assert (ROOT / "config" / "settings_production.py").exists()


def test_compose_and_ci_use_the_same_services():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert 'DATABASE_URL="postgres://' in ci and 'REDIS_URL="redis://' in ci
    env = _compose()["x-app"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")


def test_env_example_names_every_required_setting():
    example = (ROOT / ".env.example").read_text()
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST"):
        assert f"{name}=" in example


def test_web_scales_behind_the_proxy():
    services = _compose()["services"]
    # A published host port on web would make `--scale web=3` fail.
    assert "ports" not in services["web"]
    assert "reverse_proxy web:8000" in (ROOT / "deploy" / "Caddyfile").read_text()
    assert _compose()["x-app"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"


# --- request body limits: proxy, gunicorn and app agree (docs/security.md) -----------------


def _caddy_limits() -> tuple[re.Pattern, dict[str, int]]:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    uploads = re.search(r"^\s*@uploads path_regexp (\S+)$", caddyfile, re.M).group(1)
    other = re.search(r"^\s*@other not path_regexp (\S+)$", caddyfile, re.M).group(1)
    assert uploads == other  # "other" is exactly "not uploads"
    sizes = {
        name: int(size) * 1024 * 1024
        for name, size in re.findall(
            r"request_body @(\w+) \{\s*max_size (\d+)MiB\s*\}", caddyfile, re.S
        )
    }
    return re.compile(uploads), sizes


def test_the_proxy_runs_the_caddyfile_with_the_body_limits():
    proxy = _compose()["services"]["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["command"][:4] == ["caddy", "run", "--config", "/etc/caddy/Caddyfile"]
    _, sizes = _caddy_limits()
    assert set(sizes) == {"uploads", "other"}


def test_the_proxy_limits_match_the_apps(settings):
    from django.urls import reverse

    from core.middleware import upload_limit

    pattern, sizes = _caddy_limits()
    # Every route the app treats as an upload, and no other, gets the proxy's upload limit.
    samples = {
        "submissions:lab": {"cohort_id": 1, "lab_id": 2},
        "api:submission-attachment-list": {"submission_pk": 1},
        "curriculum:import_upload": {},
        "api:curriculum-import-list": {},
        "cohorts:enrollment_upload": {"slug": "spring-2026"},
        "api:enrollment-list": {"cohort_pk": 1},
    }
    assert set(samples) == set(settings.UPLOAD_ROUTES)
    for name, kwargs in samples.items():
        assert pattern.match(reverse(name, kwargs=kwargs)), name
    for path in ("/accounts/login/", "/api/v1/auth/token/", "/submissions/1/comment/"):
        assert not pattern.match(path), path
    largest_upload = (
        max(upload_limit(spec) for spec in settings.UPLOAD_ROUTES.values())
        + settings.UPLOAD_BODY_MARGIN_BYTES
    )
    # The proxy lets through what the app accepts, and at most a MiB of rounding more.
    assert largest_upload <= sizes["uploads"] < largest_upload + 1024 * 1024
    assert sizes["other"] == max(settings.FORM_BODY_MAX_BYTES, settings.API_BODY_MAX_BYTES)


def test_gunicorn_bounds_the_request_line_and_headers():
    import runpy

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert 0 < conf["limit_request_line"] <= 4094
    assert 0 < conf["limit_request_fields"] <= 100
    assert 0 < conf["limit_request_field_size"] <= 8190


def test_operators_see_json_logs_and_metrics_in_the_stack():
    env = _compose()["x-app"]["environment"]
    assert env["LOG_FORMAT"] == "json"
    assert "METRICS_TOKEN" in env
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in ("LOG_FORMAT", "METRICS_TOKEN"):
        assert f"`{name}`" in readme and f"\n{name}=" in example


def test_the_app_is_loaded_whole_before_gunicorn_forks_its_workers():
    """gunicorn imports config.wsgi once (preload_app) and forks the workers from it: the
    URLconf and the views must be in it, or each worker imports them (about a second of
    CPU) inside its first request; and no database connection may be open to be shared."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys, config.wsgi; from django.db import connections; "
        "print(sorted(m for m in ('config.urls', 'submissions.api.views', 'dashboards.views') "
        "if m in sys.modules)); "
        "print([c.alias for c in connections.all(initialized_only=True) if c.connection])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.setdefault("SECRET_KEY", "test-only")
    result = subprocess.run(  # noqa: S603 - fixed command
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    loaded, open_connections = result.stdout.splitlines()
    assert loaded == "['config.urls', 'dashboards.views', 'submissions.api.views']"
    assert open_connections == "[]"
