"""Racing confirmations on PostgreSQL: one meeting per slot, and the emails match the end state."""

from __future__ import annotations

import threading

import icalendar
import pytest
import sqlalchemy as sa
from mailsink import text_of

from oneonone.exceptions import ConflictError
from oneonone.extensions import db as _db
from oneonone.scheduling import confirmations
from oneonone.scheduling.models import Event
from oneonone.transaction import unit_of_work

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and concurrent writers need PostgreSQL (set TEST_DATABASE_URL)")


def _method_and_sequence(message) -> tuple[str, int]:
    calendar = icalendar.Calendar.from_ical(text_of(message, "text/calendar"))
    event = next(iter(calendar.walk("VEVENT")))
    return str(calendar["METHOD"]), int(event["SEQUENCE"])


def _latest_method(messages) -> str:
    """What a calendar client ends up with: the message with the highest SEQUENCE wins."""
    seen = sorted(_method_and_sequence(m) for m in messages)
    sequences = [sequence for _, sequence in seen]
    assert len(set(sequences)) == len(sequences), "two messages share a SEQUENCE"
    return max(seen, key=lambda pair: pair[1])[0]


def _race(app, event_ids: list[int]) -> list[Exception]:
    barrier = threading.Barrier(len(event_ids))
    errors: list[Exception] = []

    def confirm(event_id: int) -> None:
        with app.app_context():
            try:
                event = _db.session.get(Event, event_id)
                barrier.wait()
                with unit_of_work():  # as the request does: the service flushes, this commits
                    confirmations.set_pick_confirmed(event, True)
            except ConflictError as error:
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=confirm, args=(event_id,)) for event_id in event_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_racing_confirmations_of_one_slot_leave_exactly_one_meeting(app, db, owner, make_calendar, make_contact,
                                                                     make_timeslot, make_invitee, make_event,
                                                                     mailbox):
    calendar = make_calendar(owner=owner)
    slot = make_timeslot(calendar)
    contacts = [make_contact(owner=owner, email=f"racer{n}@example.org") for n in range(8)]
    event_ids = []
    for contact in contacts:
        make_invitee(calendar, contact)
        event_ids.append(make_event(slot, contact).id)
    for _round in range(5):
        errors = _race(app, event_ids)
        assert all(isinstance(e, ConflictError) for e in errors)
        db.session.expire_all()
        confirmed = db.session.scalars(sa.select(Event).where(Event.timeslot_id == slot.id, Event.confirmed)).all()
        assert len(confirmed) == 1
        # Each racer's latest email (by SEQUENCE) matches the end state: the winner's is a request,
        # everyone else's a cancellation. Arrival order may differ: several senders deliver at once.
        winner = confirmed[0].contact_id
        for contact in contacts:
            messages = mailbox.to(contact.email)
            if contact.id == winner:
                assert messages and _latest_method(messages) == "REQUEST"
            elif messages:
                assert _latest_method(messages) == "CANCEL"
        with unit_of_work():
            confirmations.set_pick_confirmed(confirmed[0], False)


def test_double_click_confirming_the_same_event_sends_one_email(app, db, owner, make_calendar, make_contact,
                                                               make_timeslot, make_invitee, make_event, mailbox):
    calendar = make_calendar(owner=owner)
    slot = make_timeslot(calendar)
    contact = make_contact(owner=owner, email="twice@example.org")
    make_invitee(calendar, contact)
    event = make_event(slot, contact)
    assert _race(app, [event.id, event.id]) == []
    assert len(mailbox.to("twice@example.org")) == 1


def test_racing_confirmations_of_different_slots_email_only_their_own_invitees(
        app, db, owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event):
    from oneonone.outbox import OutboxMessage

    calendar = make_calendar(owner=owner)
    event_ids = []
    for n in range(10):
        slot = make_timeslot(calendar, f"{9 + n % 5}:00", day=n // 5)
        contact = make_contact(owner=owner, email=f"parallel{n}@example.org")
        make_invitee(calendar, contact)
        event_ids.append(make_event(slot, contact).id)
    app.config["OUTBOX_DELIVERY"] = "off"
    for _round in range(5):
        assert _race(app, event_ids) == []
        recipients = db.session.scalars(sa.select(OutboxMessage.recipient)).all()
        assert sorted(recipients) == sorted(f"parallel{n}@example.org" for n in range(10))
        db.session.execute(sa.update(Event).values(confirmed=False))
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
