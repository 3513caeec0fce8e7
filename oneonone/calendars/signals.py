"""What do the features above calendars hear about a calendar change, and what do they tell its pages?

Calendars know nothing of invitations; scheduling does (and connects its receivers in
`oneonone.scheduling.calendar_receivers`). Action signals are sent inside the change's transaction,
so what a receiver writes — the outbox rows of the emails it queues, sent after the request's
transaction commits — commits or rolls back with the change; a receiver may refuse the change by
raising a domain error. Question signals are asked with `oneonone.signals.answers`; with no receiver
connected the pages show no invitations.
"""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

# ---- actions ------------------------------------------------------------------------------------

calendar_deleting = signals.signal("calendar-deleting")
"""Sender: the Calendar, about to be deleted. Receivers cancel its upcoming confirmed meetings and
return how many invitees they emailed a cancellation."""

timeslot_moved = signals.signal("timeslot-moved")
"""Sender: the Timeslot, after its start or end changed. Receivers tell a confirmed invitee the new time."""

timeslot_deleting = signals.signal("timeslot-deleting")
"""Sender: the Timeslot, about to be deleted; kwarg `confirm` (bool): the owner agreed to cancel a
confirmed meeting. Receivers raise ConflictError when a meeting is confirmed there and `confirm` is
not True; otherwise they cancel it."""

# ---- questions (answered with oneonone.signals.answers) --------------------------------------------

invitation_counts = signals.signal("calendar-invitation-counts")
"""Sender: a list of calendar ids. Answer: {calendar id: CalendarCounts} with invitees, answered and
confirmed filled in (slots are the calendar's own count)."""

slot_summaries = signals.signal("calendar-slot-summaries")
"""Sender: the Calendar; kwarg `timeslot`: only that slot, or None for all. Answer:
{timeslot id: SlotSummary} for the slots with picks."""

upcoming_meetings = signals.signal("calendar-upcoming-meetings")
"""Sender: the Calendar. Answer: its confirmed meetings that have not ended, as [UpcomingMeeting],
earliest first (what the delete-calendar page names)."""
