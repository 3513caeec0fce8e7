"""What the invitee's pick page shows: the calendar's times in the viewer's zone with their answers,
a week at a time once the calendar is bigger than a screen (issue 20).

A calendar of at most PAGED_OVER slots, or whose slots all fall in one week, is shown whole. A bigger
one shows one week, Monday to Sunday in the viewer's zone, and lists every week with how many times it
offers and how many the invitee picked: the SQL reads only that week's slots and picks, plus one row
per week, so a page costs the same in a 500-slot calendar as in a 50-slot one. Five queries at most,
whatever the size (tests/test_query_budget.py). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..calendars.models import Timeslot
from ..calendars.times import window_bounds
from ..extensions import db
from .answers import closed_reason
from .models import Event, Invitee

PAGED_OVER = 40  # slots: more than a phone's few screens; a calendar this small is shown whole
WEEK = dt.timedelta(days=7)
_MINE, _HELD = aliased(Event, name="mine"), aliased(Event, name="held")  # built once: aliasing is costly


@dataclass
class SlotChoice:
    slot: Timeslot
    start: dt.datetime  # in the viewer's zone
    end: dt.datetime
    calendar_start: dt.datetime  # in the calendar's zone
    choice: str | None  # the invitee's pick's preference, None for can't
    mine: bool  # the invitee's meeting


@dataclass(frozen=True)
class PickWeek:
    start: dt.date  # its Monday, in the viewer's zone
    slots: int  # the times it offers
    picked: int  # how many of them the invitee picked
    asked: int  # how many of them the owner asked the invitee about

    @property
    def label(self) -> str:
        """Its Monday to Sunday: "4–10 March 2030", "25 February – 3 March 2030"."""
        end = self.start + dt.timedelta(days=6)
        if end.year != self.start.year:
            return f"{self.start:%-d %B %Y} – {end:%-d %B %Y}"
        if end.month != self.start.month:
            return f"{self.start:%-d %B} – {end:%-d %B %Y}"
        return f"{self.start:%-d}–{end:%-d %B %Y}"


@dataclass
class PickPage:
    days: list[tuple[dt.date, list[SlotChoice]]]
    closed: str | None  # why answers are closed ("deadline" / "confirmed"), or None
    confirmed: SlotChoice | None  # the invitee's meeting, in whichever week
    # While answers are open, the invitee's picks on shown days' slots that others' meetings hold
    # (slot id -> preference): those slots are not offered, and the page sends these back unchanged.
    kept: dict[int, str]
    state: str  # models.NOT_ANSWERED / ANSWERED / CANT_MAKE_ANY
    comment: str | None  # theirs, for the owner
    weeks: list[PickWeek] = field(default_factory=list)  # every week with times; empty: shown whole
    week: PickWeek | None = None  # the week shown

    @property
    def shown_ids(self) -> str:
        """The ids of the offered slots shown, for the form to say which answers it carries."""
        return ",".join(str(choice.slot.id) for _day, choices in self.days for choice in choices)

    @property
    def picked_elsewhere(self) -> int:
        """How many times the invitee picked in the weeks not shown."""
        return sum(week.picked for week in self.weeks if week is not self.week)

    def _neighbour(self, step: int) -> PickWeek | None:
        at = self.weeks.index(self.week) + step if self.week in self.weeks else -1
        return self.weeks[at] if 0 <= at < len(self.weeks) else None

    @property
    def previous(self) -> PickWeek | None:
        return self._neighbour(-1)

    @property
    def next(self) -> PickWeek | None:
        return self._neighbour(1)


def parse_week(value: str | None) -> dt.date | None:
    """The Monday of the week a `?week=` date (YYYY-MM-DD, any day of it) names, or None."""
    try:
        day = dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None
    return day - dt.timedelta(days=day.weekday()) if day else None


def _monday(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    day = moment.astimezone(zone).date()
    return day - dt.timedelta(days=day.weekday())


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


@dataclass(frozen=True)
class _Overview:
    weeks: list[PickWeek]  # those with times to show, whether answers are open or closed
    closed: str | None  # answers.closed_reason
    meeting: int | None  # the invitee's meeting's slot
    meeting_week: dt.date | None


@cache
def _overview_query(boundaries: int) -> sa.Select:
    """The overview's statement for a window cut by `boundaries` Mondays (bound as w0, w1, ...), built
    once per count: building it costs more than running it."""
    bucket = sa.case(*[(Timeslot.start_time < sa.bindparam(f"w{n}"), n) for n in range(boundaries)],
                     else_=boundaries) if boundaries else sa.literal(0)
    me, calendar = sa.bindparam("contact"), sa.bindparam("calendar")
    rows = (
        sa.select(bucket.label("week"), _MINE.id.label("pick"), _HELD.id.label("held"),
                  Timeslot.id.in_(sa.bindparam("asked", expanding=True)).label("asked"))
        .outerjoin(_MINE, sa.and_(_MINE.timeslot_id == Timeslot.id, _MINE.contact_id == me,
                                  sa.not_(_MINE.owner_placed)))
        .outerjoin(_HELD, sa.and_(_HELD.timeslot_id == Timeslot.id, _HELD.confirmed, _HELD.contact_id != me))
        .where(Timeslot.calendar_id == calendar)).subquery()
    meeting = (sa.select(Event.timeslot_id, Timeslot.start_time).join(Timeslot, Timeslot.id == Event.timeslot_id)
               .where(Event.calendar_id == calendar, Event.contact_id == me, Event.confirmed))
    free = rows.c.held.is_(None)
    return (sa.select(rows.c.week, sa.func.count(), sa.func.count().filter(free),
                      sa.func.count(rows.c.pick), sa.func.count(rows.c.pick).filter(free),
                      sa.func.count().filter(rows.c.asked, free),
                      meeting.with_only_columns(Event.timeslot_id).scalar_subquery(),
                      meeting.with_only_columns(Timeslot.start_time).scalar_subquery())
            .group_by(rows.c.week).order_by(rows.c.week))


def _overview(invitee: Invitee, zone: ZoneInfo) -> _Overview:
    """Every week of the calendar's window with its times counted, and the invitee's meeting, in one
    query: a CASE on the week boundaries (the window holds every slot) buckets the slots, so only a row
    per week comes back. While answers are open a slot someone else's meeting holds is not offered."""
    calendar = invitee.calendar
    begin, finish = window_bounds(calendar.start_date, calendar.end_date, calendar.zone)
    first, last = _monday(begin, zone), _monday(finish - dt.timedelta(microseconds=1), zone)
    mondays = [first + WEEK * n for n in range((last - first) // WEEK + 1)]
    params = {f"w{n}": _midnight(monday, zone) for n, monday in enumerate(mondays[1:])}
    counts = db.session.execute(_overview_query(len(params)), {
        **params, "contact": invitee.contact_id, "calendar": invitee.calendar_id,
        "asked": [i for i in (invitee.asked_timeslot_ids or []) if isinstance(i, int)]}).all()
    meeting_slot, meeting_start = (counts[0][6], counts[0][7]) if counts else (None, None)
    closed = closed_reason(calendar, has_meeting=meeting_slot is not None)
    weeks = [PickWeek(mondays[n], offered if closed is None else every,
                      picked_offered if closed is None else picked, asked_count)
             for n, every, offered, picked, picked_offered, asked_count, _slot, _start in counts]
    return _Overview([week for week in weeks if week.slots], closed, meeting_slot,
                     _monday(meeting_start, zone) if meeting_start is not None else None)


def _choose(weeks: list[PickWeek], wanted: dt.date | None, meeting: dt.date | None, closed: bool) -> PickWeek:
    """The week asked for; else the one with the invitee's meeting, or with times the owner asked them
    about; else the first."""
    by_start = {week.start: week for week in weeks}
    for start in (wanted, meeting):
        if start in by_start:
            return by_start[start]
    return next((week for week in weeks if week.asked and not closed), weeks[0])


def pick_page(invitee: Invitee, zone_name: str, week: dt.date | None = None) -> PickPage:
    """Everything the pick page shows, with times in `zone_name`: a large calendar's `week` (a Monday
    in that zone; a week without times, or None, falls back to a sensible one).

    Once answers are closed the page shows the invitee's answer for every slot, read-only. While
    they are open, a slot that someone else's meeting holds is not offered; nothing tells whose it is."""
    zone, calendar_zone = ZoneInfo(zone_name), ZoneInfo(invitee.calendar.timezone)
    overview = _overview(invitee, zone)
    my_meeting, closed = overview.meeting, overview.closed
    weeks = overview.weeks
    shown: PickWeek | None = None
    where = Timeslot.calendar_id == invitee.calendar_id
    in_week = sa.true()
    if sum(w.slots for w in weeks) > PAGED_OVER and len(weeks) > 1:
        shown = _choose(weeks, week, overview.meeting_week, closed is not None)
        in_week = sa.and_(Timeslot.start_time >= _midnight(shown.start, zone),
                          Timeslot.start_time < _midnight(shown.start + WEEK, zone))
    else:
        weeks = []
    # The meeting's slot comes too, for the banner, whichever week it is in.
    loaded = db.session.scalars(sa.select(Timeslot).where(
        where, sa.or_(in_week, Timeslot.id == my_meeting) if my_meeting is not None else in_week)
        .order_by(Timeslot.start_time)).all()
    slots = [slot for slot in loaded if shown is None or _monday(slot.start_time, zone) == shown.start]
    picks = db.session.execute(
        sa.select(Event.timeslot_id, Event.contact_id, Event.preference, Event.confirmed, Event.owner_placed)
        .join(Timeslot, Timeslot.id == Event.timeslot_id).where(where, in_week)
        .where(sa.or_(Event.contact_id == invitee.contact_id, Event.confirmed))).all()
    # Their answers: a meeting the owner placed in a slot they did not pick is not one of them.
    mine = {p.timeslot_id: p.preference for p in picks if p.contact_id == invitee.contact_id and not p.owner_placed}
    taken = {p.timeslot_id for p in picks if p.confirmed and p.contact_id != invitee.contact_id}
    offered = slots if closed else [slot for slot in slots if slot.id not in taken]

    def choice_for(slot: Timeslot) -> SlotChoice:
        return SlotChoice(slot, slot.start_time.astimezone(zone), slot.end_time.astimezone(zone),
                          slot.start_time.astimezone(calendar_zone), mine.get(slot.id), slot.id == my_meeting)

    days: list[tuple[dt.date, list[SlotChoice]]] = []
    for choice in map(choice_for, offered):
        if not days or days[-1][0] != choice.start.date():
            days.append((choice.start.date(), []))
        days[-1][1].append(choice)
    confirmed = next((choice_for(slot) for slot in loaded if slot.id == my_meeting), None)
    kept = {} if closed else {slot_id: mine[slot_id] for slot_id in sorted(taken) if slot_id in mine}
    return PickPage(days=days, closed=closed, confirmed=confirmed, kept=kept, state=invitee.answer_state,
                    comment=invitee.comment, weeks=weeks, week=shown)
