"""Unblocking a left-out invitee from the suggestions page, in a browser (issue 19): the owner sees who
could be seated and how, asks them with one click, the invitee's email lists exactly those times in
their zone and their page marks them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from scenarios import ADA, BOB

from .support import inbox, pick_link, sign_in, text_body

pytestmark = pytest.mark.e2e


@pytest.fixture
def panel(owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    """Bob holds 09:00 (confirmed); Ada picked only 09:00, so she is left out; 14:00 is free."""
    calendar = make_calendar(owner=owner, name="Panel day", timezone="Europe/London",
                             start_date=dt.date(2030, 1, 7))
    nine, two = make_timeslot(calendar, "09:00"), make_timeslot(calendar, "14:00")
    ada, bob = make_contact(owner=owner, **ADA), make_contact(owner=owner, **BOB)
    ada_invitee, _ = make_invitee(calendar, ada)
    make_invitee(calendar, bob)
    make_event(nine, ada)
    make_event(nine, bob, confirmed=True)
    ada_invitee.timezone = "America/New_York"
    db.session.commit()
    values = {"email": owner.email, "calendar": calendar.id, "free_slot": two.id,
              "subject": f"{owner.full_name} asks: could you make one of these times?"}
    db.session.remove()
    return values


def test_the_owner_asks_a_left_out_invitee_and_their_page_marks_the_times(visit, panel, mail_server):
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, panel["email"])
    owner.goto(f"/calendars/{panel['calendar']}/suggestions", "suggestions-left-out")
    best = page.get_by_role("region", name="Best schedule")
    expect(best.get_by_text("Ada Lovelace — every slot they picked is taken")).to_be_visible()
    expect(best.get_by_text("Mon 07 Jan 14:00")).to_be_visible()
    best.get_by_role("button", name="Ask Ada about these times").click()
    expect(page.get_by_text("Ada Lovelace was asked about 1 time by email; their page marks them.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Asked \d\d \w{3} \d\d:\d\d$"))).to_be_visible()
    owner.check("suggestions-asked")

    [mail] = inbox(mail_server, "ada@example.org", panel["subject"])
    text = text_body(mail)
    assert re.findall(r"^- (.+?)\r?$", text, re.M) == ["Mon 07 Jan 2030, 09:00 – 09:30"]  # 14:00 London, in New York
    assert "(Times in America/New_York.)" in text

    ada = visit("ada", timezone_id="America/New_York", phone=True)
    ada.goto(pick_link(mail))
    marked = ada.page.locator(".slot-row.slot-asked")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("09:00–09:30")
    expect(marked).to_contain_text("Asked by")
    ada.check("pick-page-asked")
