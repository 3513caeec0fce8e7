"""Red-team tests of the meeting confirmation step and one-step moves (issue 18 points 1 and 2).

Each test pins down a behaviour worth keeping; those that found a defect (since fixed) say so in
their docstring. They run on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from mailsink import text_of
from werkzeug.datastructures import MultiDict

from oneonone.accounts.services import issue_api_token
from oneonone.scheduling import answers, confirmations
from oneonone.scheduling.models import Event
from oneonone.transaction import unit_of_work

CAL = "Interview day"
CONFIRMED, MOVED, CANCELLED = (f'{kind}: "{CAL}"' for kind in ("Confirmed", "Moved", "Cancelled"))
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def day(ada_and_bob, make_timeslot, make_contact, make_invitee, owner, db):
    """Ada picked 09:00 (preferred) and 10:00 (if need be); Bob picked 09:00; Cy picked 09:00 and
    10:00; 11:00 and 12:00 nobody picked."""
    day = ada_and_bob(name=CAL, invite=("ada", "bob"))
    day.cy = make_contact(owner=owner, first_name="Cy", last_name="Young", email="cy@example.org")
    day.links["cy"] = make_invitee(day.calendar, day.cy)
    day.eleven = make_timeslot(day.calendar, "11:00")
    day.twelve = make_timeslot(day.calendar, "12:00")
    with unit_of_work():
        answers.save_picks(day.invitee("ada"), {day.nine.id: "preferred", day.ten.id: "if_need_be"})
        answers.save_picks(day.invitee("bob"), {day.nine.id: "preferred"})
        answers.save_picks(day.invitee("cy"), {day.nine.id: "preferred", day.ten.id: "preferred"})
    return day


@pytest.fixture
def stranger(make_user, make_calendar, make_contact, make_timeslot, make_invitee, make_event):
    """Another owner's calendar with a slot, a contact invited and their pick."""
    other = make_user()
    calendar = make_calendar(owner=other, name="Their day")
    contact = make_contact(owner=other, first_name="Eve", last_name="Else", email="eve@example.org")
    slot = make_timeslot(calendar, "09:00")
    invitee, _ = make_invitee(calendar, contact)
    make_event(slot, contact)
    return type("Stranger", (), {"owner": other, "calendar": calendar, "contact": contact, "slot": slot,
                                 "invitee": invitee})


def _pick(db, contact, slot) -> Event | None:
    return db.session.scalar(sa.select(Event).where(Event.contact_id == contact.id,
                                                    Event.timeslot_id == slot.id)
                             .execution_options(populate_existing=True))


def _events(db) -> set[tuple]:
    db.session.expire_all()
    return set(db.session.execute(sa.select(Event.contact_id, Event.timeslot_id, Event.confirmed,
                                            Event.owner_placed, Event.preference)).all())


def _meetings(db) -> dict[int, int]:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(Event.contact_id, Event.timeslot_id).where(Event.confirmed)).all())


def _confirm(db, contact, slot) -> None:
    with unit_of_work():
        confirmations.set_pick_confirmed(_pick(db, contact, slot), True)


def _url(day, name: str) -> str:
    return f"/calendars/{day.calendar.id}/invitees/{day.invitee(name).id}/confirm"


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _token(owner) -> dict:
    with unit_of_work():
        return {"Authorization": f"Bearer {issue_api_token(owner)}"}


def _place(owner_client, day, name: str, slot, db) -> Event:
    """Give `name` an owner-placed meeting at `slot` through the Move form (move=1)."""
    response = owner_client.post(_url(day, name), data={"timeslot_id": slot.id, "move": "1"})
    assert response.status_code == 302
    placed = _pick(db, getattr(day, name), slot)
    assert placed is not None and placed.owner_placed and placed.confirmed
    return placed


# ---- another owner's ids in every parameter ----------------------------------------------------------

@pytest.mark.parametrize("method", ["get", "post"])
def test_another_owners_calendar_or_invitee_is_404_and_changes_nothing(owner_client, day, stranger, db,
                                                                        mailbox, method):
    before = _events(db)
    mailbox.messages.clear()
    urls = [
        f"/calendars/{stranger.calendar.id}/invitees/{stranger.invitee.id}/confirm",
        f"/calendars/{day.calendar.id}/invitees/{stranger.invitee.id}/confirm",
        f"/calendars/{stranger.calendar.id}/invitees/{day.invitee('ada').id}/confirm",
    ]
    for url in urls:
        for slot in (stranger.slot, day.nine):
            if method == "get":
                response = owner_client.get(f"{url}?timeslot_id={slot.id}&move=1")
            else:
                response = owner_client.post(url, data={"timeslot_id": slot.id, "move": "1",
                                                        "replaces": stranger.contact.id})
            assert response.status_code == 404, (url, slot.id, response.status_code)
    assert _events(db) == before
    assert mailbox.messages == []


def test_another_owners_timeslot_or_contact_in_the_form_changes_nothing(owner_client, day, stranger, db,
                                                                         mailbox):
    _confirm(db, day.bob, day.nine)
    before = _events(db)
    mailbox.messages.clear()
    for data in ({"timeslot_id": stranger.slot.id}, {"timeslot_id": stranger.slot.id, "move": "1"},
                 {"timeslot_id": day.nine.id, "replaces": stranger.contact.id},
                 {"timeslot_id": day.nine.id, "replaces": stranger.contact.id, "move": "1"}):
        response = owner_client.post(_url(day, "ada"), data=data)
        assert response.status_code == 302, data
        assert response.status_code < 500
    assert _events(db) == before
    assert mailbox.messages == []
    page = owner_client.get(f"{_url(day, 'ada')}?timeslot_id={stranger.slot.id}")
    assert page.status_code == 404


def test_a_slot_of_the_owners_other_calendar_is_refused(owner_client, owner, day, make_calendar,
                                                        make_timeslot, db, mailbox):
    other = make_calendar(owner=owner, name="Second day")
    slot = make_timeslot(other, "11:00")
    before = _events(db)
    mailbox.messages.clear()
    for data in ({"timeslot_id": slot.id}, {"timeslot_id": slot.id, "move": "1"}):
        response = owner_client.post(_url(day, "ada"), data=data, follow_redirects=True)
        assert response.status_code == 200
        assert "Choose one of the slots this invitee picked." in _text(response)
    assert owner_client.get(f"{_url(day, 'ada')}?timeslot_id={slot.id}&move=1").status_code == 404
    assert _events(db) == before and mailbox.messages == []


# ---- garbage ids ------------------------------------------------------------------------------------

GARBAGE = [str(2**63), str(2**31), "-1", "0", "abc", "", " ", "1.0", "1e3", "٣", "²", "9" * 5000,
           "%00", "1 OR 1=1", "[]", "null"]


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_timeslot_ids_are_refused_without_a_500(owner_client, day, db, mailbox, value):
    _confirm(db, day.bob, day.nine)
    before = _events(db)
    mailbox.messages.clear()
    page = owner_client.get(_url(day, "ada"), query_string={"timeslot_id": value, "move": "1"})
    assert page.status_code in (400, 404), page.status_code
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": value, "move": "1"})
    assert response.status_code == 302
    assert response.location.endswith(f"/calendars/{day.calendar.id}/invitees")
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": value})
    assert response.status_code == 302
    assert _events(db) == before and mailbox.messages == []


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_replaces_never_displaces_anyone(owner_client, day, db, mailbox, value):
    _confirm(db, day.bob, day.nine)
    before = _events(db)
    mailbox.messages.clear()
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": day.nine.id, "replaces": value})
    assert response.status_code == 302
    assert f"timeslot_id={day.nine.id}" in response.location  # asked again
    assert _events(db) == before and mailbox.messages == []


def test_repeated_form_fields_do_not_confuse_it(owner_client, day, db, mailbox):
    """timeslot_id twice, replaces twice: the first value counts, and Bob's meeting is only cancelled
    when the first `replaces` names him."""
    _confirm(db, day.bob, day.nine)
    mailbox.messages.clear()
    response = owner_client.post(_url(day, "ada"), data=MultiDict(
        [("timeslot_id", day.nine.id), ("timeslot_id", day.ten.id), ("replaces", day.ada.id),
         ("replaces", day.bob.id)]))
    assert response.status_code == 302 and "timeslot_id=" in response.location
    assert _meetings(db) == {day.bob.id: day.nine.id}


def test_no_timeslot_id_on_the_consent_page_is_404(owner_client, day):
    assert owner_client.get(_url(day, "ada")).status_code == 404


# ---- replaces naming someone who holds nothing; move into a held slot --------------------------------

def test_replaces_naming_someone_without_a_meeting_cancels_nobody(owner_client, day, db, mailbox):
    mailbox.messages.clear()
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": day.nine.id, "replaces": day.bob.id},
                                 follow_redirects=True)
    text = _text(response)
    assert "Confirmed Ada Lovelace on" in text
    assert "cancelled" not in text
    assert _meetings(db) == {day.ada.id: day.nine.id}
    assert mailbox.envelopes() == Counter({("ada@example.org", CONFIRMED): 1})


def test_move_into_a_held_slot_they_did_not_pick_is_refused_even_with_consent(owner_client, day, db, mailbox):
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "bob", day.eleven, db)  # Bob's owner-placed meeting at 11:00
    before = _events(db)
    mailbox.messages.clear()
    for data in ({"timeslot_id": day.eleven.id, "move": "1"},
                 {"timeslot_id": day.eleven.id, "move": "1", "replaces": day.bob.id}):
        response = owner_client.post(_url(day, "ada"), data=data, follow_redirects=True)
        assert "holds Bob Babbage’s meeting" in _text(response)
    assert _events(db) == before and mailbox.messages == []


def test_the_consent_page_does_not_offer_a_cancellation_it_will_refuse(owner_client, day, db, mailbox):
    """Found by the red team, fixed: GET .../confirm?timeslot_id=<Bob's slot that Ada did not pick>&move=1 renders
    "Cancel Bob Babbage’s meeting?" with a red "Confirm Ada and cancel Bob’s meeting" button; pressing
    it is then refused ("That time holds Bob Babbage’s meeting; choose a free time or one they picked").
    The page should say at once that this time cannot be given to Ada (or 404/redirect)."""
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "bob", day.eleven, db)
    page = owner_client.get(f"{_url(day, 'ada')}?timeslot_id={day.eleven.id}&move=1")
    text = _text(page)
    assert "and cancel Bob’s meeting" not in text, "the page offers an action the POST refuses"


def test_the_consent_page_for_a_slot_they_did_not_pick_without_move_offers_no_dead_button(owner_client, day):
    """Found by the red team (same family), fixed: GET .../confirm?timeslot_id=<free slot Ada did not pick>
    (no move=1) says
    "Confirm Ada Lovelace? ... Ada is emailed the meeting" with a Confirm button, and pressing it is
    refused with "Choose one of the slots this invitee picked."."""
    page = owner_client.get(f"{_url(day, 'ada')}?timeslot_id={day.eleven.id}")
    assert page.status_code != 200 or "Ada is emailed the meeting" not in _text(page)


# ---- consent goes stale; double submit ---------------------------------------------------------------

def test_consent_for_bob_does_not_cancel_cy_who_took_the_slot_meanwhile(owner_client, day, db, mailbox):
    _confirm(db, day.bob, day.nine)
    page = owner_client.get(f"{_url(day, 'ada')}?timeslot_id={day.nine.id}")
    assert "Confirm Ada and cancel Bob’s meeting" in _text(page)
    _confirm(db, day.cy, day.nine)  # meanwhile (e.g. the API or another tab) Cy takes 09:00
    mailbox.messages.clear()
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": day.nine.id, "replaces": day.bob.id})
    assert response.status_code == 302 and f"timeslot_id={day.nine.id}" in response.location
    assert _meetings(db) == {day.cy.id: day.nine.id}
    assert mailbox.messages == []
    again = owner_client.get(response.location)
    assert "Confirm Ada and cancel Cy’s meeting" in _text(again)


def test_consent_shown_then_the_holder_left_confirms_without_cancelling_anyone(owner_client, day, db, mailbox):
    _confirm(db, day.bob, day.nine)
    owner_client.get(f"{_url(day, 'ada')}?timeslot_id={day.nine.id}")
    owner_client.post(f"/calendars/{day.calendar.id}/invitees/{day.invitee('bob').id}/unconfirm",
                      follow_redirects=True)  # its flash shown
    mailbox.messages.clear()
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": day.nine.id, "replaces": day.bob.id},
                                 follow_redirects=True)
    assert "meeting was cancelled" not in _text(response)
    assert _meetings(db) == {day.ada.id: day.nine.id}
    assert mailbox.envelopes() == Counter({("ada@example.org", CONFIRMED): 1})


def test_double_submitted_accept_sends_nothing_more(owner_client, day, db, mailbox):
    _confirm(db, day.bob, day.nine)
    mailbox.messages.clear()
    data = {"timeslot_id": day.nine.id, "replaces": day.bob.id}
    owner_client.post(_url(day, "ada"), data=data)
    owner_client.post(_url(day, "ada"), data=data)
    assert _meetings(db) == {day.ada.id: day.nine.id}
    assert mailbox.envelopes() == Counter({("ada@example.org", CONFIRMED): 1, ("bob@example.org", CANCELLED): 1})


def test_double_submitted_accept_does_not_claim_a_second_email(owner_client, day, db, mailbox):
    """Found by the red team, fixed: the second submission of the same form (double click, back + resubmit)
    changes nothing
    and sends nothing, yet flashes "Confirmed Ada Lovelace on …; they were emailed the meeting.".
    The same happens for "Move" to the slot the meeting is already in. It should say that Ada's
    meeting is already at that time and nobody was emailed."""
    _confirm(db, day.bob, day.nine)
    data = {"timeslot_id": day.nine.id, "replaces": day.bob.id}
    owner_client.post(_url(day, "ada"), data=data, follow_redirects=True)  # (its flash is shown there)
    mailbox.messages.clear()
    second = _text(owner_client.post(_url(day, "ada"), data=data, follow_redirects=True))
    assert mailbox.messages == []
    assert "they were emailed" not in second, "the flash claims an email that was not sent"


# ---- mail of moves and bumps ---------------------------------------------------------------------------

def test_move_into_bobs_slot_that_ada_picked_sends_one_moved_and_one_cancelled(owner_client, day, db, mailbox):
    _confirm(db, day.ada, day.ten)
    _confirm(db, day.bob, day.nine)
    mailbox.messages.clear()
    first = owner_client.post(_url(day, "ada"), data={"timeslot_id": day.nine.id, "move": "1"})
    assert "move=1" in first.location and _meetings(db) == {day.ada.id: day.ten.id, day.bob.id: day.nine.id}
    page = _text(owner_client.get(first.location))
    assert "moves Ada Lovelace’s meeting from" in page and "cancels Bob Babbage’s meeting" in page
    response = owner_client.post(_url(day, "ada"), data={"timeslot_id": day.nine.id, "move": "1",
                                                         "replaces": day.bob.id}, follow_redirects=True)
    text = _text(response)
    assert "Moved Ada Lovelace’s meeting to" in text and "a time they did not pick" not in text
    assert "Bob Babbage’s meeting was cancelled" in text
    assert _meetings(db) == {day.ada.id: day.nine.id}
    assert mailbox.envelopes() == Counter({("ada@example.org", MOVED): 1, ("bob@example.org", CANCELLED): 1})
    [moved] = mailbox.to("ada@example.org")
    body = text_of(moved)
    assert "Was:" in body and "10:00" in body.split("Was:")[1]


def test_displacing_an_owner_placed_meeting_deletes_it(owner_client, day, db, mailbox):
    """Bob's owner-placed meeting at 11:00, moved back to his own 09:00 pick: the placed row goes, one
    "Moved" email."""
    _place(owner_client, day, "bob", day.eleven, db)
    mailbox.messages.clear()
    response = owner_client.post(_url(day, "bob"), data={"timeslot_id": day.nine.id, "move": "1"})
    assert response.status_code == 302
    assert _pick(db, day.bob, day.eleven) is None
    assert _meetings(db) == {day.bob.id: day.nine.id}
    assert mailbox.envelopes() == Counter({("bob@example.org", MOVED): 1})


def test_placing_a_meeting_for_someone_who_has_none_works_but_the_flash_does_not_say_unpicked(
        owner_client, day, db, mailbox):
    """move=1 for an invitee without a meeting places one in a slot they did not pick. The invitees page
    never offers this (the Move form is only on confirmed rows), but the POST accepts it; the flash then
    says "Confirmed Ada Lovelace on …" without the "a time they did not pick" warning."""
    mailbox.messages.clear()
    text = _text(owner_client.post(_url(day, "ada"), data={"timeslot_id": day.eleven.id, "move": "1"},
                                   follow_redirects=True))
    assert _meetings(db) == {day.ada.id: day.eleven.id}
    assert mailbox.envelopes() == Counter({("ada@example.org", CONFIRMED): 1})
    assert "did not pick" in text, "the owner is not told the time was not one Ada picked"


# ---- an owner-placed meeting elsewhere in the app --------------------------------------------------------

def test_the_pick_page_does_not_show_the_placed_meeting_as_an_answer(owner_client, client, day, db):
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "ada", day.eleven, db)
    page = client.get(f"/pick/{day.token('ada')}").get_data(as_text=True)
    assert "Your meeting" in page
    # Her answers: 09:00 preferred, 10:00 if need be; 11:00 "can't" (she never picked it).
    checked = dict(re.findall(r'name="slot-(\d+)" id="[^"]*" value="([a-z_]*)" autocomplete="off"\s*checked', page))
    assert checked == {str(day.nine.id): "preferred", str(day.ten.id): "if_need_be",
                       str(day.eleven.id): "", str(day.twelve.id): ""}


def test_the_invitees_page_with_a_placed_meeting(owner_client, day, db):
    """Ada's row: her meeting at 11:00; the Move list offers her own picks (09:00, 10:00) and the free
    12:00 as "not picked", never 11:00 as one of her picks; the grid marks 11:00 confirmed and counts
    nobody as able to make it."""
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "ada", day.eleven, db)
    page = owner_client.get(f"/calendars/{day.calendar.id}/invitees")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f'id="invitee-{day.invitee("ada").id}"'):]
    row = row[:row.index("</tr>")]
    options = dict(re.findall(r'<option value="(\d+)">([^<]*)</option>', row))
    assert set(options) == {str(day.nine.id), str(day.ten.id), str(day.twelve.id)}, options
    assert "not picked" in options[str(day.twelve.id)]
    assert "Mon 03 Jun, 11:00" in row  # her meeting
    assert "Preferred" in options[str(day.nine.id)] and "If need be" in options[str(day.ten.id)]


def test_the_suggestions_with_a_placed_meeting(owner_client, owner, client, day, db):
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "ada", day.eleven, db)
    page = owner_client.get(f"/calendars/{day.calendar.id}/suggestions")
    assert page.status_code == 200
    response = client.get(f"/api/calendars/{day.calendar.id}/suggested/", headers=_token(owner))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    best = response.get_json()[0] if isinstance(response.get_json(), list) else response.get_json()
    assert best is not None


def test_the_suggestions_page_does_not_give_ada_an_answer_she_never_gave(owner_client, day, db):
    """Held: the engine is fed the placed row as a pick, but keeps it as a confirmed meeting in every
    schedule, and the page labels it "Confirmed", never "If need be"."""
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "ada", day.eleven, db)
    text = _text(owner_client.get(f"/calendars/{day.calendar.id}/suggestions"))
    ada_lines = re.findall(r"11:00–11:30 Ada Lovelace \S+", text)
    assert ada_lines and all(line.endswith("Confirmed") for line in ada_lines), ada_lines


def test_the_api_shows_a_placed_meeting_without_inventing_a_preference(owner_client, owner, client, day, db):
    """Found by the red team, fixed: GET /api/events/<id>/ and GET /api/timeslots/<id>/events/ show the
    owner-placed meeting
    as {"preference": "if_need_be", "status": "confirmed"}: an API client reads it as Ada's
    "if need be" answer; nothing says the owner placed it (no `owner_placed` field)."""
    _confirm(db, day.ada, day.nine)
    placed = _place(owner_client, day, "ada", day.eleven, db)
    headers = _token(owner)
    event = client.get(f"/api/events/{placed.id}/", headers=headers)
    assert event.status_code == 200
    listed = client.get(f"/api/timeslots/{day.eleven.id}/events/", headers=headers)
    assert listed.status_code == 200 and [e["id"] for e in listed.get_json()] == [placed.id]
    body = event.get_json()
    assert "owner_placed" in body or body["preference"] != "if_need_be", body


def test_unconfirming_a_placed_meeting_through_the_api(owner_client, owner, client, day, db, mailbox):
    """PUT {"confirmed": false} on an owner-placed event deletes it. The answer is a 200 with the
    deleted event's body (id of a row that no longer exists); a GET of it is then 404."""
    _confirm(db, day.ada, day.nine)
    placed = _place(owner_client, day, "ada", day.eleven, db)
    headers = _token(owner)
    mailbox.messages.clear()
    response = client.put(f"/api/events/{placed.id}/", json={"confirmed": False}, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert response.status_code == 200 and body["confirmed"] is False and body["status"] == "removed"
    assert _pick(db, day.ada, day.eleven) is None
    assert client.get(f"/api/events/{placed.id}/", headers=headers).status_code == 404
    assert mailbox.envelopes() == Counter({("ada@example.org", CANCELLED): 1})
    # And again: the event is gone.
    assert client.put(f"/api/events/{placed.id}/", json={"confirmed": False}, headers=headers).status_code == 404


def test_the_api_unconfirm_of_a_placed_meeting_does_not_report_a_pick(owner_client, owner, client, day, db):
    """Found by the red team (API honesty), fixed: the 200 body above says status "picked" (the invitee can
    make it) for a row
    that was deleted and that she never picked. It should be 204, or a body that says it was removed."""
    _confirm(db, day.ada, day.nine)
    placed = _place(owner_client, day, "ada", day.eleven, db)
    response = client.put(f"/api/events/{placed.id}/", json={"confirmed": False}, headers=_token(owner))
    assert response.status_code == 204 or (response.get_json() or {}).get("status") != "picked"


def test_api_confirm_of_a_pick_in_a_placed_slot_deletes_the_placed_meeting(owner_client, owner, client, day, db,
                                                                            mailbox, make_event):
    _place(owner_client, day, "bob", day.twelve, db)
    cy_pick = make_event(day.twelve, day.cy)  # a pick made before the placement (rule 3 keeps it)
    mailbox.messages.clear()
    response = client.put(f"/api/events/{cy_pick.id}/", json={"confirmed": True}, headers=_token(owner))
    assert response.status_code == 200
    assert _pick(db, day.bob, day.twelve) is None
    assert _meetings(db) == {day.cy.id: day.twelve.id}
    assert mailbox.envelopes() == Counter({("cy@example.org", CONFIRMED): 1, ("bob@example.org", CANCELLED): 1})


def test_revoking_an_invitee_with_a_placed_meeting(owner_client, day, db, mailbox):
    _place(owner_client, day, "ada", day.eleven, db)
    mailbox.messages.clear()
    response = owner_client.post(f"/calendars/{day.calendar.id}/invitees/{day.invitee('ada').id}/revoke")
    assert response.status_code == 302
    assert _pick(db, day.ada, day.eleven) is None and _pick(db, day.ada, day.nine) is None
    subjects = [m["Subject"] for m in mailbox.to("ada@example.org")]
    assert subjects == [CANCELLED], subjects


def test_deleting_the_slot_of_a_placed_meeting_asks_and_cancels(owner_client, day, db, mailbox):
    _place(owner_client, day, "ada", day.eleven, db)
    url = f"/calendars/{day.calendar.id}/timeslots/{day.eleven.id}/delete"
    page = owner_client.get(url)
    assert page.status_code == 200 and "Ada Lovelace" in _text(page)
    mailbox.messages.clear()
    refused = owner_client.post(url, data={})
    assert refused.status_code >= 400 and _meetings(db) == {day.ada.id: day.eleven.id}
    done = owner_client.post(url, data={"confirm": "y"})
    assert done.status_code == 302
    assert _meetings(db) == {}
    assert mailbox.envelopes() == Counter({("ada@example.org", CANCELLED): 1})
    # Her answers are hers again: the pick page is open.
    assert _pick(db, day.ada, day.nine).preference == "preferred"


def _edit(owner_client, day, slot, start: str, end: str, **extra):
    return owner_client.post(f"/calendars/{day.calendar.id}/timeslots/{slot.id}/edit",
                             data={"date": "2030-06-03", "start_time": start, "end_time": end, **extra})


def test_moving_the_slot_of_a_placed_meeting_then_cancelling(owner_client, day, db, mailbox):
    _place(owner_client, day, "ada", day.eleven, db)
    mailbox.messages.clear()
    response = _edit(owner_client, day, day.eleven, "15:00", "15:30", acknowledge="y")
    assert response.status_code == 302, _text(response)[:800]
    assert mailbox.envelopes() == Counter({("ada@example.org", MOVED): 1})
    placed = _pick(db, day.ada, day.eleven)
    assert placed.confirmed and placed.owner_placed
    owner_client.post(f"/calendars/{day.calendar.id}/invitees/{day.invitee('ada').id}/unconfirm")
    assert _pick(db, day.ada, day.eleven) is None


def test_the_slot_edit_page_does_not_call_a_placed_meeting_a_pick(owner_client, day, db):
    """Found by the red team (wording), fixed: the edit page of a slot holding Ada's owner-placed meeting
    says "1 invitee picked
    this slot." (calendar_receivers._slot_pickers does not exclude owner-placed rows); she never picked
    it. The rest ("Ada Lovelace’s confirmed meeting moves with the slot") is right."""
    _place(owner_client, day, "ada", day.eleven, db)
    page = _text(owner_client.get(f"/calendars/{day.calendar.id}/timeslots/{day.eleven.id}/edit"))
    assert "Ada Lovelace’s confirmed meeting moves with the slot" in page
    assert "1 invitee picked this slot" not in page


def test_the_calendar_page_does_not_count_a_placed_meeting_as_a_pick(owner_client, day, db):
    """Found by the red team, fixed: calendar_receivers._slot_summaries counts owner-placed rows as picks, so
    the calendar
    page says "1 pick" for a slot nobody picked (the invitees page, pages.py, excludes them)."""
    _place(owner_client, day, "ada", day.twelve, db)
    from oneonone.calendars import grid
    summary = grid.timeslot_summary(day.twelve)
    assert summary.picks == 0, summary


def test_a_moved_slot_leaves_no_invented_answer_after_the_meeting_is_cancelled(owner_client, day, db):
    """Found by the red team (issue 18 point 3 meets point 2), fixed: Ada's meeting is her own 09:00 pick.
    The owner moves the
    slot to 15:00 (her meeting moves with it, "Moved" email: fine), then cancels the meeting. Her
    "preferred" pick now stands at 15:00, a time she never chose: the answers grid and the suggestions
    count her as available then. The slot move keeps the confirmed pick; cancelling later should drop
    it (or the move should turn it into an owner-placed meeting)."""
    _confirm(db, day.ada, day.nine)
    response = _edit(owner_client, day, day.nine, "15:00", "15:30", acknowledge="y")
    assert response.status_code == 302, _text(response)[:800]
    owner_client.post(f"/calendars/{day.calendar.id}/invitees/{day.invitee('ada').id}/unconfirm")
    assert _pick(db, day.ada, day.nine) is None, "Ada keeps a pick of 15:00 that she never made"


def test_a_slot_move_leaving_only_a_placed_meeting_makes_them_unanswered(owner_client, day, db, mailbox):
    """Found by the red team (small), fixed: slot_changes._picks_left counts owner-placed rows. Ada's meeting
    is owner-placed at
    11:00 and her only answers were 09:00 and 10:00; both slots move, her picks go, but she still counts
    as answered (responded_at kept, the email says she still has other picks), because the placed row is
    counted as one of her answers. After the meeting is cancelled she is never reminded."""
    _confirm(db, day.ada, day.nine)
    _place(owner_client, day, "ada", day.eleven, db)
    for slot, start, end in ((day.nine, "16:00", "16:30"), (day.ten, "17:00", "17:30")):
        response = _edit(owner_client, day, slot, start, end, acknowledge="y")
        assert response.status_code == 302, _text(response)[:800]
    assert {slot for (contact, slot, *_rest) in _events(db) if contact == day.ada.id} == {day.eleven.id}
    db.session.expire_all()
    assert day.invitee("ada").responded_at is None, "Ada has no answer left but counts as answered"


# ---- names are escaped ----------------------------------------------------------------------------------

def test_names_are_escaped_on_the_invitees_and_consent_pages(owner_client, owner, day, db, make_contact,
                                                             make_invitee, make_event):
    evil = make_contact(owner=owner, first_name=XSS, last_name='"><script>alert(2)</script>',
                        email="evil@example.org")
    invitee, _ = make_invitee(day.calendar, evil)
    make_event(day.nine, evil)
    make_event(day.ten, evil)
    _confirm(db, evil, day.nine)
    _confirm(db, day.ada, day.ten)
    pages = [owner_client.get(f"/calendars/{day.calendar.id}/invitees"),
             owner_client.get(f"{_url(day, 'ada')}?timeslot_id={day.nine.id}&move=1"),
             owner_client.get(f"/calendars/{day.calendar.id}/invitees/{invitee.id}/confirm"
                              f"?timeslot_id={day.ten.id}&move=1")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<img src=x" not in html and "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0].get_data(as_text=True)
    flashed = owner_client.post(f"/calendars/{day.calendar.id}/invitees/{invitee.id}/confirm",
                                data={"timeslot_id": day.ten.id, "move": "1", "replaces": day.ada.id},
                                follow_redirects=True).get_data(as_text=True)
    assert "<img src=x" not in flashed and "<script>alert(2)" not in flashed
    assert _meetings(db) == {evil.id: day.ten.id}


# ---- concurrency: eight owners' clicks into one free slot --------------------------------------------

def test_eight_simultaneous_confirms_and_moves_into_one_free_slot(app, owner, day, db, make_contact,
                                                                  make_invitee, make_event, mailbox, login):
    """Eight invitees, four with a pick of 12:00 (plain confirm) and four with a meeting elsewhere moved
    there with move=1, fired together from eight signed-in clients (Flask test clients in threads):
    at most one meeting in 12:00, one per invitee, no 5xx, every loser sent somewhere sensible, and each
    invitee's mail matches what stands."""
    slots = [day.nine, day.ten, day.eleven]
    people = []
    for n in range(8):
        contact = make_contact(owner=owner, first_name=f"Racer{n}", last_name="Person",
                               email=f"racer{n}@example.org")
        invitee, _ = make_invitee(day.calendar, contact)
        people.append((contact, invitee))
    from oneonone.calendars.models import Timeslot
    extra = []
    for n in range(4):
        start = day.twelve.start_time + dt.timedelta(hours=2 + n)
        slot = Timeslot(calendar_id=day.calendar.id, start_time=start, end_time=start + dt.timedelta(minutes=30))
        db.session.add(slot)
        extra.append(slot)
    db.session.commit()
    for n, (contact, _invitee) in enumerate(people):
        if n < 4:
            make_event(day.twelve, contact)
        else:
            make_event(extra[n - 4], contact)
            _confirm(db, contact, extra[n - 4])
    del slots
    mailbox.messages.clear()
    clients = []
    for _ in people:
        c = app.test_client()
        c.post("/accounts/signin", data={"email": owner.email, "password": "correct-horse-battery"})
        clients.append(c)
    barrier = threading.Barrier(len(people))
    results: list = [None] * len(people)
    twelve, calendar_id = day.twelve.id, day.calendar.id
    posts = [(f"/calendars/{calendar_id}/invitees/{invitee.id}/confirm",
              {"timeslot_id": twelve, **({"move": "1"} if i >= 4 else {})}) for i, (_c, invitee) in enumerate(people)]
    emails = [contact.email for contact, _ in people]
    contact_ids = [contact.id for contact, _ in people]
    extra_ids = [slot.id for slot in extra]

    def run(i: int) -> None:
        url, data = posts[i]
        barrier.wait()
        response = clients[i].post(url, data=data)
        results[i] = (response.status_code, response.location, response.get_data(as_text=True)[:2000])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results), results
    assert all(status == 302 for status, _, _ in results), results
    meetings = _meetings(db)
    in_twelve = [c for c, s in meetings.items() if s == twelve]
    assert len(in_twelve) == 1, meetings
    winner = in_twelve[0]
    for i, contact_id in enumerate(contact_ids):
        _status, location, _body = results[i]
        if contact_id == winner:
            assert location.endswith("/invitees"), location
        else:
            # a loser with a pick there is asked (the consent page) or told; never a silent displacement
            assert location.endswith("/invitees") or "timeslot_id=" in location, location
    mailbox.wait_for(1)
    time.sleep(0.5)
    for i, contact_id in enumerate(contact_ids):
        subjects = [m["Subject"] for m in mailbox.to(emails[i])]
        if contact_id == winner:
            assert subjects == ([CONFIRMED] if i < 4 else [MOVED]), (i, subjects)
        else:
            assert subjects == [], (i, subjects)
    # Nobody lost their old meeting by losing the race.
    for i in range(4, 8):
        if contact_ids[i] != winner:
            assert meetings.get(contact_ids[i]) == extra_ids[i - 4]


def _vevent(message):
    import icalendar
    return next(iter(icalendar.Calendar.from_ical(text_of(message, "text/calendar")).walk("VEVENT")))


def _signed_in_clients(app, owner, count: int) -> list:
    clients = []
    for _ in range(count):
        c = app.test_client()
        assert c.post("/accounts/signin", data={"email": owner.email,
                                                "password": "correct-horse-battery"}).status_code == 302
        clients.append(c)
    return clients


def _fire(clients, posts) -> list:
    """POST posts[i] from clients[i], all released together by one barrier; (status, location) each."""
    barrier = threading.Barrier(len(posts))
    results: list = [None] * len(posts)

    def run(i: int) -> None:
        url, data = posts[i]
        barrier.wait()
        response = clients[i].post(url, data=data)
        results[i] = (response.status_code, response.location)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results), results
    return results


def test_eight_simultaneous_accepts_naming_bob_cancel_him_once(app, owner, day, db, make_contact, make_invitee,
                                                              make_event, mailbox):
    """Bob holds 09:00; eight consent pages (eight invitees who picked 09:00) are accepted at once, each
    naming Bob: one wins, Bob gets one "Cancelled", the winner one "Confirmed", the seven others are
    sent back to a consent page that now names the winner, and nobody else is emailed."""
    people = []
    for n in range(8):
        contact = make_contact(owner=owner, first_name=f"Rival{n}", last_name="Person", email=f"rival{n}@example.org")
        invitee, _ = make_invitee(day.calendar, contact)
        make_event(day.nine, contact)
        people.append((contact.id, invitee.id, contact.email))
    _confirm(db, day.bob, day.nine)
    nine, bob_id, calendar_id = day.nine.id, day.bob.id, day.calendar.id
    mailbox.messages.clear()
    clients = _signed_in_clients(app, owner, len(people))
    results = _fire(clients, [(f"/calendars/{calendar_id}/invitees/{invitee_id}/confirm",
                               {"timeslot_id": nine, "replaces": bob_id}) for _, invitee_id, _ in people])
    assert all(status == 302 for status, _ in results), results
    meetings = _meetings(db)
    [winner] = [c for c, s in meetings.items() if s == nine]
    assert winner != bob_id
    asked_again = [loc for (cid, _, _), (_, loc) in zip(people, results, strict=True) if cid != winner]
    assert all(f"timeslot_id={nine}" in loc for loc in asked_again), asked_again
    mailbox.wait_for(2)
    time.sleep(0.5)
    expected = Counter({("bob@example.org", CANCELLED): 1})
    expected[(next(e for c, _, e in people if c == winner), CONFIRMED)] = 1
    assert mailbox.envelopes() == expected


def test_a_double_clicked_move_to_two_free_slots_leaves_one_meeting_and_truthful_mail(app, owner, day, db,
                                                                                      mailbox):
    """The owner's two tabs move Ada's meeting (at 09:00) to 11:00 and to 12:00 at the same moment: one
    meeting, no stray owner-placed row, and her latest email (by SEQUENCE) names where it stands."""
    _confirm(db, day.ada, day.nine)
    ada_id, url = day.ada.id, _url(day, "ada")
    eleven, twelve = day.eleven.id, day.twelve.id
    for _round in range(12):
        mailbox.messages.clear()
        clients = _signed_in_clients(app, owner, 2)
        results = _fire(clients, [(url, {"timeslot_id": eleven, "move": "1"}),
                                  (url, {"timeslot_id": twelve, "move": "1"})])
        assert all(status == 302 for status, _ in results), results
        rows = [r for r in _events(db) if r[0] == ada_id]
        meetings = [r for r in rows if r[2]]
        assert len(meetings) == 1, rows
        assert not [r for r in rows if r[3] and not r[2]]
        assert {r[1] for r in rows if r[3]} <= {meetings[0][1]}  # only the standing meeting is placed
        mail = mailbox.wait_for(1)
        time.sleep(0.3)
        mail = mailbox.to("ada@example.org")
        assert mail and all(m["Subject"] == MOVED for m in mail), [m["Subject"] for m in mail]
        where = "11:00" if meetings[0][1] == eleven else "12:00"
        # The email with the highest SEQUENCE (what a calendar app applies) names where it stands ...
        by_sequence = sorted(mail, key=lambda m: int(_vevent(m)["sequence"]))
        assert where in text_of(by_sequence[-1]).split("Was:")[0]
        # (The one that arrives last may be the other: two requests' mail is sent by two threads, in
        # either order. Known limitation, in the stop notes; calendar apps go by SEQUENCE.)
        # back to 09:00 for the next round
        owner_client = clients[0]
        owner_client.post(url, data={"timeslot_id": day.nine.id, "move": "1"})


def test_the_schedule_csv_does_not_invent_a_preference_for_a_placed_meeting(owner_client, day, db):
    """Found by the red team (same family as the API), fixed: views.schedule_csv writes `meeting.preference`,
    so the placed
    meeting's row says "if_need_be", an answer Ada never gave."""
    _place(owner_client, day, "ada", day.eleven, db)
    csv_text = owner_client.get(f"/calendars/{day.calendar.id}/schedule.csv").get_data(as_text=True)
    [row] = [line for line in csv_text.splitlines() if "ada@example.org" in line]
    assert "if_need_be" not in row, row


def test_the_confirm_page_for_the_slot_of_their_own_meeting_does_not_promise_an_email(owner_client, day, db):
    """Found by the red team (same family as the double submit), fixed: GET .../confirm?timeslot_id=<Ada's
    own meeting> says
    "Confirm Ada Lovelace? … Ada is emailed the meeting." and offers Confirm, which changes nothing and
    sends nothing. It should say that this is already her meeting."""
    _confirm(db, day.ada, day.nine)
    text = _text(owner_client.get(f"{_url(day, 'ada')}?timeslot_id={day.nine.id}"))
    assert "Ada is emailed the meeting" not in text


# ---- the same race against a real server (gunicorn -w 2, outbox thread) -------------------------------

@pytest.fixture
def real_server(app, tmp_path, database_url):
    """gunicorn -w 2 on the test database with a real SMTP sink; stopped before `app` empties the tables."""
    from load.support import Gunicorn, SmtpSink, app_env

    sink = SmtpSink()
    sink.start()
    server = Gunicorn(app_env(database_url, sink.port), tmp_path / "gunicorn.log", workers=2)
    try:
        yield server.start(), sink
    finally:
        server.stop()
        sink.stop()


@pytest.mark.slow
def test_eight_simultaneous_confirms_and_moves_on_a_real_server(app, db, make_user, real_server):
    from load.scenario import (
        OWNER_PASSWORD,
        OwnerBrowser,
        confirmed_slots,
        drain_outbox,
        make_calendar,
        make_guests,
        no_tracebacks,
        server_errors,
        subjects_by_recipient,
    )
    from load.support import run_together

    server, sink = real_server
    rounds = 5
    owner = make_user(password=OWNER_PASSWORD)
    calendar_id, slot_ids = make_calendar(owner, name=CAL, slots=rounds * 5)
    plan = []  # per round: the free slot, 4 guests who picked it, 4 guests with a meeting elsewhere
    for r in range(rounds):
        free, homes = slot_ids[5 * r], slot_ids[5 * r + 1:5 * r + 5]
        pickers = make_guests(owner, calendar_id, 4, f"picker{r}x", picks=[[free]] * 4)
        movers = make_guests(owner, calendar_id, 4, f"mover{r}x", picks=[[home] for home in homes])
        db.session.execute(sa.update(Event).where(Event.contact_id.in_([g.contact_id for g in movers]))
                           .values(confirmed=True))
        db.session.commit()
        plan.append((free, pickers, movers))
    owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)
    outcomes = []
    for free, pickers, movers in plan:
        posts = [(g, {"timeslot_id": str(free)}) for g in pickers] + \
                [(g, {"timeslot_id": str(free), "move": "1"}) for g in movers]

        def go(i: int, barrier, posts=posts):
            guest, form = posts[i]
            barrier.wait()
            return owner_browser.post(f"/calendars/{calendar_id}/invitees/{guest.invitee_id}/confirm",
                                      label=f"confirm {guest.email}", **form)

        outcomes.append(run_together(len(posts), go))
    drain_outbox(sink)
    meetings = dict(confirmed_slots(calendar_id))
    received = subjects_by_recipient(sink)
    assert not server_errors([o for round_ in outcomes for o in round_])
    problems = []
    for (free, pickers, movers), round_ in zip(plan, outcomes, strict=True):
        winners = [c for c, s in meetings.items() if s == free]
        assert len(winners) == 1, (free, winners)
        for guest, outcome in zip(pickers + movers, round_, strict=True):
            subjects = dict(received.get(guest.email, {}))
            won = guest.contact_id == winners[0]
            mover = guest in movers
            expected = ({MOVED: 1} if mover else {CONFIRMED: 1}) if won else {}
            if subjects != expected:
                problems.append((guest.email, won, subjects))
            if not won and mover and meetings.get(guest.contact_id) != guest.slot_ids[0]:
                problems.append((guest.email, "lost their meeting", meetings.get(guest.contact_id)))
            if not won and "/confirm?timeslot_id=" not in outcome.location and not outcome.location.endswith(
                    "/invitees"):
                problems.append((guest.email, "sent to", outcome.location))
    assert not problems, problems
    no_tracebacks(server)
