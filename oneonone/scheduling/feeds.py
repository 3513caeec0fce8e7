"""The owner's private .ics feed of confirmed meetings (its token is the account's: accounts.services)."""

from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import User
from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..extensions import db
from . import ics
from .models import Event, Invitee
from .notify import meeting_description, meeting_place


def owner_feed(owner: User) -> str:
    """All the owner's confirmed meetings as one .ics file (METHOD:PUBLISH)."""
    rows = db.session.execute(
        sa.select(Event, Timeslot, Contact, Calendar, Invitee)
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .join(Contact, Contact.id == Event.contact_id)
        .join(Calendar, Calendar.id == Event.calendar_id)
        .join(Invitee, sa.and_(Invitee.calendar_id == Event.calendar_id, Invitee.contact_id == Event.contact_id))
        .where(Calendar.owner_id == owner.id, Event.confirmed)
        .order_by(Timeslot.start_time)).all()
    events = [
        ics.meeting_event(
            invitee_id=invitee.id, sequence=max(0, invitee.ics_sequence - 1), start=slot.start_time,
            end=slot.end_time, summary=f"{calendar.name}: {contact.full_name}",
            organizer_email=owner.email, organizer_name=owner.full_name,
            attendee_email=contact.email, attendee_name=contact.full_name, invitation=False,
            description=meeting_description(calendar), location=meeting_place(calendar),
            url=calendar.meeting_url,
        )
        for _meeting, slot, contact, calendar, invitee in rows
    ]
    return ics.calendar_file(events, method=ics.PUBLISH, name=f"OneOnOne — {owner.full_name}")
