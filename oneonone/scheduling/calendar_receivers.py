"""What does scheduling do when a calendar or a slot changes, and what does it tell the calendar pages?

Calendars sit below scheduling and never import it; they send the signals of
oneonone/calendars/signals.py and the receivers here answer them from the invitation tables, inside
the sender's transaction. The emails go through `notify.queue_meeting_email`: "Cancelled" (with a
METHOD:CANCEL .ics) to each invitee with an upcoming confirmed meeting when a calendar is deleted, or
with a confirmed meeting in a deleted slot. When slots move, `slot_changes.handle_moves` removes
the other picks on them and emails those invitees, and sends "Moved" (with the updated .ics and the
old time) to the confirmed invitee. They are outbox rows, sent after the request's transaction commits.
This module is imported by `register_blueprints`, so the receivers are connected whenever the app is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from ..accounts.models import User
from ..accounts.services import account_deletion_notices
from ..calendars import signals
from ..calendars.grid import SlotSummary
from ..calendars.models import Calendar, Timeslot
from ..calendars.services import CalendarCounts, UpcomingMeeting
from ..calendars.signals import MoveOutcome, SlotMove, SlotPicker
from ..contacts.models import Contact
from ..db_types import utcnow
from ..exceptions import ConflictError
from ..extensions import db
from . import notify, slot_changes
from .models import PREFERRED, Event, Invitee

# ---- queries ------------------------------------------------------------------------------------

def _upcoming(calendar: Calendar) -> list[tuple[Invitee, Timeslot]]:
    """The calendar's confirmed meetings that have not ended yet, earliest first (one query)."""
    return _upcoming_where(Invitee.calendar_id == calendar.id)


def _upcoming_where(condition: sa.ColumnElement[bool]) -> list[tuple[Invitee, Timeslot]]:
    """Confirmed meetings that have not ended yet, earliest first, with each slot's calendar (one query)."""
    return list(db.session.execute(
        sa.select(Invitee, Timeslot)
        .join(Event, sa.and_(Event.calendar_id == Invitee.calendar_id,
                             Event.contact_id == Invitee.contact_id))
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .join(Calendar, Calendar.id == Timeslot.calendar_id)
        .where(condition, Event.confirmed, Timeslot.end_time > utcnow())
        .options(joinedload(Invitee.contact), contains_eager(Timeslot.calendar))
        .order_by(Timeslot.start_time, Timeslot.id)
    ).all())


def _confirmed_invitee(timeslot: Timeslot) -> Invitee | None:
    """The invitee whose meeting is confirmed in the slot, if any (one query)."""
    row = db.session.execute(
        sa.select(Event, Invitee)
        .join(Invitee, sa.and_(Invitee.calendar_id == Event.calendar_id,
                               Invitee.contact_id == Event.contact_id))
        .where(Event.timeslot_id == timeslot.id, Event.confirmed)
    ).first()
    return None if row is None else row[1]


# ---- actions ------------------------------------------------------------------------------------

@signals.calendar_deleting.connect
def _cancel_upcoming_meetings(calendar: Calendar, **_: Any) -> int:
    """Queue a cancellation for each upcoming confirmed meeting; returns how many."""
    meetings = _upcoming(calendar)
    for invitee, timeslot in meetings:
        notify.queue_meeting_email(invitee, timeslot, notify.CANCELLED, ends_invitation=notify.CALENDAR_DELETED)
    return len(meetings)


@signals.timeslot_moved.connect
def _handle_moved_slots(calendar: Calendar, *, moves: list[SlotMove], **_: Any) -> MoveOutcome:
    return slot_changes.handle_moves(calendar, moves)


@signals.timeslot_deleting.connect
def _cancel_the_confirmed_meeting(timeslot: Timeslot, *, confirm: bool = False, **_: Any) -> None:
    """Refuse to delete a slot with a confirmed meeting unless confirmed; then queue its cancellation."""
    invitee = _confirmed_invitee(timeslot)
    if invitee is None:
        return
    if confirm is not True:
        name = invitee.contact.full_name
        raise ConflictError(
            f"A meeting with {name} is confirmed in this slot. Confirm to cancel it; "
            f"{name} will be emailed a cancellation.",
            {"confirm": ["Confirm that the confirmed meeting is cancelled."]},
        )
    notify.queue_meeting_email(invitee, timeslot, notify.CANCELLED)


# ---- questions ----------------------------------------------------------------------------------

@signals.invitation_counts.connect
def _invitation_counts(calendar_ids: list[int], **_: Any) -> dict[int, CalendarCounts]:
    """Invitees, answered invitees and confirmed meetings per calendar (two queries)."""
    invitees = {
        calendar_id: (total, answered or 0)
        for calendar_id, total, answered in db.session.execute(
            sa.select(Invitee.calendar_id, sa.func.count(), sa.func.count(Invitee.responded_at))
            .where(Invitee.calendar_id.in_(calendar_ids)).group_by(Invitee.calendar_id)
        )
    }
    confirmed = dict(db.session.execute(
        sa.select(Event.calendar_id, sa.func.count())
        .where(Event.calendar_id.in_(calendar_ids), Event.confirmed).group_by(Event.calendar_id)
    ).all())
    return {
        calendar_id: CalendarCounts(invitees=invitees.get(calendar_id, (0, 0))[0],
                                    answered=invitees.get(calendar_id, (0, 0))[1],
                                    confirmed=confirmed.get(calendar_id, 0))
        for calendar_id in calendar_ids
    }


@signals.slot_summaries.connect
def _slot_summaries(calendar: Calendar, *, timeslot: Timeslot | None = None,
                    begin: dt.datetime | None = None, finish: dt.datetime | None = None,
                    **_: Any) -> dict[int, SlotSummary]:
    """Picks, preferred picks and the confirmed invitee per slot with picks or a meeting (two queries).
    A meeting the owner placed in a slot the invitee did not pick is a meeting, not a pick. With
    `begin`/`finish`, only the slots starting in [begin, finish) (the week a page shows) are read."""
    condition = (Event.calendar_id == calendar.id if timeslot is None else
                 sa.and_(Event.timeslot_id == timeslot.id, Event.calendar_id == timeslot.calendar_id))
    if begin is not None or finish is not None:
        shown = sa.select(Timeslot.id).where(Timeslot.calendar_id == calendar.id)
        if begin is not None:
            shown = shown.where(Timeslot.start_time >= begin)
        if finish is not None:
            shown = shown.where(Timeslot.start_time < finish)
        condition = sa.and_(condition, Event.timeslot_id.in_(shown))
    counts = db.session.execute(
        sa.select(Event.timeslot_id, sa.func.count(),
                  sa.func.count().filter(Event.preference == PREFERRED))
        .where(condition, sa.not_(Event.owner_placed)).group_by(Event.timeslot_id)
    ).all()
    confirmed = {
        timeslot_id: (contact_id, f"{first} {last}".strip())
        for timeslot_id, contact_id, first, last in db.session.execute(
            sa.select(Event.timeslot_id, Contact.id, Contact.first_name, Contact.last_name)
            .join(Contact, Contact.id == Event.contact_id)
            .where(condition, Event.confirmed)
        )
    }
    tallies = {timeslot_id: (picks, preferred or 0) for timeslot_id, picks, preferred in counts}
    result = {}
    for timeslot_id in tallies.keys() | confirmed.keys():
        picks, preferred = tallies.get(timeslot_id, (0, 0))
        contact_id, name = confirmed.get(timeslot_id, (None, None))
        result[timeslot_id] = SlotSummary(picks=picks, preferred=preferred,
                                          confirmed_contact_id=contact_id, confirmed_name=name)
    return result


@signals.slot_pickers.connect
def _slot_pickers(calendar: Calendar, *, timeslot_ids: list[int], **_: Any) -> dict[int, list[SlotPicker]]:
    """Who picked each of these slots, the confirmed invitee first (one query)."""
    result: dict[int, list[SlotPicker]] = {}
    for timeslot_id, first, last, confirmed in db.session.execute(
        sa.select(Event.timeslot_id, Contact.first_name, Contact.last_name, Event.confirmed)
        .join(Contact, Contact.id == Event.contact_id)
        .where(Event.calendar_id == calendar.id, Event.timeslot_id.in_(timeslot_ids))
        .order_by(Event.timeslot_id, Event.confirmed.desc(), Contact.first_name, Contact.last_name,
                  Contact.id)
    ):
        result.setdefault(timeslot_id, []).append(SlotPicker(f"{first} {last}".strip(), bool(confirmed)))
    return result


@signals.upcoming_meetings.connect
def _upcoming_meetings(calendar: Calendar, **_: Any) -> list[UpcomingMeeting]:
    return [UpcomingMeeting(name=invitee.contact.full_name, timeslot=timeslot)
            for invitee, timeslot in _upcoming(calendar)]


@account_deletion_notices.connect
def _meetings_cancelled_with_account(owner: User, **_: Any) -> list[UpcomingMeeting]:
    """The delete-account page's question: the upcoming meetings in all the owner's calendars, each
    emailed a cancellation when the account goes (`calendar_deleting` for each calendar)."""
    return [UpcomingMeeting(name=invitee.contact.full_name, timeslot=timeslot)
            for invitee, timeslot in _upcoming_where(Calendar.owner_id == owner.id)]
