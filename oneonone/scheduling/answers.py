"""An invitee's answer: the one set of rules for recording picks, used by the pick page and the API.

A pick is an invitee's answer for one slot (an `Event` row, the design document's name) with a
preference; a confirmed pick is a meeting (confirmations.py). The pick page replaces the answer at once
(`save_picks`): the whole of it, or only for the slots it showed (`shown`: one week of a large
calendar), keeping the picks elsewhere; the API records one pick at a time (`add_pick`). Both go
through `_check_answer`, which applies the rules in this order:

1. answers are open (`closed_reason`, which the pick page shows too): the invitee has no meeting
   yet (409), and the response deadline has not passed (403);
2. every slot is one of this calendar's and every preference one of PREFERENCES (400, naming each);
3. nobody picks anew a slot that someone else's meeting holds (the API answers 409; the page does
   not offer such slots, so a choice for one is dropped). A pick made before that meeting stays.

The pick page's answer as a whole is also one of the states in models (NOT_ANSWERED, ANSWERED,
CANT_MAKE_ANY, `Invitee.answer_state`): "None of these times work for me" clears every pick (in
every week, whatever the page showed) and marks the invitee as answered (so they are not reminded)
but able to make none; picking again, on the page or through the API, clears that. An answer left
with no pick and without that choice is refused (400 naming `answer`). A comment for the owner (at
most COMMENT_MAX characters) may go with either.

Answering takes the calendar's row lock, which confirming takes too, and decides on what it reads
under it. The owner hears of each saved answer as they chose (`owner_notices.answer_received`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from ..accounts.models import User
from ..calendars.models import Calendar, Timeslot
from ..db_types import utcnow
from ..exceptions import ConflictError, NotFoundError, PermissionDenied, ValidationError
from ..extensions import db
from ..timezones import is_valid_timezone
from ..transaction import lock_row
from ..validation import Problems, clean_text
from . import owner_notices
from .confirmations import meeting_of
from .models import COMMENT_MAX, PREFERENCES, PREFERRED, Event, Invitee

DEADLINE, CONFIRMED = "deadline", "confirmed"  # why answers are closed
NOT_IN_CALENDAR = "That timeslot is not in this calendar."
NOTHING_CHOSEN = "Pick at least one time, or choose “None of these times work for me”."


def closed_reason(calendar: Calendar, *, has_meeting: bool, now: dt.datetime | None = None) -> str | None:
    """Why an invitee can no longer change their answer, or None: their meeting is confirmed
    (CONFIRMED, said first because it is what they need to know), or the deadline passed (DEADLINE).
    The pick page shows it; `_check_answer` refuses with it."""
    if has_meeting:
        return CONFIRMED
    if calendar.deadline_passed(now):
        return DEADLINE
    return None


@dataclass(frozen=True)
class _CheckedAnswer:
    invitee: Invitee  # re-read under the calendar's lock
    slot_ids: set[int]  # every slot of the calendar
    picks: dict[int, Event]  # the invitee's picks so far, by slot id
    refused: set[int]  # slots chosen anew that someone else's meeting holds (rule 3)


def _lock_answers(invitee: Invitee) -> Invitee:
    """Take the calendar's lock, which confirming takes too, and re-read the invitee under it."""
    lock_row(Calendar, invitee.calendar_id)
    fresh = db.session.scalar(sa.select(Invitee).where(Invitee.id == invitee.id)
                              .execution_options(populate_existing=True))
    if fresh is None:
        raise NotFoundError("This invitation was withdrawn.")
    return fresh


def _check_answer(invitee: Invitee, choices: Mapping[int, str | None],
                  problems: dict[str, list[str]]) -> _CheckedAnswer:
    """Apply the answer rules (see the module docstring) to `choices` (slot id -> preference, None
    for can't). Rule 1 raises; rule 2 adds to `problems`, which the caller raises with its wording."""
    invitee = _lock_answers(invitee)
    reason = closed_reason(invitee.calendar, has_meeting=meeting_of(invitee) is not None)
    if reason == DEADLINE:
        raise PermissionDenied("The response deadline has passed; answers can no longer be changed.")
    if reason == CONFIRMED:
        raise ConflictError("Your meeting is already confirmed; answers can no longer be changed.")
    slot_ids = set(db.session.scalars(
        sa.select(Timeslot.id).where(Timeslot.calendar_id == invitee.calendar_id)))
    # A "can't" for a slot deleted since the page was shown is no answer to refuse; another calendar's is.
    unknown = [slot_id for slot_id, preference in choices.items() if preference is None and slot_id not in slot_ids]
    elsewhere = set(db.session.scalars(sa.select(Timeslot.id).where(Timeslot.id.in_(unknown)))) if unknown else set()
    for slot_id, preference in choices.items():
        if slot_id not in slot_ids:
            if preference is not None or slot_id in elsewhere:
                problems.setdefault("timeslot", []).append(f"Slot {slot_id} is not in this calendar.")
        elif preference is not None and preference not in PREFERENCES:
            problems.setdefault(f"slot-{slot_id}", []).append("Choose can't, if need be or preferred.")
    if problems:
        return _CheckedAnswer(invitee, slot_ids, {}, set())
    picks = {p.timeslot_id: p for p in db.session.scalars(
        sa.select(Event).where(Event.calendar_id == invitee.calendar_id,
                               Event.contact_id == invitee.contact_id)
        .execution_options(populate_existing=True))}
    chosen_anew = {slot_id for slot_id, preference in choices.items()
                   if preference is not None and slot_id not in picks}
    taken = set(db.session.scalars(
        sa.select(Event.timeslot_id).where(Event.calendar_id == invitee.calendar_id, Event.confirmed,
                                           Event.contact_id != invitee.contact_id)
    )) if chosen_anew else set()
    return _CheckedAnswer(invitee, slot_ids, picks, chosen_anew & taken)


def clean_comment(value: str | None) -> str | None:
    """The comment for the owner, trimmed (None when empty), or a ValidationError naming `comment`."""
    problems = Problems()
    text = clean_text(problems, "comment", value, max_length=COMMENT_MAX, label="Comment", required=False,
                      multiline=True)
    problems.raise_if_any()
    return text or None


def save_picks(invitee: Invitee, choices: dict[int, str | None], *, shown: Collection[int] | None = None,
               timezone: str | None = None, none_work: bool = False, comment: str | None = None,
               if_changed: bool = False) -> int | None:
    """Replace the invitee's answer (slot id -> preference, None for can't) for every slot, or, given
    `shown` (the slots the page showed: a shown slot without a choice is can't), for those and the
    chosen ones only, keeping their picks elsewhere. With `none_work` clear every pick ("None of these
    times work for me") — unless they had said so already and now choose times, which are then saved;
    `comment` replaces their comment ("" removes it; None keeps it). Returns how many slots are picked
    in all, or, with `if_changed` (the page moving to another week), None when the answer is as saved
    and nothing was written."""
    problems: dict[str, list[str]] = {}
    if timezone is not None and not is_valid_timezone(timezone):
        problems["timezone"] = ["Unknown time zone."]
    if comment is not None:
        try:
            comment = clean_comment(comment) or ""
        except ValidationError as error:
            problems.update(error.fields)
    if shown is not None:
        choices = {**dict.fromkeys(shown), **choices}
    checked = _check_answer(invitee, choices, problems)
    if problems:
        only_comment = set(problems) == {"comment"}
        raise ValidationError(problems["comment"][0] if only_comment else "Some choices could not be saved.",
                              problems)
    invitee = checked.invitee
    scope = set(choices) if shown is not None else checked.slot_ids
    wanted = {slot_id: preference for slot_id, preference in choices.items()
              if preference is not None and slot_id not in checked.refused}
    kept = {slot_id for slot_id, pick in checked.picks.items() if slot_id not in scope and not pick.owner_placed}
    if if_changed and _unchanged(checked, scope, wanted, none_work=none_work, comment=comment):
        return None
    # The page shows the choice ticked while it stands: times chosen beside it then are the change.
    if none_work and wanted and invitee.declined_at is not None:
        none_work = False
    if none_work:
        wanted, scope, kept = {}, checked.slot_ids, set()
    elif not wanted and not kept:
        # Going to another week with no time chosen yet (to pick there): not an answer, but a comment
        # typed on the way is kept.
        if if_changed:
            if comment is not None and comment != (invitee.comment or ""):
                invitee.comment = comment or None
                db.session.flush()
            return None
        raise ValidationError.for_field("answer", NOTHING_CHOSEN)
    for slot_id in scope:
        preference = wanted.get(slot_id)
        pick = checked.picks.get(slot_id)
        if preference is None:
            if pick is not None:
                db.session.delete(pick)
        elif pick is None:
            db.session.add(Event(calendar_id=invitee.calendar_id, timeslot_id=slot_id,
                                 contact_id=invitee.contact_id, preference=preference))
        else:
            pick.preference = preference
    now = utcnow()
    first = invitee.responded_at is None
    invitee.responded_at = now  # "none of these" is an answer too: reminders skip it
    invitee.declined_at = now if none_work else None
    if comment is not None:
        invitee.comment = comment or None
    if timezone:
        invitee.timezone = timezone
    db.session.flush()
    owner_notices.answer_received(invitee, first=first)
    return len(wanted) + len(kept)


def _unchanged(checked: _CheckedAnswer, scope: set[int], wanted: dict[int, str], *, none_work: bool,
               comment: str | None) -> bool:
    """Whether saving would leave the answer as it is (the picks in `scope`, the choice and the comment)."""
    invitee = checked.invitee
    saved = {slot_id: pick.preference for slot_id, pick in checked.picks.items() if slot_id in scope}
    return (saved == wanted and none_work == (invitee.declined_at is not None)
            and (comment is None or comment == (invitee.comment or "")))


def add_pick(invitee: Invitee, timeslot_id: int, preference: str = PREFERRED) -> tuple[Event, bool]:
    """Record one pick; picking the same slot again returns the existing pick (created=False)."""
    problems: dict[str, list[str]] = {}
    checked = _check_answer(invitee, {timeslot_id: preference}, problems)
    if "timeslot" in problems:
        raise ValidationError.for_field("timeslot", NOT_IN_CALENDAR)
    if problems:
        raise ValidationError.for_field("preference", "Use 'preferred' or 'if_need_be'.")
    existing = checked.picks.get(timeslot_id)
    if existing is not None:
        return existing, False
    if timeslot_id in checked.refused:
        raise ConflictError("That slot is already taken by a confirmed meeting.",
                            {"timeslot": ["That slot is already taken."]})
    invitee = checked.invitee
    pick = Event(calendar_id=invitee.calendar_id, timeslot_id=timeslot_id,
                 contact_id=invitee.contact_id, preference=preference)
    db.session.add(pick)
    first = invitee.responded_at is None
    invitee.responded_at = utcnow()
    invitee.declined_at = None  # a time works after all
    db.session.flush()
    owner_notices.answer_received(invitee, first=first)
    return pick, True


# ---- looking picks up ---------------------------------------------------------------------------

def get_pick(owner: User, pick_id: int) -> Event:
    """One pick in the owner's calendars, or NotFoundError."""
    pick = db.session.scalar(
        sa.select(Event).join(Calendar, Calendar.id == Event.calendar_id)
        .where(Event.id == pick_id, Calendar.owner_id == owner.id)
    )
    if pick is None:
        raise NotFoundError("No such event.")
    return pick


def picks_for_timeslot(timeslot: Timeslot) -> list[Event]:
    """The picks on a slot, its meeting first."""
    return list(db.session.scalars(
        sa.select(Event).where(Event.timeslot_id == timeslot.id)
        .order_by(Event.confirmed.desc(), Event.id)))
