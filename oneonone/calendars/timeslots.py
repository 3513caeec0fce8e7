"""Which timeslots does a calendar offer, and how are they added, moved and deleted?

A slot lies within its calendar's window and overlaps no other slot of the calendar; each change
locks the calendar row first, so the overlap check holds against concurrent changes, answers and
confirmations. Moving or deleting a slot concerns the invitees who picked it, whom scheduling (a
feature above) owns: moving sends `timeslot_moved`, and scheduling removes the picks that are not a
confirmed meeting (those invitees are emailed that a time they picked changed, with their link) and
queues the "Moved" email with the new and old time for the meeting there (changing only the
priority moves nothing); deleting sends `timeslot_deleting`, and scheduling refuses
(ConflictError) unless the owner confirmed, then queues the cancellation. Those emails are outbox
rows in the same transaction, sent after the request's transaction commits.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..accounts.models import User
from ..exceptions import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..pagination import Page, paginate
from ..validation import Problems, parse_id
from ..wording import plural
from . import signals
from .models import Calendar, Timeslot
from .services import lock_calendar, tell_about_moves
from .signals import MoveOutcome, SlotMove
from .times import describe_span, describe_window, gap_message, local_to_utc, to_utc, window_bounds

SERIES_MAX_SLOTS = 2000
MINUTES_PER_DAY = 24 * 60
SLOT_MINUTES_MIN = 5
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS_PROBLEM = "Weekdays are numbers from 0 (Monday) to 6 (Sunday)."
TIMESLOT_FIELDS = frozenset({"start_time", "end_time", "high_priority"})


# ---- reading ----------------------------------------------------------------------------------

def get_timeslot(owner: User, calendar_id: int, timeslot_id: int) -> Timeslot:
    """The owner's timeslot in that calendar; NotFoundError otherwise (as `get_calendar`, for any id)."""
    calendar_key, slot_key = parse_id(calendar_id), parse_id(timeslot_id)
    timeslot = None
    if calendar_key is not None and slot_key is not None and getattr(owner, "id", None) is not None:
        timeslot = db.session.scalar(
            sa.select(Timeslot).join(Calendar, Calendar.id == Timeslot.calendar_id)
            .where(Timeslot.id == slot_key, Timeslot.calendar_id == calendar_key,
                   Calendar.owner_id == owner.id))
    if timeslot is None:
        raise NotFoundError("We could not find that timeslot.")
    return timeslot


def calendar_timeslots(calendar: Calendar, *, begin: dt.datetime | None = None,
                       finish: dt.datetime | None = None, limit: int | None = None) -> list[Timeslot]:
    """The calendar's slots, earliest first: only those starting in [begin, finish) when given, and
    at most `limit` of them (the range and the limit are in the SQL, so a page loads only its slots)."""
    query = sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id)
    if begin is not None:
        query = query.where(Timeslot.start_time >= begin)
    if finish is not None:
        query = query.where(Timeslot.start_time < finish)
    return list(db.session.scalars(query.order_by(Timeslot.start_time, Timeslot.id).limit(limit)))


def timeslot_page(calendar: Calendar, page: int, per_page: int) -> Page:
    """One page of the calendar's slots, earliest first, with their total (one query)."""
    return paginate(sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id)
                    .order_by(Timeslot.start_time, Timeslot.id), page, per_page)


def first_timeslots(calendar: Calendar, limit: int) -> tuple[list[Timeslot], int]:
    """The calendar's first `limit` slots, earliest first, and how many it has in all (one query)."""
    rows = db.session.execute(
        sa.select(Timeslot, sa.func.count().over()).where(Timeslot.calendar_id == calendar.id)
        .order_by(Timeslot.start_time, Timeslot.id).limit(limit)).all()
    return [row[0] for row in rows], rows[0][1] if rows else 0


# ---- one slot -----------------------------------------------------------------------------------

def _check_slot(problems: Problems, calendar: Calendar, start: dt.datetime | None,
                end: dt.datetime | None) -> None:
    if start is None or end is None:
        return
    if end <= start:
        problems.add("end_time", "The end must be after the start.")
        return
    begin, finish = window_bounds(calendar.start_date, calendar.end_date, calendar.zone)
    if start < begin or end > finish:
        field_name = "start_time" if start < begin or start >= finish else "end_time"
        problems.add(field_name, f"The slot must lie within the calendar's window, "
                                 f"{describe_window(calendar)} ({calendar.timezone}).")


def _overlap(calendar: Calendar, start: dt.datetime, end: dt.datetime,
             exclude_id: int | None = None) -> Timeslot | None:
    query = (sa.select(Timeslot)
             .where(Timeslot.calendar_id == calendar.id, Timeslot.start_time < end,
                    Timeslot.end_time > start)
             .order_by(Timeslot.start_time).limit(1))
    if exclude_id is not None:
        query = query.where(Timeslot.id != exclude_id)
    return db.session.scalar(query)


def _raise_overlap(calendar: Calendar, clash: Timeslot) -> None:
    message = f"Overlaps the slot {describe_span(clash.start_time, clash.end_time, calendar.zone)}."
    db.session.rollback()  # releases the calendar lock
    raise ConflictError(message, {"start_time": [message]})


def add_timeslot(calendar: Calendar, *, start_time: dt.datetime, end_time: dt.datetime,
                 high_priority: bool = False) -> Timeslot:
    """Add a slot (naive times are read in the calendar's zone); refuses overlaps with ConflictError."""
    problems = Problems()
    zone = calendar.zone
    start = to_utc(problems, "start_time", start_time, "Start", zone)
    end = to_utc(problems, "end_time", end_time, "End", zone)
    _check_slot(problems, calendar, start, end)
    problems.raise_if_any()
    lock_calendar(calendar)
    clash = _overlap(calendar, start, end)
    if clash is not None:
        _raise_overlap(calendar, clash)
    timeslot = Timeslot(calendar_id=calendar.id, start_time=start, end_time=end, high_priority=high_priority)
    db.session.add(timeslot)
    db.session.flush()
    return timeslot


def update_timeslot(timeslot: Timeslot, changes: dict[str, Any]) -> Timeslot:
    """Apply typed changes to start_time, end_time or high_priority (see `change_timeslot`)."""
    change_timeslot(timeslot, changes)
    return timeslot


def change_timeslot(timeslot: Timeslot, changes: dict[str, Any]) -> MoveOutcome:
    """Apply typed changes; a slot whose times change sends `timeslot_moved` (the other picks on it
    are removed and those invitees emailed; a confirmed meeting there is emailed the new time).
    Returns what the move did to the answers (nothing when only the priority changed)."""
    if not isinstance(changes, dict):
        raise ValidationError("Send the changes as an object of fields.")
    problems = Problems()
    for key in changes:
        if key not in TIMESLOT_FIELDS:
            problems.add(str(key), "This field cannot be changed.")
    calendar = timeslot.calendar
    zone = calendar.zone
    start = (to_utc(problems, "start_time", changes["start_time"], "Start", zone)
             if "start_time" in changes else timeslot.start_time)
    end = (to_utc(problems, "end_time", changes["end_time"], "End", zone)
           if "end_time" in changes else timeslot.end_time)
    priority = changes.get("high_priority", timeslot.high_priority)
    moved = start != timeslot.start_time or end != timeslot.end_time
    if moved:
        _check_slot(problems, calendar, start, end)
    problems.raise_if_any()
    if moved:
        lock_calendar(calendar)
        clash = _overlap(calendar, start, end, exclude_id=timeslot.id)
        if clash is not None:
            _raise_overlap(calendar, clash)
    move = SlotMove(timeslot, timeslot.start_time, timeslot.end_time)
    timeslot.start_time, timeslot.end_time, timeslot.high_priority = start, end, priority
    db.session.flush()
    return tell_about_moves(calendar, [move] if moved else [])


def delete_timeslot(timeslot: Timeslot, *, confirm: bool = False) -> None:
    """Delete a slot and its picks; `timeslot_deleting` refuses it while a meeting is confirmed there
    unless `confirm` is True, and cancels that meeting by email."""
    lock_calendar(timeslot.calendar)
    # Sent before the delete so the cancellation still has its slot; same transaction.
    signals.timeslot_deleting.send(timeslot, confirm=confirm is True)
    db.session.delete(timeslot)
    db.session.flush()


# ---- a series of slots ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Planned:
    start: dt.datetime
    end: dt.datetime


def _check_minutes(problems: Problems, field_name: str, value: int, label: str, minimum: int) -> None:
    if not minimum <= value <= MINUTES_PER_DAY:
        problems.add(field_name, f"{label} must be between {minimum} and {MINUTES_PER_DAY}.")


def _check_series(problems: Problems, calendar: Calendar, weekdays: set[int], start: dt.time, end: dt.time,
                  length: int, gap: int, first: dt.date, last: dt.date) -> None:
    if not weekdays:
        problems.add("weekdays", "Choose at least one weekday.")
    elif any(isinstance(day, bool) or day not in range(7) for day in weekdays):
        problems.add("weekdays", WEEKDAYS_PROBLEM)
    _check_minutes(problems, "length_minutes", length, "Slot length", SLOT_MINUTES_MIN)
    _check_minutes(problems, "gap_minutes", gap, "Gap", 0)
    if end <= start:
        problems.add("end", "The end of the day's slots must be after their start.")
    if not calendar.start_date <= first <= calendar.end_date:
        problems.add("first_day", f"The first day must be within the window, {describe_window(calendar)}.")
    if not calendar.start_date <= last <= calendar.end_date:
        problems.add("last_day", f"The last day must be within the window, {describe_window(calendar)}.")
    if "first_day" not in problems and "last_day" not in problems and last < first:
        problems.add("last_day", "The last day must be on or after the first day.")


def add_series(calendar: Calendar, *, weekdays: set[int], start: dt.time, end: dt.time, length_minutes: int,
               gap_minutes: int = 0, first_day: dt.date | None = None, last_day: dt.date | None = None,
               high_priority: bool = False) -> list[Timeslot]:
    """Add back-to-back slots on chosen weekdays (0 = Monday), from the window's first to last day
    unless given; all are added or none."""
    zone = calendar.zone
    from_time, to_time = start.replace(microsecond=0), end.replace(microsecond=0)
    length, gap = length_minutes, gap_minutes
    first, last = first_day or calendar.start_date, last_day or calendar.end_date
    problems = Problems()
    _check_series(problems, calendar, weekdays, from_time, to_time, length, gap, first, last)
    problems.raise_if_any()

    span = (dt.datetime.combine(dt.date.min, to_time) - dt.datetime.combine(dt.date.min, from_time))
    per_day = 0 if length * 60 > span.total_seconds() else 1 + math.floor(
        (span.total_seconds() - length * 60) / ((length + gap) * 60))
    matching_days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)
                     if (first + dt.timedelta(days=n)).weekday() in weekdays]
    if per_day == 0:
        raise ValidationError.for_field(
            "length_minutes", f"A {length}-minute slot does not fit between {from_time:%H:%M} and "
                              f"{to_time:%H:%M}.")
    if not matching_days:
        chosen = ", ".join(WEEKDAY_NAMES[d] for d in sorted(weekdays))
        raise ValidationError.for_field(
            "weekdays", f"No {chosen} falls between {first:%a %d %b %Y} and {last:%a %d %b %Y}.")
    if per_day * len(matching_days) > SERIES_MAX_SLOTS:
        raise ValidationError.for_field(
            "length_minutes", f"That makes {per_day * len(matching_days)} slots; add at most "
                              f"{SERIES_MAX_SLOTS} at a time.")

    planned: list[_Planned] = []
    gaps: list[str] = []
    step = dt.timedelta(minutes=length + gap)
    for day in matching_days:
        local = dt.datetime.combine(day, from_time)
        day_end = dt.datetime.combine(day, to_time)
        while local + dt.timedelta(minutes=length) <= day_end:
            local_end = local + dt.timedelta(minutes=length)
            begin, finish = local_to_utc(local, zone), local_to_utc(local_end, zone)
            if begin is None or finish is None:
                gaps.append(gap_message(local if begin is None else local_end, zone))
            elif finish <= begin:
                gaps.append(f"The slot at {local:%a %d %b %Y, %H:%M} would end before it starts "
                            f"when the clocks change.")
            else:
                planned.append(_Planned(begin, finish))
            local += step
    if gaps:
        message = (f"Nothing was added: {plural(len(gaps), 'slot')} would fall in a clock change. "
                   f"{gaps[0]}")
        raise ValidationError(message, {"start": [message]})

    lock_calendar(calendar)
    clashes = _series_clashes(calendar, planned)
    if clashes:
        db.session.rollback()
        share = (f"all {len(planned)} new slots" if len(clashes) == len(planned)
                 else f"{plural(len(clashes), 'slot')} of {len(planned)}")
        raise ConflictError(f"Nothing was added: {share} would overlap existing slots.",
                            {"timeslots": clashes})
    slots = [Timeslot(calendar_id=calendar.id, start_time=p.start, end_time=p.end, high_priority=high_priority)
             for p in planned]
    db.session.add_all(slots)
    db.session.flush()
    return slots


def _series_clashes(calendar: Calendar, planned: list[_Planned]) -> list[str]:
    """A description of each planned slot that overlaps an existing slot (one query)."""
    if not planned:
        return []
    lowest = min(p.start for p in planned)
    highest = max(p.end for p in planned)
    existing = db.session.execute(
        sa.select(Timeslot.start_time, Timeslot.end_time)
        .where(Timeslot.calendar_id == calendar.id, Timeslot.start_time < highest,
               Timeslot.end_time > lowest)
        .order_by(Timeslot.start_time, Timeslot.end_time)
    ).all()
    starts = [row[0] for row in existing]
    latest_end: list[dt.datetime] = []
    for _, finish in existing:
        latest_end.append(max(finish, latest_end[-1]) if latest_end else finish)
    zone = calendar.zone
    clashes = []
    for plan in planned:
        count = bisect.bisect_left(starts, plan.end)  # existing slots starting before this one ends
        if count and latest_end[count - 1] > plan.start:
            index = count - 1
            while existing[index][1] <= plan.start:
                index -= 1
            other = existing[index]
            other_text = describe_span(other[0], other[1], zone)
            if plan.start.astimezone(zone).date() == other[0].astimezone(zone).date():
                other_text = other_text.split(", ", 1)[1]  # same day: the times say it
            clashes.append(f"{describe_span(plan.start, plan.end, zone)} overlaps the slot {other_text}.")
    return clashes
