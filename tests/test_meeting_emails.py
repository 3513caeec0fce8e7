"""Meeting emails that lead somewhere (issue 17 point 6), read from the SMTP sink.

Confirmation, update and cancellation carry the invitee's page link while the invitation lives;
"Moved" shows the old and the new time; "Cancelled" says whether they can pick a new time (with the
link) or not (answers closed, invitation withdrawn, calendar deleted: no dead link); the confirmation
has "Add to Google Calendar" and "Add to Outlook" links built from the meeting.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import sqlalchemy as sa
from mailsink import link_in, text_of

from oneonone.calendars import services as calendar_services
from oneonone.scheduling import answers, confirmations, invitations
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


def _links(message) -> list[str]:
    return re.findall(r"https?://\S+", text_of(message))


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_the_confirmation_adds_to_google_and_outlook_and_links_the_page(db, day, mailbox, client):
    _confirm(db, day, day.nine)
    [message] = mailbox.to("ada@example.org")[-1:]
    text = text_of(message)
    google = next(url for url in _links(message) if url.startswith("https://calendar.google.com/"))
    outlook = next(url for url in _links(message) if url.startswith("https://outlook.live.com/"))
    assert "Add to Google Calendar: " + google in text and "Add to Outlook: " + outlook in text
    assert _query(google)["action"] == "TEMPLATE"
    assert _query(google)["dates"] == "20300603T080000Z/20300603T083000Z"  # 09:00 London (BST)
    assert "Interview day" in _query(google)["text"]
    assert _query(outlook)["startdt"] == "2030-06-03T08:00:00Z"
    assert _query(outlook)["enddt"] == "2030-06-03T08:30:00Z"
    assert "Interview day" in _query(outlook)["subject"]
    html = text_of(message, "text/html")
    assert "Add to Google Calendar</a>" in html and "Add to Outlook</a>" in html
    assert client.get(link_in(message, "/pick/")).status_code == 200


def test_the_update_names_both_times_and_links_the_page(db, day, mailbox, client):
    _confirm(db, day, day.nine)
    _confirm(db, day, day.ten)
    moved = mailbox.to("ada@example.org")[-1]
    text = text_of(moved)
    assert "has moved" in text
    assert "10:00" in text.split("Was:")[0] and "09:00" in text.split("Was:")[1]
    assert client.get(link_in(moved, "/pick/")).status_code == 200


def test_a_cancellation_while_answers_are_open_invites_a_new_pick(db, day, mailbox, client):
    _confirm(db, day, day.nine)
    with unit_of_work():
        confirmations.cancel_meeting(day.invitee("ada"))
    cancelled = mailbox.to("ada@example.org")[-1]
    text = text_of(cancelled)
    assert "You can pick a new time" in text
    page = client.get(link_in(cancelled, "/pick/"))
    assert page.status_code == 200 and "Save my answer" in page.get_data(as_text=True)


def test_a_cancellation_after_the_deadline_says_there_is_nothing_to_pick(db, day, mailbox):
    _confirm(db, day, day.nine)
    day.calendar.response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    with unit_of_work():
        confirmations.cancel_meeting(day.invitee("ada"))
    text = text_of(mailbox.to("ada@example.org")[-1])
    assert "Answers for “Interview day” are closed" in text
    assert "You can pick a new time" not in text


@pytest.mark.parametrize("how", ["revoked", "calendar deleted"])
def test_a_cancellation_that_ends_the_invitation_carries_no_dead_link(db, day, mailbox, how):
    _confirm(db, day, day.nine)
    with unit_of_work():
        if how == "revoked":
            invitations.revoke_invitation(day.invitee("ada"))
        else:
            calendar_services.delete_calendar(day.calendar)
    cancelled = mailbox.to("ada@example.org")[-1]
    assert cancelled["Subject"] == 'Cancelled: "Interview day"'
    text = text_of(cancelled)
    assert "/pick/" not in text and "/pick/" not in text_of(cancelled, "text/html")
    assert "There is nothing more to do" in text


def test_the_meeting_details_are_in_the_emails_and_the_calendar_file(db, day, mailbox):
    calendar = day.calendar
    calendar.location, calendar.meeting_url = "Room 4.12, Quai 3", "https://meet.example.org/abc-defg"
    calendar.description = "Bring your portfolio.\nWe will talk for 30 minutes."
    db.session.commit()
    _confirm(db, day, day.nine)
    message = mailbox.to("ada@example.org")[-1]
    text = text_of(message).replace("\r\n", "\n")
    assert "Where: Room 4.12, Quai 3" in text and "Video call: https://meet.example.org/abc-defg" in text
    assert "Bring your portfolio.\n  We will talk for 30 minutes." in text
    html = text_of(message, "text/html")
    assert 'href="https://meet.example.org/abc-defg"' in html and "Room 4.12, Quai 3" in html
    event = next(iter(icalendar.Calendar.from_ical(text_of(message, "text/calendar")).walk("VEVENT")))
    assert str(event["location"]) == "Room 4.12, Quai 3"
    assert str(event["url"]) == "https://meet.example.org/abc-defg"
    assert "Bring your portfolio." in str(event["description"]) and "Join: https://meet.example.org" in str(
        event["description"])
    google = next(url for url in _links(message) if url.startswith("https://calendar.google.com/"))
    assert _query(google)["location"] == "Room 4.12, Quai 3"
    assert "Reply to this email to write to" in text


def test_a_one_line_agenda_of_2000_characters_is_delivered(db, day, mailbox):
    """SMTP refuses lines over 998 octets: bodies are quoted-printable, so long lines are wrapped."""
    day.calendar.description = "é" + "word " * 399
    db.session.commit()
    _confirm(db, day, day.nine)
    [message] = mailbox.to("ada@example.org")[-1:]
    assert message["Subject"].startswith("Confirmed")
    assert ("word " * 399).strip() in text_of(message).replace("\r\n", "\n").replace("\n  ", " ")
    assert all(len(line) <= 998 for line in message.as_bytes().split(b"\n"))
