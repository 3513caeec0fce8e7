"""What the scheduling pages show: read models for the invitees list, the suggestions page and the
schedule download (the owner's invitees page: invitees_page.py; the invitee's pick page: pick_page.py).

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

from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..exceptions import ConflictError
from ..extensions import db
from ..pagination import Page, paginate
from . import suggest
from .models import NOT_ANSWERED, Event, Invitee
from .suggestions import Suggestions, suggest_for_calendar

# ---- invitees with their answers (the API's list; the owner's page: invitees_page.py) -------------

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


# ---- the suggestions page -----------------------------------------------------------------------

MEETINGS_SHOWN = 40  # a schedule's meetings listed before "Show all N meetings"
ASK_AT_MOST = 10  # free times offered in one "Ask … about these times"


@dataclass
class SuggestionsPage:
    suggestions: Suggestions
    slots: dict[int, Timeslot]  # the slots the page names, by id
    invitees: dict[int, Invitee]  # the invitees the page names, by contact id, with `contact` loaded
    # Per schedule: the meetings listed, grouped by day in the calendar's zone (empty for an
    # alternative shown by its differences only), and how many more there are.
    days: list[list[tuple[dt.date, list[suggest.Assignment]]]]
    more: list[int]
    opened: int  # the schedule whose meetings are listed besides the best (0: none)
    show_all: bool


def suggestions_page(calendar: Calendar, k: int, *, opened: int = 0, show_all: bool = False) -> SuggestionsPage:
    """The k best schedules (cached: see suggestions.py) and the rows the page shows: the best
    schedule's meetings, and the opened alternative's, up to MEETINGS_SHOWN unless `show_all`; the
    other alternatives by how they differ from the best. What is rendered grows with the screen,
    not with the calendar. Two queries, and three more when the answers changed since the last view."""
    asked = opened
    for _attempt in range(3):
        suggestions = suggest_for_calendar(calendar, k)
        opened = asked if 0 < asked < len(suggestions.schedules) else 0
        listed, slots, invitees, complete = _rows_named(calendar, suggestions, opened, show_all)
        if complete:
            break
        # A slot or invitee went between the suggestions and these rows (another request deleted it):
        # the answers changed, so the suggestions are made again from the new version.
        db.session.expire(calendar, ["data_version"])
    else:
        raise ConflictError("The calendar is changing as you look; reload the page.")
    zone = ZoneInfo(calendar.timezone)
    days = [[(day, list(group)) for day, group in itertools.groupby(
        shown, key=lambda a: slots[a.slot].start_time.astimezone(zone).date())] for shown in listed]
    more = [len(schedule.assignments) - len(shown) if n in (0, opened) else 0
            for n, (schedule, shown) in enumerate(zip(suggestions.schedules, listed, strict=True))]
    return SuggestionsPage(suggestions, slots, invitees, days, more, opened, show_all)


def _rows_named(calendar: Calendar, suggestions: Suggestions, opened: int, show_all: bool):
    """The meetings listed per schedule and the slots and invitees they name; complete is False when
    one of those is no longer in the database. `opened`: a schedule's index, or 0."""
    listed = []
    for n, schedule in enumerate(suggestions.schedules):
        shown = schedule.assignments if n in (0, opened) else []
        if not (show_all and n == opened):
            shown = shown[:MEETINGS_SHOWN]
        listed.append(shown)
    wanted = {a.slot for shown in listed for a in shown}
    wanted.update(slot for changes in suggestions.changes for change in changes or () for slot in change[1:] if slot)
    wanted.update(slot for fit in suggestions.would_fit.values() for slot in fit[:ASK_AT_MOST])
    slots = {s.id: s for s in db.session.scalars(
        sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id, Timeslot.id.in_(wanted)))} if wanted else {}
    named = {a.invitee for shown in listed for a in shown}
    named.update(change[0] for changes in suggestions.changes for change in changes or ())
    named.update(u.invitee for schedule in suggestions.schedules for u in schedule.unscheduled)
    invitees = {i.contact_id: i for i in db.session.scalars(
        sa.select(Invitee).join(Contact, Contact.id == Invitee.contact_id)
        .options(contains_eager(Invitee.contact))
        .where(Invitee.calendar_id == calendar.id, Invitee.contact_id.in_(named)))} if named else {}
    complete = wanted <= slots.keys() and named <= invitees.keys()
    return listed, slots, invitees, complete


# ---- the schedule download ----------------------------------------------------------------------

def confirmed_meetings(calendar: Calendar) -> list[tuple[Event, Timeslot, Contact]]:
    """Every meeting of the calendar, in time order."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Event, Timeslot, Contact)
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .join(Contact, Contact.id == Event.contact_id)
        .where(Event.calendar_id == calendar.id, Event.confirmed)
        .order_by(Timeslot.start_time))]
