"""Browser journeys: Debian's Chromium (pytest-playwright) against the app in a real server thread,
with the real SMTP sink of tests/conftest.py. Every page a journey visits is checked with axe-core
(WCAG 2.1 AA), must log no Content-Security-Policy or script errors, and is saved as a screenshot
under test-artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from .support import PHONE_WIDTH, Visitor

CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
MISSING_BROWSER = "Chromium not found: browser tests skipped; install with apt-get install chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": PHONE_WIDTH, "height": 812}

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session", autouse=True)
def _chromium_present() -> None:
    """Skip the browser tests without Chromium; in CI (CI=true) a missing browser is a failure."""
    if CHROMIUM.is_file():
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"Chromium not found at {CHROMIUM}, and CI=true: the browser tests must run here "
                    "(install with apt-get install chromium)", pytrace=False)
    pytest.skip(MISSING_BROWSER)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def _screenshot_folder() -> Path:
    """Start each run with an empty screenshot folder, so every picture in it is from this run."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def app_config() -> dict:
    # A real browser sends the real CSRF tokens, so the browser tests keep CSRF protection on; letting
    # it cache the static files saves six requests a page.
    return {"WTF_CSRF_ENABLED": True, "SEND_FILE_MAX_AGE_DEFAULT": 3600}


@dataclass
class LiveServer:
    url: str


class InFlight:
    """WSGI middleware counting the requests being handled, so teardown can wait for the last one."""

    def __init__(self, app) -> None:
        self.app = app
        self.active = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self.changed:
            self.active += 1
        try:
            # Flask pops the app context (and returns the database connection) before this returns.
            return self.app(environ, start_response)
        finally:
            with self.changed:
                self.active -= 1
                self.changed.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.active == 0, timeout=timeout)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """The test's app served on a free loopback port; the links in its emails point here."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in failure reports
    in_flight = InFlight(app)
    server = make_server("127.0.0.1", 0, in_flight, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield LiveServer(url)
    # Before the `app` fixture empties the tables, stop serving and let the last requests finish:
    # none may hold a connection, a transaction or a PostgreSQL lock while TRUNCATE runs.
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    assert in_flight.wait_idle(), "a request was still running 10 s after the server stopped"


@pytest.fixture
def visit(live_server, new_context, _screenshot_folder, request) -> Iterator:
    """visit(name, timezone_id=..., locale=..., phone=False, viewport=None): a Visitor in a browser
    context of its own (desktop 1280×900 unless `phone` or `viewport` say otherwise)."""
    counter = [0]
    folder = _screenshot_folder / request.node.originalname.removeprefix("test_")
    folder.mkdir(exist_ok=True)
    contexts = []

    def open_visitor(name: str, *, timezone_id: str = "Europe/Berlin", locale: str = "en-GB",
                     phone: bool = False, viewport: dict | None = None) -> Visitor:
        screen = ({"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
                  if phone else {"viewport": viewport or DESKTOP})
        context = new_context(timezone_id=timezone_id, locale=locale, base_url=live_server.url, **screen)
        contexts.append(context)
        page = context.new_page()
        visitor = Visitor(page, name, folder, counter)
        page.on("console", visitor.on_console)
        page.on("pageerror", visitor.on_page_error)
        page.on("response", visitor.on_response)
        page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm prompts
        return visitor

    yield open_visitor
    for context in contexts:
        context.close()
