"""Changing when a slot is, in a browser (issue 18 points 3 and 4): the slot edit page names whose
answers a time change removes and who is emailed, saving it clears those answers and the emails
arrive (read from the SMTP sink) with a link to pick again; and a calendar's zone change asks, without
JavaScript, whether the slots keep their clock times or their moments, with a preview of each."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from scenarios import ADA, BOB

from .support import fits_the_phone, inbox, pick_link, sign_in, text_body

pytestmark = pytest.mark.e2e

CY = {"first_name": "Cy", "last_name": "Young", "email": "cy@example.org"}


@pytest.fixture
def office_hours(owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    """Mon 02 Sep 2030 in London: Ada's meeting is confirmed at 09:00, which Bob and Cy picked too."""
    from oneonone.scheduling import confirmations

    calendar = make_calendar(owner=owner, name="Office hours", timezone="Europe/London",
                             start_date=dt.date(2030, 9, 2))
    nine = make_timeslot(calendar, "09:00")
    make_timeslot(calendar, "14:00")
    people = [make_contact(owner=owner, **who) for who in (ADA, BOB, CY)]
    for person in people:
        make_invitee(calendar, person)
    confirmations.set_pick_confirmed(make_event(nine, people[0]), True)
    make_event(nine, people[1])
    make_event(nine, people[2], "if_need_be")
    db.session.commit()
    values = {"email": owner.email, "calendar": calendar.id, "nine": nine.id}
    db.session.remove()
    return values


def test_a_slot_edit_clears_and_notifies_the_other_pickers(visit, office_hours, mail_server):
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, office_hours["email"])
    url = f"/calendars/{office_hours['calendar']}/timeslots/{office_hours['nine']}/edit"
    owner.goto(url)
    warning = page.get_by_role("note")
    expect(warning).to_contain_text("Changing the time removes 2 answers on this slot (Bob Babbage and Cy "
                                    "Young); they are emailed to pick again.")
    expect(warning).to_contain_text("Ada Lovelace’s confirmed meeting moves with the slot; Ada Lovelace is "
                                    "emailed the new time.")
    owner.check("slot-edit-names-the-pickers")

    page.get_by_label("Start").fill("11:00")
    page.get_by_label("End", exact=True).fill("11:30")
    page.get_by_role("button", name="Save slot").click()
    expect(page.get_by_text("Tick this box to change the time of a slot that invitees picked.")).to_be_visible()
    page.get_by_label(re.compile(r"^I understand that changing the time removes 2 answers")).check()
    page.get_by_role("button", name="Save slot").click()
    expect(page.get_by_text("Removed 2 answers; Bob Babbage and Cy Young were emailed to pick again. "
                            "Ada Lovelace was emailed the new time.")).to_be_visible()
    owner.check("slot-moved")

    [bob_mail] = inbox(mail_server, "bob@example.org", 'A time you picked changed: "Office hours"')
    text = text_body(bob_mail)
    assert "Was: Mon 02 Sep 2030, 09:00 – 09:30" in text and "Now: Mon 02 Sep 2030, 11:00 – 11:30" in text
    [cy_mail] = inbox(mail_server, "cy@example.org", 'A time you picked changed: "Office hours"')
    [ada_mail] = inbox(mail_server, "ada@example.org", 'Moved: "Office hours"')
    assert "Was:  Mon 02 Sep 2030, 09:00 – 09:30 (Europe/London)" in text_body(ada_mail)
    assert len(mail_server.to("bob@example.org")) == len(mail_server.to("cy@example.org")) == 1

    # Bob's link opens his page; his answer for the old time is gone, so he can pick again.
    bob = visit("bob", timezone_id="Europe/London", phone=True)
    bob.goto(pick_link(bob_mail))
    eleven = bob.page.get_by_role("radiogroup", name=re.compile("11:00–11:30"))
    expect(eleven).to_have_count(0)  # Ada's meeting holds it: not offered to others
    for answer in ("Preferred", "If need be"):
        for radio in bob.page.get_by_role("radio", name=answer).all():
            expect(radio).not_to_be_checked()
    fits_the_phone(bob.page)
    bob.check("pick-page-after-the-move")

    # The edit page on a phone, now that only Ada's meeting is there.
    phone = visit("owner-phone", timezone_id="Europe/London", phone=True)
    sign_in(phone, office_hours["email"])
    phone.goto(url)
    expect(phone.page.get_by_role("note")).to_contain_text("Ada Lovelace’s confirmed meeting moves with the slot")
    fits_the_phone(phone.page)
    phone.check("slot-edit-phone")
    assert pick_link(cy_mail)


@pytest.fixture
def chicago(owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    """Mon 02 – Fri 06 Sep 2030 in Chicago, slots at Mon 09:00 (Bob picked it) and Tue 14:00."""
    calendar = make_calendar(owner=owner, name="Office hours", timezone="America/Chicago",
                             start_date=dt.date(2030, 9, 2))
    nine = make_timeslot(calendar, "09:00")
    make_timeslot(calendar, "14:00", day=1)
    bob = make_contact(owner=owner, **BOB)
    make_invitee(calendar, bob)
    make_event(nine, bob)
    values = {"email": owner.email, "calendar": calendar.id}
    db.session.remove()
    return values


def _change_zone(visitor, calendar_id: int, zone: str) -> None:
    page = visitor.page
    visitor.goto(f"/calendars/{calendar_id}/edit")
    page.get_by_label("Time zone", exact=True).select_option(zone)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Save calendar").click()
    assert posted.value.status == 200  # asked, nothing saved


def test_a_zone_change_asks_whether_slots_keep_their_clock_times(visit, chicago, mail_server):
    owner = visit("owner", timezone_id="America/Chicago")
    page = owner.page
    sign_in(owner, chicago["email"])
    _change_zone(owner, chicago["calendar"], "America/New_York")
    question = page.get_by_role("group", name="The time zone changes from America/Chicago to America/New_York")
    expect(page.get_by_role("status")).to_contain_text("Nothing is saved yet")
    clock, moments = question.get_by_label("Keep the clock times"), question.get_by_label("Keep the moments")
    expect(clock).not_to_be_checked()
    expect(question).to_contain_text("Mon 02 Sep 09:00 America/Chicago becomes 09:00 America/New_York "
                                     "(08:00 Chicago time).")
    expect(question).to_contain_text("Mon 02 Sep 09:00 America/Chicago shows as 10:00 America/New_York.")
    expect(question).to_contain_text("That removes 1 answer on them (Bob Babbage)")
    owner.check("zone-change-question")

    phone = visit("owner-phone", timezone_id="America/Chicago", phone=True)
    sign_in(phone, chicago["email"])
    _change_zone(phone, chicago["calendar"], "America/New_York")
    expect(phone.page.get_by_label("Keep the moments")).to_be_visible()
    fits_the_phone(phone.page)
    phone.check("zone-change-question-phone")

    # Keeping the moments: same instants, shown in New York; nobody is emailed.
    moments.check()
    page.get_by_role("button", name="Save calendar").click()
    expect(page.get_by_text("The slots kept their moments and now show in America/New_York.")).to_be_visible()
    expect(page.get_by_text("10:00", exact=False).first).to_be_visible()
    owner.check("zone-kept-moments")
    assert mail_server.to("bob@example.org") == []

    # Back to Chicago keeping the clock times: 10:00 stays 10:00, so the slots move and Bob is told.
    _change_zone(owner, chicago["calendar"], "America/Chicago")
    question = page.get_by_role("group", name="from America/New_York to America/Chicago")
    expect(question).to_contain_text("Mon 02 Sep 10:00 America/New_York becomes 10:00 America/Chicago "
                                     "(11:00 New York time).")
    question.get_by_label("Keep the clock times").check()
    page.get_by_role("button", name="Save calendar").click()
    expect(page.get_by_text("The slots kept their clock times in America/Chicago; 2 slots moved. Removed 1 "
                            "answer; Bob Babbage was emailed to pick again.")).to_be_visible()
    owner.check("zone-kept-clock-times")
    [mail] = inbox(mail_server, "bob@example.org", 'A time you picked changed: "Office hours"')
    assert "Was: Mon 02 Sep 2030, 09:00 – 09:30" in text_body(mail)
    assert "Now: Mon 02 Sep 2030, 10:00 – 10:30" in text_body(mail)
