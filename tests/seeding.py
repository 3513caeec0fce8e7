"""Seed an owner with a calendar of any size in a handful of bulk INSERTs, and empty every table again.

Used by the query-budget tests (tests/test_query_budget.py), the web benchmark (benchmarks/web.py) and
tests/conftest.py (`empty_tables` after each test). Call inside an app context; everything is committed.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from oneonone.accounts.models import User
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.contacts.models import Contact
from oneonone.db_types import utcnow
from oneonone.extensions import db
from oneonone.scheduling.links import new_link_token
from oneonone.scheduling.models import IF_NEED_BE, PREFERRED, Event, Invitee

PASSWORD = "correct-horse-battery"
SLOTS_PER_DAY = 20  # 08:00 to 18:00 in 30-minute slots, weekdays only
FIRST_DAY = dt.date(2030, 3, 4)  # a Monday


@functools.cache
def _password_hash(password: str) -> str:
    # Hashing is deliberately slow; every seeded owner shares one hash.
    return generate_password_hash(password)


@dataclass
class Seeded:
    """What a seeded owner and calendar are, for building URLs and request bodies."""

    name: str
    owner_id: int
    email: str
    password: str
    calendar_id: int
    timeslot_ids: list[int]
    contact_ids: list[int]  # the invited contacts, in invitation order
    uninvited_contact_ids: list[int]
    picks: int
    pick_token: str  # an invitee who answered and has no meeting yet
    pick_contact_id: int
    pick_invitee_id: int
    pick_answer: dict[int, str]  # that invitee's current answer: slot id -> preference
    pick_event_id: int  # one of that invitee's events
    confirmed_token: str  # an invitee whose meeting is confirmed
    confirmed_contact_id: int
    confirmed_timeslot_id: int  # a slot with a confirmed meeting and other picks
    extra_calendar_ids: list[int] = field(default_factory=list)

    def pick_form(self, zone: str = "Europe/London") -> dict[str, str]:
        """The pick page's form as a browser submits it: every slot, \"\" for can't."""
        form = {"tz": zone}
        for slot_id in self.timeslot_ids:
            form[f"slot-{slot_id}"] = self.pick_answer.get(slot_id, "")
        return form


def empty_tables(engine: sa.Engine) -> None:
    """Delete every row (PostgreSQL: TRUNCATE, restarting the ids), children first."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(sa.text(f"DELETE FROM {table}"))


def _insert(model, rows: list[dict]) -> list[int]:
    """Bulk-insert `rows`; their new ids, in the order of `rows`."""
    if not rows:
        return []
    return list(db.session.scalars(
        sa.insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def _slot_times(count: int, zone: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    times = []
    day = FIRST_DAY
    while len(times) < count:
        if day.weekday() < 5:
            for n in range(min(SLOTS_PER_DAY, count - len(times))):
                start = dt.datetime.combine(day, dt.time(8, tzinfo=zone)) + dt.timedelta(minutes=30 * n)
                times.append((start, start + dt.timedelta(minutes=30)))
        day += dt.timedelta(days=1)
    return times


def seed_owner_calendar(
    name: str,
    *,
    slots: int,
    invitees: int,
    picks: int,
    confirmed: int,
    unanswered: int = 0,
    uninvited_contacts: int = 0,
    extra_calendars: int = 0,
    timezone: str = "Europe/London",
    password: str = PASSWORD,
) -> Seeded:
    """An owner `name`@example.com with one calendar of the given size, answered and partly confirmed.

    The answered invitees share `picks` between them (consecutive slots from staggered offsets);
    the last `confirmed` of them have a meeting confirmed on their first pick. The first invitee has
    answered and has no meeting: their link is `pick_token`.
    """
    answered = invitees - unanswered
    if answered < confirmed + 1 or picks < answered:
        raise ValueError("need an unconfirmed answering invitee, and a pick for every answering one")
    per_invitee = -(-picks // answered)
    if per_invitee > slots:
        raise ValueError("more picks per invitee than slots")
    zone = ZoneInfo(timezone)
    now = utcnow()

    owner_id = _insert(User, [{
        "username": name, "email": f"{name}@example.com", "first_name": name.title(), "last_name": "Owner",
        "password_hash": _password_hash(password), "timezone": timezone, "email_verified_at": now}])[0]
    times = _slot_times(slots, zone)
    last_day = max(times[-1][0].date(), FIRST_DAY + dt.timedelta(days=4))
    calendar_id = _insert(Calendar, [{
        "owner_id": owner_id, "name": f"{name.title()} interviews", "start_date": FIRST_DAY,
        "end_date": last_day, "timezone": timezone}])[0]
    extra_calendar_ids = _insert(Calendar, [
        {"owner_id": owner_id, "name": f"Office hours {n}",
         "start_date": FIRST_DAY + dt.timedelta(days=7 * n),
         "end_date": FIRST_DAY + dt.timedelta(days=7 * n + 4), "timezone": timezone}
        for n in range(1, extra_calendars + 1)])
    timeslot_ids = _insert(Timeslot, [
        {"calendar_id": calendar_id, "start_time": start, "end_time": end, "high_priority": n % 4 == 0}
        for n, (start, end) in enumerate(times)])
    contact_ids = _insert(Contact, [
        {"owner_id": owner_id, "first_name": f"Invitee{n:04d}", "last_name": f"Person{n % 37:02d}",
         "email": f"{name}.contact{n:04d}@example.org"}
        for n in range(invitees + uninvited_contacts)])
    invited, uninvited = contact_ids[:invitees], contact_ids[invitees:]

    tokens = [new_link_token() for _ in invited]
    invitee_ids = _insert(Invitee, [
        {"calendar_id": calendar_id, "contact_id": contact_id, "token_hash": token_hash,
         "responded_at": now if n < answered else None, "timezone": timezone if n < answered else None}
        for n, (contact_id, (_token, token_hash)) in enumerate(zip(invited, tokens, strict=True))])

    counts = [picks // answered + (1 if n < picks % answered else 0) for n in range(answered)]
    confirming = set(range(answered - confirmed, answered))
    event_rows = []
    for n, count in enumerate(counts):
        offset = n * per_invitee
        for j in range(count):
            event_rows.append({
                "calendar_id": calendar_id, "timeslot_id": timeslot_ids[(offset + j) % slots],
                "contact_id": invited[n], "preference": PREFERRED if j % 2 == 0 else IF_NEED_BE,
                "confirmed": n in confirming and j == 0})
    confirmed_slots = [row["timeslot_id"] for row in event_rows if row["confirmed"]]
    if len(set(confirmed_slots)) != len(confirmed_slots):
        raise ValueError("two confirmed meetings would share a slot; use more slots")
    event_ids = _insert(Event, event_rows)
    db.session.commit()

    first = [row for row in event_rows if row["contact_id"] == invited[0]]
    confirmed_n = answered - 1
    return Seeded(
        name=name, owner_id=owner_id, email=f"{name}@example.com", password=password,
        calendar_id=calendar_id, timeslot_ids=timeslot_ids, contact_ids=invited,
        uninvited_contact_ids=uninvited, picks=picks, pick_token=tokens[0][0], pick_contact_id=invited[0],
        pick_invitee_id=invitee_ids[0],
        pick_answer={row["timeslot_id"]: row["preference"] for row in first},
        pick_event_id=event_ids[0], confirmed_token=tokens[confirmed_n][0],
        confirmed_contact_id=invited[confirmed_n],
        confirmed_timeslot_id=next(row["timeslot_id"] for row in event_rows
                                   if row["confirmed"] and row["contact_id"] == invited[confirmed_n]),
        extra_calendar_ids=extra_calendar_ids,
    )
