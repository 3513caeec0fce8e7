"""What does the calendar page show: the window as a week grid, each slot with its picks?

The picks and confirmed meetings belong to scheduling, a feature above this one; the page asks for
them with the `slot_summaries` question signal (oneonone/calendars/signals.py), which scheduling
answers from its tables. Nothing here writes or emails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..signals import answers
from . import signals
from .models import Calendar, Timeslot
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
