"""What the owner's invitees page shows, and the page where a time is chosen for one invitee.

Both are bounded by the screen, not by the calendar: the answers grid shows SLOTS_PER_VIEW slots at a
time, a row offers at most PICKS_PER_ROW of the invitee's picks, and a calendar with more slots than
fit in the grid offers the rest of its free times on the chooser (GET .../invitees/<id>/confirm
?show=free or ?show=picked), SLOTS_PER_VIEW at a time. Each page runs a fixed number of queries whatever the
calendar's size (tests/test_query_budget.py, tests/test_invitees_bounds.py). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import aliased, contains_eager

from ..accounts.models import User
from ..calendars.grid import SlotSummary
from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..email import undelivered_for_invitees
from ..extensions import db
from ..pagination import Page, paginate
from .invitations import visible_link
from .models import IF_NEED_BE, PREFERRED, Event, Invitee
from .pages import InviteeRow
from .reminders import Waiting, waiting_for

MAX_INVITE_CHOICES = 200  # beyond this many uninvited contacts, "Invite all" is the way
SLOTS_PER_VIEW = 40  # the grid's columns (and the chooser's times) per page; more scroll past any screen
PICKS_PER_ROW = 40  # a row's Confirm / Move list offers at most this many of the invitee's picks


@dataclass(frozen=True)
class SlotTime:
    """A slot's id and times: what an option in a list of times needs."""

    id: int
    start_time: dt.datetime
    end_time: dt.datetime


@dataclass(frozen=True)
class Choice:
    """One time offered for an invitee: their pick of it (None: not picked) and whose meeting it holds."""

    slot: SlotTime
    preference: str | None
    held_by: str | None  # another invitee's name: confirming there asks first
    mine: bool = False  # their meeting now


@dataclass
class PageRow(InviteeRow):
    """An invitee on the page. `picks` holds their picks of the slots in view and of `choices` only."""

    pick_count: int = 0
    choices: list[Choice] = field(default_factory=list)  # their first PICKS_PER_ROW picks, in time order
    meeting: SlotTime | None = None

    def answer_cells(self, slots: list[Timeslot]) -> Markup:
        """The row's cells of the answers grid, one per slot in view (built here: a template loop over
        every cell of every row is most of the page's time)."""
        return Markup("".join(_MEETING_CELL if slot.id == self.confirmed_slot_id
                              else _ANSWER_CELLS.get(self.picks.get(slot.id), _EMPTY_CELL) for slot in slots))


# Constant markup (nothing of the invitee's goes in a cell).
_MEETING_CELL = '<td class="cell-confirmed" title="Confirmed">✓</td>'
_ANSWER_CELLS = {PREFERRED: '<td class="cell-preferred" title="Preferred">P</td>',
                 IF_NEED_BE: '<td class="cell-ifneed" title="If need be">N</td>'}
_EMPTY_CELL = "<td></td>"


def _name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def _slot_window(calendar: Calendar, number: int) -> tuple[list, int, int]:
    """The `number`th SLOTS_PER_VIEW slots (past the end: the last ones) with their totals and
    meeting holder, the calendar's slot count, and the window's number (one query, two past the end)."""
    window = (sa.select(Timeslot.id.label("id"), sa.func.count().over().label("total"))
              .where(Timeslot.calendar_id == calendar.id)
              .order_by(Timeslot.start_time, Timeslot.id)
              .limit(SLOTS_PER_VIEW).offset((number - 1) * SLOTS_PER_VIEW).cte("slot_window"))
    counts = (
        sa.select(Event.timeslot_id, sa.func.count().label("picks"),
                  sa.func.count().filter(Event.preference == PREFERRED).label("preferred"))
        .where(Event.timeslot_id.in_(sa.select(window.c.id)), sa.not_(Event.owner_placed))
        .group_by(Event.timeslot_id).subquery())
    rows = db.session.execute(
        sa.select(Timeslot, window.c.total, Event.contact_id, Contact.first_name, Contact.last_name,
                  counts.c.picks, counts.c.preferred)
        .join(window, window.c.id == Timeslot.id)
        .outerjoin(Event, sa.and_(Event.timeslot_id == Timeslot.id, Event.confirmed))
        .outerjoin(Contact, Contact.id == Event.contact_id)
        .outerjoin(counts, counts.c.timeslot_id == Timeslot.id)
        .order_by(Timeslot.start_time, Timeslot.id)).all()
    if rows:
        return rows, rows[0].total, number
    total = db.session.scalar(sa.select(sa.func.count()).where(Timeslot.calendar_id == calendar.id)) or 0
    last = max(1, math.ceil(total / SLOTS_PER_VIEW))
    return (_slot_window(calendar, last) if total and number > last else ([], total, 1))


def _page_rows(calendar: Calendar, invitees: list[Invitee], in_view: list[int]) -> list[PageRow]:
    """The invitees' rows: their picks of the slots in view, their first PICKS_PER_ROW picks (with whose
    meeting each holds), how many they picked, and their meeting (one query)."""
    partition = (Event.contact_id, Event.owner_placed)  # a meeting the owner placed is none of their picks
    ordered = (
        sa.select(Event.contact_id, Event.timeslot_id, Event.preference, Event.confirmed, Event.owner_placed,
                  Timeslot.start_time, Timeslot.end_time,
                  sa.func.row_number().over(partition_by=partition,
                                            order_by=(Timeslot.start_time, Timeslot.id)).label("n"),
                  sa.func.count().over(partition_by=partition).label("of"))
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .where(Event.calendar_id == calendar.id, Event.contact_id.in_([i.contact_id for i in invitees]))
        .subquery())
    held, holder = aliased(Event), aliased(Contact)
    found = db.session.execute(
        sa.select(ordered, holder.first_name, holder.last_name)
        .outerjoin(held, sa.and_(held.timeslot_id == ordered.c.timeslot_id, held.confirmed,
                                 held.contact_id != ordered.c.contact_id))
        .outerjoin(holder, holder.id == held.contact_id)
        .where(sa.or_(ordered.c.n <= PICKS_PER_ROW, ordered.c.confirmed, ordered.c.timeslot_id.in_(in_view)))
        .order_by(ordered.c.start_time, ordered.c.timeslot_id)).all()
    rows = {i.contact_id: PageRow(i, i.contact, {}, None) for i in invitees}
    for pick in found:
        row = rows[pick.contact_id]
        slot = SlotTime(pick.timeslot_id, pick.start_time, pick.end_time)
        if pick.confirmed:
            row.confirmed_slot_id, row.meeting = slot.id, slot
        if pick.owner_placed:
            continue
        row.picks[slot.id] = pick.preference
        row.pick_count = pick.of
        if pick.n <= PICKS_PER_ROW:
            held_by = _name(pick.first_name, pick.last_name) if pick.first_name or pick.last_name else None
            row.choices.append(Choice(slot, pick.preference, held_by))
    return list(rows.values())


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
    page: Page  # of PageRow
    uninvited: list[Contact]
    slots: Page  # of Timeslot, the grid's SLOTS_PER_VIEW columns in time order; `total`: the calendar's
    totals: dict[int, SlotSummary]  # slot in view -> its picks and its meeting, over every invitee
    taken: set[int]  # the slots in view that hold a meeting
    # Slot in view -> the names of this page's invitees who prefer it, and who could if need be.
    answers: dict[int, tuple[list[str], list[str]]]
    new_links: dict[str, str]  # invitee id (as text) -> the link just issued, for "Copy"
    waiting: Waiting  # who has not answered: how many Remind would mail now
    undelivered: dict  # invitee id -> their undelivered email (see email.undelivered_for_invitees)

    @property
    def every_slot(self) -> bool:
        """Every slot of the calendar is in view: rows offer each free time in their Move list."""
        return self.slots.pages == 1


def invitees_page(owner: User, calendar: Calendar, *, page: int, per_page: int, times: int = 1,
                  links_since: dt.datetime | None = None) -> InviteesPage:
    """The owner's invitees page: one page of invitees, the contacts left to invite, the `times`th
    SLOTS_PER_VIEW slots with their meetings, and the links issued from `links_since` on (for "Copy")."""
    overview = paginate(
        sa.select(Invitee).join(Contact, Contact.id == Invitee.contact_id)
        .options(contains_eager(Invitee.contact))
        .where(Invitee.calendar_id == calendar.id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id),
        page, per_page)
    invitees = list(overview.items)
    window, slot_total, times = _slot_window(calendar, times)
    totals = {row.Timeslot.id: SlotSummary(
        picks=row.picks or 0, preferred=row.preferred or 0, confirmed_contact_id=row.contact_id,
        confirmed_name=_name(row.first_name, row.last_name) if row.contact_id is not None else None,
    ) for row in window}
    overview.items = _page_rows(calendar, invitees, list(totals)) if invitees else []
    answers: dict[int, tuple[list[str], list[str]]] = {slot_id: ([], []) for slot_id in totals}
    for row in overview.items:
        for slot_id, preference in row.picks.items():
            if slot_id in answers:
                answers[slot_id][preference != PREFERRED].append(row.contact.full_name)
    return InviteesPage(
        page=overview,
        uninvited=_uninvited_contacts(owner, calendar),
        slots=Page(items=[row.Timeslot for row in window], total=slot_total, page=times,
                   per_page=SLOTS_PER_VIEW),
        totals=totals,
        taken={slot_id for slot_id, summary in totals.items() if summary.confirmed},
        answers=answers,
        new_links=_links_issued_since(invitees, links_since),
        waiting=waiting_for(calendar),
        undelivered=undelivered_for_invitees([invitee.id for invitee in invitees]),
    )


# ---- choosing a time for one invitee ------------------------------------------------------------

@dataclass
class TimeChooser:
    times: Page  # of Choice, SLOTS_PER_VIEW at a time, in time order
    days: list[tuple[dt.date, list[Choice]]]  # this page's times by day in the calendar's zone
    meeting: SlotTime | None  # their meeting now
    picked_only: bool  # only the times they picked (else: those and every free time)


def time_chooser(invitee: Invitee, *, page: int, picked_only: bool) -> TimeChooser:
    """The times the owner may confirm the invitee in: the ones they picked (even when another's meeting
    holds it: confirming asks first) and, unless `picked_only`, every free one, page by page (two
    queries, three past the end)."""
    mine, held, holder = aliased(Event), aliased(Event), aliased(Contact)
    picked = sa.and_(mine.id.is_not(None), sa.not_(mine.owner_placed))
    offered = picked if picked_only else sa.or_(picked, held.id.is_(None), held.contact_id == invitee.contact_id)
    query = (
        sa.select(Timeslot.id, Timeslot.start_time, Timeslot.end_time, mine.preference, mine.owner_placed,
                  held.contact_id.label("holder_id"), holder.first_name, holder.last_name,
                  sa.func.count().over().label("total"))
        .outerjoin(mine, sa.and_(mine.timeslot_id == Timeslot.id, mine.contact_id == invitee.contact_id))
        .outerjoin(held, sa.and_(held.timeslot_id == Timeslot.id, held.confirmed))
        .outerjoin(holder, holder.id == held.contact_id)
        .where(Timeslot.calendar_id == invitee.calendar_id, offered)
        .order_by(Timeslot.start_time, Timeslot.id).limit(SLOTS_PER_VIEW))
    rows = db.session.execute(query.offset((page - 1) * SLOTS_PER_VIEW)).all()
    if not rows and page > 1:  # past the end: the last page
        total = db.session.scalar(query.with_only_columns(sa.func.count()).order_by(None).limit(None)) or 0
        page = max(1, math.ceil(total / SLOTS_PER_VIEW))
        rows = db.session.execute(query.offset((page - 1) * SLOTS_PER_VIEW)).all()
    choices = [Choice(
        SlotTime(row.id, row.start_time, row.end_time),
        preference=None if row.preference is None or row.owner_placed else row.preference,
        held_by=_name(row.first_name, row.last_name) if row.holder_id not in (None, invitee.contact_id) else None,
        mine=row.holder_id == invitee.contact_id) for row in rows]
    meeting = db.session.execute(
        sa.select(Timeslot.id, Timeslot.start_time, Timeslot.end_time).join(Event, Event.timeslot_id == Timeslot.id)
        .where(Event.calendar_id == invitee.calendar_id, Event.contact_id == invitee.contact_id,
               Event.confirmed)).first()
    zone = ZoneInfo(invitee.calendar.timezone)
    days: list[tuple[dt.date, list[Choice]]] = []
    for choice in choices:
        day = choice.slot.start_time.astimezone(zone).date()
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(choice)
    return TimeChooser(
        times=Page(items=choices, total=rows[0].total if rows else 0, page=page, per_page=SLOTS_PER_VIEW),
        days=days, meeting=SlotTime(*meeting) if meeting else None, picked_only=picked_only)
