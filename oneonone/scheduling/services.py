"""Invitations, picks, finalizing meetings and suggested schedules.

Views and the JSON API both call these functions; they validate, change and flush, and queue the
resulting emails in the same transaction (see oneonone/email.py); the caller's unit of work commits
(oneonone/transaction.py). Answering and confirming take the calendar's row lock first and decide on
what they read under it, so a race is settled by the database, not by timing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from ..accounts.models import User, hash_token
from ..accounts.recovery import require_verified
from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..db_types import utcnow
from ..email import header_text, queue_email, quoted
from ..exceptions import ConflictError, NotFoundError, PermissionDenied, ValidationError
from ..extensions import db
from ..pagination import Page, paginate
from ..timezones import is_valid_timezone
from ..transaction import lock_row
from ..validation import parse_id
from . import notify, suggest
from .links import new_link, pick_url, rebuild_token
from .models import PREFERENCES, PREFERRED, Event, Invitee, RetiredLink

REMINDER_WINDOW = dt.timedelta(hours=48)
REMINDER_INTERVAL = dt.timedelta(hours=24)
MAX_SUGGESTIONS = 10
# A second resend (or a reminder) this soon after a new link is a double submission: no third link.
RESEND_GRACE = dt.timedelta(seconds=60)


class LinkReplacedError(NotFoundError):
    """The link was replaced by a newer one (resend or reminder)."""


@dataclass(frozen=True)
class InviteResult:
    invitee: Invitee
    token: str | None  # the new link's token; None when the contact was already invited
    created: bool


def invitee_link(token: str) -> str:
    """The full pick-page address for a link token."""
    return pick_url(token)


# ---- invitations ------------------------------------------------------------------------------

def _queue_invitation(invitee: Invitee, token: str, *, reminder: bool = False) -> None:
    calendar = invitee.calendar
    owner = calendar.owner
    subject = (f"Reminder: pick your times for {quoted(calendar.name)}" if reminder
               else f"{header_text(owner.full_name)[:60]} invites you to pick a time: {quoted(calendar.name)}")
    queue_email(
        invitee.contact.email, subject, "invitation",
        invitee=invitee, contact=invitee.contact, calendar=calendar, owner=owner,
        link=pick_url(token), reminder=reminder, slot_count=len(calendar.timeslots),
    )


def invite_contacts(calendar: Calendar, contacts: Iterable[Contact]) -> list[InviteResult]:
    """Invite contacts (the calendar owner's own) in one transaction; existing invitees are kept."""
    require_verified(calendar.owner)
    contacts = list(contacts)
    if any(c.owner_id != calendar.owner_id for c in contacts):
        raise NotFoundError("No such contact.")
    existing = {
        i.contact_id: i
        for i in db.session.scalars(
            sa.select(Invitee).where(Invitee.calendar_id == calendar.id,
                                     Invitee.contact_id.in_([c.id for c in contacts]))
        )
    }
    results = []
    for contact in contacts:
        if contact.id in existing:
            results.append(InviteResult(existing[contact.id], None, False))
            continue
        nonce, token, token_hash = new_link()
        invitee = Invitee(calendar=calendar, contact=contact, token_hash=token_hash, link_nonce=nonce,
                          link_issued_at=utcnow())
        db.session.add(invitee)
        existing[contact.id] = invitee
        results.append(InviteResult(invitee, token, True))
    try:
        db.session.flush()
    except IntegrityError as error:
        # Another request invited one of them at the same moment: report, change nothing.
        db.session.rollback()
        raise ConflictError("Someone invited these contacts at the same time; reload and try again.") from error
    for result in results:
        if result.created:
            _queue_invitation(result.invitee, result.token)
    return results


def invite_contact(calendar: Calendar, contact: Contact) -> InviteResult:
    """Invite one contact; inviting again returns the existing invitee (not a duplicate)."""
    return invite_contacts(calendar, [contact])[0]


def _link_is_new(invitee: Invitee, now: dt.datetime) -> bool:
    """Whether the invitee's current link replaced another less than RESEND_GRACE ago."""
    last = db.session.scalar(sa.select(sa.func.max(RetiredLink.retired_at))
                             .where(RetiredLink.invitee_id == invitee.id))
    return last is not None and last > now - RESEND_GRACE


def _rotate(invitee: Invitee) -> str:
    """Retire the invitee's link for a new one (the caller holds the invitee's row lock)."""
    db.session.add(RetiredLink(token_hash=invitee.token_hash, invitee_id=invitee.id))
    invitee.link_nonce, token, invitee.token_hash = new_link()
    invitee.link_issued_at = utcnow()
    return token


def current_link_token(invitee: Invitee) -> str:
    """The invitee's link as it stands (rebuilt, not stored). An invitation from before links were
    derived, or from before SECRET_KEY changed, gets a new one (the caller holds the row lock)."""
    return rebuild_token(invitee.link_nonce, invitee.token_hash) or _rotate(invitee)


def visible_link(invitee: Invitee) -> str | None:
    """The invitee's pick-page address for the owner's "Copy", when it can be rebuilt."""
    token = rebuild_token(invitee.link_nonce, invitee.token_hash)
    return pick_url(token) if token else None


def resend_invitation(invitee: Invitee) -> str | None:
    """Mail a fresh link; the old one then says it was replaced. Returns the new token, or None when
    a new link went out less than a minute ago (a double click): nothing more is sent."""
    require_verified(invitee.calendar.owner)
    invitee = lock_row(Invitee, invitee.id)
    if invitee is None:
        raise NotFoundError("No such invitee.")
    if _link_is_new(invitee, utcnow()):
        return None
    token = _rotate(invitee)
    _queue_invitation(invitee, token)
    db.session.flush()
    return token


def revoke_invitation(invitee: Invitee) -> None:
    """Remove the invitation and its picks; a confirmed meeting is cancelled by email."""
    lock_row(Calendar, invitee.calendar_id)
    invitee = db.session.scalar(sa.select(Invitee).where(Invitee.id == invitee.id)
                                .execution_options(populate_existing=True))
    if invitee is None:
        return  # revoked by a request a moment ago
    confirmed = _confirmed_event(invitee)
    if confirmed is not None:
        notify.queue_meeting_email(invitee, confirmed.timeslot, notify.CANCELLED)
    db.session.delete(invitee)
    db.session.flush()


def get_invitee(owner: User, calendar_id: int, invitee_id: int) -> Invitee:
    """One of the owner's invitees, or NotFoundError."""
    invitee = db.session.scalar(
        sa.select(Invitee).join(Calendar)
        .where(Invitee.id == invitee_id, Invitee.calendar_id == calendar_id,
               Calendar.owner_id == owner.id)
    )
    if invitee is None:
        raise NotFoundError("No such invitee.")
    return invitee


def invitee_for_token(token: str | None) -> Invitee:
    """The invitee a link token belongs to; NotFoundError (or LinkReplacedError) otherwise."""
    if not token or len(token) > 200:
        raise NotFoundError("This link is not valid.")
    token_hash = hash_token(token)
    invitee = db.session.scalar(
        sa.select(Invitee).options(joinedload(Invitee.calendar).joinedload(Calendar.owner),
                                   joinedload(Invitee.contact))
        .where(Invitee.token_hash == token_hash)
    )
    if invitee is not None:
        return invitee
    if db.session.get(RetiredLink, token_hash) is not None:
        raise LinkReplacedError("This link was replaced by a newer one.")
    raise NotFoundError("This link is not valid.")


# ---- reminders --------------------------------------------------------------------------------

def _remind(invitees: Iterable[Invitee], now: dt.datetime) -> int:
    """Mail each a reminder with their usual link, except those reminded or sent a new link in the
    last minute (a double click)."""
    count = 0
    for invitee in invitees:
        if _link_is_new(invitee, now) or (invitee.reminded_at and invitee.reminded_at > now - RESEND_GRACE):
            continue
        _queue_invitation(invitee, current_link_token(invitee), reminder=True)
        invitee.reminded_at = now
        count += 1
    db.session.flush()
    return count


def _lock_invitees(calendar_id: int) -> None:
    """Lock the calendar's invitees in id order (a resend of one of them waits, and vice versa)."""
    if db.session.get_bind().dialect.name == "sqlite":
        lock_row(Calendar, calendar_id)  # the database's write lock
    else:
        db.session.execute(sa.select(Invitee.id).where(Invitee.calendar_id == calendar_id)
                           .order_by(Invitee.id).with_for_update(key_share=True))


def remind_unanswered(calendar: Calendar) -> int:
    """Remind every invitee who has not answered (each gets a fresh link); returns how many."""
    require_verified(calendar.owner)
    _lock_invitees(calendar.id)
    invitees = db.session.scalars(
        sa.select(Invitee).where(Invitee.calendar_id == calendar.id, Invitee.responded_at.is_(None))
        .order_by(Invitee.id).execution_options(populate_existing=True)).all()
    return _remind(invitees, utcnow())


def send_due_reminders(now: dt.datetime | None = None) -> int:
    """Remind non-responders whose deadline is within 48 h and who were not reminded in 24 h."""
    now = now or utcnow()
    invitees = db.session.scalars(
        sa.select(Invitee).join(Calendar)
        .where(Invitee.responded_at.is_(None),
               Calendar.response_deadline.is_not(None),
               Calendar.response_deadline > now,
               Calendar.response_deadline <= now + REMINDER_WINDOW,
               Calendar.owner_id.in_(sa.select(User.id).where(User.email_verified_at.is_not(None))),
               sa.or_(Invitee.reminded_at.is_(None), Invitee.reminded_at <= now - REMINDER_INTERVAL))
        .order_by(Invitee.id).with_for_update(key_share=True, of=Invitee)
        .execution_options(populate_existing=True)
    ).all()
    return _remind(invitees, now)


# ---- picks ------------------------------------------------------------------------------------

def _confirmed_event(invitee: Invitee) -> Event | None:
    return db.session.scalar(
        sa.select(Event).where(Event.calendar_id == invitee.calendar_id,
                               Event.contact_id == invitee.contact_id, Event.confirmed)
    )


def answer_closed_reason(invitee: Invitee, now: dt.datetime | None = None) -> str | None:
    """Why the invitee can no longer change their answer ('deadline' / 'confirmed'), or None."""
    if invitee.calendar.deadline_passed(now):
        return "deadline"
    if _confirmed_event(invitee) is not None:
        return "confirmed"
    return None


def _check_open(invitee: Invitee) -> None:
    reason = answer_closed_reason(invitee)
    if reason == "deadline":
        raise PermissionDenied("The response deadline has passed; answers can no longer be changed.")
    if reason == "confirmed":
        raise ConflictError("Your meeting is already confirmed; answers can no longer be changed.")


def _taken_slot_ids(calendar_id: int, contact_id: int) -> set[int]:
    return set(db.session.scalars(
        sa.select(Event.timeslot_id).where(Event.calendar_id == calendar_id, Event.confirmed,
                                           Event.contact_id != contact_id)
    ))


def _lock_answers(invitee: Invitee) -> Invitee:
    """Take the calendar's lock, which confirming takes too, and re-read the invitee under it."""
    lock_row(Calendar, invitee.calendar_id)
    fresh = db.session.scalar(sa.select(Invitee).where(Invitee.id == invitee.id)
                              .execution_options(populate_existing=True))
    if fresh is None:
        raise NotFoundError("This invitation was withdrawn.")
    return fresh


def save_picks(invitee: Invitee, choices: dict[int, str | None], *, timezone: str | None = None) -> int:
    """Replace the invitee's whole answer at once (slot id -> preference, None for can't)."""
    invitee = _lock_answers(invitee)
    _check_open(invitee)
    slot_ids = set(db.session.scalars(
        sa.select(Timeslot.id).where(Timeslot.calendar_id == invitee.calendar_id)))
    problems: dict[str, list[str]] = {}
    for slot_id, preference in choices.items():
        if slot_id not in slot_ids:
            problems.setdefault("timeslot", []).append(f"Slot {slot_id} is not in this calendar.")
        elif preference is not None and preference not in PREFERENCES:
            problems.setdefault(f"slot-{slot_id}", []).append(
                "Choose can't, if need be or preferred.")
    if timezone is not None and not is_valid_timezone(timezone):
        problems.setdefault("timezone", []).append("Unknown time zone.")
    if problems:
        raise ValidationError("Some choices could not be saved.", problems)
    taken = _taken_slot_ids(invitee.calendar_id, invitee.contact_id)
    existing = {e.timeslot_id: e for e in db.session.scalars(
        sa.select(Event).where(Event.calendar_id == invitee.calendar_id,
                               Event.contact_id == invitee.contact_id)
        .execution_options(populate_existing=True))}
    picked = 0
    for slot_id in slot_ids:
        preference = choices.get(slot_id)
        event = existing.get(slot_id)
        if preference is None or (slot_id in taken and event is None):
            if event is not None:
                db.session.delete(event)
            continue
        picked += 1
        if event is None:
            db.session.add(Event(calendar_id=invitee.calendar_id, timeslot_id=slot_id,
                                 contact_id=invitee.contact_id, preference=preference))
        else:
            event.preference = preference
    invitee.responded_at = utcnow()
    if timezone:
        invitee.timezone = timezone
    db.session.flush()
    return picked


def add_pick(invitee: Invitee, timeslot_id: int, preference: str = PREFERRED) -> tuple[Event, bool]:
    """Record one pick; picking the same slot again returns the existing event (created=False)."""
    if preference not in PREFERENCES:
        raise ValidationError.for_field("preference", "Use 'preferred' or 'if_need_be'.")
    timeslot_id = parse_id(timeslot_id)
    timeslot = db.session.get(Timeslot, timeslot_id) if timeslot_id is not None else None
    if timeslot is None or timeslot.calendar_id != invitee.calendar_id:
        raise ValidationError.for_field("timeslot", "That timeslot is not in this calendar.")
    invitee = _lock_answers(invitee)
    _check_open(invitee)
    existing = db.session.scalar(
        sa.select(Event).where(Event.timeslot_id == timeslot_id, Event.contact_id == invitee.contact_id))
    if existing is not None:
        return existing, False
    if timeslot_id in _taken_slot_ids(invitee.calendar_id, invitee.contact_id):
        raise ConflictError("That slot is already taken by a confirmed meeting.",
                            {"timeslot": ["That slot is already taken."]})
    event = Event(calendar_id=invitee.calendar_id, timeslot_id=timeslot_id,
                  contact_id=invitee.contact_id, preference=preference)
    db.session.add(event)
    invitee.responded_at = utcnow()
    db.session.flush()
    return event, True


# ---- events and finalizing ----------------------------------------------------------------------

def get_event(owner: User, event_id: int) -> Event:
    """One event of the owner's calendars, or NotFoundError."""
    event = db.session.scalar(
        sa.select(Event).join(Calendar, Calendar.id == Event.calendar_id)
        .where(Event.id == event_id, Calendar.owner_id == owner.id)
    )
    if event is None:
        raise NotFoundError("No such event.")
    return event


def events_for_timeslot(timeslot: Timeslot) -> list[Event]:
    """The picks on a slot, confirmed first."""
    return list(db.session.scalars(
        sa.select(Event).where(Event.timeslot_id == timeslot.id)
        .order_by(Event.confirmed.desc(), Event.id)))


def _confirmed_map(calendar_id: int) -> dict[int, Event]:
    return {e.contact_id: e for e in db.session.scalars(
        sa.select(Event).where(Event.calendar_id == calendar_id, Event.confirmed)
        .execution_options(populate_existing=True))}


WITHDRAWN = "{name} changed their answer a moment ago, so that pick no longer exists; nothing was confirmed."


def _fresh_events(events: list[Event]) -> list[Event]:
    """The events re-read under the lock; ConflictError when one was deleted meanwhile."""
    ids = [e.id for e in events]
    fresh = {e.id: e for e in db.session.scalars(
        sa.select(Event).where(Event.id.in_(ids)).execution_options(populate_existing=True))} if ids else {}
    gone = [e for e in events if e.id not in fresh]
    if gone:
        contact = db.session.get(Contact, gone[0].contact_id)
        name = contact.full_name if contact is not None else "An invitee"
        raise ConflictError(WITHDRAWN.format(name=name), {"schedule": ["Some picks no longer exist."]})
    return [fresh[i] for i in ids]


def _apply(calendar: Calendar, confirm: list[Event], unconfirm: list[Event]) -> None:
    """Confirm and unconfirm events in one transaction and email everyone whose meeting changed."""
    # The calendar's lock, which answering takes too: confirmations (of any slot) and answers run
    # one after the other, and everything below is read after the previous one committed.
    lock_row(Calendar, calendar.id)
    confirm, unconfirm = _fresh_events(confirm), _fresh_events(unconfirm)
    before = {cid: e.timeslot_id for cid, e in _confirmed_map(calendar.id).items()}
    confirm_ids = {e.id for e in confirm}
    confirm_slots = {e.timeslot_id for e in confirm}
    confirm_contacts = {e.contact_id for e in confirm}
    displaced = db.session.scalars(
        sa.select(Event).where(
            Event.calendar_id == calendar.id, Event.confirmed,
            sa.or_(Event.timeslot_id.in_(confirm_slots), Event.contact_id.in_(confirm_contacts)))
        .execution_options(populate_existing=True)
    ).all()
    for event in [*displaced, *unconfirm]:
        if event.id not in confirm_ids:
            event.confirmed = False
    db.session.flush()
    for event in confirm:
        event.confirmed = True
    db.session.flush()
    after = {cid: e.timeslot_id for cid, e in _confirmed_map(calendar.id).items()}
    _email_changes(calendar, before, after)


def _email_changes(calendar: Calendar, before: dict[int, int], after: dict[int, int]) -> None:
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
            notify.queue_meeting_email(invitee, slots[new], notify.UPDATED)


def set_event_confirmed(event: Event, confirmed: bool) -> Event:
    """Finalize (or undo) one meeting: one per slot and one per invitee, emails included."""
    if not isinstance(confirmed, bool):
        raise ValidationError.for_field("confirmed", "Must be true or false.")
    calendar = db.session.get(Calendar, event.calendar_id)
    if confirmed:
        require_verified(calendar.owner)
        _apply(calendar, [event], [])
    else:
        _apply(calendar, [], [event])
    return event


def confirm_pick(invitee: Invitee, timeslot_id) -> Event:
    """Confirm the invitee's meeting in one of the slots they picked."""
    slot_id = parse_id(timeslot_id)
    event = db.session.scalar(sa.select(Event).where(
        Event.calendar_id == invitee.calendar_id, Event.contact_id == invitee.contact_id,
        Event.timeslot_id == slot_id)) if slot_id else None
    if event is None:
        raise ValidationError.for_field("timeslot_id", "Choose one of the slots this invitee picked.")
    return set_event_confirmed(event, True)


def cancel_meeting(invitee: Invitee) -> bool:
    """Cancel the invitee's confirmed meeting (emailing them); False when there was none."""
    event = _confirmed_event(invitee)
    if event is None:
        return False
    set_event_confirmed(event, False)
    return True


def finalize_schedule(calendar: Calendar, pairs: Iterable[tuple[int, int]]) -> list[Event]:
    """Confirm a whole schedule of (contact id, timeslot id) picks at once."""
    require_verified(calendar.owner)
    pairs = list(pairs)
    contacts = [c for c, _ in pairs]
    slots = [s for _, s in pairs]
    if len(set(contacts)) != len(contacts) or len(set(slots)) != len(slots):
        raise ValidationError.for_field("schedule", "A schedule uses each invitee and slot once.")
    events = {(e.contact_id, e.timeslot_id): e for e in db.session.scalars(
        sa.select(Event).where(Event.calendar_id == calendar.id,
                               sa.tuple_(Event.contact_id, Event.timeslot_id).in_(pairs)))} if pairs else {}
    missing = [p for p in pairs if p not in events]
    if missing:
        raise ConflictError("The answers changed since this schedule was suggested; reload the suggestions.",
                            {"schedule": ["Some picks no longer exist."]})
    chosen = [events[p] for p in pairs]
    _apply(calendar, chosen, [])
    return chosen


# ---- suggestions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SuggestedAssignment:
    contact_id: int
    timeslot_id: int
    event_id: int
    high_priority: bool
    preference: str | None
    fixed: bool
    forced: bool = False  # the only slot this invitee has in every schedule as good as the best


@dataclass(frozen=True)
class SuggestedUnscheduled:
    contact_id: int
    reason: str
    # Free slots they did not pick that would seat them without unseating anyone (best schedule only).
    would_fit: tuple[int, ...] = ()


@dataclass(frozen=True)
class SuggestedChange:
    """How an alternative differs from the best schedule for one invitee (None: not scheduled)."""

    contact_id: int
    from_timeslot_id: int | None
    to_timeslot_id: int | None


@dataclass(frozen=True)
class SuggestedSchedule:
    score: suggest.Score
    assignments: tuple[SuggestedAssignment, ...]
    unscheduled: tuple[SuggestedUnscheduled, ...]
    changes: tuple[SuggestedChange, ...] | None = None  # None for the best schedule itself
    equally_good: bool = False  # an alternative whose score equals the best's

    @property
    def change_list(self) -> tuple[SuggestedChange, ...]:
        return self.changes or ()


def suggest_for_calendar(calendar: Calendar, k: int = 3) -> list[SuggestedSchedule]:
    """The k best schedules for the calendar's answers, best first (confirmed meetings kept).

    The best one also says which meetings are forced and, for each invitee it leaves out, which
    other free times would seat them; each alternative lists how it differs from the best.
    """
    if not isinstance(k, int) or not 1 <= k <= MAX_SUGGESTIONS:
        raise ValidationError.for_field("k", f"Ask for 1 to {MAX_SUGGESTIONS} schedules.")
    slot_rows = db.session.execute(
        sa.select(Timeslot.id, Timeslot.start_time, Timeslot.end_time, Timeslot.high_priority)
        .where(Timeslot.calendar_id == calendar.id)).all()
    contact_ids = list(db.session.scalars(
        sa.select(Invitee.contact_id).where(Invitee.calendar_id == calendar.id)))
    events = db.session.execute(
        sa.select(Event.id, Event.contact_id, Event.timeslot_id, Event.preference, Event.confirmed)
        .where(Event.calendar_id == calendar.id)).all()
    event_ids = {(e.contact_id, e.timeslot_id): e.id for e in events}
    problem = {
        "slots": [suggest.Slot(s.id, s.start_time, s.end_time, s.high_priority) for s in slot_rows],
        "invitees": contact_ids,
        "picks": [suggest.Pick(e.contact_id, e.timeslot_id, e.preference) for e in events],
        "confirmed": [suggest.Meeting(e.contact_id, e.timeslot_id) for e in events if e.confirmed],
    }
    schedules = suggest.suggest_schedules(**problem, k=k)
    if not schedules:
        return []
    best = schedules[0]
    fits = suggest.would_fit(**problem, schedule=best)
    forced_in_best = suggest.forced(**problem, schedule=best)
    forced = {(a.invitee, a.slot) for a in best.assignments if forced_in_best.get(a.invitee)}

    def convert(schedule: suggest.Schedule, first: bool) -> SuggestedSchedule:
        changes = None if first else tuple(
            SuggestedChange(contact, before, after) for contact, before, after in suggest.changes(best, schedule))
        return SuggestedSchedule(
            score=schedule.score,
            assignments=tuple(
                SuggestedAssignment(a.invitee, a.slot, event_ids[(a.invitee, a.slot)], a.high_priority,
                                    a.preference, a.fixed, (a.invitee, a.slot) in forced)
                for a in schedule.assignments),
            unscheduled=tuple(SuggestedUnscheduled(u.invitee, u.reason, tuple(fits.get(u.invitee, ())))
                              for u in schedule.unscheduled),
            changes=changes,
            equally_good=not first and schedule.score == best.score,
        )

    return [convert(schedule, n == 0) for n, schedule in enumerate(schedules)]


ASK_AGAIN_AFTER = dt.timedelta(seconds=60)


def ask_about_times(calendar: Calendar, contact_id: int, timeslot_ids: Iterable[int]) -> Invitee:
    """Email a left-out invitee the free times that would seat them, marked on their page.

    The times must be among the best schedule's `would_fit` for them. Asking again for the same
    times within a minute (a double click) sends nothing more. Like a reminder, the email carries
    a fresh link.
    """
    require_verified(calendar.owner)
    lock_row(Calendar, calendar.id)
    invitee = db.session.scalar(
        sa.select(Invitee).where(Invitee.calendar_id == calendar.id, Invitee.contact_id == contact_id)
        .execution_options(populate_existing=True))
    if invitee is None:
        raise NotFoundError("That contact is not invited to this calendar.",
                            {"contact": ["Not invited to this calendar."]})
    wanted = list(dict.fromkeys(timeslot_ids))
    [best] = suggest_for_calendar(calendar, 1)
    fit = next((u.would_fit for u in best.unscheduled if u.contact_id == contact_id), ())
    if not wanted or not set(wanted) <= set(fit):
        problem = ("Choose times among those that would seat them." if fit
                   else "No free time would seat them now; the suggestions have changed.")
        raise ValidationError.for_field("timeslots", problem)
    order = {slot_id: n for n, slot_id in enumerate(fit)}
    wanted.sort(key=order.__getitem__)
    now = utcnow()
    if (invitee.asked_timeslot_ids == wanted and invitee.asked_at is not None
            and invitee.asked_at > now - ASK_AGAIN_AFTER):
        return invitee
    times = list(db.session.scalars(
        sa.select(Timeslot).where(Timeslot.id.in_(wanted)).order_by(Timeslot.start_time, Timeslot.id)))
    token = current_link_token(invitee)
    invitee.asked_at, invitee.asked_timeslot_ids = now, wanted
    owner = calendar.owner
    queue_email(
        invitee.contact.email,
        f"{header_text(owner.full_name)[:60]} asks: could you make one of these times? {quoted(calendar.name)}",
        "ask", invitee=invitee, contact=invitee.contact, calendar=calendar, owner=owner,
        link=pick_url(token), times=times,
    )
    db.session.flush()
    return invitee


# ---- read models for the pages ------------------------------------------------------------------

def confirmed_event(invitee: Invitee) -> Event | None:
    """The invitee's confirmed meeting in their calendar, if any."""
    return _confirmed_event(invitee)


def confirmed_meetings(calendar: Calendar) -> list[tuple[Event, Timeslot, Contact]]:
    """Every confirmed meeting of the calendar, in time order."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Event, Timeslot, Contact)
        .join(Timeslot, Timeslot.id == Event.timeslot_id)
        .join(Contact, Contact.id == Event.contact_id)
        .where(Event.calendar_id == calendar.id, Event.confirmed)
        .order_by(Timeslot.start_time))]


@dataclass
class InviteeRow:
    invitee: Invitee
    contact: Contact
    picks: dict[int, str]  # slot id -> preference
    confirmed_slot_id: int | None

    @property
    def status(self) -> str:
        if self.confirmed_slot_id is not None:
            return "confirmed"
        return "answered" if self.invitee.responded_at is not None else "invited"


def invitee_overview(calendar: Calendar, *, page: int = 1, per_page: int = 50) -> Page:
    """One page of invitees with their picks and confirmed slot (three queries, whatever the size)."""
    result = paginate(
        sa.select(Invitee).join(Contact, Contact.id == Invitee.contact_id)
        .options(contains_eager(Invitee.contact))
        .where(Invitee.calendar_id == calendar.id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id),
        page, per_page)
    contact_ids = [invitee.contact_id for invitee in result.items]
    picks: dict[int, dict[int, str]] = {}
    confirmed: dict[int, int] = {}
    for contact_id, slot_id, preference, is_confirmed in db.session.execute(
        sa.select(Event.contact_id, Event.timeslot_id, Event.preference, Event.confirmed)
        .where(Event.calendar_id == calendar.id, Event.contact_id.in_(contact_ids))):
        picks.setdefault(contact_id, {})[slot_id] = preference
        if is_confirmed:
            confirmed[contact_id] = slot_id
    result.items = [InviteeRow(invitee, invitee.contact, picks.get(invitee.contact_id, {}),
                               confirmed.get(invitee.contact_id)) for invitee in result.items]
    return result


def unanswered_count(calendar: Calendar) -> int:
    """How many invitees have not answered yet."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Invitee).where(
        Invitee.calendar_id == calendar.id, Invitee.responded_at.is_(None))) or 0


@dataclass
class SlotChoice:
    slot: Timeslot
    start: dt.datetime  # in the viewer's zone
    end: dt.datetime
    calendar_start: dt.datetime  # in the calendar's zone
    choice: str | None
    taken: bool
    mine: bool  # the invitee's confirmed meeting


@dataclass
class PickPage:
    days: list[tuple[dt.date, list[SlotChoice]]]
    closed: str | None
    confirmed: SlotChoice | None
    picked: int


def pick_page(invitee: Invitee, zone_name: str) -> PickPage:
    """Everything the pick page shows, with times in `zone_name`."""
    from zoneinfo import ZoneInfo

    zone, calendar_zone = ZoneInfo(zone_name), ZoneInfo(invitee.calendar.timezone)
    slots = db.session.scalars(
        sa.select(Timeslot).where(Timeslot.calendar_id == invitee.calendar_id).order_by(Timeslot.start_time)).all()
    events = db.session.execute(
        sa.select(Event.timeslot_id, Event.contact_id, Event.preference, Event.confirmed)
        .where(Event.calendar_id == invitee.calendar_id,
               sa.or_(Event.contact_id == invitee.contact_id, Event.confirmed))).all()
    mine = {e.timeslot_id: e.preference for e in events if e.contact_id == invitee.contact_id}
    taken = {e.timeslot_id for e in events if e.confirmed and e.contact_id != invitee.contact_id}
    my_meeting = next((e.timeslot_id for e in events if e.confirmed and e.contact_id == invitee.contact_id), None)
    choices = [
        SlotChoice(slot, slot.start_time.astimezone(zone), slot.end_time.astimezone(zone),
                   slot.start_time.astimezone(calendar_zone), mine.get(slot.id), slot.id in taken,
                   slot.id == my_meeting)
        for slot in slots
    ]
    days: list[tuple[dt.date, list[SlotChoice]]] = []
    for choice in choices:
        if not days or days[-1][0] != choice.start.date():
            days.append((choice.start.date(), []))
        days[-1][1].append(choice)
    closed = "confirmed" if my_meeting is not None else (
        "deadline" if invitee.calendar.deadline_passed() else None)
    confirmed = next((c for c in choices if c.mine), None)
    return PickPage(days=days, closed=closed, confirmed=confirmed, picked=len(mine))
