"""A slot whose time changes keeps the answers honest: the picks on it that are not a confirmed meeting
are removed, those invitees are emailed (old and new time, their link to pick again), the confirmed
invitee gets one "Moved" email naming the old time, and the edit page says all that beforehand.
Changing only the priority changes nobody's answers. Emails are read from the real SMTP sink."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from mailsink import link_in, text_of

from oneonone.accounts.services import issue_api_token
from oneonone.db_types import utcnow
from oneonone.scheduling import confirmations
from oneonone.scheduling.models import IF_NEED_BE, Event, Invitee
from oneonone.transaction import unit_of_work

CALENDAR = "Interview day"
CHANGED = f'A time you picked changed: "{CALENDAR}"'
MOVED = f'Moved: "{CALENDAR}"'


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


@pytest.fixture
def day(ada_and_bob, make_contact, make_invitee, make_event, owner, db):
    """Mon 03 Jun 2030 in London: Ada's meeting is confirmed at 09:00, which Bob (only there) and Cy
    (also at 10:00, if need be) picked too."""
    day = ada_and_bob(invite=("ada", "bob"))
    cy = make_contact(owner=owner, first_name="Cy", last_name="Young", email="cy@example.org")
    day.links["cy"] = make_invitee(day.calendar, cy)
    confirmations.set_pick_confirmed(make_event(day.nine, day.ada), True)
    make_event(day.nine, day.bob)
    make_event(day.nine, cy, IF_NEED_BE)
    make_event(day.ten, cy, IF_NEED_BE)
    for name in ("ada", "bob", "cy"):
        day.invitee(name).responded_at = utcnow()
    day.invitee("bob").timezone = "America/New_York"  # Bob reads times in his own zone
    db.session.commit()
    day.cy = cy
    return day


def _edit_url(day) -> str:
    return f"/calendars/{day.calendar.id}/timeslots/{day.nine.id}/edit"


def _slot_form(start: str = "09:00", end: str = "09:30", **extra) -> dict:
    return {"date": "2030-06-03", "start_time": start, "end_time": end, **extra}


def _picks_on_nine(db, day) -> list[tuple[int, bool]]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Event.contact_id, Event.confirmed)
                                   .where(Event.timeslot_id == day.nine.id)))


def _check_the_emails(mailbox, client, day, new_start: str, new_end: str) -> None:
    """Bob and Cy are told their pick is gone (with a link that opens their page), Ada is told her
    meeting moved, once each, and nobody else hears anything."""
    messages = mailbox.wait_for(3)
    assert mailbox.envelopes() == Counter({("bob@example.org", CHANGED): 1, ("cy@example.org", CHANGED): 1,
                                           ("ada@example.org", MOVED): 1})
    [bob] = mailbox.to("bob@example.org")
    body = text_of(bob)
    # In Bob's zone (New York): 09:00 London is 04:00 there.
    assert "changed the time of a slot you picked" in body
    assert "Was: Mon 03 Jun 2030, 04:00 – 04:30" in body
    assert f"Now: Mon 03 Jun 2030, {new_start} – {new_end}" in body
    assert "(Times in America/New_York.)" in body and "Your other answers are unchanged." not in body
    link = link_in(bob, "/pick/")
    assert link == f"/pick/{day.token('bob')}"
    page = client.get(link)
    assert page.status_code == 200 and "Bob" in page.get_data(as_text=True)
    [cy] = mailbox.to("cy@example.org")
    assert "Was: Mon 03 Jun 2030, 09:00 – 09:30" in text_of(cy)
    assert "Your other answers are unchanged." in text_of(cy)
    assert link_in(cy, "/pick/") == f"/pick/{day.token('cy')}"
    assert "Pick again on your page" in text_of(cy, "text/html")
    [ada] = mailbox.to("ada@example.org")
    assert "has moved" in text_of(ada)
    assert "Was:  Mon 03 Jun 2030, 09:00 – 09:30 (Europe/London)" in text_of(ada)
    assert [messages.count(m) for m in (bob, cy, ada)] == [1, 1, 1]


def _check_the_answers(db, day) -> None:
    assert _picks_on_nine(db, day) == [(day.ada.id, True)]
    bob, cy = day.invitee("bob"), db.session.get(Invitee, day.links["cy"][0].id)
    db.session.refresh(bob)
    assert bob.responded_at is None  # no answer left: counts as not answered, reminders reach him
    assert cy.responded_at is not None  # still has 10:00
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)
                             .where(Event.contact_id == day.cy.id)) == 1


def test_the_edit_page_names_who_loses_an_answer_and_who_is_emailed(owner_client, day):
    page = text(owner_client.get(_edit_url(day)))
    assert "3 invitees picked this slot." in page
    assert ("Changing the time removes 2 answers on this slot (Bob Babbage and Cy Young); they are "
            "emailed to pick again.") in page
    assert "Ada Lovelace’s confirmed meeting moves with the slot; Ada Lovelace is emailed the new time." in page
    assert ("I understand that changing the time removes 2 answers and emails those invitees to pick "
            "again and moves the meeting with Ada Lovelace, who is emailed the new time.") in page
    assert "Changing only the priority changes nothing for them." in page


def test_the_edit_page_with_one_unconfirmed_pick(owner_client, ada_and_bob, make_event):
    day = ada_and_bob(invite=("bob",))
    make_event(day.nine, day.bob)
    page = text(owner_client.get(_edit_url(day)))
    assert ("Changing the time removes 1 answer on this slot (Bob Babbage); Bob Babbage is emailed to "
            "pick again.") in page
    assert "confirmed meeting" not in page


def test_moving_a_slot_on_the_page_clears_and_emails_the_other_pickers(owner_client, day, db, mailbox):
    refused = owner_client.post(_edit_url(day), data=_slot_form("11:00", "11:30"))
    assert refused.status_code == 400
    assert "Tick this box to change the time of a slot that invitees picked." in text(refused)
    assert len(_picks_on_nine(db, day)) == 3 and mailbox.messages == []

    response = owner_client.post(_edit_url(day), data=_slot_form("11:00", "11:30", acknowledge="y"))
    assert response.status_code == 302
    flashed = text(owner_client.get(response.location))
    assert ("Saved the slot Mon 03 Jun 2030, 11:00–11:30 (was Mon 03 Jun 2030, 09:00–09:30). Removed 2 "
            "answers; Bob Babbage and Cy Young were emailed to pick again. Ada Lovelace was emailed the "
            "new time.") in flashed
    _check_the_answers(db, day)
    _check_the_emails(mailbox, owner_client, day, "06:00", "06:30")  # 11:00 London in New York


def test_moving_a_slot_through_the_api_does_the_same(client, owner, day, db, mailbox):
    with unit_of_work():
        token = issue_api_token(owner)
    response = client.put(f"/api/calendars/{day.calendar.id}/timeslots/{day.nine.id}/",
                          json={"start_time": "2030-06-03T12:00", "end_time": "2030-06-03T12:30"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["start_time"] == "2030-06-03T12:00:00+01:00"
    _check_the_answers(db, day)
    _check_the_emails(mailbox, client, day, "07:00", "07:30")


def test_moving_the_end_only_is_a_move_too(owner_client, day, db, mailbox):
    response = owner_client.post(_edit_url(day), data=_slot_form("09:00", "09:45", acknowledge="y"))
    assert response.status_code == 302
    assert _picks_on_nine(db, day) == [(day.ada.id, True)]
    assert len(mailbox.wait_for(3)) == 3


def test_changing_only_the_priority_changes_nothing_and_sends_nothing(owner_client, client, owner, day, db,
                                                                      mailbox):
    response = owner_client.post(_edit_url(day), data=_slot_form(high_priority="y"))
    assert response.status_code == 302
    assert "Saved the slot Mon 03 Jun 2030, 09:00–09:30." in text(owner_client.get(response.location))
    with unit_of_work():
        token = issue_api_token(owner)
    response = client.put(f"/api/calendars/{day.calendar.id}/timeslots/{day.nine.id}/",
                          json={"high_priority": False, "start_time": "2030-06-03T09:00"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert len(_picks_on_nine(db, day)) == 3
    db.session.refresh(day.nine)
    assert day.nine.start_time == dt.datetime(2030, 6, 3, 8, tzinfo=dt.UTC)
    assert all(db.session.get(Invitee, day.invitee(n).id).responded_at for n in ("ada", "bob", "cy"))
    mailbox.wait_for(1, timeout=0.5)
    assert mailbox.messages == []


def test_a_refused_move_changes_nothing_and_sends_nothing(owner_client, day, db, mailbox):
    # 10:00 is taken by the other slot.
    response = owner_client.post(_edit_url(day), data=_slot_form("10:15", "10:45", acknowledge="y"))
    assert response.status_code == 409 or response.status_code == 400
    assert "Overlaps the slot" in text(response)
    assert len(_picks_on_nine(db, day)) == 3
    mailbox.wait_for(1, timeout=0.5)
    assert mailbox.messages == []
