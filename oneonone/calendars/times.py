"""When is a calendar's local time, in UTC, and how is it written?

Times are entered in the calendar's zone and stored in UTC. A local time that does not exist (the
spring-forward gap) is refused; an ambiguous one (fall-back) means its first occurrence. The
calendar, timeslot and page modules all read and describe times through these helpers.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ..validation import Problems
from .models import Calendar, Timeslot

# Dates outside these years are typing mistakes, and keep date arithmetic far from its limits.
YEAR_MIN, YEAR_MAX = 1970, 2999


def in_year_range(problems: Problems, field_name: str, value: dt.date, label: str) -> bool:
    """True when `value` falls in YEAR_MIN..YEAR_MAX; otherwise a problem is recorded."""
    if YEAR_MIN <= value.year <= YEAR_MAX:
        return True
    problems.add(field_name, f"{label}: enter a year between {YEAR_MIN} and {YEAR_MAX}.")
    return False


def local_to_utc(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall-clock time in `zone`: the first when ambiguous, None in a gap."""
    naive = naive.replace(tzinfo=None, fold=0)
    moment = naive.replace(tzinfo=zone).astimezone(dt.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return moment


def gap_message(naive: dt.datetime, zone: ZoneInfo) -> str:
    """Why a wall-clock time the clocks skip is refused."""
    return (f"{naive:%a %d %b %Y, %H:%M} does not exist in {zone.key}: the clocks go forward then. "
            "Choose a time before or after the change.")


def to_utc(problems: Problems, field_name: str, value: dt.datetime, label: str,
           zone: ZoneInfo) -> dt.datetime | None:
    """`value` as an aware UTC instant (a naive one is wall-clock time in `zone`); None after a problem."""
    if not in_year_range(problems, field_name, value, label):
        return None
    value = value.replace(microsecond=0)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.UTC)
    moment = local_to_utc(value, zone)
    if moment is None:
        problems.add(field_name, gap_message(value, zone))
    return moment


def window_bounds(start_date: dt.date, end_date: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants of start_date 00:00 and end_date 24:00, local time."""
    begin = dt.datetime.combine(start_date, dt.time(0)).replace(tzinfo=zone)
    end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time(0)).replace(tzinfo=zone)
    return begin.astimezone(dt.UTC), end.astimezone(dt.UTC)


def describe_window(calendar: Calendar) -> str:
    """'Mon 02 Mar 2026 – Fri 13 Mar 2026'."""
    return f"{calendar.start_date:%a %d %b %Y} – {calendar.end_date:%a %d %b %Y}"


def describe_span(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """A slot's local span, e.g. 'Tue 03 Mar 2026, 09:00–09:30' (end date shown if another day)."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    same_day = local_end.date() == local_start.date() or (
        local_end.time() == dt.time(0) and local_end.date() == local_start.date() + dt.timedelta(days=1))
    end_text = f"{local_end:%H:%M}" if same_day else f"{local_end:%a %d %b %Y, %H:%M}"
    return f"{local_start:%a %d %b %Y, %H:%M}–{end_text}"


def describe_timeslot(timeslot: Timeslot) -> str:
    """A timeslot's local span in its calendar's zone."""
    return describe_span(timeslot.start_time, timeslot.end_time, timeslot.calendar.zone)


# ---- a zone change that keeps the clock times -----------------------------------------------------

def same_clock_time(moment: dt.datetime, old_zone: ZoneInfo, new_zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant showing in `new_zone` the wall-clock time `moment` shows in `old_zone`; None
    when the clocks there skip that time or show it twice (a clock change)."""
    naive = moment.astimezone(old_zone).replace(tzinfo=None)
    first = local_to_utc(naive, new_zone)
    if first is None or naive.replace(tzinfo=new_zone, fold=1).astimezone(dt.UTC) != first:
        return None
    return first


def clock_change_message(moment: dt.datetime, old_zone: ZoneInfo, new_zone: ZoneInfo) -> str:
    """Why `moment`'s wall-clock time cannot be kept in `new_zone`."""
    naive = moment.astimezone(old_zone).replace(tzinfo=None)
    if local_to_utc(naive, new_zone) is None:
        return f"{naive:%a %d %b %Y, %H:%M} does not exist in {new_zone.key}: the clocks go forward then."
    return f"{naive:%a %d %b %Y, %H:%M} happens twice in {new_zone.key}: the clocks go back then."


def _clock(moment: dt.datetime, zone: ZoneInfo, beside: dt.datetime) -> str:
    """`moment`'s time in `zone`, with its day when that is not `beside`'s day."""
    shown = moment.astimezone(zone)
    return f"{shown:%H:%M}" if shown.date() == beside.date() else f"{shown:%a %d %b %H:%M}"


def _place(zone: ZoneInfo) -> str:
    return zone.key.rsplit("/", 1)[-1].replace("_", " ")


def clock_time_preview(moment: dt.datetime, old_zone: ZoneInfo, new_zone: ZoneInfo) -> str:
    """'Mon 02 Sep 09:00 America/Chicago becomes 09:00 America/New_York (08:00 Chicago time)'."""
    local = moment.astimezone(old_zone)
    base = f"{local:%a %d %b %H:%M} {old_zone.key}"
    moved = same_clock_time(moment, old_zone, new_zone)
    if moved is None:
        return f"{base} cannot keep its clock time: {clock_change_message(moment, old_zone, new_zone)}"
    return (f"{base} becomes {local:%H:%M} {new_zone.key} "
            f"({_clock(moved, old_zone, local)} {_place(old_zone)} time)")


def moment_preview(moment: dt.datetime, old_zone: ZoneInfo, new_zone: ZoneInfo) -> str:
    """'Mon 02 Sep 09:00 America/Chicago shows as 10:00 America/New_York'."""
    local = moment.astimezone(old_zone)
    return f"{local:%a %d %b %H:%M} {old_zone.key} shows as {_clock(moment, new_zone, local)} {new_zone.key}"
