"""What happens to the answers on a slot whose time changes?

An answer was given for a time, not for a row: when a slot moves (its times edited, or its calendar's
zone changed keeping the clock times), the picks on it that are not a confirmed meeting are removed,
so nobody counts as available at a time they never chose. Mail, queued in the request's transaction
and sent by the outbox after it commits (nothing is sent if it rolls back):
- "A time you picked changed" (`time_changed`) to each invitee whose picks were removed, once for all
  their moved slots, old and new time in their zone, with their usual link to pick again; an invitee
  left with no pick at all counts as not answered again, so reminders reach them;
- "Moved" (`notify.queue_meeting_email`, with the previous time) to the invitee whose confirmed
  meeting moved with its slot.
`scheduling/calendar_receivers.py` calls `handle_moves` for the `timeslot_moved` signal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..calendars.models import Calendar
from ..calendars.signals import MoveOutcome, SlotMove
from ..db_types import utcnow
from ..email import queue_email, quoted
from ..extensions import db
from . import notify
from .links import pick_url, rebuild_token
from .models import Event, Invitee


@dataclass(frozen=True)
class ChangedPick:
    """One removed pick, for the email: the slot's old and new times and the preference given."""

    move: SlotMove
    preference: str


def _picks_on(calendar: Calendar, moves: list[SlotMove]) -> list[tuple[Event, Invitee]]:
    """Every pick on the moved slots with its invitee and contact (one query)."""
    return list(db.session.execute(
        sa.select(Event, Invitee)
        .join(Invitee, sa.and_(Invitee.calendar_id == Event.calendar_id,
                               Invitee.contact_id == Event.contact_id))
        .where(Event.calendar_id == calendar.id,
               Event.timeslot_id.in_([move.timeslot.id for move in moves]))
        .options(joinedload(Invitee.contact))
        .order_by(Invitee.id, Event.timeslot_id)
    ).all())


def _picks_left(calendar: Calendar, contact_ids: list[int]) -> dict[int, int]:
    """How many picks each of these invitees still has in the calendar (one query); a meeting the
    owner placed is not one of their answers."""
    return dict(db.session.execute(
        sa.select(Event.contact_id, sa.func.count())
        .where(Event.calendar_id == calendar.id, Event.contact_id.in_(contact_ids), sa.not_(Event.owner_placed))
        .group_by(Event.contact_id)
    ).all())


def queue_time_changed_email(invitee: Invitee, changes: list[ChangedPick], *, answered: bool) -> None:
    """Queue "A time you picked changed" listing `changes`, with the invitee's usual link;
    `answered` says whether they still have other picks."""
    calendar = invitee.calendar
    token = rebuild_token(invitee.link_nonce, invitee.token_hash)
    deadline = calendar.response_deadline
    subject = "A time you picked changed" if len(changes) == 1 else "Times you picked changed"
    queue_email(
        invitee.contact.email, f"{subject}: {quoted(calendar.name)}", "time_changed",
        invitee=invitee, contact=invitee.contact, calendar=calendar, owner=calendar.owner,
        changes=sorted(changes, key=lambda change: change.move.previous_start),
        link=pick_url(token) if token else None, still_answered=answered,
        closed=deadline is not None and deadline <= utcnow(),
    )


def handle_moves(calendar: Calendar, moves: list[SlotMove]) -> MoveOutcome:
    """Remove the unconfirmed picks on moved slots and email those invitees; email each confirmed
    invitee the new time. Returns what was done."""
    by_slot = {move.timeslot.id: move for move in moves}
    removed: dict[int, tuple[Invitee, list[ChangedPick]]] = {}
    meetings: list[tuple[Invitee, SlotMove]] = []
    doomed: list[int] = []
    for event, invitee in _picks_on(calendar, moves):
        move = by_slot[event.timeslot_id]
        if event.confirmed:
            # The meeting moves with its slot, but their answer was for the old time: from now on it
            # is a meeting the owner placed, gone (not left as an answer) if it is cancelled.
            event.owner_placed = True
            meetings.append((invitee, move))
            continue
        doomed.append(event.id)
        removed.setdefault(invitee.id, (invitee, []))[1].append(ChangedPick(move, event.preference))
    if doomed:
        db.session.execute(sa.delete(Event).where(Event.id.in_(doomed)))
        db.session.flush()
    left: dict[int, int] = defaultdict(int)
    if removed:
        left.update(_picks_left(calendar, [invitee.contact_id for invitee, _ in removed.values()]))
    for invitee, changes in removed.values():
        answered = left[invitee.contact_id] > 0
        if not answered:
            invitee.responded_at = None  # no answer left: reminders reach them again
        queue_time_changed_email(invitee, changes, answered=answered)
    for invitee, move in meetings:
        notify.queue_meeting_email(invitee, move.timeslot, notify.UPDATED,
                                   previous=(move.previous_start, move.previous_end))
    db.session.flush()
    return MoveOutcome(removed=len(doomed),
                       asked_again=tuple(invitee.contact.full_name for invitee, _ in removed.values()),
                       meetings_moved=tuple(invitee.contact.full_name for invitee, _ in meetings))
