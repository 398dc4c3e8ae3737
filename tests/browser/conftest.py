"""Chromium tests: the real app served by uvicorn, driven by Playwright's async API.

One server process and one browser for the whole session; a fresh browser context (cookies,
storage) for every test. The server shares the test database: data that a test builds through
the factories is committed, so the server sees it, and the tables are emptied after each test by
`clean_database` as for every other test. Every test under this folder carries the `browser`
marker (`pytest -m "not browser"` leaves them out).

Without Chromium or the playwright package these tests are skipped, except on CI (`CI=true`),
where a missing browser is a failure: a CI run must never pass by testing nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import LiveServer, running_server

# Debian's Chromium; CHROMIUM_PATH points elsewhere on other systems (never `playwright install`).
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]
HERE = Path(__file__).resolve().parent
# Playwright waits this long for an element or a navigation before failing (milliseconds):
# every page here answers in well under a second, so a long wait only delays the failure.
ACTION_TIMEOUT_MS = 5_000

_failed_call = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser`, so that no browser test can forget it."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Remember a failed test body, so the fixtures can show what the browser and server saw."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_failed_call] = True
    return report


def _unavailable(reason: str) -> None:
    """Skip, or fail on CI where silently testing nothing would pass a broken build."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"browser tests cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_requirements() -> None:
    """Chromium and the playwright package are present (checked before anything starts)."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as error:
        _unavailable(f"the playwright package is not installed ({error})")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing (Debian package `chromium`, or set CHROMIUM_PATH)")


# --- the live server ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def live_server(app, browser_requirements) -> AsyncIterator[LiveServer]:
    """The app served by uvicorn in its own process, on the test database (already migrated by
    `app`), on a free local port."""
    async with running_server() as server:
        yield server


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def browser(browser_requirements) -> AsyncIterator["playwright.async_api.Browser"]:
    """One headless Chromium (Debian's) for the whole session."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    try:
        try:
            chromium = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
        except PlaywrightError as error:
            _unavailable(f"Chromium at {CHROMIUM} does not start: {error.message}")
        try:
            yield chromium
        finally:
            await chromium.close()
    finally:
        await playwright.stop()


@dataclass
class BrowserProblems:
    """What must never happen on any page: a script error, a CSP refusal, a server error."""

    items: list[str] = field(default_factory=list)

    def watch(self, context: "playwright.async_api.BrowserContext") -> None:
        context.on("page", self._watch_page)

    def _watch_page(self, page) -> None:
        page.on("pageerror",
                lambda error: self.items.append(f"script error on {page.url}: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message) -> None:
        # Chromium reports CSP violations on the console ("Refused to execute inline script…").
        if message.type == "error" and message.text.startswith("Refused to"):
            self.items.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 500:
            self.items.append(f"{response.status} from {response.request.method} {response.url}")


ContextFactory = Callable[..., Awaitable["playwright.async_api.BrowserContext"]]


@pytest.fixture
async def new_context(
    browser, live_server, request: pytest.FixtureRequest
) -> AsyncIterator[ContextFactory]:
    """Open fresh browser contexts (another person, or JavaScript off) on the live server.

    At the end of the test: a failed test gets the pages' addresses and text and the server's
    output printed beside its report; any script error, CSP refusal or 5xx fails the test.
    """
    log_start = live_server.log_size()
    opened: list = []
    problems = BrowserProblems()

    async def open_context(*, javascript: bool = True, **options):
        context = await browser.new_context(
            base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris",
            java_script_enabled=javascript, **options,
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        problems.watch(context)
        opened.append(context)
        return context

    yield open_context

    if request.node.stash.get(_failed_call, False):
        for context in opened:
            for page in context.pages:
                try:
                    text = await page.locator("body").inner_text(timeout=1_000)
                except Exception as error:  # the page may be gone or mid-navigation
                    text = f"(text unavailable: {error})"
                print(f"--- page {page.url} ---\n{text[:3000]}")
        output = live_server.output(log_start)[-6000:]
        print(f"--- live server output during the test ---\n{output}")
    for context in opened:
        await context.close()
    if problems.items:
        pytest.fail("the browser saw problems:\n" + "\n".join(problems.items), pytrace=False)


@pytest.fixture
async def context(new_context):
    """A fresh browser context with JavaScript on (htmx active)."""
    return await new_context()


@pytest.fixture
async def page(context):
    return await context.new_page()


@pytest.fixture
async def context_without_js(new_context):
    """A fresh browser context with JavaScript off: plain links and form posts only."""
    return await new_context(javascript=False)


@pytest.fixture
async def page_without_js(context_without_js):
    return await context_without_js.new_page()
