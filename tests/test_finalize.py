"""Suggested schedules page, finalizing meetings, .ics emails, the feed and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import icalendar
import pytest
import sqlalchemy as sa
from mailsink import text_of

from oneonone.scheduling import answers, confirmations
from oneonone.scheduling.models import Event, Invitee
from oneonone.transaction import unit_of_work


def _ics(message) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text_of(message, "text/calendar"))


def _vevent(message) -> icalendar.Event:
    return next(iter(_ics(message).walk("VEVENT")))


@pytest.fixture
def day(ada_and_bob):
    """Two invitees who both want 09:00; Ada can also do 10:00 (high priority) if need be."""
    day = ada_and_bob(name="Interviews", timezone="Europe/Paris", start_date=dt.date(2030, 1, 7),
                      invite=("ada", "bob"))
    answers.save_picks(day.invitee("ada"), {day.nine.id: "preferred", day.ten.id: "if_need_be"})
    answers.save_picks(day.invitee("bob"), {day.nine.id: "preferred"})
    return day.calendar, day.ada, day.bob, day.nine, day.ten, day.token("ada"), day.token("bob")


def _event(db, contact, slot) -> Event:
    return db.session.scalar(sa.select(Event).where(Event.contact_id == contact.id,
                                                    Event.timeslot_id == slot.id))


def test_suggestions_page_shows_the_optimal_schedule_first(owner_client, day):
    calendar, _ada, _bob, _nine, _ten, *_ = day
    text = owner_client.get(f"/calendars/{calendar.id}/suggestions").get_data(as_text=True)
    best = text.split("Best schedule")[1].split("Option 2")[0]
    # Both scheduled: Ada must take 10:00 so that Bob gets 09:00.
    assert "<strong>2</strong> of 2 scheduled" in best
    assert "10:00–10:30" in best and "High priority" in best
    assert best.index("Bob Babbage") < best.index("Ada Lovelace")  # 09:00 Bob, then 10:00 Ada
    assert "Option 2" in text and "every slot they picked is taken" in text


def test_suggestions_when_nobody_answered(owner_client, owner, make_calendar, make_contact, make_invitee):
    calendar = make_calendar(owner=owner)
    make_invitee(calendar, make_contact(owner=owner))
    text = owner_client.get(f"/calendars/{calendar.id}/suggestions").get_data(as_text=True)
    assert "Nobody has answered yet" in text


def test_finalize_a_whole_schedule_emails_each_invitee_an_ics(owner_client, owner, day, mailbox, db):
    calendar, ada, bob, nine, ten, ada_token, _ = day
    response = owner_client.post(f"/calendars/{calendar.id}/suggestions/finalize",
                                 data={"pair": [f"{ada.id}:{ten.id}", f"{bob.id}:{nine.id}"]})
    assert response.status_code == 302
    assert _event(db, ada, ten).confirmed and _event(db, bob, nine).confirmed
    assert not _event(db, ada, nine).confirmed
    assert sorted(m["To"] for m in mailbox.messages if m["To"] != owner.email) == ["ada@example.org", "bob@example.org"]
    message = mailbox.to("ada@example.org")[0]
    assert message["Subject"] == 'Confirmed: "Interviews"'
    calendar_file = _ics(message)
    assert calendar_file["METHOD"] == "REQUEST"
    event = _vevent(message)
    assert event.decoded("dtstart") == dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)  # 10:00 Paris
    assert event.decoded("dtend") == dt.datetime(2030, 1, 7, 9, 30, tzinfo=dt.UTC)
    assert str(event["organizer"]) == f"mailto:{owner.email}"
    assert str(event["attendee"]) == "mailto:ada@example.org"
    assert int(event["sequence"]) == 0
    # The invitee's page now shows the meeting.
    text = owner_client.get(f"/pick/{ada_token}?tz=Europe/Paris").get_data(as_text=True)
    assert "Your meeting is confirmed" in text and "10:00–10:30" in text


def test_confirming_unconfirms_the_slots_other_event_and_moves_keep_the_uid(owner_client, day, mailbox, db):
    calendar, ada, bob, nine, ten, *_ = day
    ada_invitee = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == ada.id))
    bob_invitee = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == bob.id))
    owner_client.post(f"/calendars/{calendar.id}/invitees/{ada_invitee.id}/confirm", data={"timeslot_id": nine.id})
    first = _vevent(mailbox.to("ada@example.org")[-1])
    # Bob takes 09:00 (the owner accepts cancelling Ada's meeting): it is cancelled for her.
    owner_client.post(f"/calendars/{calendar.id}/invitees/{bob_invitee.id}/confirm",
                      data={"timeslot_id": nine.id, "replaces": ada.id})
    assert _event(db, bob, nine).confirmed and not _event(db, ada, nine).confirmed
    cancel = mailbox.to("ada@example.org")[-1]
    assert _ics(cancel)["METHOD"] == "CANCEL" and cancel["Subject"] == 'Cancelled: "Interviews"'
    assert _vevent(cancel)["uid"] == first["uid"]
    # Ada is confirmed at 10:00: same UID, higher SEQUENCE.
    owner_client.post(f"/calendars/{calendar.id}/invitees/{ada_invitee.id}/confirm", data={"timeslot_id": ten.id})
    again = _vevent(mailbox.to("ada@example.org")[-1])
    assert again["uid"] == first["uid"] and int(again["sequence"]) > int(_vevent(cancel)["sequence"])
    # Moving Ada back to 09:00 is impossible without displacing Bob; moving within her picks sends an update.
    with unit_of_work():
        confirmations.set_pick_confirmed(_event(db, ada, nine), True)
    moved = mailbox.to("ada@example.org")[-1]
    assert moved["Subject"] == 'Moved: "Interviews"' and _ics(moved)["METHOD"] == "REQUEST"
    text = text_of(moved)
    assert "for \"Interviews\" has moved." in text
    assert _vevent(moved)["uid"] == first["uid"]
    assert db.session.scalar(sa.select(sa.func.count()).where(Event.confirmed)) == 1  # Bob was displaced
    assert mailbox.to("bob@example.org")[-1]["Subject"] == 'Cancelled: "Interviews"'


def test_unconfirm_sends_a_cancellation(owner_client, day, mailbox, db):
    calendar, ada, _, nine, *_ = day
    event = _event(db, ada, nine)
    with unit_of_work():
        confirmations.set_pick_confirmed(event, True)
    invitee = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == ada.id))
    owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/unconfirm")
    assert not _event(db, ada, nine).confirmed
    assert _ics(mailbox.to("ada@example.org")[-1])["METHOD"] == "CANCEL"


def test_finalize_refuses_stale_or_malformed_schedules(owner_client, day, db, mailbox):
    calendar, ada, bob, nine, ten, *_ = day
    for pairs in ([f"{bob.id}:{ten.id}"], ["x:y"], [f"{ada.id}:{nine.id}", f"{bob.id}:{nine.id}"], []):
        response = owner_client.post(f"/calendars/{calendar.id}/suggestions/finalize", data={"pair": pairs})
        assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).where(Event.confirmed)) == 0
    assert mailbox.messages == []


def test_feed_and_csv_export(owner_client, owner, day, db, client):
    calendar, ada, bob, nine, ten, *_ = day
    with unit_of_work():
        confirmations.finalize_schedule(calendar, [(ada.id, ten.id), (bob.id, nine.id)])
    rows = list(csv.DictReader(io.StringIO(
        owner_client.get(f"/calendars/{calendar.id}/schedule.csv").get_data().decode("utf-8-sig"))))
    assert [(r["start"], r["email"], r["high_priority"]) for r in rows] == [
        ("09:00", "bob@example.org", "no"), ("10:00", "ada@example.org", "yes")]
    owner_client.post("/accounts/feed", data={"action": "rotate"})
    text = owner_client.get("/accounts/profile").get_data(as_text=True)
    url = text.split('id="feed-url" value="')[1].split('"')[0].removeprefix("http://oneonone.test")
    feed = icalendar.Calendar.from_ical(client.get(url).get_data())
    assert len(list(feed.walk("VEVENT"))) == 2
    owner_client.post("/accounts/feed", data={"action": "revoke"})
    assert client.get(url).status_code == 404


def test_confirm_choices_say_when_a_slot_is_taken(owner_client, day, db):
    calendar, ada, bob, nine, *_ = day
    with unit_of_work():
        confirmations.set_pick_confirmed(_event(db, bob, nine), True)
    text = owner_client.get(f"/calendars/{calendar.id}/invitees").get_data(as_text=True)
    ada_invitee = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == ada.id))
    ada_row = text.split(f'id="invitee-{ada_invitee.id}"')[1].split("</tr>")[0]
    assert "09:00 · Preferred · Bob Babbage’s meeting" in ada_row
    assert "10:00 · If need be</option>" in ada_row


def test_confirming_a_schedule_counts_only_new_meetings_and_warns_of_who_has_not_answered(
        owner_client, day, db, make_contact, make_invitee, owner):
    calendar, ada, bob, nine, ten, *_ = day
    make_invitee(calendar, make_contact(owner=owner, first_name="Cy", last_name="Young", email="cy@example.org"))
    with unit_of_work():
        confirmations.finalize_schedule(calendar, [(ada.id, ten.id)])
    text = owner_client.get(f"/calendars/{calendar.id}/suggestions").get_data(as_text=True)
    best = text.split("Best schedule")[1].split("Option 2")[0]
    assert "Confirm 1 new meeting and email that invitee? 1 invitee has not answered yet and would be left out." in best
    assert "meeting(s)" not in text
    response = owner_client.post(f"/calendars/{calendar.id}/suggestions/finalize",
                                 data={"pair": [f"{ada.id}:{ten.id}", f"{bob.id}:{nine.id}"]}, follow_redirects=True)
    assert "Schedule confirmed: 1 new meeting (1 already confirmed, unchanged)" in response.get_data(as_text=True)


def test_the_schedule_csv_opens_in_excel_with_accents_intact(owner_client, day, db):
    """A UTF-8 BOM (Excel reads the file as UTF-8 only with it) and CRLF rows."""
    calendar, ada, bob, nine, ten, *_ = day
    ada.first_name = "Zoë"
    calendar.location, calendar.meeting_url = "Room 4", "https://meet.example.org/x"
    db.session.commit()
    with unit_of_work():
        confirmations.finalize_schedule(calendar, [(ada.id, ten.id), (bob.id, nine.id)])
    data = owner_client.get(f"/calendars/{calendar.id}/schedule.csv").get_data()
    assert data.startswith("\ufeffdate,start,".encode())
    assert "Zoë".encode() in data
    assert data.count(b"\r\n") == 3 and data.replace(b"\r\n", b"").count(b"\n") == 0
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["location"], r["meeting_url"]) for r in rows] == [("Room 4", "https://meet.example.org/x")] * 2
