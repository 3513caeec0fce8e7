"""Shared pieces of the race and mail tests (test_load_races.py, test_load_mail.py): seeding an owner's
calendar in a few statements, the owner's browser state, reading the SMTP sink per recipient, and
checking gunicorn's log. They run on SQLite (a file the test process and gunicorn share) and on
PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from oneonone.calendars.models import Calendar, Timeslot
from oneonone.contacts.models import Contact
from oneonone.db_types import utcnow
from oneonone.extensions import db as _db
from oneonone.outbox import PENDING, SENT, OutboxMessage
from oneonone.scheduling.links import new_link_token
from oneonone.scheduling.models import Event, Invitee

from .support import HTTP_TIMEOUT, Outcome, browser, csrf_token, message_text, sign_in, timed

OWNER_PASSWORD = "load-test-password"
FIRST_DAY = dt.date(2030, 3, 4)  # a Monday
PICK_LINK = re.compile(r"https?://[^\s/]+/pick/([A-Za-z0-9_-]{20,})")
REPLACED = "This link was replaced"


# ---- seeding ------------------------------------------------------------------------------------

@dataclass
class Guest:
    """An invited contact: what the test needs to act as them and to read their mail."""

    contact_id: int
    invitee_id: int | None
    email: str
    token: str | None  # their link, when invited
    slot_ids: list[int] = field(default_factory=list)  # the slots they picked


def make_calendar(owner, name: str = "Race day", slots: int = 10) -> tuple[int, list[int]]:
    """A calendar of the owner with `slots` half-hour slots (20 a day from 08:00); (id, slot ids)."""
    zone = ZoneInfo(owner.timezone)
    days = max(5, -(-slots // 20))
    calendar = Calendar(owner_id=owner.id, name=name, start_date=FIRST_DAY,
                        end_date=FIRST_DAY + dt.timedelta(days=days - 1), timezone=owner.timezone)
    _db.session.add(calendar)
    _db.session.flush()
    rows = []
    for n in range(slots):
        day = FIRST_DAY + dt.timedelta(days=n // 20)
        start = dt.datetime.combine(day, dt.time(8, tzinfo=zone)) + dt.timedelta(minutes=30 * (n % 20))
        rows.append(Timeslot(calendar_id=calendar.id, start_time=start,
                             end_time=start + dt.timedelta(minutes=30)))
    _db.session.add_all(rows)
    _db.session.commit()
    return calendar.id, [slot.id for slot in rows]


def make_guests(owner, calendar_id: int | None, count: int, prefix: str,
                picks: list[list[int]] | None = None) -> list[Guest]:
    """`count` contacts of the owner, invited to `calendar_id` (None: contacts only); guest n picked
    `picks[n]` (the first preferred, the rest if need be) and so has answered."""
    contacts = [Contact(owner_id=owner.id, first_name=f"{prefix.title()}{n:03d}", last_name="Person",
                        email=f"{prefix}{n:03d}@example.org") for n in range(count)]
    _db.session.add_all(contacts)
    _db.session.flush()
    guests = [Guest(c.id, None, c.email, None) for c in contacts]
    if calendar_id is not None:
        invitees = []
        for n, guest in enumerate(guests):
            token, token_hash = new_link_token()
            guest.token = token
            guest.slot_ids = list(picks[n]) if picks else []
            invitees.append(Invitee(calendar_id=calendar_id, contact_id=guest.contact_id, token_hash=token_hash,
                                    responded_at=utcnow() if guest.slot_ids else None,
                                    timezone=owner.timezone if guest.slot_ids else None))
        _db.session.add_all(invitees)
        _db.session.flush()
        for guest, invitee in zip(guests, invitees, strict=True):
            guest.invitee_id = invitee.id
            _db.session.add_all([
                Event(calendar_id=calendar_id, timeslot_id=slot_id, contact_id=guest.contact_id,
                      preference="preferred" if j == 0 else "if_need_be")
                for j, slot_id in enumerate(guest.slot_ids)])
    _db.session.commit()
    return guests


# ---- reading the database (never holding a transaction open) -----------------------------------

def confirmed_slots(calendar_id: int) -> list[tuple[int, int]]:
    """The calendar's confirmed meetings as (contact id, slot id)."""
    rows = _db.session.execute(sa.select(Event.contact_id, Event.timeslot_id)
                               .where(Event.calendar_id == calendar_id, Event.confirmed)).all()
    _db.session.rollback()
    return [tuple(row) for row in rows]


def stored_answer(calendar_id: int, contact_id: int) -> dict[int, str]:
    rows = _db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                               .where(Event.calendar_id == calendar_id, Event.contact_id == contact_id)).all()
    _db.session.rollback()
    return dict(rows)


def outbox_statuses() -> Counter:
    statuses = Counter(_db.session.scalars(sa.select(OutboxMessage.status)).all())
    _db.session.rollback()
    return statuses


def outbox_rows() -> list:
    rows = _db.session.execute(sa.select(
        OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.status,
        OutboxMessage.attempts, OutboxMessage.last_error).order_by(OutboxMessage.id)).all()
    _db.session.rollback()
    return rows


def drain_outbox(sink, timeout: float = 30.0) -> Counter:
    """Wait until nothing in the outbox is pending and the sink holds every sent message (or the
    timeout passes); returns the outbox's statuses. A duplicate would arrive in the grace period."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = outbox_statuses()
        if (not statuses[PENDING] and len(sink.messages) >= statuses[SENT]) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    return outbox_statuses()


# ---- the owner in a browser ---------------------------------------------------------------------

@dataclass
class OwnerBrowser:
    """The owner's signed-in session (cookies) and a CSRF token for their forms, usable from any thread."""

    base_url: str
    cookies: dict[str, str]
    token: str

    @classmethod
    def sign_in(cls, base_url: str, email: str, calendar_id: int) -> OwnerBrowser:
        with browser() as session:
            sign_in(session, base_url, email, OWNER_PASSWORD)
            page = session.get(f"{base_url}/calendars/{calendar_id}/invitees", timeout=HTTP_TIMEOUT)
            assert page.status_code == 200, page.status_code
            return cls(base_url, session.cookies.get_dict(), csrf_token(page.text))

    def post(self, path: str, label: str | None = None, timeout: float = HTTP_TIMEOUT, **form) -> Outcome:
        with browser(self.cookies) as session:
            return timed(label or path, lambda: session.post(
                f"{self.base_url}{path}", data={"csrf_token": self.token, **form}, allow_redirects=False,
                timeout=timeout))

    def get(self, path: str, label: str | None = None, timeout: float = HTTP_TIMEOUT) -> Outcome:
        with browser(self.cookies) as session:
            return timed(label or path, lambda: session.get(f"{self.base_url}{path}", allow_redirects=False,
                                                            timeout=timeout))


# ---- outcomes, mail and the log -----------------------------------------------------------------

def server_errors(outcomes: list[Outcome]) -> list[Outcome]:
    """The requests that answered 5xx or got no answer at all."""
    return [o for o in outcomes if o.status is None or o.status >= 500]


def describe(outcomes: list[Outcome], limit: int = 5) -> list[tuple]:
    return [(o.label, o.status, o.error, o.body[:300]) for o in outcomes[:limit]]


def subjects_by_recipient(sink) -> dict[str, Counter]:
    """recipient -> Counter of the subjects they received."""
    received: dict[str, Counter] = {}
    for (recipient, subject), count in sink.envelopes().items():
        received.setdefault(recipient, Counter())[subject] += count
    return received


def meeting_mail(subjects: Counter) -> tuple[int, int, int]:
    """(Confirmed, Moved, Cancelled) counts among one recipient's subjects (oneonone/scheduling/notify.py)."""
    def count(prefix: str) -> int:
        return sum(n for subject, n in subjects.items() if subject.startswith(prefix))
    return count("Confirmed:"), count("Moved:"), count("Cancelled:")


def is_invitation(subject: str) -> bool:
    return " invites you to pick a time: " in subject


def is_reminder(subject: str) -> bool:
    return subject.startswith("Reminder: pick your times for ")


def messages_to(sink, address: str) -> list:
    return sink.to(address)


def mailed_links(sink, address: str) -> list[str]:
    """The pick-link tokens in the messages `address` received, in arrival order."""
    links = []
    for message in messages_to(sink, address):
        found = PICK_LINK.search(message_text(message))
        if found:
            links.append(found.group(1))
    return links


def no_tracebacks(server) -> None:
    """No request or background job died with an unhandled exception, and no worker was killed."""
    log = server.log(tail=None)
    assert "Traceback" not in log, log[log.index("Traceback"):][:4000]
    assert "WORKER TIMEOUT" not in log, log[log.index("WORKER TIMEOUT") - 2000:][:4000]
