"""Which picks are meetings: confirming, moving, cancelling and finalizing a whole schedule.

A pick (an `Event` row) becomes a meeting when the owner confirms it; a calendar has at most one
meeting per slot and one per invitee, and confirming one displaces whatever clashed with it.

Mail: every invitee whose meeting appears, moves or disappears gets the "Confirmed", "Moved" or
"Cancelled" email with its .ics file (`queue_meeting_changes`, through `notify.queue_meeting_email`).
The emails are queued in the request's transaction and sent by the outbox after it commits (nothing
is sent if it rolls back).

Confirming takes the calendar's row lock, which answering takes too (answers.py), and decides on
what it reads under it, so a race is settled by the database, not by timing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from ..accounts.recovery import require_verified
from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..exceptions import ConflictError, ValidationError
from ..extensions import db
from ..transaction import lock_row
from . import notify
from .models import IF_NEED_BE, Event, Invitee

WITHDRAWN = "{name} changed their answer a moment ago, so that pick no longer exists; nothing was confirmed."


def meeting_of(invitee: Invitee) -> Event | None:
    """The invitee's meeting (their confirmed pick) in their calendar, if any."""
    return db.session.scalar(
        sa.select(Event).where(Event.calendar_id == invitee.calendar_id,
                               Event.contact_id == invitee.contact_id, Event.confirmed)
    )


def _meetings_by_contact(calendar_id: int) -> dict[int, Event]:
    return {e.contact_id: e for e in db.session.scalars(
        sa.select(Event).where(Event.calendar_id == calendar_id, Event.confirmed)
        .execution_options(populate_existing=True))}


def _fresh_picks(picks: list[Event]) -> list[Event]:
    """The picks re-read under the lock; ConflictError when one was deleted meanwhile."""
    ids = [p.id for p in picks]
    fresh = {p.id: p for p in db.session.scalars(
        sa.select(Event).where(Event.id.in_(ids)).execution_options(populate_existing=True))} if ids else {}
    gone = [p for p in picks if p.id not in fresh]
    if gone:
        contact = db.session.get(Contact, gone[0].contact_id)
        name = contact.full_name if contact is not None else "An invitee"
        raise ConflictError(WITHDRAWN.format(name=name), {"schedule": ["Some picks no longer exist."]})
    return [fresh[i] for i in ids]


def _apply(calendar: Calendar, confirm: list[Event], unconfirm: list[Event], *,
           place: tuple[Invitee, Timeslot] | None = None) -> None:
    """Confirm and unconfirm picks in one transaction and queue mail for everyone whose meeting changed.
    `place` puts the invitee's meeting in a free slot they did not pick (an owner-placed meeting)."""
    # The calendar's lock, which answering takes too: confirmations (of any slot) and answers run
    # one after the other, and everything below is read after the previous one committed.
    lock_row(Calendar, calendar.id)
    confirm, unconfirm = _fresh_picks(confirm), _fresh_picks(unconfirm)
    before = {cid: m.timeslot_id for cid, m in _meetings_by_contact(calendar.id).items()}
    confirm_ids = {p.id for p in confirm}
    confirm_slots = {p.timeslot_id for p in confirm} | ({place[1].id} if place else set())
    confirm_contacts = {p.contact_id for p in confirm} | ({place[0].contact_id} if place else set())
    displaced = db.session.scalars(
        sa.select(Event).where(
            Event.calendar_id == calendar.id, Event.confirmed,
            sa.or_(Event.timeslot_id.in_(confirm_slots), Event.contact_id.in_(confirm_contacts)))
        .execution_options(populate_existing=True)
    ).all()
    for meeting in [*displaced, *unconfirm]:
        if meeting.id not in confirm_ids:
            meeting.confirmed = False
            if meeting.owner_placed:  # never one of their answers: it goes with the meeting
                db.session.delete(meeting)
    db.session.flush()
    for pick in confirm:
        pick.confirmed = True
    if place:
        invitee, slot = place
        db.session.add(Event(calendar_id=calendar.id, timeslot_id=slot.id, contact_id=invitee.contact_id,
                             preference=IF_NEED_BE, confirmed=True, owner_placed=True))
    db.session.flush()
    after = {cid: m.timeslot_id for cid, m in _meetings_by_contact(calendar.id).items()}
    queue_meeting_changes(calendar, before, after)


def queue_meeting_changes(calendar: Calendar, before: dict[int, int], after: dict[int, int]) -> None:
    """Queue "Confirmed", "Moved" or "Cancelled" for each invitee whose meeting slot (contact id ->
    slot id) differs between `before` and `after`."""
    changed = {cid for cid in before.keys() | after.keys() if before.get(cid) != after.get(cid)}
    if not changed:
        return
    # Fresh rows (populate_existing): another transaction may have bumped a SEQUENCE meanwhile.
    invitees = {i.contact_id: i for i in db.session.scalars(
        sa.select(Invitee).where(Invitee.calendar_id == calendar.id, Invitee.contact_id.in_(changed))
        .with_for_update().execution_options(populate_existing=True))}
    slots = {s.id: s for s in db.session.scalars(
        sa.select(Timeslot).where(Timeslot.id.in_({*before.values(), *after.values()})))}
    for contact_id in sorted(changed):
        invitee = invitees[contact_id]
        old, new = before.get(contact_id), after.get(contact_id)
        if new is None:
            notify.queue_meeting_email(invitee, slots[old], notify.CANCELLED)
        elif old is None:
            notify.queue_meeting_email(invitee, slots[new], notify.CONFIRMED)
        else:
            was = slots[old]
            notify.queue_meeting_email(invitee, slots[new], notify.UPDATED,
                                       previous=(was.start_time, was.end_time))


def set_pick_confirmed(pick: Event, confirmed: bool) -> Event:
    """Make the pick a meeting (or undo it): one per slot and one per invitee, mail queued."""
    calendar = db.session.get(Calendar, pick.calendar_id)
    if confirmed:
        require_verified(calendar.owner)
        _apply(calendar, [pick], [])
    else:
        _apply(calendar, [], [pick])
    return pick


class SlotHeld(ConflictError):
    """The slot holds another invitee's meeting, and the owner has not agreed to cancel it (the page
    asks first, naming `holder`)."""

    def __init__(self, holder: Contact, timeslot: Timeslot):
        super().__init__(f"That time holds {holder.full_name}’s meeting.",
                         {"timeslot_id": [f"That time holds {holder.full_name}’s meeting."]})
        self.holder, self.timeslot = holder, timeslot


@dataclass(frozen=True)
class Confirmed:
    """What confirming an invitee in a slot did."""

    meeting: Event
    previous: Timeslot | None  # the slot their meeting left, when it moved
    cancelled: Contact | None  # whose meeting it cancelled
    placed: bool  # the slot is not one they picked
    unchanged: bool = False  # it was their meeting already: nothing changed, nobody was emailed


def holder_of(timeslot: Timeslot, invitee: Invitee) -> Contact | None:
    """The other invitee whose meeting the slot holds, if any."""
    return db.session.scalar(
        sa.select(Contact).join(Event, Event.contact_id == Contact.id)
        .where(Event.timeslot_id == timeslot.id, Event.confirmed, Event.contact_id != invitee.contact_id)
        .execution_options(populate_existing=True))


def confirm_refusal(invitee: Invitee, slot: Timeslot | None, pick: Event | None, *, unpicked: bool,
                    holder: Contact | None) -> str | None:
    """Why the invitee cannot be confirmed in `slot` (their `pick` of it, None if they did not pick
    it; `holder`: whose meeting it holds), or None: the one rule the step page and the action share."""
    if slot is None or (pick is None and not unpicked):
        return "Choose one of the slots this invitee picked."
    if holder is not None and pick is None:
        return f"That time holds {holder.full_name}’s meeting; choose a free time or one they picked."
    return None


def pick_of(invitee: Invitee, slot: Timeslot) -> Event | None:
    """The invitee's pick (or meeting) in the slot, freshly read."""
    return db.session.scalar(sa.select(Event).where(
        Event.calendar_id == invitee.calendar_id, Event.contact_id == invitee.contact_id,
        Event.timeslot_id == slot.id).execution_options(populate_existing=True))


def confirm_in_slot(invitee: Invitee, timeslot_id: int | None, *, replaces: int | None = None,
                    unpicked: bool = False) -> Confirmed:
    """Make the slot the invitee's meeting: confirms their pick of it, or moves their meeting there.

    The owner's pages ask first: when the slot holds another invitee's meeting, SlotHeld is raised
    unless `replaces` names that invitee's contact (the owner agreed to cancel it). With `unpicked`,
    a free slot the invitee did not pick is accepted too (an owner-placed meeting); one that holds a
    meeting is not (`confirm_refusal`). Decided under the calendar's lock.
    """
    calendar = db.session.get(Calendar, invitee.calendar_id)
    require_verified(calendar.owner)
    lock_row(Calendar, calendar.id)
    slot = db.session.scalar(sa.select(Timeslot).where(
        Timeslot.id == timeslot_id, Timeslot.calendar_id == calendar.id)) if timeslot_id is not None else None
    pick = pick_of(invitee, slot) if slot is not None else None
    holder = holder_of(slot, invitee) if slot is not None else None
    refusal = confirm_refusal(invitee, slot, pick, unpicked=unpicked, holder=holder)
    if refusal is not None:
        error = ConflictError if holder is not None else ValidationError
        raise error(refusal, {"timeslot_id": [refusal]})
    if holder is not None and holder.id != replaces:
        raise SlotHeld(holder, slot)
    previous = meeting_of(invitee)
    if previous is not None and previous.timeslot_id == slot.id:
        return Confirmed(meeting=previous, previous=None, cancelled=None, placed=previous.owner_placed,
                         unchanged=True)
    previous_slot = previous.timeslot if previous is not None else None
    if pick is not None:
        _apply(calendar, [pick], [])
    else:
        _apply(calendar, [], [], place=(invitee, slot))
    return Confirmed(meeting=meeting_of(invitee), previous=previous_slot, cancelled=holder,
                     placed=pick is None)


def cancel_meeting(invitee: Invitee) -> bool:
    """Cancel the invitee's meeting (the "Cancelled" email is queued); False when there was none."""
    meeting = meeting_of(invitee)
    if meeting is None:
        return False
    set_pick_confirmed(meeting, False)
    return True


def finalize_schedule(calendar: Calendar, pairs: Iterable[tuple[int, int]]) -> int:
    """Confirm a whole schedule of (contact id, timeslot id) picks at once; returns how many of its
    meetings are new (the rest were confirmed already)."""
    require_verified(calendar.owner)
    pairs = list(pairs)
    contacts = [c for c, _ in pairs]
    slots = [s for _, s in pairs]
    if len(set(contacts)) != len(contacts) or len(set(slots)) != len(slots):
        raise ValidationError.for_field("schedule", "A schedule uses each invitee and slot once.")
    picks = {(p.contact_id, p.timeslot_id): p for p in db.session.scalars(
        sa.select(Event).where(Event.calendar_id == calendar.id,
                               sa.tuple_(Event.contact_id, Event.timeslot_id).in_(pairs)))} if pairs else {}
    missing = [p for p in pairs if p not in picks]
    if missing:
        raise ConflictError("The answers changed since this schedule was suggested; reload the suggestions.",
                            {"schedule": ["Some picks no longer exist."]})
    before = {cid: m.timeslot_id for cid, m in _meetings_by_contact(calendar.id).items()}
    chosen = [picks[p] for p in pairs]
    _apply(calendar, chosen, [])
    return sum(1 for cid, sid in pairs if before.get(cid) != sid)
