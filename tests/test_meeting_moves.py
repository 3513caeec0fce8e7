"""Owner actions on meetings that affect someone else name them first (issue 18 points 1 and 2).

- Confirming an invitee into a slot that holds another invitee's meeting goes through a page that
  names who loses their meeting; nothing changes until the owner accepts.
- A meeting moves in one step (to another slot the invitee picked, or to a free slot they did not pick,
  said so), with one "Moved" email naming the old time: same UID, higher SEQUENCE.
- The API keeps the design document's behaviour: confirming unconfirms the rest of the slot.
"""

from __future__ import annotations

import icalendar
import pytest
import sqlalchemy as sa
from mailsink import text_of

from oneonone.accounts.services import issue_api_token
from oneonone.scheduling import answers, confirmations
from oneonone.scheduling.models import Event
from oneonone.transaction import unit_of_work


@pytest.fixture
def day(ada_and_bob, make_timeslot, db):
    """Ada picked 09:00 (preferred) and 10:00 (if need be); Bob picked 09:00; 11:00 nobody picked."""
    day = ada_and_bob(name="Interview day", invite=("ada", "bob"))
    day.eleven = make_timeslot(day.calendar, "11:00")
    with unit_of_work():
        answers.save_picks(day.invitee("ada"), {day.nine.id: "preferred", day.ten.id: "if_need_be"})
        answers.save_picks(day.invitee("bob"), {day.nine.id: "preferred"})
    return day


def _pick(db, contact, slot) -> Event | None:
    return db.session.scalar(sa.select(Event).where(Event.contact_id == contact.id,
                                                    Event.timeslot_id == slot.id)
                             .execution_options(populate_existing=True))


def _meetings(db) -> dict[int, int]:
    """contact id -> slot id of every meeting."""
    return dict(db.session.execute(sa.select(Event.contact_id, Event.timeslot_id).where(Event.confirmed)).all())


def _confirm(day, db, name: str, slot) -> None:
    contact = getattr(day, name)
    with unit_of_work():
        confirmations.set_pick_confirmed(_pick(db, contact, slot), True)


def _vevent(message) -> icalendar.Event:
    return next(iter(icalendar.Calendar.from_ical(text_of(message, "text/calendar")).walk("VEVENT")))


def _confirm_url(day, name: str) -> str:
    return f"/calendars/{day.calendar.id}/invitees/{day.invitee(name).id}/confirm"


# ---- 1. confirming into a slot that holds someone else's meeting ------------------------------------

def test_confirming_into_anothers_meeting_asks_first_and_names_them(owner_client, day, db, mailbox):
    _confirm(day, db, "bob", day.nine)
    mailbox.messages.clear()
    response = owner_client.post(_confirm_url(day, "ada"), data={"timeslot_id": day.nine.id})
    assert response.status_code == 302
    assert response.location.endswith(f"{_confirm_url(day, 'ada')}?timeslot_id={day.nine.id}")
    assert _meetings(db) == {day.bob.id: day.nine.id}  # nothing changed yet
    page = owner_client.get(response.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Bob Babbage" in text and "cancellation" in text and "Ada Lovelace" in text
    assert "Confirm Ada and cancel Bob’s meeting" in text
    assert "Keep both as they are" in text
    # Declining is going back: both stay as they were, nobody is emailed.
    assert _meetings(db) == {day.bob.id: day.nine.id}
    assert mailbox.messages == []


def test_accepting_cancels_their_meeting_and_emails_both(owner_client, day, db, mailbox):
    _confirm(day, db, "bob", day.nine)
    mailbox.messages.clear()
    response = owner_client.post(_confirm_url(day, "ada"),
                                 data={"timeslot_id": day.nine.id, "replaces": day.bob.id},
                                 follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Bob Babbage’s meeting was cancelled" in text
    assert _meetings(db) == {day.ada.id: day.nine.id}
    assert [m["Subject"] for m in mailbox.to("ada@example.org")] == ['Confirmed: "Interview day"']
    assert [m["Subject"] for m in mailbox.to("bob@example.org")] == ['Cancelled: "Interview day"']


def test_consent_to_cancel_someone_else_asks_again(owner_client, day, db, mailbox):
    """The page named Bob; if the slot holds someone else's meeting by then, nothing changes."""
    _confirm(day, db, "bob", day.nine)
    mailbox.messages.clear()
    response = owner_client.post(_confirm_url(day, "ada"),
                                 data={"timeslot_id": day.nine.id, "replaces": day.ada.id})
    assert response.status_code == 302 and "timeslot_id=" in response.location
    assert _meetings(db) == {day.bob.id: day.nine.id}
    assert mailbox.messages == []


def test_the_invitees_page_says_which_slots_hold_a_meeting(owner_client, day, db):
    _confirm(day, db, "bob", day.nine)
    text = owner_client.get(f"/calendars/{day.calendar.id}/invitees").get_data(as_text=True)
    assert "Bob Babbage’s meeting" in text
    assert "confirming moves the other meeting out" not in text


# ---- 2. moving a meeting in one step -----------------------------------------------------------------

def test_moving_to_another_pick_is_one_step_and_one_email(owner_client, day, db, mailbox):
    _confirm(day, db, "ada", day.nine)
    confirmation = mailbox.to("ada@example.org")[-1]
    mailbox.messages.clear()
    response = owner_client.post(_confirm_url(day, "ada"), data={"timeslot_id": day.ten.id, "move": "1"},
                                 follow_redirects=True)
    assert "Moved Ada Lovelace’s meeting to" in response.get_data(as_text=True)
    assert _meetings(db) == {day.ada.id: day.ten.id}
    [moved] = mailbox.messages
    assert moved["To"] == "ada@example.org" and moved["Subject"] == 'Moved: "Interview day"'
    body = text_of(moved)
    assert "has moved" in body and "10:00" in body
    assert "Was:" in body and "09:00" in body.split("Was:")[1]
    assert _vevent(moved)["uid"] == _vevent(confirmation)["uid"]
    assert int(_vevent(moved)["sequence"]) > int(_vevent(confirmation)["sequence"])
    # Her answers are untouched: 09:00 is still one of her picks, no longer a meeting.
    assert _pick(db, day.ada, day.nine).preference == "preferred"


def test_moving_to_a_free_time_they_did_not_pick_says_so(owner_client, day, db, mailbox):
    _confirm(day, db, "ada", day.nine)
    mailbox.messages.clear()
    page = owner_client.get(f"/calendars/{day.calendar.id}/invitees").get_data(as_text=True)
    assert "Free times Ada did not pick" in page
    response = owner_client.post(_confirm_url(day, "ada"), data={"timeslot_id": day.eleven.id, "move": "1"},
                                 follow_redirects=True)
    assert "a time they did not pick" in response.get_data(as_text=True)
    assert _meetings(db) == {day.ada.id: day.eleven.id}
    placed = _pick(db, day.ada, day.eleven)
    assert placed.owner_placed and placed.confirmed
    assert [m["Subject"] for m in mailbox.messages] == ['Moved: "Interview day"']
    # The meeting is not one of her answers: her page shows 11:00 as her meeting, not as a pick.
    view = owner_client.get(f"/pick/{day.token('ada')}").get_data(as_text=True)
    assert "Your meeting" in view
    # Cancelled, the placed meeting goes entirely; her own answers are as she gave them.
    owner_client.post(f"/calendars/{day.calendar.id}/invitees/{day.invitee('ada').id}/unconfirm")
    assert _pick(db, day.ada, day.eleven) is None
    assert _pick(db, day.ada, day.nine).preference == "preferred"
    assert _pick(db, day.ada, day.ten).preference == "if_need_be"


def test_moving_again_from_a_placed_time_removes_it(owner_client, day, db):
    _confirm(day, db, "ada", day.nine)
    owner_client.post(_confirm_url(day, "ada"), data={"timeslot_id": day.eleven.id, "move": "1"})
    owner_client.post(_confirm_url(day, "ada"), data={"timeslot_id": day.ten.id, "move": "1"})
    assert _meetings(db) == {day.ada.id: day.ten.id}
    assert _pick(db, day.ada, day.eleven) is None


def test_a_time_they_did_not_pick_needs_the_move_form(owner_client, day, db, mailbox):
    mailbox.messages.clear()
    response = owner_client.post(_confirm_url(day, "ada"), data={"timeslot_id": day.eleven.id},
                                 follow_redirects=True)
    assert "Choose one of the slots this invitee picked." in response.get_data(as_text=True)
    assert _meetings(db) == {} and _pick(db, day.ada, day.eleven) is None
    assert mailbox.messages == []


def test_a_time_they_did_not_pick_that_holds_a_meeting_is_refused(owner_client, day, db, mailbox,
                                                                  make_event):
    make_event(day.eleven, day.bob)
    _confirm(day, db, "bob", day.eleven)
    _confirm(day, db, "ada", day.nine)
    mailbox.messages.clear()
    response = owner_client.post(_confirm_url(day, "ada"),
                                 data={"timeslot_id": day.eleven.id, "move": "1", "replaces": day.bob.id},
                                 follow_redirects=True)
    assert "holds Bob Babbage’s meeting" in response.get_data(as_text=True)
    assert _meetings(db) == {day.bob.id: day.eleven.id, day.ada.id: day.nine.id}
    assert mailbox.messages == []


# ---- the API keeps the design document's behaviour ------------------------------------------------

def test_the_api_confirms_and_says_it_cancels_the_slots_other_meeting(client, owner, day, db, mailbox):
    _confirm(day, db, "bob", day.nine)
    mailbox.messages.clear()
    with unit_of_work():
        token = issue_api_token(owner)
    response = client.put(f"/api/events/{_pick(db, day.ada, day.nine).id}/", json={"confirmed": True},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert _meetings(db) == {day.ada.id: day.nine.id}
    assert [m["Subject"] for m in mailbox.to("bob@example.org")] == ['Cancelled: "Interview day"']
    spec = client.get("/api/openapi.json").get_json()
    described = spec["paths"]["/api/events/{event_id}/"]["put"]["description"]
    assert "cancelled" in described and "no confirmation step" in described


def test_the_database_keeps_an_owner_placed_pick_a_meeting(day, db):
    """An owner-placed row is never one of the invitee's answers: it cannot exist unconfirmed."""
    db.session.add(Event(calendar_id=day.calendar.id, timeslot_id=day.eleven.id, contact_id=day.ada.id,
                         preference="if_need_be", owner_placed=True, confirmed=False))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
