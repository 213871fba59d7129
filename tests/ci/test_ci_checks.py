"""CI fails when a test does not run: a skipped test in the JUnit report, or browser tests
that cannot find Chromium while CI=true."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" skipped="{skipped}">
<testcase classname="tests.a" name="test_runs" time="0.1"/>
<testcase classname="tests.b" name="test_also_runs" time="0.1"/>
{extra}
</testsuite></testsuites>
"""


def _check(tmp_path, extra: str, skipped: int) -> subprocess.CompletedProcess:
    report = tmp_path / "junit.xml"
    report.write_text(REPORT.format(extra=extra, skipped=skipped))
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "no_skips.py"), str(report)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_ci_runs_the_skip_check_after_the_tests():
    run = (ROOT / ".ci" / "run").read_text()
    tests_at = run.index('make test PYTEST_ARGS="--junitxml=$ARTIFACTS_DIR/junit.xml"')
    assert run.index('.ci/no_skips.py "$ARTIFACTS_DIR/junit.xml"') > tests_at


def test_a_skipped_test_fails_ci_and_is_named(tmp_path):
    skipped = (
        '<testcase classname="tests.browser.test_flows" name="test_review_loop">'
        '<skipped type="pytest.skip" message="/usr/bin/chromium is missing"/></testcase>'
    )
    result = _check(tmp_path, skipped, 1)
    assert result.returncode == 1
    assert "tests.browser.test_flows::test_review_loop" in result.stdout
    assert "/usr/bin/chromium is missing" in result.stdout


def test_a_report_without_skips_passes(tmp_path):
    result = _check(tmp_path, "", 0)
    assert result.returncode == 0, result.stdout


def test_a_failed_chromium_install_stops_ci():
    run = (ROOT / ".ci" / "run").read_text()
    install = run[run.index('log "installing chromium"') : run.index("RUN_ID=")]
    assert "||" not in install  # nothing swallows the failure; set -e stops the run
    assert "set -euo pipefail" in run
    assert "test -x /usr/bin/chromium" in install


def _collect_browser_tests(**env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CHROMIUM_PATH": "/nonexistent/chromium", **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "tests/browser"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_browser_tests_without_chromium_fail_the_run_in_ci():
    result = _collect_browser_tests(CI="true")
    assert result.returncode != 0
    assert "browser tests cannot run" in result.stdout + result.stderr
    assert "/nonexistent/chromium is missing" in result.stdout + result.stderr
