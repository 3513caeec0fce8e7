"""What do the features above calendars hear about a calendar change, and what do they tell its pages?

Calendars know nothing of invitations; scheduling does (and connects its receivers in
`oneonone.scheduling.calendar_receivers`). Action signals are sent inside the change's transaction,
so what a receiver writes — the outbox rows of the emails it queues, sent after the request's
transaction commits — commits or rolls back with the change; a receiver may refuse the change by
raising a domain error. Question signals are asked with `oneonone.signals.answers`; with no receiver
connected the pages show no invitations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blinker import Namespace

if TYPE_CHECKING:
    from .models import Timeslot

signals = Namespace()


@dataclass(frozen=True)
class SlotMove:
    """A slot whose times changed, with the times it had before (UTC)."""

    timeslot: Timeslot
    previous_start: dt.datetime
    previous_end: dt.datetime


@dataclass(frozen=True)
class MoveOutcome:
    """What moving slots did: how many slots moved, how many picks on them were removed, who was
    emailed to pick again, and whose confirmed meeting moved (emailed the new time)."""

    slots: int = 0
    removed: int = 0
    asked_again: tuple[str, ...] = ()
    meetings_moved: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlotPicker:
    """Someone who picked a slot: their name, and whether it is their confirmed meeting."""

    name: str
    confirmed: bool = False

# ---- actions ------------------------------------------------------------------------------------

calendar_deleting = signals.signal("calendar-deleting")
"""Sender: the Calendar, about to be deleted. Receivers cancel its upcoming confirmed meetings and
return how many invitees they emailed a cancellation."""

timeslot_moved = signals.signal("timeslot-moved")
"""Sender: the Calendar; kwarg `moves`: [SlotMove], slots whose start or end just changed (a slot
edited, or a zone change that kept the clock times). Receivers remove the picks that are not
confirmed meetings and email those invitees to pick again, tell each confirmed invitee the new time
(and the old one), and return a MoveOutcome."""

timeslot_deleting = signals.signal("timeslot-deleting")
"""Sender: the Timeslot, about to be deleted; kwarg `confirm` (bool): the owner agreed to cancel a
confirmed meeting. Receivers raise ConflictError when a meeting is confirmed there and `confirm` is
not True; otherwise they cancel it."""

# ---- questions (answered with oneonone.signals.answers) --------------------------------------------

invitation_counts = signals.signal("calendar-invitation-counts")
"""Sender: a list of calendar ids. Answer: {calendar id: CalendarCounts} with invitees, answered and
confirmed filled in (slots are the calendar's own count)."""

slot_summaries = signals.signal("calendar-slot-summaries")
"""Sender: the Calendar; kwarg `timeslot`: only that slot, or None for all; kwargs `begin`, `finish`
(aware datetimes, optional): only the slots starting in [begin, finish). Answer:
{timeslot id: SlotSummary} for the slots with picks."""

slot_pickers = signals.signal("calendar-slot-pickers")
"""Sender: the Calendar; kwarg `timeslot_ids`: the slots asked about. Answer: {timeslot id:
[SlotPicker]}, the confirmed invitee first, then by name (what the edit pages name beforehand)."""

upcoming_meetings = signals.signal("calendar-upcoming-meetings")
"""Sender: the Calendar. Answer: its confirmed meetings that have not ended, as [UpcomingMeeting],
earliest first (what the delete-calendar page names)."""
