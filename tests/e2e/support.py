"""Helpers for the browser journeys: a visitor's tab that checks every page, and reading the mail."""

from __future__ import annotations

import email.message
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import icalendar
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PASSWORD = "correct-horse-battery"  # the factories' password (tests/conftest.py)
PHONE_WIDTH = 375


@dataclass
class Visitor:
    """One person's browser tab. `check(name)` runs axe, checks the console and saves a screenshot."""

    page: Page
    name: str
    folder: Path
    counter: list[int]
    problems: list[str] = field(default_factory=list)

    def goto(self, url: str, name: str | None = None):
        """Open `url` (relative to the live server); check the page when `name` is given."""
        response = self.page.goto(url)
        if name:
            self.check(name)
        return response

    def check(self, name: str) -> None:
        """Screenshot the page, then assert 0 axe violations (WCAG 2.1 AA) and a quiet console."""
        page = self.page
        page.wait_for_load_state("load")
        self.counter[0] += 1
        self.screenshot(f"{self.counter[0]:02d}-{self.name}-{name}.png")
        results = Axe().run(page, options=AXE_OPTIONS)
        assert results.violations_count == 0, (
            f"axe found WCAG 2.1 AA violations on {name} ({page.url}):\n{axe_report(results.response)}")
        problems, self.problems[:] = list(self.problems), []
        assert not problems, f"browser console on {name} ({page.url}):\n" + "\n".join(problems)

    def screenshot(self, filename: str) -> None:
        """The whole page, as a screen tall enough to show it all (so sticky bars sit at the bottom)."""
        page = self.page
        size = page.viewport_size
        height = page.evaluate("document.documentElement.scrollHeight")
        if height > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": height})
        try:
            page.screenshot(path=str(self.folder / filename), animations="disabled")
        finally:
            if height > size["height"]:
                page.set_viewport_size(size)

    def on_console(self, message) -> None:
        own_status = message.location.get("url") == self.page.url
        if message.text.startswith("Failed to load resource") and own_status:
            return  # the page's own 400 or 404 status, which the tests expect and check
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"console {message.type}: {message.text}")

    def on_response(self, response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def on_page_error(self, error) -> None:
        self.problems.append(f"uncaught script error: {error}")


def axe_report(response: dict) -> str:
    """Violations, one block each: rule, impact, help, and every offending element."""
    lines = []
    for violation in response["violations"]:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = node.get("failureSummary", "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


def sign_in(visitor: Visitor, email_address: str, password: str = PASSWORD) -> None:
    """Sign in through the form."""
    page = visitor.page
    page.goto("/accounts/signin")
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {email_address}.")).to_be_visible()


def fits_the_phone(page: Page) -> None:
    """Assert nothing makes the page scroll sideways on a 375-px-wide screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, (
        f"{page.url} is {width}px wide on a {PHONE_WIDTH}-px phone: it scrolls sideways")


# ---- mail ------------------------------------------------------------------------------------------

def text_body(message: email.message.Message) -> str:
    """The text/plain part."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text/plain part")


def pick_link(message: email.message.Message) -> str:
    """The personal pick-page link in an invitation."""
    found = re.search(r"https?://\S+/pick/[A-Za-z0-9_\-]+", text_body(message))
    assert found, text_body(message)
    return found.group(0)


def link_to(message: email.message.Message, path: str) -> str:
    """The first link in the message's text whose path starts with `path`."""
    found = re.search(r"https?://\S+?" + re.escape(path) + r"\S+", text_body(message))
    assert found, text_body(message)
    return found.group(0)


def ics_attachment(message: email.message.Message) -> icalendar.Calendar:
    """The parsed text/calendar attachment."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar attachment")


def inbox(mail_server, address: str, subject_start: str, count: int = 1, timeout: float = 5.0) -> list:
    """The messages to `address` whose subject starts with `subject_start`; waits for `count` of them."""
    def matching() -> list:
        return [m for m in mail_server.to(address) if m["Subject"].startswith(subject_start)]

    deadline = time.monotonic() + timeout
    while len(matching()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    found = matching()
    assert len(found) >= count, (f"{address} got {[m['Subject'] for m in mail_server.to(address)]}; "
                                 f"expected {count} starting {subject_start!r}")
    return found
