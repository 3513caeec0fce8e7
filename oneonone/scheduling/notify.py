"""Meeting emails (confirmed, moved, cancelled) with their .ics attachments.

`queue_meeting_email` queues one in the request's transaction; the outbox sends it after the
transaction commits (nothing is sent if it rolls back). Confirmations, revoking an invitation and the
calendar receivers (a slot moved or deleted, a calendar deleted) call it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..email import Attachment, queue_email, quoted
from . import ics
from .links import pick_url, rebuild_token

if TYPE_CHECKING:
    from ..calendars.models import Timeslot
    from .models import Invitee

CONFIRMED, UPDATED, CANCELLED = "confirmed", "updated", "cancelled"
REVOKED, CALENDAR_DELETED = "revoked", "calendar_deleted"  # a cancellation that ends the invitation
SUBJECTS = {
    CONFIRMED: "Confirmed: {name}",
    UPDATED: "Moved: {name}",
    CANCELLED: "Cancelled: {name}",
}


def _summary(invitee: Invitee) -> str:
    calendar = invitee.calendar
    return f"{calendar.name}: {calendar.owner.full_name} / {invitee.contact.full_name}"


def meeting_description(calendar) -> str:
    """The text of a meeting's calendar entry: the calendar's agenda, its video link, and where it
    was arranged."""
    parts = [calendar.description or "", f"Join: {calendar.meeting_url}" if calendar.meeting_url else "",
             f"One-on-one meeting arranged with OneOnOne for {calendar.name}."]
    return "\n\n".join(part for part in parts if part)


def meeting_place(calendar) -> str:
    """Where a meeting is, for a calendar entry's LOCATION: the place, else the video link."""
    return calendar.location or calendar.meeting_url or ""


def _description(invitee: Invitee) -> str:
    return meeting_description(invitee.calendar)


def meeting_ics(invitee: Invitee, timeslot: Timeslot, *, sequence: int, cancelled: bool = False,
                download: bool = False) -> str:
    """The .ics file for one invitee's meeting: METHOD:REQUEST for the email (CANCEL when
    cancelled), or METHOD:PUBLISH without RSVP for a `download` (a copy, not an invitation)."""
    owner = invitee.calendar.owner
    contact = invitee.contact
    event = ics.meeting_event(
        invitee_id=invitee.id, sequence=sequence, start=timeslot.start_time, end=timeslot.end_time,
        summary=_summary(invitee), organizer_email=owner.email, organizer_name=owner.full_name,
        attendee_email=contact.email, attendee_name=contact.full_name, description=_description(invitee),
        cancelled=cancelled, invitation=not download, location=meeting_place(invitee.calendar),
        url=invitee.calendar.meeting_url,
    )
    method = ics.PUBLISH if download else ics.CANCEL if cancelled else ics.REQUEST
    return ics.calendar_file([event], method=method)


def queue_meeting_email(invitee: Invitee, timeslot: Timeslot, kind: str, *,
                        link_token: str | None = None,
                        previous: tuple[dt.datetime, dt.datetime] | None = None,
                        ends_invitation: str | None = None) -> None:
    """Queue the invitee's confirmed / updated / cancelled email; bumps the .ics SEQUENCE.

    `previous` is the meeting's (start, end) before an update, which the "Moved" email names. A
    cancellation says whether they can pick a new time (answers still open: their link) or not;
    `ends_invitation` (REVOKED, CALENDAR_DELETED) says why there is nothing more, and sends no link.
    """
    sequence = invitee.ics_sequence
    invitee.ics_sequence = sequence + 1
    cancelled = kind == CANCELLED
    data = meeting_ics(invitee, timeslot, sequence=sequence, cancelled=cancelled)
    method = ics.CANCEL if cancelled else ics.REQUEST
    attachment = Attachment(
        filename="cancel.ics" if cancelled else "meeting.ics",
        content_type=f"text/calendar; method={method}; charset=UTF-8",
        data=data,
    )
    calendar = invitee.calendar
    token = None if ends_invitation else (
        link_token or rebuild_token(invitee.link_nonce, invitee.token_hash))  # their usual link
    queue_email(
        invitee.contact.email,
        SUBJECTS[kind].format(name=quoted(calendar.name)),
        "meeting_cancelled" if cancelled else "meeting_scheduled",
        attachments=(attachment,),
        invitee=invitee,
        contact=invitee.contact,
        calendar=calendar,
        owner=calendar.owner,
        timeslot=timeslot,
        link=pick_url(token) if token else None,
        moved=kind == UPDATED,
        previous=previous if kind == UPDATED else None,
        ended=ends_invitation,
        pick_again=cancelled and not ends_invitation and not calendar.deadline_passed(),
        add_to=None if cancelled else ics.add_to_calendar_links(
            summary=_summary(invitee), start=timeslot.start_time, end=timeslot.end_time,
            details=_description(invitee), location=meeting_place(calendar)),
    )
