"""What does the calendar page show: the window as a week grid, each slot with its picks?

The picks and confirmed meetings belong to scheduling, a feature above this one; the page asks for
them with the `slot_summaries` question signal (oneonone/calendars/signals.py), which scheduling
answers from its tables. The calendar form's zone-change question and its previews are read
here too. Nothing here writes or emails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..db_types import utcnow
from ..extensions import db
from ..signals import answers
from ..timezones import is_valid_timezone
from ..wording import plural
from . import signals
from .models import Calendar, Timeslot
from .services import CalendarCounts, is_the_set_deadline, plan_clock_times, slots_outside
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


def _mondays(calendar: Calendar) -> list[dt.date]:
    """The Monday of each week the window touches, in order."""
    first = calendar.start_date - dt.timedelta(days=calendar.start_date.weekday())
    return [first + dt.timedelta(weeks=n) for n in range((calendar.end_date - first).days // 7 + 1)]


def _week_grid(calendar: Calendar, mondays: list[dt.date], begin: dt.datetime | None = None,
               finish: dt.datetime | None = None) -> list[GridWeek]:
    """These weeks, each day with the slots starting on it in local time; only the slots starting
    in [begin, finish) are read when given (three queries)."""
    zone = calendar.zone
    summaries: dict[int, SlotSummary] = {}
    for answer in answers(signals.slot_summaries, calendar, begin=begin, finish=finish):
        summaries.update(answer)
    days: dict[dt.date, GridDay] = {}
    weeks = []
    for monday in mondays:
        week = GridWeek(monday=monday, days=[])
        for offset in range(7):
            date = monday + dt.timedelta(days=offset)
            day = GridDay(date=date, in_window=calendar.start_date <= date <= calendar.end_date)
            week.days.append(day)
            days[date] = day
        weeks.append(week)
    for timeslot in calendar_timeslots(calendar, begin=begin, finish=finish):
        start, end = timeslot.start_time.astimezone(zone), timeslot.end_time.astimezone(zone)
        day = days.get(start.date())
        if day is not None:
            day.slots.append(GridSlot(timeslot, start, end, summaries.get(timeslot.id, SlotSummary())))
    return weeks


def calendar_weeks(calendar: Calendar) -> list[GridWeek]:
    """The whole window as Monday-to-Sunday weeks, each day with its slots in local time (three queries)."""
    return _week_grid(calendar, _mondays(calendar))


# ---- the calendar page: the whole window, or a week at a time -----------------------------------

WHOLE_WINDOW_MAX_SLOTS = 50
"""A calendar with at most this many slots shows every week of its window on one page, as it always
did; a larger one shows a week at a time, so what a page reads and draws follows the week."""


@dataclass(frozen=True)
class WeekCount:
    """A week of the window and the slots starting in it: all, high priority, not ended yet."""

    monday: dt.date
    slots: int = 0
    high_priority: int = 0
    upcoming: int = 0


@dataclass
class CalendarPage:
    """What the calendar page shows: its grid, the whole calendar's counts, and the other weeks."""

    weeks: list[GridWeek]  # the grid: every week of the window, or the week chosen
    all_weeks: list[WeekCount]  # every week of the window, with its counts
    slots: int  # the whole calendar's
    high_priority: int
    week: WeekCount | None = None  # the week shown, when the page shows a week at a time
    previous: dt.date | None = None  # the nearest earlier week with slots, else the week before
    next: dt.date | None = None  # the nearest later week with slots, else the week after
    notice: str = ""  # why the week shown is not the one asked for
    bad_week: bool = False  # ?week= was not a date: the page answers 400

    @property
    def weeks_with_slots(self) -> int:
        return sum(1 for week in self.all_weeks if week.slots)

    @property
    def position(self) -> int | None:
        """The shown week's place among the weeks with slots (1-based); None when it has none."""
        if self.week is None or not self.week.slots:
            return None
        return sum(1 for week in self.all_weeks if week.slots and week.monday <= self.week.monday)


def week_counts(calendar: Calendar) -> tuple[list[WeekCount], int, int]:
    """Every week of the window with its slot counts, then the calendar's slots and high-priority
    slots in all (one query, grouped in SQL by local week; a slot outside the window counts in the
    totals only)."""
    mondays = _mondays(calendar)
    zone = calendar.zone
    bounds = [window_bounds(monday, monday, zone)[0] for monday in mondays]
    bounds.append(window_bounds(mondays[-1], mondays[-1] + dt.timedelta(days=6), zone)[1])
    week = sa.case((Timeslot.start_time < bounds[0], -1),
                   *((Timeslot.start_time < bound, n) for n, bound in enumerate(bounds[1:])),
                   else_=len(mondays))
    rows = (sa.select(week.label("week"), Timeslot.high_priority,
                      (Timeslot.end_time > utcnow()).label("upcoming"))
            .where(Timeslot.calendar_id == calendar.id).subquery())
    found = {n: (slots, high or 0, upcoming or 0) for n, slots, high, upcoming in db.session.execute(
        sa.select(rows.c.week, sa.func.count(), sa.func.count().filter(rows.c.high_priority),
                  sa.func.count().filter(rows.c.upcoming)).group_by(rows.c.week))}
    weeks = [WeekCount(monday, *found.get(n, (0, 0, 0))) for n, monday in enumerate(mondays)]
    return weeks, sum(slots for slots, _, _ in found.values()), sum(high for _, high, _ in found.values())


def _asked_monday(asked: str | None) -> tuple[dt.date | None, bool]:
    """The Monday of the week `?week=` names (any day of it), and whether it was not a date."""
    if not asked:
        return None, False
    try:
        date = dt.date.fromisoformat(asked.strip())
    except ValueError:
        return None, True
    return date - dt.timedelta(days=date.weekday()), False


def calendar_page(calendar: Calendar, asked: str | None = None) -> CalendarPage:
    """The calendar page for `?week=` (a date in the week wanted; None: the week of the first slot
    still to come, else the window's first week): every week when the calendar is small (four
    queries), else that week only, reading only its slots (four queries too)."""
    counts, slots, high_priority = week_counts(calendar)
    asked_monday, bad = _asked_monday(asked)
    notice = "That week is not a date (write it as YYYY-MM-DD)." if bad else ""
    if slots <= WHOLE_WINDOW_MAX_SLOTS:
        return CalendarPage(weeks=calendar_weeks(calendar), all_weeks=counts, slots=slots,
                            high_priority=high_priority, notice=notice, bad_week=bad)
    mondays = [week.monday for week in counts]
    if asked_monday is not None and asked_monday < mondays[0]:
        index = 0
        notice = f"{asked_monday:%d %b %Y} is before this calendar’s window: showing its first week."
    elif asked_monday is not None and asked_monday > mondays[-1]:
        index = len(mondays) - 1
        notice = f"{asked_monday:%d %b %Y} is after this calendar’s window: showing its last week."
    elif asked_monday is not None:
        index = mondays.index(asked_monday)
    else:
        index = next((n for n, week in enumerate(counts) if week.upcoming), 0)
    with_slots = [n for n, week in enumerate(counts) if week.slots]
    previous = max((n for n in with_slots if n < index), default=index - 1 if index > 0 else None)
    following = min((n for n in with_slots if n > index), default=index + 1 if index + 1 < len(counts) else None)
    begin, finish = window_bounds(mondays[index], mondays[index] + dt.timedelta(days=6), calendar.zone)
    return CalendarPage(
        weeks=_week_grid(calendar, [mondays[index]], begin, finish), all_weeks=counts, slots=slots,
        high_priority=high_priority, week=counts[index],
        previous=None if previous is None else mondays[previous],
        next=None if following is None else mondays[following], notice=notice, bad_week=bad)


def page_counts(calendar: Calendar, slots: int) -> CalendarCounts:
    """The page header's counts: the slots counted already, with invitees, answered and confirmed
    (two queries)."""
    counts = CalendarCounts()
    for answer in answers(signals.invitation_counts, [calendar.id]):
        counts = answer.get(calendar.id, counts)
    return dataclasses.replace(counts, slots=slots)


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
