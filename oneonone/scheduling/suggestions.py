"""Suggested schedules for a calendar: the adapter between the database and suggest.py.

suggest.py is pure (ids and times in, ranked schedules out) and knows nothing of the app. This module
reads a calendar's slots, invitees and picks, builds suggest.py's inputs, and returns suggest.py's own
results (`suggest.Schedule` with its `Assignment` and `Unscheduled` ids) together with the rows those
ids stand for and the explanations of the best schedule: which meetings are forced, which free times
would seat each invitee it leaves out, and how each alternative differs from it. Pages and the API
read them from `Suggestions`; nothing here writes or sends mail.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..exceptions import ValidationError
from ..extensions import db
from . import suggest
from .models import Event, Invitee

MAX_SUGGESTIONS = 10

Change = tuple[int, int | None, int | None]  # (contact id, slot in the best schedule, slot in this one)


@dataclass(frozen=True)
class Suggestions:
    """suggest.py's schedules for one calendar, best first, and what their ids stand for.

    An assignment's `invitee` and an unscheduled's `invitee` are contact ids (the key of
    `invitees`); a `slot` is a timeslot id (the key of `slots`).
    """

    schedules: list[suggest.Schedule]
    slots: dict[int, Timeslot]  # every slot of the calendar, by id
    invitees: dict[int, Invitee]  # every invitee, by contact id, with `contact` loaded
    pick_ids: dict[tuple[int, int], int]  # (contact id, slot id) -> the pick's (Event's) id
    forced: frozenset[tuple[int, int]]  # the best schedule's meetings every equally good schedule has
    would_fit: dict[int, tuple[int, ...]]  # per invitee left out of the best: free slots that would seat them
    changes: list[tuple[Change, ...] | None]  # per schedule: how it differs from the best (None: the best)

    @property
    def best(self) -> suggest.Schedule | None:
        return self.schedules[0] if self.schedules else None

    @property
    def answered(self) -> int:
        """How many invitees have answered."""
        return sum(invitee.responded_at is not None for invitee in self.invitees.values())

    def equally_good(self, n: int) -> bool:
        """Whether schedule `n` (after the best) scores the same as the best."""
        return n > 0 and self.schedules[n].score == self.schedules[0].score

    def is_forced(self, assignment: suggest.Assignment) -> bool:
        """Whether the best schedule has this meeting and every equally good one too (the only slot
        its invitee can have)."""
        return (assignment.invitee, assignment.slot) in self.forced


def suggest_for_calendar(calendar: Calendar, k: int = 3) -> Suggestions:
    """The k best schedules for the calendar's answers, best first (confirmed meetings kept)."""
    if not isinstance(k, int) or not 1 <= k <= MAX_SUGGESTIONS:
        raise ValidationError.for_field("k", f"Ask for 1 to {MAX_SUGGESTIONS} schedules.")
    slots = {s.id: s for s in db.session.scalars(sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id))}
    invitees = {i.contact_id: i for i in db.session.scalars(
        sa.select(Invitee).join(Contact, Contact.id == Invitee.contact_id)
        .options(contains_eager(Invitee.contact)).where(Invitee.calendar_id == calendar.id))}
    picks = db.session.execute(
        sa.select(Event.id, Event.contact_id, Event.timeslot_id, Event.preference, Event.confirmed)
        .where(Event.calendar_id == calendar.id)).all()
    problem = {
        "slots": [suggest.Slot(s.id, s.start_time, s.end_time, s.high_priority) for s in slots.values()],
        "invitees": list(invitees),
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
        schedules=schedules, slots=slots, invitees=invitees,
        pick_ids={(p.contact_id, p.timeslot_id): p.id for p in picks},
        forced=forced, would_fit=would_fit,
        changes=[None if n == 0 else suggest.changes(schedules[0], schedule)
                 for n, schedule in enumerate(schedules)],
    )
