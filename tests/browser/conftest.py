"""The staff journeys in a real browser: Chromium from Debian's package, driven by Playwright for Python,
against pytest-django's live server (a real HTTP server on the test databases).

Playwright's own browser download cannot be fetched here, so the launch names Debian's binary
(``/usr/bin/chromium``, or ``CHROMIUM_PATH``). Without Chromium (or the ``playwright`` package) the tests
skip and say how to get it; under CI (``CI=true``) or ``REQUIRE_BROWSER=1`` that is a failure instead.
``bin/test-browser`` installs Chromium when it is missing and runs this directory.

A failing journey leaves a screenshot and the page's HTML in ``.ci/artifacts/browser/`` (gitignored,
kept by CI as artefacts); their paths are printed with the failure.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A step that waits longer than this has failed; generous because CI shares two cores with other jobs.
STEP_TIMEOUT_MS = 20_000


def _browser_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_BROWSER") == "1"


def _missing(reason: str) -> None:
    if _browser_required():
        pytest.fail(f"{reason} (a browser is required under CI=true or REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(f"{reason}: run bin/test-browser, which installs it, or apt-get install -y chromium")


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if os.access(candidate, os.X_OK) else None


@pytest.fixture(scope="package")
def chromium():
    """One headless Chromium for these tests; each test gets its own context (cookies, storage).

    Playwright's sync API keeps an asyncio loop registered as running in this thread while it is
    started, which Django's ORM guard takes for async code; no coroutine touches the ORM here (the
    server runs in its own thread), so the guard is lifted for exactly as long as Playwright runs.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    if executable is None:
        where = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium (nor on PATH)"
        _missing(f"no Chromium at {where}")
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed journey keeps what the browser showed at that moment: a full-page screenshot and the HTML."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
        saved = []
        try:
            page.screenshot(path=f"{stem}.png", full_page=True)
            saved.append(f"{stem}.png")
        except Exception as error:  # the page may have crashed; keep whatever can still be saved
            saved.append(f"(no screenshot: {error})")
        try:
            Path(f"{stem}.html").write_text(f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8")
            saved.append(f"{stem}.html")
        except Exception as error:
            saved.append(f"(no HTML: {error})")
        text = "\n".join(f"browser artefact: {path}" for path in saved)
        report.sections.append(("browser artefacts", text))
        reporter = item.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\n{item.nodeid}:\n{text}")
    return report
