"""iCalendar (.ics) files for meetings, built with the icalendar library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

import icalendar
from flask import current_app

from ..db_types import utcnow

REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"
PRODID = "-//OneOnOne//Meetings//EN"


def meeting_uid(invitee_id: int) -> str:
    """A UID stable for an invitee's meeting, so updates and cancellations replace it."""
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "oneonone.local"
    return f"oneonone-meeting-{invitee_id}@{host}"


def _address(email: str, name: str, **params) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    address.params["cn"] = icalendar.vText(name)
    for key, value in params.items():
        address.params[key.replace("_", "-")] = icalendar.vText(value)
    return address


def meeting_event(
    *, invitee_id: int, sequence: int, start: dt.datetime, end: dt.datetime, summary: str,
    organizer_email: str, organizer_name: str, attendee_email: str, attendee_name: str,
    description: str = "", cancelled: bool = False, invitation: bool = True,
    location: str | None = None, url: str | None = None,
) -> icalendar.Event:
    """One VEVENT for a meeting; times in UTC. An `invitation` (REQUEST) asks the attendee to
    answer (RSVP); a published copy (a download, the feed) does not."""
    event = icalendar.Event()
    event.add("uid", meeting_uid(invitee_id))
    event.add("dtstamp", utcnow())
    event.add("dtstart", start.astimezone(dt.UTC))
    event.add("dtend", end.astimezone(dt.UTC))
    event.add("sequence", sequence)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", _address(organizer_email, organizer_name))
    answer = {"partstat": "NEEDS-ACTION", "rsvp": "TRUE"} if invitation else {}
    event.add("attendee", _address(attendee_email, attendee_name, role="REQ-PARTICIPANT", **answer))
    return event


def calendar_file(events: Iterable[icalendar.Event], method: str | None = REQUEST,
                  name: str | None = None) -> str:
    """A whole .ics file (text) holding `events`."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical().decode()


def add_to_calendar_links(*, summary: str, start: dt.datetime, end: dt.datetime,
                          details: str = "", location: str = "") -> dict[str, str]:
    """"Add to Google Calendar" and "Add to Outlook" addresses for a meeting (times in UTC)."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    google = {"action": "TEMPLATE", "text": summary, "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
              "details": details, "location": location}
    outlook = {"path": "/calendar/action/compose", "rru": "addevent", "subject": summary,
               "startdt": f"{start:%Y-%m-%dT%H:%M:%SZ}", "enddt": f"{end:%Y-%m-%dT%H:%M:%SZ}",
               "body": details, "location": location}
    return {
        "google": "https://calendar.google.com/calendar/render?" + urlencode({k: v for k, v in google.items() if v}),
        "outlook": "https://outlook.live.com/calendar/0/deeplink/compose?"
                   + urlencode({k: v for k, v in outlook.items() if v}),
    }
