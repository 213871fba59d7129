"""Serve Cohort Labs for development: web server, Celery worker and beat together.

Ctrl-C (or SIGTERM) stops every process this started. Without REDIS_URL the worker and
beat use the embedded filesystem broker under var/broker, so tasks really run async.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = os.environ.get("PORT", "8000")


def child_env(environ: dict[str, str], dotenv: Path, port: str) -> dict[str, str]:
    """The environment of the three processes. Links in emails (SITE_URL) point at the
    port served here unless SITE_URL is set, in the environment or in `.env`."""
    env = {**environ, "PYTHONUNBUFFERED": "1"}
    if "SITE_URL" not in env and "SITE_URL" not in _dotenv_names(dotenv):
        env["SITE_URL"] = f"http://127.0.0.1:{port}"
    return env


def _dotenv_names(path: Path) -> set[str]:
    if not path.exists():
        return set()
    names = set()
    for line in path.read_text().splitlines():
        name, equals, _ = line.strip().removeprefix("export ").partition("=")
        if equals and not name.startswith("#"):
            names.add(name.strip())
    return names


COMMANDS = {
    "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
    "worker": [
        PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
        "--queues=default,notifications,scheduling", "--concurrency=2",
    ],
    "beat": [
        PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
        f"--schedule={ROOT / 'var' / 'celerybeat-schedule'}",
    ],
}  # fmt: skip


def main() -> int:
    env = child_env(dict(os.environ), ROOT / ".env", PORT)
    processes: dict[str, subprocess.Popen] = {}
    for name, command in COMMANDS.items():
        # Own process group, so Ctrl-C reaches them only through us, in order.
        processes[name] = subprocess.Popen(  # noqa: S603 - fixed commands, no user input
            command, cwd=ROOT, env=env, start_new_session=True
        )
    print(f"\nCohort Labs is running on http://127.0.0.1:{PORT}/  (Ctrl-C stops everything)\n")

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the others.")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
