"""Real servers a resilience test starts, stops and freezes itself, on private ports: a
PostgreSQL cluster, the app under gunicorn, and a cookie-keeping HTTP client for it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
# The port the brief gives this helper's servers; a free one if it is taken.
WEB_PORT = int(os.environ.get("RESILIENCE_WEB_PORT", "8871"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb into a temporary folder), never the shared
    server. Run as the `postgres` OS user when the test runs as root (initdb refuses root)."""

    def __init__(self):
        if not PG_BIN_DIRS or not (PG_BIN_DIRS[-1] / "initdb").exists():
            pytest.fail("initdb is missing: install postgresql (CI has it) to run this test")
        self.bin = PG_BIN_DIRS[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="cl-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                 "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip

    def run(self, tool: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(  # noqa: S603 - fixed binaries
            command, check=True, capture_output=True, cwd=self.dir, **kwargs
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                 "-w", "-t", "30", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown that ends every session; `immediate`: a crash."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def copy_of_test_database(self, name: str = "cl") -> str:
        """A copy of the test database as the test has committed it (schema and rows)."""
        db = connection.settings_dict
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        dump = subprocess.run(  # noqa: S603
            [str(self.bin / "pg_dump"), "-h", db["HOST"] or "127.0.0.1", "-p",
             str(db["PORT"] or 5432), "-U", db["USER"], "--no-owner", db["NAME"]],
            check=True, capture_output=True,
        )  # fmt: skip
        self.run("psql", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                 "-v", "ON_ERROR_STOP=1", "-d", name, input=dump.stdout)  # fmt: skip
        return self.url(name)

    def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            os.kill(self.postmaster_pid(), signal.SIGCONT)
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class WebServer:
    """The app under gunicorn (gunicorn.conf.py, one worker), on its own database."""

    def __init__(self, tmp_path: Path, **env: str):
        self.port = WEB_PORT if port_is_free(WEB_PORT) else free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        var = tmp_path / "web-var"
        var.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            # The test settings: the rows were written with their password hasher.
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DEBUG": "0",
            "VAR_DIR": str(var),
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "INFO",
            **env,
        }
        for name in ("TEST_DATABASE_NAME", "EMAIL_URL"):
            self.env.pop(name, None)
        if "REDIS_URL" not in env:
            self.env.pop("REDIS_URL", None)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "1", "--timeout", "60"],
            cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if Client(self.base).get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start:\n" + self.log_path.read_text()[-3000:])

    def workers_booted(self) -> int:
        return self.log_path.read_text().count("Booting worker")

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        self.process = None


class Response:
    def __init__(self, status: int, headers, body: bytes, seconds: float):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A browser-like HTTP client: keeps cookies, sends the CSRF token, follows nothing."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, *, data=None, json_body=None, headers=None):
        body, all_headers = None, {**self.headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=all_headers
        )
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=30) as answer:
                status, headers_, content = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, headers_, content = error.code, error.headers, error.read()
        return Response(status, headers_, content, time.perf_counter() - started)

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Response:
        return self.request("POST", path, **kwargs)

    def csrf_token(self, page: Response) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    def sign_in(self, email: str, password: str) -> Response:
        page = self.get("/accounts/login/")
        assert page.status == 200, page.status
        return self.post(
            "/accounts/login/",
            data={
                "username": email,
                "password": password,
                "csrfmiddlewaretoken": self.csrf_token(page),
            },
        )

    def use_token(self, email: str, password: str) -> None:
        answer = self.post("/api/v1/auth/token/", json_body={"email": email, "password": password})
        assert answer.status == 201, answer.text
        self.headers["Authorization"] = f"Token {answer.json()['token']}"
