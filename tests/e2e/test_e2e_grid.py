"""The answers grid in a browser: its colours show (Bootstrap's table-cell rule no longer wins), the
invitee column stays in view while the grid scrolls in its own box, and a phone gets a per-slot list
instead, with nothing scrolling sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oneonone.scheduling.models import IF_NEED_BE

from .support import fits_the_phone, sign_in

pytestmark = pytest.mark.e2e

NAMES = [("Ada", "Lovelace"), ("Bob", "Babbage"), ("Grace", "Hopper"), ("Alan", "Turing")]


@pytest.fixture
def week(owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    """A 30-slot week with four invitees: all prefer Monday 09:00, where Ada has her meeting; Bob could
    do Monday 09:30 if need be."""
    calendar = make_calendar(owner=owner, name="Week of 1:1s", timezone="Europe/London")
    slots = [make_timeslot(calendar, f"{9 + i // 2:02d}:{30 * (i % 2):02d}", day=day)
             for day in range(5) for i in range(6)]
    people = [make_contact(owner=owner, first_name=first, last_name=last, email=f"{first.lower()}@example.org")
              for first, last in NAMES]
    for person in people:
        make_invitee(calendar, person)
        make_event(slots[0], person, confirmed=person.first_name == "Ada")
    make_event(slots[1], people[1], IF_NEED_BE)
    ids = {"calendar": calendar.id, "owner": owner.email}
    db.session.remove()
    return ids


def _background(page, selector: str) -> str:
    return page.locator(selector).first.evaluate("cell => getComputedStyle(cell).backgroundColor")


def test_the_grid_shows_its_colours_and_keeps_the_invitee_column_in_view(visit, week):
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, week["owner"])
    owner.goto(f"/calendars/{week['calendar']}/invitees")
    grid = page.locator(".matrix-wrap")
    expect(grid).to_be_visible()
    expect(page.locator(".slot-list")).to_be_hidden()
    totals = grid.locator(".slot-totals td")
    expect(totals.first).to_contain_text("4 can")
    expect(totals.first).to_contain_text("Meeting")
    expect(totals.nth(1)).to_contain_text("1 can")

    plain = _background(page, ".matrix tbody td:not([class])")
    preferred = _background(page, ".matrix tbody td.cell-preferred")
    assert preferred != plain, f"a preferred cell looks like a plain one ({preferred})"
    assert _background(page, ".matrix tbody td.cell-confirmed") not in (plain, preferred)
    assert _background(page, ".matrix tbody td.cell-ifneed") not in (plain, preferred)
    for name in ("Preferred", "If need be", "Confirmed meeting"):
        expect(page.get_by_role("list", name="Legend")).to_contain_text(name)

    invitee_cell = grid.get_by_role("rowheader", name="Ada Lovelace")
    assert invitee_cell.evaluate("cell => getComputedStyle(cell).position") == "sticky"
    # The grid scrolls in its own box; the page itself does not.
    assert grid.evaluate("box => box.scrollWidth > box.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    left = invitee_cell.bounding_box()["x"]
    grid.evaluate("box => { box.scrollLeft = 400; }")
    assert abs(invitee_cell.bounding_box()["x"] - left) < 1, "the invitee column scrolled away"
    grid.evaluate("box => { box.scrollLeft = 0; }")
    owner.check("invitees-grid")


def test_a_phone_gets_a_list_per_slot(visit, week):
    owner = visit("owner-phone", timezone_id="Europe/London", phone=True)
    page = owner.page
    sign_in(owner, week["owner"])
    owner.goto(f"/calendars/{week['calendar']}/invitees")
    expect(page.locator(".matrix-wrap")).to_be_hidden()
    listing = page.locator(".slot-list")
    expect(listing).to_be_visible()
    first = listing.get_by_role("listitem").first
    expect(first).to_contain_text("09:00")
    expect(first).to_contain_text("4 can")
    expect(first).to_contain_text("Meeting: Ada Lovelace")
    expect(listing.get_by_role("listitem").nth(1)).to_contain_text("If need be: Bob Babbage")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    fits_the_phone(page)
    owner.check("invitees-slot-list")
