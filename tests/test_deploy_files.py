"""The compose stack cannot run here (no Docker engine), so check that it says what CI runs."""

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
    assert "web:8000" in " ".join(services["proxy"]["command"])
    assert _compose()["x-app"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"


def test_operators_see_json_logs_and_metrics_in_the_stack():
    env = _compose()["x-app"]["environment"]
    assert env["LOG_FORMAT"] == "json"
    assert "METRICS_TOKEN" in env
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in ("LOG_FORMAT", "METRICS_TOKEN"):
        assert f"`{name}`" in readme and f"\n{name}=" in example
