"""What the scheduling pages show: read models for the invitees page, the suggestions page, the
invitee's pick page and the schedule download.

Each function answers one page with a fixed number of queries, whatever the calendar's size
(tests/test_query_budget.py). Nothing here writes or sends mail.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..accounts.models import User
from ..calendars.grid import SlotSummary
from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..email import undelivered_for_invitees
from ..extensions import db
from ..pagination import Page, paginate
from . import suggest
from .answers import closed_reason
from .invitations import visible_link
from .models import NOT_ANSWERED, PREFERRED, Event, Invitee
from .reminders import Waiting, waiting_for
from .suggestions import Suggestions, suggest_for_calendar

MAX_INVITE_CHOICES = 200  # beyond this many uninvited contacts, "Invite all" is the way


# ---- the owner's invitees page ------------------------------------------------------------------

@dataclass
class InviteeRow:
    invitee: Invitee
    contact: Contact
    picks: dict[int, str]  # slot id -> preference, of the slots they picked
    confirmed_slot_id: int | None  # the slot of their meeting

    @property
    def state(self) -> str:
        """Their answer: models.NOT_ANSWERED, ANSWERED or CANT_MAKE_ANY (the API's `state`)."""
        return self.invitee.answer_state

    @property
    def status(self) -> str:
        """What the invitees page's Status column shows: confirmed, answered, cant_make_any or invited."""
        if self.confirmed_slot_id is not None:
            return "confirmed"
        return {NOT_ANSWERED: "invited"}.get(self.state, self.state)

    @property
    def calendar(self) -> Calendar:
        """The invitee's calendar (already loaded), whose zone the API writes times in."""
        return self.invitee.calendar


def invitee_overview(calendar: Calendar, *, page: int = 1, per_page: int = 50) -> Page:
    """One page of invitees with their picks and meeting slot (three queries, whatever the size)."""
    result = paginate(
        sa.select(Invitee).join(Contact, Contact.id == Invitee.contact_id)
        .options(contains_eager(Invitee.contact))
        .where(Invitee.calendar_id == calendar.id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id),
        page, per_page)
    contact_ids = [invitee.contact_id for invitee in result.items]
    picks: dict[int, dict[int, str]] = {}
    meetings: dict[int, int] = {}
    for contact_id, slot_id, preference, confirmed, owner_placed in db.session.execute(
        sa.select(Event.contact_id, Event.timeslot_id, Event.preference, Event.confirmed, Event.owner_placed)
        .where(Event.calendar_id == calendar.id, Event.contact_id.in_(contact_ids))):
        if not owner_placed:  # a meeting the owner placed is not one of their answers
            picks.setdefault(contact_id, {})[slot_id] = preference
        if confirmed:
            meetings[contact_id] = slot_id
    result.items = [InviteeRow(invitee, invitee.contact, picks.get(invitee.contact_id, {}),
                               meetings.get(invitee.contact_id)) for invitee in result.items]
    return result


def _uninvited_contacts(owner: User, calendar: Calendar) -> list[Contact]:
    """The owner's contacts not invited yet, by name (at most one more than MAX_INVITE_CHOICES, so the
    page can tell there are more)."""
    invited = sa.select(Invitee.contact_id).where(Invitee.calendar_id == calendar.id)
    return list(db.session.scalars(
        sa.select(Contact).where(Contact.owner_id == owner.id, Contact.id.not_in(invited))
        .order_by(Contact.last_name, Contact.first_name).limit(MAX_INVITE_CHOICES + 1)))


def _links_issued_since(invitees: list[Invitee], since: dt.datetime | None) -> dict[str, str]:
    """Invitee id (as text) -> pick-page address, for the links issued from `since` on that can be rebuilt."""
    links: dict[str, str] = {}
    if since is None:
        return links
    for invitee in invitees:
        if invitee.link_issued_at is not None and invitee.link_issued_at >= since:
            link = visible_link(invitee)
            if link:
                links[str(invitee.id)] = link
    return links


@dataclass
class InviteesPage:
    page: Page  # of InviteeRow
    uninvited: list[Contact]
    slots: list[Timeslot]  # in time order
    taken_by: dict[int, int]  # slot id -> the contact whose meeting it holds
    totals: dict[int, SlotSummary]  # slot id -> its picks and its meeting, over every invitee
    new_links: dict[str, str]  # invitee id (as text) -> the link just issued, for "Copy"
    waiting: Waiting  # who has not answered: how many Remind would mail now
    undelivered: dict  # invitee id -> their undelivered email (see email.undelivered_for_invitees)


def invitees_page(owner: User, calendar: Calendar, *, page: int, per_page: int,
                  links_since: dt.datetime | None = None) -> InviteesPage:
    """The owner's invitees page: one page of invitees, the contacts left to invite, the slots with
    their meetings, and the links issued from `links_since` on (for "Copy")."""
    overview = invitee_overview(calendar, page=page, per_page=per_page)
    invitees = [row.invitee for row in overview.items]
    # Each slot with whoever holds its meeting and its picks counted by preference, in one query.
    counts = (
        sa.select(Event.timeslot_id, sa.func.count().label("picks"),
                  sa.func.count().filter(Event.preference == PREFERRED).label("preferred"))
        .where(Event.calendar_id == calendar.id, sa.not_(Event.owner_placed))
        .group_by(Event.timeslot_id).subquery())
    rows = db.session.execute(
        sa.select(Timeslot, Event.contact_id, Contact.first_name, Contact.last_name,
                  counts.c.picks, counts.c.preferred)
        .outerjoin(Event, sa.and_(Event.timeslot_id == Timeslot.id, Event.confirmed))
        .outerjoin(Contact, Contact.id == Event.contact_id)
        .outerjoin(counts, counts.c.timeslot_id == Timeslot.id)
        .where(Timeslot.calendar_id == calendar.id).order_by(Timeslot.start_time)).all()
    totals = {row.Timeslot.id: SlotSummary(
        picks=row.picks or 0, preferred=row.preferred or 0, confirmed_contact_id=row.contact_id,
        confirmed_name=f"{row.first_name} {row.last_name}".strip() if row.contact_id is not None else None,
    ) for row in rows}
    return InviteesPage(
        page=overview,
        uninvited=_uninvited_contacts(owner, calendar),
        slots=[row.Timeslot for row in rows],
        taken_by={slot_id: s.confirmed_contact_id for slot_id, s in totals.items() if s.confirmed},
        totals=totals,
        new_links=_links_issued_since(invitees, links_since),
        waiting=waiting_for(calendar),
        undelivered=undelivered_for_invitees([invitee.id for invitee in invitees]),
    )


# ---- the suggestions page -----------------------------------------------------------------------

@dataclass
class SuggestionsPage:
    suggestions: Suggestions
    # Per schedule: its meetings grouped by day in the calendar's zone.
    days: list[list[tuple[dt.date, list[suggest.Assignment]]]]


def suggestions_page(calendar: Calendar, k: int) -> SuggestionsPage:
    """The k best schedules with their meetings grouped by day (three queries)."""
    suggestions = suggest_for_calendar(calendar, k)
    zone = ZoneInfo(calendar.timezone)
    slots = suggestions.slots
    days = [
        [(day, list(group)) for day, group in itertools.groupby(
            schedule.assignments, key=lambda a: slots[a.slot].start_time.astimezone(zone).date())]
        for schedule in suggestions.schedules
    ]
    return SuggestionsPage(suggestions, days)


# ---- the schedule download ----------------------------------------------------------------------

def confirmed_meetings(calendar: Calendar) -> list[tuple[Event, Timeslot, Contact]]:
    """Every meeting of the calendar, in time order."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Event, Timeslot, Contact)
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .join(Contact, Contact.id == Event.contact_id)
        .where(Event.calendar_id == calendar.id, Event.confirmed)
        .order_by(Timeslot.start_time))]


# ---- the invitee's pick page --------------------------------------------------------------------

@dataclass
class SlotChoice:
    slot: Timeslot
    start: dt.datetime  # in the viewer's zone
    end: dt.datetime
    calendar_start: dt.datetime  # in the calendar's zone
    choice: str | None  # the invitee's pick's preference, None for can't
    mine: bool  # the invitee's meeting


@dataclass
class PickPage:
    days: list[tuple[dt.date, list[SlotChoice]]]
    closed: str | None  # why answers are closed ("deadline" / "confirmed"), or None
    confirmed: SlotChoice | None  # the invitee's meeting
    picked: int
    # While answers are open, the invitee's picks on slots that others' meetings hold (slot id ->
    # preference): those slots are not offered, and the page sends these back unchanged.
    kept: dict[int, str]
    state: str  # models.NOT_ANSWERED / ANSWERED / CANT_MAKE_ANY
    comment: str | None  # theirs, for the owner


def pick_page(invitee: Invitee, zone_name: str) -> PickPage:
    """Everything the pick page shows, with times in `zone_name`.

    Once answers are closed the page shows the invitee's answer for every slot, read-only. While
    they are open, a slot that someone else's meeting holds is not offered; nothing tells whose it is."""
    zone, calendar_zone = ZoneInfo(zone_name), ZoneInfo(invitee.calendar.timezone)
    slots = db.session.scalars(
        sa.select(Timeslot).where(Timeslot.calendar_id == invitee.calendar_id).order_by(Timeslot.start_time)).all()
    picks = db.session.execute(
        sa.select(Event.timeslot_id, Event.contact_id, Event.preference, Event.confirmed, Event.owner_placed)
        .where(Event.calendar_id == invitee.calendar_id,
               sa.or_(Event.contact_id == invitee.contact_id, Event.confirmed))).all()
    # Their answers: a meeting the owner placed in a slot they did not pick is not one of them.
    mine = {p.timeslot_id: p.preference for p in picks if p.contact_id == invitee.contact_id and not p.owner_placed}
    taken = {p.timeslot_id for p in picks if p.confirmed and p.contact_id != invitee.contact_id}
    my_meeting = next((p.timeslot_id for p in picks if p.confirmed and p.contact_id == invitee.contact_id), None)
    closed = closed_reason(invitee.calendar, has_meeting=my_meeting is not None)
    offered = slots if closed else [slot for slot in slots if slot.id not in taken]
    choices = [
        SlotChoice(slot, slot.start_time.astimezone(zone), slot.end_time.astimezone(zone),
                   slot.start_time.astimezone(calendar_zone), mine.get(slot.id), slot.id == my_meeting)
        for slot in offered
    ]
    days: list[tuple[dt.date, list[SlotChoice]]] = []
    for choice in choices:
        if not days or days[-1][0] != choice.start.date():
            days.append((choice.start.date(), []))
        days[-1][1].append(choice)
    confirmed = next((c for c in choices if c.mine), None)
    kept = {} if closed else {slot_id: mine[slot_id] for slot_id in sorted(taken) if slot_id in mine}
    return PickPage(days=days, closed=closed, confirmed=confirmed, picked=len(mine), kept=kept,
                    state=invitee.answer_state, comment=invitee.comment)
