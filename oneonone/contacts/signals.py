"""What do the contact pages ask the features above contacts, which own invitations and picks?

Contacts know nothing of calendars or invitations; scheduling does, and answers these questions in
`oneonone.scheduling.contact_receivers` (connected when the app registers its blueprints). They are
asked with `oneonone.signals.answers`; with no receiver connected a contact is invited nowhere.
The answers' types live here, so the receivers fill in what contacts declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from blinker import Namespace

if TYPE_CHECKING:
    from ..calendars.models import Calendar

signals = Namespace()

invitation_counts = signals.signal("contact-invitation-counts")
"""Sender: a list of contact ids. Answer: {contact id: how many calendars they are invited to}, for
the contacts invited somewhere."""

contact_usage = signals.signal("contact-usage")
"""Sender: the Contact, about to be deleted (the delete page asks). Answer: a ContactUsage."""


@dataclass
class ContactUsage:
    """What deleting a contact takes with it."""

    calendars: list[Calendar]
    picks: int
    confirmed_meetings: int
