"""What does the calendar page show: the window as a week grid, each slot with its picks?

The picks and confirmed meetings belong to scheduling, a feature above this one; the page asks for
them with the `slot_summaries` question signal (oneonone/calendars/signals.py), which scheduling
answers from its tables. The calendar form's zone-change question and its previews are read
here too. Nothing here writes or emails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..db_types import utcnow
from ..signals import answers
from ..timezones import is_valid_timezone
from ..wording import plural
from . import signals
from .models import Calendar, Timeslot
from .services import is_the_set_deadline, plan_clock_times, slots_outside
from .signals import SlotPicker
from .times import clock_time_preview, moment_preview, window_bounds
from .timeslots import calendar_timeslots


@dataclass(frozen=True)
class SlotSummary:
    """Picks on one timeslot and the confirmed meeting, if any."""

    picks: int = 0
    preferred: int = 0
    confirmed_contact_id: int | None = None
    confirmed_name: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_contact_id is not None

    @property
    def if_need_be(self) -> int:
        return self.picks - self.preferred  # a pick is preferred or if need be


@dataclass
class GridSlot:
    """A timeslot placed in the week grid, with its local times."""

    timeslot: Timeslot
    start: dt.datetime
    end: dt.datetime
    summary: SlotSummary


@dataclass
class GridDay:
    """One day of the grid: in the calendar's window or not, with the slots starting on it."""

    date: dt.date
    in_window: bool
    slots: list[GridSlot] = field(default_factory=list)


@dataclass
class GridWeek:
    """Monday to Sunday."""

    monday: dt.date
    days: list[GridDay]

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)


def _summaries(calendar: Calendar, timeslot: Timeslot | None = None) -> dict[int, SlotSummary]:
    result: dict[int, SlotSummary] = {}
    for answer in answers(signals.slot_summaries, calendar, timeslot=timeslot):
        result.update(answer)
    return result


def slot_summaries(calendar: Calendar) -> dict[int, SlotSummary]:
    """Picks and confirmed invitee per timeslot of the calendar (two queries; absent = no picks)."""
    return _summaries(calendar)


def timeslot_summary(timeslot: Timeslot) -> SlotSummary:
    """Picks and the confirmed meeting of one slot (two small queries)."""
    return _summaries(timeslot.calendar, timeslot).get(timeslot.id, SlotSummary())


def slot_pickers(calendar: Calendar, timeslot_ids: list[int]) -> dict[int, list[SlotPicker]]:
    """Who picked each of these slots, the confirmed invitee first (one query; absent = nobody)."""
    result: dict[int, list[SlotPicker]] = {}
    if timeslot_ids:
        for answer in answers(signals.slot_pickers, calendar, timeslot_ids=list(timeslot_ids)):
            result.update(answer)
    return result


def timeslot_pickers(timeslot: Timeslot) -> list[SlotPicker]:
    """Who picked one slot, the confirmed invitee first (one query)."""
    return slot_pickers(timeslot.calendar, [timeslot.id]).get(timeslot.id, [])


def calendar_weeks(calendar: Calendar) -> list[GridWeek]:
    """The window as Monday-to-Sunday weeks, each day with its slots in local time (three queries)."""
    zone = calendar.zone
    summaries = slot_summaries(calendar)
    first_monday = calendar.start_date - dt.timedelta(days=calendar.start_date.weekday())
    last_sunday = calendar.end_date + dt.timedelta(days=6 - calendar.end_date.weekday())
    days: dict[dt.date, GridDay] = {}
    weeks = []
    monday = first_monday
    while monday <= last_sunday:
        week = GridWeek(monday=monday, days=[])
        for offset in range(7):
            date = monday + dt.timedelta(days=offset)
            day = GridDay(date=date, in_window=calendar.start_date <= date <= calendar.end_date)
            week.days.append(day)
            days[date] = day
        weeks.append(week)
        monday += dt.timedelta(days=7)
    for timeslot in calendar_timeslots(calendar):
        start, end = timeslot.start_time.astimezone(zone), timeslot.end_time.astimezone(zone)
        day = days.get(start.date())
        if day is not None:
            day.slots.append(GridSlot(timeslot, start, end, summaries.get(timeslot.id, SlotSummary())))
    return weeks


# ---- what the edit pages say before a change -----------------------------------------------------

def listing(names: list[str], limit: int = 8) -> str:
    """'Ada Lovelace, Bo Chen and Cy Young' (the first `limit`, then how many others)."""
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {plural(len(names) - limit, 'other')}"
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def zone_question(calendar: Calendar, form: Any) -> dict | None:
    """What the calendar form's zone change asks, with a preview of each choice (one slot's times,
    whose answers go, who is emailed); None when it needs no question (the zone stays, or the
    calendar has no slot and no deadline ahead). `form` is the submitted CalendarForm."""
    wanted = (form.timezone.data or "").strip()
    # A zone the service would refuse asks nothing: the form says what is wrong with it instead.
    new_zone = ZoneInfo(wanted) if wanted != calendar.timezone and is_valid_timezone(wanted) else None
    slots = calendar_timeslots(calendar) if new_zone else []
    deadline = calendar.response_deadline
    if form.response_deadline.data is None or deadline is None or deadline <= utcnow() or not (
            is_the_set_deadline(form.response_deadline.data, deadline, calendar.zone)):
        deadline = None  # cleared, passed, or typed anew: read in the new zone either way
    if new_zone is None or not (slots or deadline):
        return None
    old_zone = calendar.zone
    first = slots[0].start_time if slots else deadline
    clock = [clock_time_preview(first, old_zone, new_zone) + "."]
    moments = [moment_preview(first, old_zone, new_zone) + ".", "Answers stay as they are; nobody is emailed."
               if slots else "Nobody is emailed."]
    if slots:
        first_day, last_day = form.start_date.data or calendar.start_date, form.end_date.data or calendar.end_date
        begin, finish = window_bounds(first_day, last_day, new_zone)
        outside = sum(slots_outside(calendar, begin, finish))
        if outside:
            moments.append(f"Not possible with this window: {plural(outside, 'slot')} would fall outside it.")
        plan = plan_clock_times(calendar, new_zone.key)
        moved = [slot.id for slot, _start, _end in plan.moves]
        pickers = [p for names in slot_pickers(calendar, moved).values() for p in names]
        others = list(dict.fromkeys(p.name for p in pickers if not p.confirmed))
        meetings = [p.name for p in pickers if p.confirmed]
        if plan.problem:
            clock.append(f"Not possible now: {plan.problem}")
        elif not moved:
            clock.append("No slot changes its moment; nobody is emailed.")
        else:
            clock.append(f"{plural(len(moved), 'slot')} move{'s' if len(moved) == 1 else ''}.")
            dropped = sum(not p.confirmed for p in pickers)
            if dropped:
                clock.append(f"That removes {plural(dropped, 'answer')} on them ({listing(others)}); "
                             f"{'they are' if len(others) > 1 else 'that invitee is'} emailed to pick again.")
            if meetings:
                clock.append(f"The confirmed {'meeting' if len(meetings) == 1 else 'meetings'} with "
                             f"{listing(meetings)} move{'s' if len(meetings) == 1 else ''}; "
                             f"{'they are' if len(meetings) > 1 else meetings[0] + ' is'} emailed the new time.")
            if not pickers:
                clock.append("Nobody has picked them; nobody is emailed.")
    if deadline is not None and slots:
        clock.append(f"Answers close: {clock_time_preview(deadline, old_zone, new_zone)}.")
        moments.append(f"Answers close: {moment_preview(deadline, old_zone, new_zone)}.")
    return {"old": calendar.timezone, "new": new_zone.key, "slots": len(slots), "deadline": deadline,
            "clock": " ".join(clock), "moments": " ".join(moments)}
