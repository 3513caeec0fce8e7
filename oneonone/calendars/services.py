"""Which calendars does an owner have, and how are they created, changed and deleted?

A calendar is a date window in a time zone. Its invitations belong to scheduling, a feature above
this one, so calendars never touch them directly: deleting a calendar sends `calendar_deleting`
(oneonone/calendars/signals.py), and scheduling answers by queueing a cancellation email, with its
.ics, for each invitee with an upcoming confirmed meeting. The emails are outbox rows written in the
same transaction and sent after the request's transaction commits (none if it rolls back). What the
pages show about invitations (counts, upcoming meetings) is asked the same way, with `answers`.
Changing a calendar's zone either keeps the slots' moments (they show at other clock times; nobody
is emailed) or keeps their clock times (09:00 stays 09:00 in the new zone, so they move, and
`timeslot_moved` lets scheduling remove the answers on them and email those invitees, as a slot
edit does); a slot whose clock time the new zone skips or shows twice refuses the change. The
response deadline follows the same choice. A response deadline newly set or changed must be in the
future; one already passed may stay (at its moment) while other fields are edited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..accounts.models import User
from ..accounts.services import account_deleting
from ..db_types import utcnow
from ..exceptions import NotFoundError, ValidationError
from ..extensions import db
from ..pagination import Page, clamp_page_args, paginate
from ..signals import answers
from ..transaction import lock_row
from ..validation import Problems, clean_timezone, has_control_characters, parse_id
from ..wording import plural
from . import signals
from .details import DETAIL_FIELDS, check_details
from .models import Calendar, Timeslot
from .signals import MoveOutcome, SlotMove
from .times import (
    clock_change_message,
    describe_span,
    in_year_range,
    same_clock_time,
    to_utc,
    window_bounds,
)

NAME_MAX = 50
WINDOW_MAX_DAYS = 366
CALENDAR_FIELDS = frozenset({"name", "start_date", "end_date", "timezone", "response_deadline", *DETAIL_FIELDS})
PAST_DEADLINE = "The response deadline must be in the future."
KEEP_CLOCK_TIMES, KEEP_MOMENTS = "keep_clock_times", "keep_moments"
SLOT_TIMES = (KEEP_CLOCK_TIMES, KEEP_MOMENTS)


@dataclass(frozen=True)
class CalendarCounts:
    """What a calendar holds: slots, invitees, invitees who answered, confirmed meetings."""

    slots: int = 0
    invitees: int = 0
    answered: int = 0
    confirmed: int = 0


@dataclass(frozen=True)
class ClockPlan:
    """Where a calendar's slots go if they keep their clock times in another zone: the slots whose
    moment changes, with their new (start, end), and the first problem (a clock change) if any."""

    moves: list[tuple[Timeslot, dt.datetime, dt.datetime]]
    problem: str | None = None


@dataclass(frozen=True)
class UpcomingMeeting:
    """A confirmed meeting that has not ended: whom it is with, and its slot."""

    name: str
    timeslot: Timeslot


# ---- reading --------------------------------------------------------------------------------------

def list_calendars(owner: User, *, page: int = 1, per_page: int = 50) -> Page:
    """One page of the owner's calendars, latest window first (page and size brought into range)."""
    page_number, size = clamp_page_args(page, per_page)
    query = (sa.select(Calendar).where(Calendar.owner_id == owner.id)
             .order_by(Calendar.start_date.desc(), Calendar.id.desc()))
    return paginate(query, page_number, size)


def calendar_counts(calendar_ids: Iterable[int]) -> dict[int, CalendarCounts]:
    """Slots, invitees, answered invitees and confirmed meetings per calendar (three queries)."""
    ids = sorted(set(calendar_ids))
    if not ids:
        return {}
    slots = dict(db.session.execute(
        sa.select(Timeslot.calendar_id, sa.func.count())
        .where(Timeslot.calendar_id.in_(ids)).group_by(Timeslot.calendar_id)
    ).all())
    invitations: dict[int, CalendarCounts] = {}
    for answer in answers(signals.invitation_counts, ids):
        invitations.update(answer)
    return {
        calendar_id: dataclasses.replace(invitations.get(calendar_id, CalendarCounts()),
                                         slots=slots.get(calendar_id, 0))
        for calendar_id in ids
    }


def get_calendar(owner: User, calendar_id: int) -> Calendar:
    """The owner's calendar; NotFoundError when it is missing or someone else's.

    Ids arrive parsed (the `id` URL converter, the API's `Id` field); an id that is not one is still
    a 404 here, never a database error."""
    clean = parse_id(calendar_id)
    calendar = None
    if clean is not None and owner is not None and getattr(owner, "id", None) is not None:
        calendar = db.session.scalar(
            sa.select(Calendar).where(Calendar.id == clean, Calendar.owner_id == owner.id))
    if calendar is None:
        raise NotFoundError("We could not find that calendar.")
    return calendar


def upcoming_confirmed_meetings(calendar: Calendar) -> list[UpcomingMeeting]:
    """The calendar's confirmed meetings that have not ended yet, earliest first."""
    return [meeting for answer in answers(signals.upcoming_meetings, calendar) for meeting in answer]


def lock_calendar(calendar: Calendar) -> None:
    """Serialise slot changes per calendar, with answers and confirmations, so checks hold."""
    lock_row(Calendar, calendar.id)


# ---- creating and changing -------------------------------------------------------------------------

def _check_name(problems: Problems, name: str) -> str:
    text = name.strip()
    if not text:
        problems.add("name", "Name is required.")
    elif len(text) > NAME_MAX:
        problems.add("name", f"Name must be at most {NAME_MAX} characters.")
    elif has_control_characters(text):
        problems.add("name", "Name cannot contain control characters such as line breaks.")
    return text


def _check_date(problems: Problems, field_name: str, value: dt.date, label: str) -> dt.date | None:
    return value if in_year_range(problems, field_name, value, label) else None


def _check_window(problems: Problems, start: dt.date | None, end: dt.date | None) -> None:
    if start is None or end is None:
        return
    if end < start:
        problems.add("end_date", "The end date must be on or after the start date.")
    elif (end - start).days + 1 > WINDOW_MAX_DAYS:
        problems.add("end_date", f"The window can be at most {WINDOW_MAX_DAYS} days long.")


def is_the_set_deadline(value: dt.datetime, current: dt.datetime | None, zone: ZoneInfo) -> bool:
    """Whether `value` is the deadline already set, sent back: the same instant or, naive, its
    wall-clock time in the calendar's zone to the minute (as the edit form shows and sends it)."""
    if current is None:
        return False
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.replace(microsecond=0) == current
    shown = current.astimezone(zone).replace(tzinfo=None)
    return value.replace(microsecond=0) in (shown, shown.replace(second=0))


def _check_deadline(problems: Problems, deadline: dt.datetime | None, zone_name: str) -> dt.datetime | None:
    """A new deadline in UTC (naive = the calendar's wall-clock time); None when there is none. It
    must be in the future: one in the past would close answers at once."""
    if deadline is None:
        return None
    moment = to_utc(problems, "response_deadline", deadline, "Response deadline", ZoneInfo(zone_name))
    if moment is not None and moment <= utcnow():
        problems.add("response_deadline", PAST_DEADLINE)
    return moment


def _updated_deadline(problems: Problems, calendar: Calendar, changes: dict[str, Any], zone_name: str,
                      keep_clock: bool) -> dt.datetime | None:
    """The deadline after an update. One sent anew is read in the new zone and must be in the future;
    the one already set (not sent, or sent back as the form shows it) keeps its moment, or with
    `keep_clock` its clock time in the new zone, which must then still be ahead. One already passed
    stays as it was: answers closed then."""
    current, old_zone = calendar.response_deadline, calendar.zone
    if "response_deadline" in changes:
        sent = changes["response_deadline"]
        if sent is None or not is_the_set_deadline(sent, current, old_zone):
            return _check_deadline(problems, sent, zone_name)
    if current is None or not keep_clock or current <= utcnow():
        return current
    new_zone = ZoneInfo(zone_name)
    moved = same_clock_time(current, old_zone, new_zone)
    if moved is None:
        problems.add("response_deadline", "The response deadline cannot keep its clock time: "
                     f"{clock_change_message(current, old_zone, new_zone)} Change it, or keep the moments.")
    elif moved <= utcnow():
        problems.add("response_deadline", f"Keeping the clock times would move the response deadline to "
                     f"{moved.astimezone(new_zone):%a %d %b %Y, %H:%M} ({zone_name}), which has passed. "
                     f"Change it, or keep the moments.")
    return moved


def _check_new_calendar(problems: Problems, owner: User, *, name: str | None, start_date: dt.date | None,
                        end_date: dt.date | None, timezone: str | None, response_deadline: dt.datetime | None,
                        **details: str | None) -> dict[str, Any]:
    """A new calendar's fields checked and cleaned; a field given as None is not checked (missing)."""
    start = _check_date(problems, "start_date", start_date, "Start date") if start_date is not None else None
    end = _check_date(problems, "end_date", end_date, "End date") if end_date is not None else None
    _check_window(problems, start, end)
    zone_name = clean_timezone(problems, "timezone", owner.timezone if timezone is None else timezone)
    deadline = None
    if "timezone" not in problems:
        deadline = _check_deadline(problems, response_deadline, zone_name)
    return {"name": _check_name(problems, name) if name is not None else None, "start_date": start,
            "end_date": end, "timezone": zone_name, "response_deadline": deadline,
            **check_details(problems, details)}


def new_calendar_problems(owner: User, **fields: Any) -> dict[str, list[str]]:
    """What `create_calendar` would refuse in the fields given (the API asks, for the fields its
    schema could read, so that one answer names every bad field)."""
    problems = Problems()
    _check_new_calendar(problems, owner, **{key: fields.get(key) for key in CALENDAR_FIELDS})
    return problems.fields


def create_calendar(owner: User, *, name: str, start_date: dt.date, end_date: dt.date,
                    timezone: str | None = None, response_deadline: dt.datetime | None = None,
                    location: str | None = None, meeting_url: str | None = None,
                    description: str | None = None) -> Calendar:
    """Create a calendar in `timezone` (the owner's zone when None), with optional meeting details."""
    problems = Problems()
    fields = _check_new_calendar(problems, owner, name=name, start_date=start_date, end_date=end_date,
                                 timezone=timezone, response_deadline=response_deadline, location=location,
                                 meeting_url=meeting_url, description=description)
    problems.raise_if_any()
    calendar = Calendar(owner_id=owner.id, **fields)
    db.session.add(calendar)
    db.session.flush()
    return calendar


def slots_outside(calendar: Calendar, begin: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """How many of the calendar's slots start before `begin`, and how many end after `end`."""
    before, after = db.session.execute(
        sa.select(
            sa.func.count().filter(Timeslot.start_time < begin),
            sa.func.count().filter(Timeslot.end_time > end),
        ).where(Timeslot.calendar_id == calendar.id)
    ).one()
    return before or 0, after or 0


def plan_clock_times(calendar: Calendar, zone_name: str) -> ClockPlan:
    """Where the calendar's slots go if they keep their clock times in `zone_name` (one query)."""
    old_zone, new_zone = calendar.zone, ZoneInfo(zone_name)
    moves = []
    for slot in db.session.scalars(sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id)
                                   .order_by(Timeslot.start_time, Timeslot.id)):
        start = same_clock_time(slot.start_time, old_zone, new_zone)
        end = same_clock_time(slot.end_time, old_zone, new_zone)
        if start is None or end is None:
            when = clock_change_message(slot.start_time if start is None else slot.end_time, old_zone, new_zone)
            return ClockPlan(moves, f"The slot {describe_span(slot.start_time, slot.end_time, old_zone)} "
                                    f"cannot keep its clock time: {when} Move it first, or keep the moments.")
        if (start, end) != (slot.start_time, slot.end_time):
            moves.append((slot, start, end))
    return ClockPlan(moves)


def tell_about_moves(calendar: Calendar, moves: list[SlotMove]) -> MoveOutcome:
    """Send `timeslot_moved` for slots whose times just changed; what the receivers did, together."""
    if not moves:
        return MoveOutcome()
    outcomes = answers(signals.timeslot_moved, calendar, moves=moves)
    return MoveOutcome(slots=len(moves), removed=sum(o.removed for o in outcomes),
                       asked_again=tuple(n for o in outcomes for n in o.asked_again),
                       meetings_moved=tuple(n for o in outcomes for n in o.meetings_moved))


def update_calendar(calendar: Calendar, changes: dict[str, Any], *, slot_times: str = KEEP_MOMENTS) -> Calendar:
    """Apply typed changes to some of name, start_date, end_date, timezone, response_deadline and the
    meeting details (see `change_calendar`)."""
    change_calendar(calendar, changes, slot_times=slot_times)
    return calendar


def change_calendar(calendar: Calendar, changes: dict[str, Any], *,
                    slot_times: str = KEEP_MOMENTS) -> MoveOutcome:
    """Apply typed changes; a new zone keeps the slots' moments or (KEEP_CLOCK_TIMES) their clock
    times, moving them. Returns what moving them did to the answers."""
    if not isinstance(changes, dict):
        raise ValidationError("Send the changes as an object of fields.")
    problems = Problems()
    for key in changes:
        if key not in CALENDAR_FIELDS:
            problems.add(str(key), "This field cannot be changed.")
    if slot_times not in SLOT_TIMES:
        problems.add("slot_times", f"Choose {' or '.join(SLOT_TIMES)}.")
    name = _check_name(problems, changes["name"]) if "name" in changes else calendar.name
    start = (_check_date(problems, "start_date", changes["start_date"], "Start date")
             if "start_date" in changes else calendar.start_date)
    end = (_check_date(problems, "end_date", changes["end_date"], "End date")
           if "end_date" in changes else calendar.end_date)
    _check_window(problems, start, end)
    details = check_details(problems, changes)
    zone_name = (clean_timezone(problems, "timezone", changes["timezone"])
                 if "timezone" in changes else calendar.timezone)
    keep_clock = (slot_times == KEEP_CLOCK_TIMES and "timezone" not in problems
                  and zone_name != calendar.timezone)
    plan = ClockPlan([])
    if keep_clock:
        lock_calendar(calendar)  # the slots stay as planned until the transaction ends
        plan = plan_clock_times(calendar, zone_name)
        if plan.problem:
            problems.add("slot_times", plan.problem)
    deadline = calendar.response_deadline
    if "timezone" not in problems:
        deadline = _updated_deadline(problems, calendar, changes, zone_name, keep_clock)
    window_ok = not any(name in problems for name in ("start_date", "end_date", "timezone", "slot_times"))
    if start is not None and end is not None and window_ok:
        begin, finish = window_bounds(start, end, ZoneInfo(zone_name))
        if keep_clock:
            moved = {slot.id: (s, e) for slot, s, e in plan.moves}
            times = [moved.get(slot.id, (slot.start_time, slot.end_time)) for slot in
                     db.session.scalars(sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id))]
            before, after = sum(s < begin for s, _ in times), sum(e > finish for _, e in times)
        else:
            before, after = slots_outside(calendar, begin, finish)
        if before:
            problems.add("start_date", f"{plural(before, 'slot')} would fall before the new start "
                         f"of the window; move or delete {'it' if before == 1 else 'them'} first.")
        if after:
            problems.add("end_date", f"{plural(after, 'slot')} would fall after the new end "
                         f"of the window; move or delete {'it' if after == 1 else 'them'} first.")
    problems.raise_if_any()
    calendar.name, calendar.start_date, calendar.end_date = name, start, end
    calendar.timezone, calendar.response_deadline = zone_name, deadline
    for key, value in details.items():
        setattr(calendar, key, value)
    moves = []
    for slot, new_start, new_end in plan.moves:
        moves.append(SlotMove(slot, slot.start_time, slot.end_time))
        slot.start_time, slot.end_time = new_start, new_end
    db.session.flush()
    return tell_about_moves(calendar, moves)


# ---- deleting ----------------------------------------------------------------------------------------

def delete_calendar(calendar: Calendar) -> int:
    """Delete the calendar with its slots, invitations and picks; upcoming meetings are cancelled
    (by `calendar_deleting`). Returns how many invitees are emailed a cancellation."""
    lock_calendar(calendar)
    cancelled = sum(answers(signals.calendar_deleting, calendar))
    db.session.delete(calendar)
    db.session.flush()
    return cancelled


@account_deleting.connect
def _cancel_meetings_of_deleted_account(owner: User) -> None:
    """The owner is deleting their account: each calendar goes as `delete_calendar` does."""
    for calendar in db.session.scalars(sa.select(Calendar).where(Calendar.owner_id == owner.id)):
        delete_calendar(calendar)
