"""Invitations every calendar client recognises (issue 17 point 7), read from the SMTP sink.

A meeting email is multipart/mixed: a multipart/alternative of text/plain, text/html and the
inline `text/calendar; method=REQUEST|CANCEL` part (iMIP, where Outlook looks for it), then the same
.ics as an attachment. Downloads (the pick page's meeting.ics, the owner's feed) are METHOD:PUBLISH
without RSVP. Every kind parses with two independent parsers: icalendar and vobject.
"""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from oneonone.accounts.services import rotate_feed_token
from oneonone.scheduling import answers, confirmations
from oneonone.scheduling.models import Event
from oneonone.transaction import unit_of_work


@pytest.fixture
def day(ada_and_bob):
    day = ada_and_bob(name="Interview day", invite=("ada",))
    with unit_of_work():
        answers.save_picks(day.invitee("ada"), {day.nine.id: "preferred", day.ten.id: "if_need_be"})
    return day


def _confirm(db, day, slot) -> None:
    with unit_of_work():
        confirmations.set_pick_confirmed(db.session.scalar(sa.select(Event).where(
            Event.contact_id == day.ada.id, Event.timeslot_id == slot.id)), True)


def _both_parse(text: str) -> tuple[icalendar.Calendar, object]:
    """The file read by icalendar and by vobject; both see the same event."""
    first = icalendar.Calendar.from_ical(text)
    second = vobject.readOne(text)
    event = next(iter(first.walk("VEVENT")))
    assert str(second.vevent.uid.value) == str(event["uid"])
    assert second.vevent.dtstart.value == event.decoded("dtstart")
    return first, second


def _structure(message) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


@pytest.mark.parametrize("kind", ["confirmed", "moved", "cancelled"])
def test_every_meeting_email_carries_the_calendar_inline_and_attached(db, day, mailbox, kind):
    _confirm(db, day, day.nine)
    if kind == "moved":
        _confirm(db, day, day.ten)
    if kind == "cancelled":
        with unit_of_work():
            confirmations.cancel_meeting(day.invitee("ada"))
    message = mailbox.to("ada@example.org")[-1]
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    inline = alternative.get_payload()[2]
    assert inline.get_param("method") == method and inline.get_filename() is None
    assert inline.get_content_disposition() is None
    assert attachment.get_content_type() == "text/calendar" and attachment.get_filename().endswith(".ics")
    assert attachment.get_content_disposition() == "attachment"
    text = inline.get_payload(decode=True).decode()
    assert text == attachment.get_payload(decode=True).decode()
    calendar, _ = _both_parse(text)
    assert calendar["METHOD"] == method


def test_downloads_and_the_feed_publish_without_rsvp(db, day, client, owner):
    _confirm(db, day, day.nine)
    response = client.get(f"/pick/{day.token('ada')}/meeting.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "method=" not in response.headers["Content-Type"]
    calendar, _ = _both_parse(response.get_data(as_text=True))
    assert calendar["METHOD"] == "PUBLISH"
    assert "RSVP" not in response.get_data(as_text=True)
    with unit_of_work():
        token = rotate_feed_token(owner)
    feed = client.get(f"/feed/{token}.ics")
    assert feed.mimetype == "text/calendar" and "method=" not in feed.headers["Content-Type"]
    text = feed.get_data(as_text=True)
    assert "METHOD:PUBLISH" in text and "RSVP" not in text
    assert vobject.readOne(text).vevent.dtstart.value == dt.datetime(2030, 6, 3, 8, tzinfo=dt.UTC)
