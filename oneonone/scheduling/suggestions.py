"""Suggested schedules for a calendar: the adapter between the database and suggest.py.

suggest.py is pure (ids and times in, ranked schedules out) and knows nothing of the app. This module
reads a calendar's slots, invitees and picks, builds suggest.py's inputs, and returns suggest.py's own
results (`suggest.Schedule` with its `Assignment` and `Unscheduled` ids) together with the
explanations of the best schedule: which meetings are forced, which free times would seat each
invitee it leaves out, and how each alternative differs from it. Pages and the API read them from
`Suggestions` (ids only; a page loads the rows it shows); nothing here writes or sends mail.

The search runs once per change of the calendar's answers, not once per view: results are cached per
process under the calendar's data version, which the database bumps on every write (migration 0009).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..calendars.models import Calendar, Timeslot
from ..exceptions import ValidationError
from ..extensions import db
from . import suggest
from .models import Event, Invitee

MAX_SUGGESTIONS = 10
CACHE_SIZE = 64  # calendars × k per process; an entry holds ids only

Change = tuple[int, int | None, int | None]  # (contact id, slot in the best schedule, slot in this one)


@dataclass(frozen=True)
class Suggestions:
    """suggest.py's schedules for one calendar, best first, with their explanations: ids only.

    An assignment's `invitee` and an unscheduled's `invitee` are contact ids; a `slot` is a timeslot
    id. Nothing here is a database row, so one result serves every request (and thread) until the
    calendar's data version moves on.
    """

    schedules: list[suggest.Schedule]
    invitee_ids: tuple[int, ...]  # every invitee's contact id
    answered: int  # how many invitees have answered
    pick_ids: dict[tuple[int, int], int]  # (contact id, slot id) -> the pick's (Event's) id
    forced: frozenset[tuple[int, int]]  # the best schedule's meetings every equally good schedule has
    would_fit: dict[int, tuple[int, ...]]  # per invitee left out of the best: free slots that would seat them
    changes: list[tuple[Change, ...] | None]  # per schedule: how it differs from the best (None: the best)
    # What callers derive from this result once (the API's JSON), kept with it in the cache.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def best(self) -> suggest.Schedule | None:
        return self.schedules[0] if self.schedules else None

    def equally_good(self, n: int) -> bool:
        """Whether schedule `n` (after the best) scores the same as the best."""
        return n > 0 and self.schedules[n].score == self.schedules[0].score

    def is_forced(self, assignment: suggest.Assignment) -> bool:
        """Whether the best schedule has this meeting and every equally good one too (the only slot
        its invitee can have)."""
        return (assignment.invitee, assignment.slot) in self.forced

    def slot_ids(self) -> set[int]:
        """The slots these schedules and explanations name: the only ones a page must load."""
        ids = {a.slot for schedule in self.schedules for a in schedule.assignments}
        ids.update(slot for fit in self.would_fit.values() for slot in fit)
        return ids


class _Cache:
    """The last CACHE_SIZE results, keyed by (calendar id, created at, data version, k).

    The data version lives in the database (calendars.data_version, bumped by triggers on every
    write to slots, invitees and picks), so a process never serves a result older than the last
    committed write, whichever process made it.
    """

    def __init__(self, size: int) -> None:
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Suggestions | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: tuple, value: Suggestions) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


cache = _Cache(CACHE_SIZE)


# Set while the session's transaction has written to the rows suggestions read: its versions are not
# yet committed (a rollback gives the number to another write) and a bulk statement leaves a loaded
# calendar's version stale. Writes to other tables (sessions, tokens, the outbox) leave the cache in use.
WROTE = "suggestions_uncommitted_writes"
_READ_FROM = (Calendar, Timeslot, Invitee, Event)
_READ_FROM_TABLES = frozenset(model.__table__.name for model in _READ_FROM)


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _forget_loaded_versions(session: sa.orm.Session, _context) -> None:
    """A flush may have fired the triggers: a calendar loaded before it reads its version afresh."""
    if any(isinstance(obj, _READ_FROM) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[WROTE] = True
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Calendar):
            session.expire(obj, ["data_version"])


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _note_bulk_writes(state: sa.orm.ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and \
            getattr(getattr(state.statement, "table", None), "name", None) in _READ_FROM_TABLES:
        state.session.info[WROTE] = True


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _transaction_ended(session: sa.orm.Session, transaction: sa.orm.SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(WROTE, None)


def suggest_for_calendar(calendar: Calendar, k: int = 3) -> Suggestions:
    """The k best schedules for the calendar's answers, best first (confirmed meetings kept).

    Computed once per change of the calendar's data (its data version) and k, per process; inside a
    transaction that has written, computed afresh and not cached (its version is not committed yet).
    """
    if not isinstance(k, int) or not 1 <= k <= MAX_SUGGESTIONS:
        raise ValidationError.for_field("k", f"Ask for 1 to {MAX_SUGGESTIONS} schedules.")
    if db.session.info.get(WROTE):
        return _compute(calendar.id, k)
    # created_at too: SQLite may give a deleted calendar's id to a new one, whose version starts again.
    key = (calendar.id, calendar.created_at, calendar.data_version, k)
    found = cache.get(key)
    if found is None:
        found = _compute(calendar.id, k)
        cache.put(key, found)
    return found


def _compute(calendar_id: int, k: int) -> Suggestions:
    slots = db.session.execute(
        sa.select(Timeslot.id, Timeslot.start_time, Timeslot.end_time, Timeslot.high_priority)
        .where(Timeslot.calendar_id == calendar_id)).all()
    invitees = db.session.execute(
        sa.select(Invitee.contact_id, Invitee.responded_at).where(Invitee.calendar_id == calendar_id)).all()
    picks = db.session.execute(
        sa.select(Event.id, Event.contact_id, Event.timeslot_id, Event.preference, Event.confirmed)
        .where(Event.calendar_id == calendar_id)).all()
    problem = {
        "slots": [suggest.Slot(*row) for row in slots],
        "invitees": [row.contact_id for row in invitees],
        "picks": [suggest.Pick(p.contact_id, p.timeslot_id, p.preference) for p in picks],
        "confirmed": [suggest.Meeting(p.contact_id, p.timeslot_id) for p in picks if p.confirmed],
    }
    schedules = suggest.suggest_schedules(**problem, k=k)
    forced: frozenset[tuple[int, int]] = frozenset()
    would_fit: dict[int, tuple[int, ...]] = {}
    if schedules:
        best = schedules[0]
        would_fit = suggest.would_fit(**problem, schedule=best)
        forced_in_best = suggest.forced(**problem, schedule=best)
        forced = frozenset((a.invitee, a.slot) for a in best.assignments if forced_in_best.get(a.invitee))
    return Suggestions(
        schedules=schedules, invitee_ids=tuple(problem["invitees"]),
        answered=sum(row.responded_at is not None for row in invitees),
        pick_ids={(p.contact_id, p.timeslot_id): p.id for p in picks},
        forced=forced, would_fit=would_fit,
        changes=[None if n == 0 else suggest.changes(schedules[0], schedule)
                 for n, schedule in enumerate(schedules)],
    )
