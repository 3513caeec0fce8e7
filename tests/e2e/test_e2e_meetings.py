"""Owner actions on meetings in a browser (issue 18 points 1 and 2): confirming into a slot that holds
another invitee's meeting names them first (declining changes nothing, accepting emails both), and a
meeting moves in one step with exactly one "Moved" email, read from the SMTP sink. And the invitee's
page finds a time zone by search."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from playwright.sync_api import expect
from scenarios import ADA

from .support import fits_the_phone, ics_attachment, inbox, sign_in, text_body

pytestmark = pytest.mark.e2e

BO = {"first_name": "Bo", "last_name": "Chen", "email": "bo@example.org"}


@pytest.fixture
def day(owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    """Bo's meeting is at 09:00; Ada picked 09:00 (preferred) and 10:00 (if need be); 11:00 is free."""
    calendar = make_calendar(owner=owner, name="Panel day", timezone="Europe/London",
                             start_date=dt.date(2030, 1, 7))
    nine, ten, _eleven = (make_timeslot(calendar, start) for start in ("09:00", "10:00", "11:00"))
    ada, bo = make_contact(owner=owner, **ADA), make_contact(owner=owner, **BO)
    _, ada_token = make_invitee(calendar, ada)
    make_invitee(calendar, bo)
    make_event(nine, ada)
    make_event(ten, ada, preference="if_need_be")
    make_event(nine, bo, confirmed=True)
    values = {"email": owner.email, "calendar": calendar.id, "ada_token": ada_token}
    db.session.remove()
    return values


def _row(page, name: str):
    """The invitee's row in the invitees table (another row may name them: "Ada Lovelace’s meeting")."""
    return page.get_by_role("row").filter(has=page.get_by_text(name, exact=True)).first


def _quiet(mail_server, seconds: float = 0.5) -> list:
    """What the SMTP sink received, after giving the outbox a moment to send anything it would."""
    time.sleep(seconds)
    return list(mail_server.messages)


def test_confirming_into_a_held_slot_names_who_loses_it(visit, day, mail_server):
    mail_server.messages.clear()
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, day["email"])
    owner.goto(f"/calendars/{day['calendar']}/invitees", "invitees-with-a-held-slot")
    ada = _row(page, "Ada Lovelace")
    ada.get_by_label("Slot for Ada Lovelace").select_option(label="Mon 07 Jan, 09:00 · Preferred · Bo Chen’s meeting")
    ada.get_by_role("button", name="Confirm").click()

    # The step that names Bo; declining leaves both as they were.
    expect(page.get_by_role("heading", name="Cancel Bo Chen’s meeting?")).to_be_visible()
    expect(page.get_by_text("Bo is emailed a cancellation")).to_be_visible()
    owner.check("confirm-cancels-another")
    page.get_by_role("link", name="Keep both as they are").click()
    expect(_row(page, "Bo Chen")).to_contain_text("Confirmed")
    expect(_row(page, "Ada Lovelace")).not_to_contain_text("Confirmed")
    assert _quiet(mail_server) == []

    # Accepting: Ada has the meeting, Bo has none, and both are told.
    ada = _row(page, "Ada Lovelace")
    ada.get_by_label("Slot for Ada Lovelace").select_option(label="Mon 07 Jan, 09:00 · Preferred · Bo Chen’s meeting")
    ada.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Confirm Ada and cancel Bo’s meeting").click()
    expect(page.get_by_text("Bo Chen’s meeting was cancelled and they were told by email.")).to_be_visible()
    expect(_row(page, "Ada Lovelace")).to_contain_text("Confirmed")
    expect(_row(page, "Bo Chen")).not_to_contain_text("Confirmed")
    [confirmed] = inbox(mail_server, "ada@example.org", 'Confirmed: "Panel day"')
    [cancelled] = inbox(mail_server, "bo@example.org", 'Cancelled: "Panel day"')
    assert ics_attachment(cancelled)["METHOD"] == "CANCEL"
    owner.check("confirmed-after-cancelling-another")

    # A one-step move to another time Ada picked: one email, to Ada, naming the old time.
    mail_server.messages.clear()
    ada = _row(page, "Ada Lovelace")
    ada.get_by_label("Move Ada Lovelace’s meeting to").select_option(label="Mon 07 Jan, 10:00 · If need be")
    ada.get_by_role("button", name="Move").click()
    expect(page.get_by_text("Moved Ada Lovelace’s meeting to Mon 07 Jan 2030, 10:00–10:30;")).to_be_visible()
    [moved] = _quiet(mail_server)
    assert moved["To"] == "ada@example.org" and moved["Subject"] == 'Moved: "Panel day"'
    body = text_body(moved)
    assert "10:00" in body.split("Was:")[0] and "09:00" in body.split("Was:")[1]
    first, update = (next(iter(ics_attachment(m).walk("VEVENT"))) for m in (confirmed, moved))
    assert update["uid"] == first["uid"] and int(update["sequence"]) > int(first["sequence"])
    owner.check("moved-in-one-step")

    # On a phone, the step and the page both stay inside the screen.
    phone = visit("owner-phone", timezone_id="Europe/London", phone=True)
    sign_in(phone, day["email"])
    phone.goto(f"/calendars/{day['calendar']}/invitees", "invitees")
    fits_the_phone(phone.page)


def test_moving_to_a_time_they_did_not_pick_says_so(visit, day, mail_server):
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, day["email"])
    owner.goto(f"/calendars/{day['calendar']}/invitees")
    bo = _row(page, "Bo Chen")
    mail_server.messages.clear()
    bo.get_by_label("Move Bo Chen’s meeting to").select_option(label="Mon 07 Jan, 11:00 · not picked")
    bo.get_by_role("button", name="Move").click()
    expect(page.get_by_text("Moved Bo Chen’s meeting to Mon 07 Jan 2030, 11:00–11:30, a time they did not pick;")
           ).to_be_visible()
    [moved] = _quiet(mail_server)
    assert moved["To"] == "bo@example.org" and moved["Subject"] == 'Moved: "Panel day"'
    owner.check("moved-to-an-unpicked-time")


def test_the_invitee_finds_their_zone_by_search(visit, day):
    ada = visit("ada", timezone_id="Europe/London", phone=True)
    page = ada.page
    ada.goto(f"/pick/{day['ada_token']}")
    search = page.get_by_role("searchbox", name="Search zones")
    search.fill("tokyo")
    expect(page.get_by_label("Show times in")).to_have_value("Asia/Tokyo")
    search.press("Enter")
    page.wait_for_url("**tz=Asia%2FTokyo*")
    expect(page.get_by_text("19:00–19:30").first).to_be_visible()  # 10:00 London is 19:00 in Tokyo
    ada.check("pick-page-zone-search")
    fits_the_phone(page)
