"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Without Chromium (/usr/bin/chromium, or $CHROMIUM_PATH) or Playwright the browser tests are
skipped on a developer's machine, and the run FAILS in CI (CI=true): there a test that does
not run is a failed test. Screenshots of each main
page, at desktop (1280x800) and phone (390x844) widths, go to artifacts/screenshots/
(gitignored; CI keeps the folder).
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CURRICULUM = (
    Path(__file__).resolve().parents[2] / "curriculum" / "data" / "000_534dd0f80d9aa631.txt"
)


try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None


def pytest_collection_modifyitems(config, items):
    reason = None
    if sync_playwright is None:
        reason = "Playwright is not installed"
    elif not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    browser_tests = [item for item in items if "browser" in item.keywords]
    if reason is None or not browser_tests:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(
            f"CI: {len(browser_tests)} browser tests cannot run: {reason}. "
            "CI must install Chromium and Playwright; it never skips them."
        )
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """One Chromium per test module.

    Playwright's sync API keeps an event loop alive in this thread, and Django then refuses
    ORM calls (the tests' own, and the database flush between tests) unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. It is set only while the browser lives, i.e. around
    this module's tests and their teardowns, never process-wide: `check --deploy` rightly
    refuses the variable and other tests run it in a subprocess.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(chromium, live_server):
    """A page in its own browser context (own cookies), so two people can act side by side."""
    contexts = []

    def make():
        context = chromium.new_context(viewport=DESKTOP, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on(
            "console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None
        )
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("email", re.I)).fill(email)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("main").get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"sign-in failed for {email}"


def screenshot(page, name: str) -> None:
    """Full-page screenshots at desktop and phone widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
