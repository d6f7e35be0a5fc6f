"""Browser tests: Playwright driving Debian's Chromium against a real server.

The browser is ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it):
the test tool never downloads one. Without it, or without the playwright package, these tests
skip with the reason, except in CI (``CI=true``), where they fail.

Each test gets new browser contexts (no cookie carries over). Every console error and uncaught
exception of the pages a test opens fails the test at teardown; a test that expects some reads
them with ``browser_errors.take()`` or waives them with ``browser_errors.ignore(why)``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import rota
from tests.conftest import BACKENDS, IN_CI, PG_URL, require_postgres, reset_postgres
from tests.web.conftest import READ_TOKEN, TOKEN, Server, served_app, start_server

from .live import SOURCE, Live

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # for each Playwright action and ``expect``: pages answer in far less


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed: pip install -e '.[test]'"
    return None


PROBLEM = browser_problem()


class Unavailable(pytest.File):
    """A test module of this folder, skipped with the reason (without importing it)."""

    def collect(self) -> list[pytest.Item]:
        pytest.skip(f"browser tests skipped: {PROBLEM}")


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.File | None:
    if PROBLEM is not None and not IN_CI:
        return Unavailable.from_parent(parent, path=module_path)
    return None  # in CI they run, and fail with the reason


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all the browser tests (closed once they are done)."""
    if PROBLEM is not None:
        pytest.fail(f"CI runs the browser tests: {PROBLEM}", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


class BrowserErrors:
    """The console errors and uncaught exceptions of the pages of a test's browser contexts.

    Chromium logs "Failed to load resource" for a page answered 401 or 403: the login form and
    a refusal are such pages, by the contract, so those entries about a page's own address
    are not errors here (a failed script, style sheet, icon or fetch still is).
    """

    def __init__(self) -> None:
        self._console: list[tuple[str, str]] = []  # (text, address it is about)
        self._uncaught: list[str] = []
        self._refused_pages: set[str] = set()
        self.ignored: str | None = None

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self._uncaught.append(str(error.error)))
        context.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._console.append((message.text, str(message.location.get("url", ""))))

    def _on_response(self, response: Response) -> None:
        if response.request.resource_type == "document" and response.status in (401, 403):
            self._refused_pages.add(response.url)

    def _refused_page(self, text: str, url: str) -> bool:
        return text.startswith("Failed to load resource") and url in self._refused_pages

    @property
    def messages(self) -> list[str]:
        """Every error so far, each with the address it is about."""
        console = [
            f"console: {text}" + (f" ({url})" if url else "")
            for text, url in self._console
            if not self._refused_page(text, url)
        ]
        return console + [f"uncaught: {error}" for error in self._uncaught]

    def take(self) -> list[str]:
        """The errors so far, which no longer fail the test (for a test that expects some)."""
        taken = self.messages
        self._console.clear()
        self._uncaught.clear()
        return taken

    def ignore(self, why: str) -> None:
        """Do not fail this test for its browser errors, because of ``why``."""
        self.ignored = why


@pytest.fixture
def browser_errors() -> Iterator[BrowserErrors]:
    errors = BrowserErrors()
    yield errors
    if errors.ignored is None and errors.messages:
        pytest.fail("errors in the browser:\n" + "\n".join(errors.messages), pytrace=False)


@pytest.fixture
def new_page(browser: Browser, browser_errors: BrowserErrors) -> Iterator[Callable[..., Page]]:
    """Opens a page in a new browser context of the given viewport (``DESKTOP``, ``PHONE``)."""
    contexts: list[BrowserContext] = []

    def open_page(viewport: dict[str, int]) -> Page:
        context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        browser_errors.watch(context)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop-sized page (1280x800) in a context of its own."""
    return new_page(DESKTOP)


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    """A phone-sized page (390x844) in a context of its own."""
    return new_page(PHONE)


def no_sideways_scroll(page: Page) -> None:
    """The page is not wider than the window: nothing to scroll to sideways."""
    width, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window"


@pytest.fixture
def dashboard(tmp_path: Path, database_url: str) -> Iterator[Server]:
    """A real server (uvicorn in a subprocess, on each backend) with the admin token ``TOKEN``
    and the read-only token ``READ_TOKEN``; no worker runs in it (see ``local_app``)."""
    server = start_server(tmp_path, database_url, token=TOKEN, read_token=READ_TOKEN)
    yield server
    server.stop()


@pytest.fixture
def local_app(dashboard: Server, tmp_path: Path, database_url: str) -> Iterator[rota.App]:
    """The dashboard's app opened in the test process, to put runs in states (``drain``)."""
    with served_app(tmp_path, database_url) as app:
        yield app


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One server per test module and backend, with a real worker (see ``live.py``), the admin
    token ``TOKEN`` and the read-only token ``READ_TOKEN``. Tests share it: each launches its
    own runs (``Live.key``) and never counts on the database being empty."""
    folder = tmp_path_factory.mktemp(f"live-{request.param}")
    if request.param == "postgres":
        require_postgres()
        reset_postgres()
        database_url = PG_URL
    else:
        database_url = f"sqlite:///{folder / 'rota.db'}"
    (folder / "webtest_app.py").write_text(SOURCE)  # start_server serves the file found there
    server = start_server(folder, database_url, token=TOKEN, read_token=READ_TOKEN, node=True)
    try:
        with served_app(folder, database_url) as app:
            yield Live(server, app, folder)
    finally:
        server.stop()


def submit_token(page: Page, token: str) -> None:
    """Type ``token`` into the login form on ``page`` and send it."""
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()


def login(page: Page, server: Server, token: str | None = None, path: str = "/") -> None:
    """Open ``path`` of ``server``, log in there with ``token`` (the server's admin token by
    default) and wait until the page is back at ``path``, logged in."""
    page.goto(server.url + path)
    with page.expect_navigation(url=server.url + path):  # after the form's post and redirect
        submit_token(page, token or server.token or "")
