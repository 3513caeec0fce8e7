"""Calendar and timeslot operations: the single source of truth for their rules.

Times are entered in the calendar's zone and stored in UTC. A local time that does not exist
(the spring-forward gap) is refused; an ambiguous one (fall-back) means its first occurrence.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..accounts.services import account_deleting
from ..contacts.models import Contact
from ..db_types import utcnow
from ..exceptions import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..pagination import Page, clamp_page_args, paginate
from ..scheduling import notify
from ..scheduling.models import PREFERRED, Event, Invitee
from ..transaction import lock_row
from ..validation import Problems, clean_timezone, has_control_characters, parse_id
from .models import Calendar, Timeslot

NAME_MAX = 50
WINDOW_MAX_DAYS = 366
SERIES_MAX_SLOTS = 2000
MINUTES_PER_DAY = 24 * 60
# Dates outside these years are typing mistakes, and keep date arithmetic far from its limits.
YEAR_MIN, YEAR_MAX = 1970, 2999
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CALENDAR_FIELDS = frozenset({"name", "start_date", "end_date", "timezone", "response_deadline"})
TIMESLOT_FIELDS = frozenset({"start_time", "end_time", "high_priority"})
_DIGITS = re.compile(r"[0-9]{1,12}")
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


# ---- result types -------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarCounts:
    """What a calendar holds: slots, invitees, invitees who answered, confirmed meetings."""

    slots: int = 0
    invitees: int = 0
    answered: int = 0
    confirmed: int = 0


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


@dataclass
class GridSlot:
    """A timeslot placed in the week grid, with its local times."""

    timeslot: Timeslot
    start: dt.datetime
    end: dt.datetime
    summary: SlotSummary


@dataclass
class GridDay:
    date: dt.date
    in_window: bool
    slots: list[GridSlot] = field(default_factory=list)


@dataclass
class GridWeek:
    monday: dt.date
    days: list[GridDay]

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)


# ---- input cleaning (services are called with raw values by the API) ---------------------

def _clean_name(problems: Problems, value: Any) -> str:
    if value is not None and not isinstance(value, str):
        problems.add("name", "Name must be text.")
        return ""
    text = (value or "").strip()
    if not text:
        problems.add("name", "Name is required.")
    elif len(text) > NAME_MAX:
        problems.add("name", f"Name must be at most {NAME_MAX} characters.")
    elif has_control_characters(text):
        problems.add("name", "Name cannot contain control characters such as line breaks.")
    return text


def _parse_iso(problems: Problems, field_name: str, value: Any, label: str, kind: type, example: str,
               *, required: bool = True) -> Any:
    """`value` as a `kind` (date, time or datetime), given as one or as ISO text; None after a problem."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(field_name, f"{label} is required.")
        return None
    if isinstance(value, str):
        try:
            value = kind.fromisoformat(value.strip())
        except ValueError:
            value = None
    # A datetime is also a date; a date field must not take one.
    if not isinstance(value, kind) or (kind is dt.date and isinstance(value, dt.datetime)):
        problems.add(field_name, f"{label}: enter {example}.")
        return None
    return value


def _in_year_range(problems: Problems, field_name: str, value: dt.date, label: str) -> bool:
    if YEAR_MIN <= value.year <= YEAR_MAX:
        return True
    problems.add(field_name, f"{label}: enter a year between {YEAR_MIN} and {YEAR_MAX}.")
    return False


def _clean_date(problems: Problems, field_name: str, value: Any, label: str,
                *, required: bool = True) -> dt.date | None:
    value = _parse_iso(problems, field_name, value, label, dt.date, "a date like 2026-03-02", required=required)
    if value is None or not _in_year_range(problems, field_name, value, label):
        return None
    return value


def _clean_time_of_day(problems: Problems, field_name: str, value: Any, label: str) -> dt.time | None:
    value = _parse_iso(problems, field_name, value, label, dt.time, "a time like 09:30")
    if value is None:
        return None
    if value.tzinfo is not None:
        problems.add(field_name, f"{label}: enter a time like 09:30.")
        return None
    return value.replace(microsecond=0)


def _clean_int(problems: Problems, field_name: str, value: Any, label: str, *,
               minimum: int, maximum: int, default: int | None = None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            problems.add(field_name, f"{label} is required.")
        return default
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,9}", value.strip()):
        number = int(value.strip())
    if number is None:
        problems.add(field_name, f"{label} must be a whole number.")
        return None
    if not minimum <= number <= maximum:
        problems.add(field_name, f"{label} must be between {minimum} and {maximum}.")
        return None
    return number


def _clean_bool(problems: Problems, field_name: str, value: Any, label: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    problems.add(field_name, f"{label} must be true or false.")
    return False


def _truthy(value: Any) -> bool:
    """True only for an unmistakable yes (True, 1, "true", "yes", "on")."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return value is True or (isinstance(value, int) and value == 1)


def local_to_utc(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall-clock time in `zone`: the first when ambiguous, None in a gap."""
    naive = naive.replace(tzinfo=None, fold=0)
    moment = naive.replace(tzinfo=zone).astimezone(dt.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return moment


def _gap_message(naive: dt.datetime, zone: ZoneInfo) -> str:
    return (f"{naive:%a %d %b %Y, %H:%M} does not exist in {zone.key}: the clocks go forward then. "
            "Choose a time before or after the change.")


def _clean_moment(problems: Problems, field_name: str, value: Any, label: str,
                  zone: ZoneInfo, *, required: bool = True) -> dt.datetime | None:
    """An aware UTC datetime from an aware/naive datetime or ISO text (naive = `zone` time)."""
    value = _parse_iso(problems, field_name, value, label, dt.datetime, "a date and time like 2026-03-02T09:30",
                       required=required)
    if value is None or not _in_year_range(problems, field_name, value, label):
        return None
    value = value.replace(microsecond=0)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.UTC)
    moment = local_to_utc(value, zone)
    if moment is None:
        problems.add(field_name, _gap_message(value, zone))
    return moment


def _calendar_zone(problems: Problems, value: Any) -> str:
    if not isinstance(value, str):
        problems.add("timezone", "Choose a known time zone, such as Europe/London or America/New_York.")
        return "UTC"
    return clean_timezone(problems, "timezone", value)


# ---- windows and descriptions -------------------------------------------------------------

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


# ---- calendars ----------------------------------------------------------------------------

def list_calendars(owner: User, *, page: Any = 1, per_page: Any = 50) -> Page:
    """One page of the owner's calendars, latest window first."""
    page_number, size = clamp_page_args(page, per_page)
    query = (sa.select(Calendar).where(Calendar.owner_id == owner.id)
             .order_by(Calendar.start_date.desc(), Calendar.id.desc()))
    return paginate(query, page_number, size)


def calendar_counts(calendar_ids: Iterable[int]) -> dict[int, CalendarCounts]:
    """Slots, invitees, answered invitees and confirmed meetings per calendar (three queries)."""
    ids = sorted({clean for clean in map(parse_id, calendar_ids) if clean is not None})
    if not ids:
        return {}
    slots = dict(db.session.execute(
        sa.select(Timeslot.calendar_id, sa.func.count())
        .where(Timeslot.calendar_id.in_(ids)).group_by(Timeslot.calendar_id)
    ).all())
    invitees = {
        calendar_id: (total, answered or 0)
        for calendar_id, total, answered in db.session.execute(
            sa.select(Invitee.calendar_id, sa.func.count(),
                      sa.func.count(Invitee.responded_at))
            .where(Invitee.calendar_id.in_(ids)).group_by(Invitee.calendar_id)
        )
    }
    confirmed = dict(db.session.execute(
        sa.select(Event.calendar_id, sa.func.count())
        .where(Event.calendar_id.in_(ids), Event.confirmed).group_by(Event.calendar_id)
    ).all())
    return {
        calendar_id: CalendarCounts(
            slots=slots.get(calendar_id, 0),
            invitees=invitees.get(calendar_id, (0, 0))[0],
            answered=invitees.get(calendar_id, (0, 0))[1],
            confirmed=confirmed.get(calendar_id, 0),
        )
        for calendar_id in ids
    }


def get_calendar(owner: User, calendar_id: Any) -> Calendar:
    """The owner's calendar; NotFoundError when it is missing or someone else's."""
    clean = parse_id(calendar_id)
    calendar = None
    if clean is not None and owner is not None and getattr(owner, "id", None) is not None:
        calendar = db.session.scalar(
            sa.select(Calendar).where(Calendar.id == clean, Calendar.owner_id == owner.id))
    if calendar is None:
        raise NotFoundError("We could not find that calendar.")
    return calendar


def _check_window(problems: Problems, start: dt.date | None, end: dt.date | None) -> None:
    if start is None or end is None:
        return
    if end < start:
        problems.add("end_date", "The end date must be on or after the start date.")
    elif (end - start).days + 1 > WINDOW_MAX_DAYS:
        problems.add("end_date", f"The window can be at most {WINDOW_MAX_DAYS} days long.")


def create_calendar(owner: User, *, name: Any, start_date: Any, end_date: Any, timezone: Any = None,
                    response_deadline: Any = None) -> Calendar:
    """Create a calendar in `timezone` (the owner's zone when None)."""
    problems = Problems()
    clean_name = _clean_name(problems, name)
    start = _clean_date(problems, "start_date", start_date, "Start date")
    end = _clean_date(problems, "end_date", end_date, "End date")
    _check_window(problems, start, end)
    zone_name = _calendar_zone(problems, owner.timezone if timezone is None else timezone)
    deadline = None
    if "timezone" not in problems:
        deadline = _clean_moment(problems, "response_deadline", response_deadline, "Response deadline",
                                 ZoneInfo(zone_name), required=False)
    problems.raise_if_any()
    calendar = Calendar(owner_id=owner.id, name=clean_name, start_date=start, end_date=end,
                        timezone=zone_name, response_deadline=deadline)
    db.session.add(calendar)
    db.session.flush()
    return calendar


def _slots_outside(calendar: Calendar, begin: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """How many of the calendar's slots start before `begin`, and how many end after `end`."""
    before, after = db.session.execute(
        sa.select(
            sa.func.count().filter(Timeslot.start_time < begin),
            sa.func.count().filter(Timeslot.end_time > end),
        ).where(Timeslot.calendar_id == calendar.id)
    ).one()
    return before or 0, after or 0


def plural(count: int, singular: str, many: str | None = None) -> str:
    """'1 slot', '3 slots' (or `many` for an irregular plural)."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def update_calendar(calendar: Calendar, changes: dict) -> Calendar:
    """Change some of name, start_date, end_date, timezone, response_deadline."""
    if not isinstance(changes, dict):
        raise ValidationError("Send the changes as an object of fields.")
    problems = Problems()
    for key in changes:
        if key not in CALENDAR_FIELDS:
            problems.add(str(key), "This field cannot be changed.")
    name = _clean_name(problems, changes["name"]) if "name" in changes else calendar.name
    start = (_clean_date(problems, "start_date", changes["start_date"], "Start date")
             if "start_date" in changes else calendar.start_date)
    end = (_clean_date(problems, "end_date", changes["end_date"], "End date")
           if "end_date" in changes else calendar.end_date)
    _check_window(problems, start, end)
    zone_name = (_calendar_zone(problems, changes["timezone"])
                 if "timezone" in changes else calendar.timezone)
    deadline = calendar.response_deadline
    if "response_deadline" in changes and "timezone" not in problems:
        deadline = _clean_moment(problems, "response_deadline", changes["response_deadline"],
                                 "Response deadline", ZoneInfo(zone_name), required=False)
    window_ok = not any(name in problems for name in ("start_date", "end_date", "timezone"))
    if start is not None and end is not None and window_ok:
        begin, finish = window_bounds(start, end, ZoneInfo(zone_name))
        before, after = _slots_outside(calendar, begin, finish)
        if before:
            problems.add("start_date", f"{plural(before, 'slot')} would fall before the new start "
                         f"of the window; move or delete {'it' if before == 1 else 'them'} first.")
        if after:
            problems.add("end_date", f"{plural(after, 'slot')} would fall after the new end "
                         f"of the window; move or delete {'it' if after == 1 else 'them'} first.")
    problems.raise_if_any()
    calendar.name, calendar.start_date, calendar.end_date = name, start, end
    calendar.timezone, calendar.response_deadline = zone_name, deadline
    db.session.flush()
    return calendar


def upcoming_confirmed_meetings(calendar: Calendar) -> list[tuple[Invitee, Timeslot]]:
    """The calendar's confirmed meetings that have not ended yet, earliest first."""
    rows = db.session.execute(
        sa.select(Invitee, Timeslot)
        .join(Event, sa.and_(Event.calendar_id == Invitee.calendar_id,
                             Event.contact_id == Invitee.contact_id))
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .where(Invitee.calendar_id == calendar.id, Event.confirmed, Timeslot.end_time > utcnow())
        .options(joinedload(Invitee.contact))
        .order_by(Timeslot.start_time)
    ).all()
    return list(rows)


def delete_calendar(calendar: Calendar) -> None:
    """Delete the calendar with its slots, invitations and picks; upcoming meetings are cancelled."""
    _lock_calendar(calendar)
    for invitee, timeslot in upcoming_confirmed_meetings(calendar):
        notify.queue_meeting_email(invitee, timeslot, notify.CANCELLED)
    db.session.delete(calendar)
    db.session.flush()


@account_deleting.connect
def _cancel_meetings_of_deleted_account(owner: User) -> None:
    """The owner is deleting their account: each calendar goes as `delete_calendar` does."""
    for calendar in db.session.scalars(sa.select(Calendar).where(Calendar.owner_id == owner.id)):
        delete_calendar(calendar)


# ---- timeslots ----------------------------------------------------------------------------

def get_timeslot(owner: User, calendar_id: Any, timeslot_id: Any) -> Timeslot:
    """The owner's timeslot in that calendar; NotFoundError otherwise."""
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


def _lock_calendar(calendar: Calendar) -> None:
    """Serialise slot changes per calendar, with answers and confirmations, so checks hold."""
    lock_row(Calendar, calendar.id)


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


def add_timeslot(calendar: Calendar, *, start_time: Any, end_time: Any,
                 high_priority: Any = False) -> Timeslot:
    """Add a slot (naive times are read in the calendar's zone); refuses overlaps with ConflictError."""
    problems = Problems()
    zone = calendar.zone
    start = _clean_moment(problems, "start_time", start_time, "Start", zone)
    end = _clean_moment(problems, "end_time", end_time, "End", zone)
    priority = _clean_bool(problems, "high_priority", high_priority, "High priority")
    _check_slot(problems, calendar, start, end)
    problems.raise_if_any()
    _lock_calendar(calendar)
    clash = _overlap(calendar, start, end)
    if clash is not None:
        _raise_overlap(calendar, clash)
    timeslot = Timeslot(calendar_id=calendar.id, start_time=start, end_time=end, high_priority=priority)
    db.session.add(timeslot)
    db.session.flush()
    return timeslot


def confirmed_meeting(timeslot: Timeslot) -> tuple[Event, Invitee] | None:
    """The slot's confirmed event with its invitee, if a meeting is confirmed there."""
    row = db.session.execute(
        sa.select(Event, Invitee)
        .join(Invitee, sa.and_(Invitee.calendar_id == Event.calendar_id,
                               Invitee.contact_id == Event.contact_id))
        .where(Event.timeslot_id == timeslot.id, Event.confirmed)
    ).first()
    return None if row is None else (row[0], row[1])


def timeslot_summary(timeslot: Timeslot) -> SlotSummary:
    """Picks and the confirmed meeting of one slot (two small queries)."""
    return _summaries(sa.and_(Event.timeslot_id == timeslot.id,
                              Event.calendar_id == timeslot.calendar_id)).get(timeslot.id, SlotSummary())


def update_timeslot(timeslot: Timeslot, changes: dict) -> Timeslot:
    """Change start_time, end_time or high_priority; a moved confirmed meeting is emailed."""
    if not isinstance(changes, dict):
        raise ValidationError("Send the changes as an object of fields.")
    problems = Problems()
    for key in changes:
        if key not in TIMESLOT_FIELDS:
            problems.add(str(key), "This field cannot be changed.")
    calendar = timeslot.calendar
    zone = calendar.zone
    start = (_clean_moment(problems, "start_time", changes["start_time"], "Start", zone)
             if "start_time" in changes else timeslot.start_time)
    end = (_clean_moment(problems, "end_time", changes["end_time"], "End", zone)
           if "end_time" in changes else timeslot.end_time)
    priority = (_clean_bool(problems, "high_priority", changes["high_priority"], "High priority")
                if "high_priority" in changes else timeslot.high_priority)
    moved = start != timeslot.start_time or end != timeslot.end_time
    if moved:
        _check_slot(problems, calendar, start, end)
    problems.raise_if_any()
    if moved:
        _lock_calendar(calendar)
        clash = _overlap(calendar, start, end, exclude_id=timeslot.id)
        if clash is not None:
            _raise_overlap(calendar, clash)
    timeslot.start_time, timeslot.end_time, timeslot.high_priority = start, end, priority
    if moved:
        meeting = confirmed_meeting(timeslot)
        if meeting is not None:
            notify.queue_meeting_email(meeting[1], timeslot, notify.UPDATED)
    db.session.flush()
    return timeslot


def delete_timeslot(timeslot: Timeslot, *, confirm: bool = False) -> None:
    """Delete a slot and its picks; a confirmed meeting needs `confirm` and is cancelled by email."""
    _lock_calendar(timeslot.calendar)
    meeting = confirmed_meeting(timeslot)
    if meeting is not None:
        if not _truthy(confirm):
            name = meeting[1].contact.full_name
            raise ConflictError(
                f"A meeting with {name} is confirmed in this slot. Confirm to cancel it; "
                f"{name} will be emailed a cancellation.",
                {"confirm": ["Confirm that the confirmed meeting is cancelled."]},
            )
        # Queued before the delete so the email still has its slot; same transaction.
        notify.queue_meeting_email(meeting[1], timeslot, notify.CANCELLED)
    db.session.delete(timeslot)
    db.session.flush()


def _clean_weekdays(problems: Problems, value: Any) -> set[int]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        problems.add("weekdays", "Choose at least one weekday.")
        return set()
    days: set[int] = set()
    for item in value:
        number = None
        if isinstance(item, int) and not isinstance(item, bool):
            number = item
        elif isinstance(item, str) and _DIGITS.fullmatch(item.strip()):
            number = int(item.strip())
        if number is None or not 0 <= number <= 6:
            problems.add("weekdays", "Weekdays are numbers from 0 (Monday) to 6 (Sunday).")
            return set()
        days.add(number)
    if not days:
        problems.add("weekdays", "Choose at least one weekday.")
    return days


@dataclass(frozen=True)
class _Planned:
    start: dt.datetime
    end: dt.datetime


def add_series(calendar: Calendar, *, weekdays: Any, start: Any, end: Any, length_minutes: Any,
               gap_minutes: Any = 0, first_day: Any = None, last_day: Any = None,
               high_priority: Any = False) -> list[Timeslot]:
    """Add back-to-back slots on chosen weekdays (0 = Monday); all are added or none."""
    problems = Problems()
    zone = calendar.zone
    days = _clean_weekdays(problems, weekdays)
    from_time = _clean_time_of_day(problems, "start", start, "From")
    to_time = _clean_time_of_day(problems, "end", end, "To")
    length = _clean_int(problems, "length_minutes", length_minutes, "Slot length",
                        minimum=5, maximum=MINUTES_PER_DAY)
    gap = _clean_int(problems, "gap_minutes", gap_minutes, "Gap", minimum=0,
                     maximum=MINUTES_PER_DAY, default=0)
    first = _clean_date(problems, "first_day", first_day, "First day", required=False) or calendar.start_date
    last = _clean_date(problems, "last_day", last_day, "Last day", required=False) or calendar.end_date
    priority = _clean_bool(problems, "high_priority", high_priority, "High priority")
    if from_time is not None and to_time is not None and to_time <= from_time:
        problems.add("end", "The end of the day's slots must be after their start.")
    if "first_day" not in problems and not calendar.start_date <= first <= calendar.end_date:
        problems.add("first_day", f"The first day must be within the window, {describe_window(calendar)}.")
    if "last_day" not in problems and not calendar.start_date <= last <= calendar.end_date:
        problems.add("last_day", f"The last day must be within the window, {describe_window(calendar)}.")
    if "first_day" not in problems and "last_day" not in problems and last < first:
        problems.add("last_day", "The last day must be on or after the first day.")
    problems.raise_if_any()

    span = (dt.datetime.combine(dt.date.min, to_time) - dt.datetime.combine(dt.date.min, from_time))
    per_day = 0 if length * 60 > span.total_seconds() else 1 + math.floor(
        (span.total_seconds() - length * 60) / ((length + gap) * 60))
    matching_days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)
                     if (first + dt.timedelta(days=n)).weekday() in days]
    if per_day == 0:
        raise ValidationError.for_field(
            "length_minutes", f"A {length}-minute slot does not fit between {from_time:%H:%M} and "
                              f"{to_time:%H:%M}.")
    if not matching_days:
        chosen = ", ".join(WEEKDAY_NAMES[d] for d in sorted(days))
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
                gaps.append(_gap_message(local if begin is None else local_end, zone))
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

    _lock_calendar(calendar)
    clashes = _series_clashes(calendar, planned)
    if clashes:
        db.session.rollback()
        share = (f"all {len(planned)} new slots" if len(clashes) == len(planned)
                 else f"{plural(len(clashes), 'slot')} of {len(planned)}")
        raise ConflictError(f"Nothing was added: {share} would overlap existing slots.",
                            {"timeslots": clashes})
    slots = [Timeslot(calendar_id=calendar.id, start_time=p.start, end_time=p.end, high_priority=priority)
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


# ---- the calendar page --------------------------------------------------------------------

def _summaries(condition: sa.ColumnElement[bool]) -> dict[int, SlotSummary]:
    counts = db.session.execute(
        sa.select(Event.timeslot_id, sa.func.count(),
                  sa.func.count().filter(Event.preference == PREFERRED))
        .where(condition).group_by(Event.timeslot_id)
    ).all()
    confirmed = {
        timeslot_id: (contact_id, f"{first} {last}".strip())
        for timeslot_id, contact_id, first, last in db.session.execute(
            sa.select(Event.timeslot_id, Contact.id, Contact.first_name, Contact.last_name)
            .join(Contact, Contact.id == Event.contact_id)
            .where(condition, Event.confirmed)
        )
    }
    result = {}
    for timeslot_id, picks, preferred in counts:
        contact_id, name = confirmed.get(timeslot_id, (None, None))
        result[timeslot_id] = SlotSummary(picks=picks, preferred=preferred or 0,
                                          confirmed_contact_id=contact_id, confirmed_name=name)
    return result


def slot_summaries(calendar: Calendar) -> dict[int, SlotSummary]:
    """Picks and confirmed invitee per timeslot of the calendar (two queries; absent = no picks)."""
    return _summaries(Event.calendar_id == calendar.id)


def calendar_timeslots(calendar: Calendar) -> list[Timeslot]:
    """The calendar's slots, earliest first."""
    return list(db.session.scalars(
        sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id)
        .order_by(Timeslot.start_time, Timeslot.id)))


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
