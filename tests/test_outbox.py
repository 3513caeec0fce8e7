"""The outbox sender (oneonone/outbox.py): claim → commit → send → record, against the real SMTP sink.

A hanging SMTP server costs MAIL_TIMEOUT, not a request; nothing holds a database connection while
talking to it; a pass sends everything that is due; failures are retried on their backoff and
marked failed after OUTBOX_MAX_ATTEMPTS, which the owner sees on the invitees page; a claim whose
sender died is taken again; the background sender delivers and retries with no other activity.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from scenarios import ADA

from oneonone.email import queue_email
from oneonone.outbox import FAILED, PENDING, SENT, OutboxMessage, deliver_due, next_due_in
from oneonone.scheduling import invitations
from oneonone.scheduling.models import Invitee
from oneonone.transaction import unit_of_work


@pytest.fixture
def setup(owner, make_calendar, make_contact, make_timeslot):
    calendar = make_calendar(owner=owner, name="Mail day", timezone="UTC", start_date=dt.date(2030, 6, 3))
    ada = make_contact(owner=owner, **ADA)
    make_timeslot(calendar, "09:00")
    return calendar, ada


class Hanging:
    """A TCP listener that accepts connections and never says a word (an SMTP server that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted.set()

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hanging(app, monkeypatch):
    server = Hanging()
    monkeypatch.setattr(app.extensions["mail"], "port", server.port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.5)
    yield server
    server.close()


def _queue(db, count: int, **context) -> None:
    with unit_of_work():
        for n in range(count):
            queue_email(f"bulk{n}@example.org", f"Hello {n}", "invitation", invitee=None,
                        link="http://oneonone.test/pick/x", reminder=False, slot_count=1, **context)


def _rows(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _context(setup) -> dict:
    calendar, ada = setup
    return {"contact": ada, "calendar": calendar, "owner": calendar.owner}


def test_a_hanging_smtp_server_costs_the_timeout_not_the_request(owner_client, setup, hanging, db):
    calendar, ada = setup
    began = time.monotonic()
    response = owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
    took = time.monotonic() - began
    assert response.status_code == 302 and hanging.accepted.is_set()
    assert took < 3, f"the invite took {took:.1f}s with MAIL_TIMEOUT=0.5"
    [message] = _rows(db)
    assert message.status == PENDING and message.attempts == 1 and "timed out" in message.last_error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 1  # the invite stands


def test_no_database_connection_is_held_while_the_smtp_server_is_waited_for(app, setup, hanging, db):
    _queue(db, 3, **_context(setup))
    db.session.close()
    pool = db.engine.pool
    held_while_waiting = []

    def deliver() -> None:
        with app.app_context():
            deliver_due()
            db.session.remove()

    sender = threading.Thread(target=deliver)
    sender.start()
    assert hanging.accepted.wait(5)
    time.sleep(0.2)  # the sender is now waiting for the greeting that never comes
    held_while_waiting.append(pool.checkedout())
    sender.join(10)
    assert held_while_waiting == [0]
    assert [(m.status, m.attempts) for m in _rows(db)] == [(PENDING, 1)] * 3  # one timeout for the batch


def test_one_pass_sends_everything_that_is_due_not_one_batch(app, setup, mailbox, db):
    app.config["OUTBOX_DELIVERY"] = "off"
    _queue(db, 130, **_context(setup))
    report = deliver_due()
    assert (report.sent, report.failed) == (130, 0)
    assert len(mailbox.messages) == 130
    assert {m.status for m in _rows(db)} == {SENT}


def test_failures_back_off_doubling_then_fail_for_good_and_the_owner_sees_it(
        app, owner_client, setup, mail_server, db):
    calendar, ada = setup
    app.config.update(OUTBOX_RETRY_SECONDS=30, OUTBOX_MAX_ATTEMPTS=3)
    mail_server.stop()
    try:
        owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
        delays = []
        for _ in range(2):
            [message] = _rows(db)
            delays.append(round((message.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds()))
            db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=dt.datetime.now(dt.UTC)))
            db.session.commit()
            deliver_due()
        [message] = _rows(db)
    finally:
        mail_server.start()
    assert delays[0] in (29, 30) and delays[1] in (59, 60), delays
    assert message.status == FAILED and message.attempts == 3 and message.invitee_id is not None
    page = owner_client.get(f"/calendars/{calendar.id}/invitees").get_data(as_text=True)
    assert "1 email could not be delivered after repeated tries" in page
    row = page.split('id="invitee-')[1].split("</tr>")[0]
    assert "Not delivered:" in row and "invites you to pick a time" in row
    assert "our mail server could not be reached; tried 3 times" in row
    listing = app.test_cli_runner().invoke(args=["outbox", "list"]).output
    assert "failed to ada@example.org" in listing and "ConnectionRefusedError" in listing
    # A Resend that goes through clears the warning: the latest message to Ada arrived.
    with unit_of_work():
        assert invitations.resend_invitation(db.session.scalar(sa.select(Invitee)))
    page = owner_client.get(f"/calendars/{calendar.id}/invitees").get_data(as_text=True)
    assert "could not be delivered" not in page


def test_a_claim_whose_sender_died_is_taken_again_and_a_live_one_is_not(app, setup, mailbox, db):
    app.config["OUTBOX_DELIVERY"] = "off"
    _queue(db, 2, **_context(setup))
    now = dt.datetime.now(dt.UTC)
    dead, live = _rows(db)
    dead.claimed_by, dead.claim_expires_at = "crashed-sender", now - dt.timedelta(seconds=1)
    live.claimed_by, live.claim_expires_at = "busy-sender", now + dt.timedelta(minutes=5)
    db.session.commit()
    assert deliver_due().sent == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Hello 0"]
    # The busy sender's lease ran out and this pass took the message over; the busy sender's late
    # record then finds the claim is no longer its own and changes nothing.
    from oneonone.outbox import Outgoing, _record

    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == live.id)
                       .values(claim_expires_at=now - dt.timedelta(seconds=1)))
    db.session.commit()
    assert deliver_due().sent == 1
    _record(Outgoing(live.id, "busy-sender", "", "", "", None, ()), RuntimeError("late"))
    assert [(m.status, m.attempts, m.last_error) for m in _rows(db)] == [(SENT, 1, None), (SENT, 1, None)]


@pytest.mark.parametrize(("error", "words"), [
    ("SMTPRecipientsRefused: {'ada@example.org': (550, b'5.1.1 User unknown')}",
     "the receiving mail server refused the address (550 5.1.1 User unknown)"),
    ("TimeoutError: timed out", "our mail server did not answer"),
    ("ConnectionRefusedError: [Errno 111] Connection refused", "our mail server could not be reached"),
    ("SMTPDataError: (554, b'Message rejected as spam')",
     "the mail server refused the message (554 Message rejected as spam)"),
])
def test_a_delivery_problem_is_told_in_words(error, words):
    assert OutboxMessage(last_error=error).problem == words


def test_next_due_in_tells_the_sender_how_long_to_sleep(app, setup, db):
    app.config["OUTBOX_DELIVERY"] = "off"
    assert next_due_in() is None
    _queue(db, 1, **_context(setup))
    assert next_due_in() == 0
    db.session.execute(sa.update(OutboxMessage).values(
        next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=40)))
    db.session.commit()
    assert 35 < next_due_in() <= 40


@pytest.mark.parametrize("app_config", [{"OUTBOX_DELIVERY": "thread", "OUTBOX_RETRY_SECONDS": 0.3}])
def test_the_background_sender_delivers_and_retries_with_no_other_activity(
        app, owner_client, setup, mail_server, db):
    calendar, ada = setup
    mail_server.stop()
    try:
        response = owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
        assert response.status_code == 302
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (_rows(db) and _rows(db)[0].attempts):
            time.sleep(0.05)
        [message] = _rows(db)
        assert message.status == PENDING and message.attempts >= 1, "the first try did not happen"
    finally:
        mail_server.start()
    # No request from here on: the sender wakes for the retry by itself.
    assert [m["To"] for m in mail_server.wait_for(1, timeout=10)] == ["ada@example.org"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _rows(db)[0].status != SENT:
        time.sleep(0.05)
    assert _rows(db)[0].status == SENT
    time.sleep(0.5)
    assert len(mail_server.messages) == 1


@pytest.mark.parametrize("app_config", [{"OUTBOX_DELIVERY": "thread"}])
def test_a_cli_command_delivers_its_mail_before_it_exits(app, setup, mailbox, db):
    calendar, ada = setup
    now = dt.datetime.now(dt.UTC)
    calendar.response_deadline = now + dt.timedelta(hours=30)
    db.session.commit()
    with unit_of_work():
        invitations.invite_contacts(calendar, [ada])
    mailbox.messages.clear()
    db.session.execute(sa.update(Invitee).values(invited_at=now - dt.timedelta(days=1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["remind"])
    assert result.output.strip() == "sent 1 reminder"
    assert [m["To"] for m in mailbox.messages] == ["ada@example.org"]  # already there, no waiting
