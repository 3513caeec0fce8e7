"""Every model, imported in one place so the metadata is complete (migrations, create_all)."""

from .accounts.models import ApiToken, User, UserSession
from .calendars.models import Calendar, Timeslot
from .contacts.models import Contact
from .outbox import OutboxMessage
from .scheduling.models import Event, Invitee, RetiredLink

__all__ = [
    "ApiToken",
    "Calendar",
    "Contact",
    "Event",
    "Invitee",
    "OutboxMessage",
    "RetiredLink",
    "Timeslot",
    "User",
    "UserSession",
]
