"""The pick page's time-zone detection: one page load when the calendar's zone is already the browser's,
a switch (a second load, with ?tz=) only when the browser is somewhere else."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def pick_link(owner, make_calendar, make_contact, make_timeslot, make_invitee, db) -> str:
    calendar = make_calendar(owner=owner, name="Office hours", timezone="Europe/London",
                             start_date=dt.date(2030, 5, 6))
    make_timeslot(calendar, "10:00")
    contact = make_contact(owner=owner, first_name="Lin", last_name="Wu", email="lin@example.org")
    _invitee, token = make_invitee(calendar, contact)
    db.session.remove()
    return f"/pick/{token}"


def _open(visitor, link: str) -> list[str]:
    """Open the link and wait until app.js has run and the network is quiet; the documents loaded."""
    documents: list[str] = []
    page = visitor.page
    page.on("request", lambda r: documents.append(r.url)
            if r.resource_type == "document" and r.frame == page.main_frame else None)
    page.goto(link)
    # app.js shows the zone search box after the detection block: it has run (deferred) by then.
    expect(page.get_by_role("searchbox", name="Search zones")).to_be_visible()
    page.wait_for_load_state("networkidle")
    return documents


def test_the_right_zone_loads_the_pick_page_once(visit, pick_link):
    lin = visit("lin", timezone_id="Europe/London")
    documents = _open(lin, pick_link)
    assert len(documents) == 1, documents
    assert "tz=" not in lin.page.url
    expect(lin.page.get_by_label("Show times in")).to_have_value("Europe/London")
    expect(lin.page.get_by_text("This is also the organiser's time zone.")).to_be_visible()
    lin.check("pick-page-zone-already-right")


def test_another_zone_switches_the_pick_page_to_it(visit, pick_link):
    kenji = visit("kenji", timezone_id="Asia/Tokyo")
    documents = _open(kenji, pick_link)
    kenji.page.wait_for_url("**tz=Asia%2FTokyo*")
    assert len(documents) == 2, documents
    expect(kenji.page.get_by_label("Show times in")).to_have_value("Asia/Tokyo")
    expect(kenji.page.get_by_text("18:00–18:30").first).to_be_visible()  # 10:00 in London, in May
    kenji.check("pick-page-zone-switched")
