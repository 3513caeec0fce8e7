"""The scenarios several test modules share, built from the conftest factories (registered as fixtures
by tests/conftest.py): which owner's day with which people, slots, invitations and picks?

- `ada_and_bob(...)`: the owner's calendar with contacts Ada Lovelace and Bob Babbage, a 09:00 slot and
  a high-priority 10:00 slot on its first day, and invitations for whom you name.
- `one_of_each(...)`: one calendar, contact, timeslot, invitation and pick: the objects every URL of
  the app can be built from.

Each builder commits what it makes, in the order a person would (calendar, contacts, slots, then
invitations and picks), so that ids are the same in every module that uses it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from oneonone.calendars.models import Calendar, Timeslot
    from oneonone.contacts.models import Contact
    from oneonone.scheduling.models import Event, Invitee

ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}
BOB = {"first_name": "Bob", "last_name": "Babbage", "email": "bob@example.org"}


@dataclass
class AdaAndBob:
    """The owner's day with Ada and Bob; `links` maps "ada" / "bob" to (invitee, link token) once invited."""

    calendar: Calendar
    ada: Contact
    bob: Contact
    nine: Timeslot
    ten: Timeslot  # high priority
    links: dict[str, tuple[Invitee, str]] = field(default_factory=dict)

    def invitee(self, name: str) -> Invitee:
        """The invitation of "ada" or "bob"."""
        return self.links[name][0]

    def token(self, name: str) -> str:
        """The pick-page token of "ada" or "bob"."""
        return self.links[name][1]


@pytest.fixture
def ada_and_bob(owner, make_calendar, make_contact, make_timeslot, make_invitee) -> Callable[..., AdaAndBob]:
    """Build the owner's day with Ada and Bob (see AdaAndBob); `invite` names who is invited, in order."""

    def build(*, name: str = "Interview day", timezone: str = "Europe/London",
              start_date: dt.date = dt.date(2030, 6, 3), invite: tuple[str, ...] = ()) -> AdaAndBob:
        calendar = make_calendar(owner=owner, name=name, timezone=timezone, start_date=start_date)
        ada = make_contact(owner=owner, **ADA)
        bob = make_contact(owner=owner, **BOB)
        nine = make_timeslot(calendar, "09:00")
        ten = make_timeslot(calendar, "10:00", high_priority=True)
        day = AdaAndBob(calendar, ada, bob, nine, ten)
        for person in invite:
            day.links[person] = make_invitee(calendar, {"ada": ada, "bob": bob}[person])
        return day

    return build


@dataclass
class OneOfEach:
    """One object of each kind the owner's URLs name, all the owner's."""

    calendar: Calendar
    contact: Contact
    slot: Timeslot
    invitee: Invitee
    token: str  # the invitee's pick-page token
    event: Event  # the invitee's pick of `slot`

    def ids(self) -> dict[str, int | str]:
        """The values of the URL arguments these objects fill, by argument name."""
        return {"calendar_id": self.calendar.id, "contact_id": self.contact.id, "timeslot_id": self.slot.id,
                "invitee_id": self.invitee.id, "event_id": self.event.id, "token": self.token}


@pytest.fixture
def one_of_each(owner, make_calendar, make_contact, make_timeslot, make_invitee,
                make_event) -> Callable[..., OneOfEach]:
    """Build one calendar, contact, slot, invitation and pick for the owner; `confirmed` makes it a meeting."""

    def build(*, confirmed: bool = False) -> OneOfEach:
        calendar = make_calendar(owner=owner)
        contact = make_contact(owner=owner)
        slot = make_timeslot(calendar)
        invitee, token = make_invitee(calendar, contact)
        event = make_event(slot, contact, confirmed=confirmed)
        return OneOfEach(calendar, contact, slot, invitee, token, event)

    return build
