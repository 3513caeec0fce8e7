"""What happens to a message once it is queued: the outbox table, delivery, retries and the sender.

Queued mail (`oneonone.email.queue_email`) is a row written in the request's transaction, so it is
sent only after that transaction commits, and dropped with it if it rolls back: an action never
half-happens and a message is never lost. The after-commit hook `_send_queued_mail_after_commit`
then wakes the sender (see OUTBOX_DELIVERY).

Delivery is claim → commit → send → record: a sender claims a batch of due messages in one short
transaction (a lease, so several senders — the app's background sender in each process, `flask
outbox worker`, a cron `flask outbox deliver` — may run at once and each message is sent by one of
them), talks to the SMTP server holding no database connection, then records each result with a
compare-and-set on its claim. SMTP has a timeout (`MAIL_TIMEOUT`, see oneonone/smtp.py), so a
hanging server costs a sender a few seconds, never a request. A failed message is retried after
`OUTBOX_RETRY_SECONDS`, doubling up to an hour, and marked failed after `OUTBOX_MAX_ATTEMPTS` tries.
A message that is done keeps its envelope, not its body.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context
from flask_mail import Message
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db_types import UTCDateTime, utcnow
from .extensions import db
from .smtp import CONNECTION_ERRORS, TimedConnection, delivery_problem, to_mail
from .transaction import unit_of_work

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
CLAIM_LEASE = dt.timedelta(minutes=5)  # a claim its sender did not record is taken again after this
BATCH = 50  # messages per claim; a pass claims batch after batch until nothing is due
MAX_BACKOFF = dt.timedelta(hours=1)
# Set on the session when a message is queued: its next commit wakes the sender.
_QUEUED_IN_SESSION = "outbox_pending"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(f"status IN ('{PENDING}', '{SENT}', '{FAILED}')", name="status_known"),
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(255))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    # [{"filename": ..., "content_type": ..., "data": <text>}]
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The invitee a message is about, so the owner sees on the invitees page what did not arrive.
    invitee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitees.id", ondelete="SET NULL"), index=True
    )
    # The owner whose action sent it. When the owner deletes their account, their sent messages
    # are deleted and the pending ones (the cancellations) marked `discard`: gone once delivered.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    discard: Mapped[bool] = mapped_column(default=False)
    template: Mapped[str] = mapped_column(sa.String(40), default="")  # which kind of message it is
    # Extra headers written when it is sent: Reply-To (the owner, on mail to invitees), Auto-Submitted.
    headers: Mapped[dict | None] = mapped_column(sa.JSON)

    def __str__(self) -> str:
        return f"#{self.id} {self.status} to {self.recipient}: {self.subject}"

    @property
    def problem(self) -> str:
        """Why it was not delivered, in words for the owner (the raw error stays in `last_error`)."""
        return delivery_problem(self.last_error or "")


def put_in_outbox(message: OutboxMessage) -> None:
    """Add a built message to the current transaction; it is sent once that transaction commits."""
    db.session.add(message)
    db.session.info[_QUEUED_IN_SESSION] = True


def mail_for(message: OutboxMessage) -> Message:
    """The Flask-Mail message a row becomes when sent (built at queueing too, to refuse a bad one)."""
    return to_mail(_outgoing(message, "check"))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Outgoing:
    """A claimed message as plain data: sending it needs no database session."""

    id: int
    claim: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    attachments: tuple[dict, ...]  # the row's JSON: filename, content_type, data
    headers: tuple[tuple[str, str], ...] = ()  # Reply-To, Auto-Submitted


def _backoff(attempts: int) -> dt.timedelta:
    first = float(current_app.config["OUTBOX_RETRY_SECONDS"])
    return min(dt.timedelta(seconds=first * 2 ** (attempts - 1)), MAX_BACKOFF)


def _due(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        OutboxMessage.status == PENDING,
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.claim_expires_at.is_(None), OutboxMessage.claim_expires_at < now),
    )


def _claim(limit: int) -> list[Outgoing]:
    """Claim up to `limit` due messages in one committed transaction; none is claimed twice.

    The UPDATE re-checks "due" on each row under its row lock (on SQLite, under the write lock),
    so of two senders claiming at once each message goes to one of them.
    """
    claim = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    now = utcnow()
    with unit_of_work() as session:
        due = sa.select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(limit)
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()), _due(now))
            .values(claimed_by=claim, claim_expires_at=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.claimed_by == claim).order_by(OutboxMessage.id)
        ).all()
        return [_outgoing(m, claim) for m in rows]


def _outgoing(m: OutboxMessage, claim: str) -> Outgoing:
    return Outgoing(m.id, claim, m.recipient, m.subject, m.body_text, m.body_html,
                    tuple(m.attachments or []), tuple((m.headers or {}).items()))


def _record(message: Outgoing, error: Exception | None) -> None:
    """Record one attempt, if the claim is still ours (compare-and-set on `claimed_by`)."""
    now = utcnow()
    with unit_of_work() as session:
        row = session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.id == message.id,
                                           OutboxMessage.claimed_by == message.claim)
        )
        if row is None:
            return  # the lease ran out and another sender took it over
        row.claimed_by = None
        row.claim_expires_at = None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = SENT, now, None
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            if row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
                row.status = FAILED
                log.error("mail %s to %s failed for good after %s attempts: %s",
                          row.id, row.recipient, row.attempts, row.last_error)
            else:
                row.next_attempt_at = now + _backoff(row.attempts)
        if row.status != PENDING:
            _redact(row)
        if row.discard and row.status != PENDING:
            session.delete(row)  # its owner deleted the account: keep nothing once it is done


REDACTED = "[delivered; the body is not kept, so no link in it outlives the message]"


def _redact(row: OutboxMessage) -> None:
    """A message that is done (sent, or failed for good) keeps its envelope, not its body: bodies
    hold personal links, which must not sit in the database once mailed."""
    row.body_text = REDACTED if row.status == SENT else "[not delivered; the body is not kept]"
    row.body_html = None
    row.attachments = []


def _send_batch(messages: list[Outgoing], report: DeliveryReport) -> None:
    if not current_app.config.get("MAIL_SERVER"):
        for message in messages:
            # No SMTP server configured (development): show the mail instead of losing it.
            print(f"--- mail to {message.recipient}: {message.subject}\n{message.body_text}\n---")
            _record(message, None)
            report.sent += 1
        return
    remaining = list(messages)
    try:
        with TimedConnection(current_app.extensions["mail"]) as connection:
            while remaining:
                message = remaining[0]
                try:
                    connection.send(to_mail(message))
                except CONNECTION_ERRORS:
                    raise
                except Exception as error:
                    log.warning("mail %s to %s not delivered: %s", message.id, message.recipient, error)
                    _record(remaining.pop(0), error)
                    report.failed += 1
                else:
                    _record(remaining.pop(0), None)
                    report.sent += 1
    except Exception as error:
        log.warning("mail server %s:%s unavailable: %s", current_app.config["MAIL_SERVER"],
                    current_app.config["MAIL_PORT"], error)
        for message in remaining:
            _record(message, error)
            report.failed += 1


def deliver_due(limit: int | None = None) -> DeliveryReport:
    """Send what is due, batch after batch, until nothing is (or `limit` were tried)."""
    report = DeliveryReport()
    while limit is None or report.sent + report.failed < limit:
        batch = BATCH if limit is None else min(BATCH, limit - report.sent - report.failed)
        messages = _claim(batch)
        if not messages:
            break
        _send_batch(messages, report)
    return report


def next_due_in(now: dt.datetime | None = None) -> float | None:
    """Seconds until the next pending message is due (0 if one is), None when none is pending."""
    now = now or utcnow()
    with unit_of_work() as session:
        at = session.scalar(
            sa.select(sa.func.min(sa.case(
                (OutboxMessage.claim_expires_at > OutboxMessage.next_attempt_at,
                 OutboxMessage.claim_expires_at),
                else_=OutboxMessage.next_attempt_at,
            ))).where(OutboxMessage.status == PENDING)
        )
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return max((at - now).total_seconds(), 0.0)


# ---- the background sender ----------------------------------------------------------------------

class BackgroundSender:
    """One daemon thread per process: wakes on new mail and when the next retry is due.

    Started lazily in the process that serves requests (after a fork, gunicorn's workers each
    start their own), so it is safe with --preload; claims keep the senders of several processes
    from sending a message twice.
    """

    IDLE_POLL = 60.0  # also pick up mail that another process queued and could not send

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid: int | None = None
        self.stopping = False

    def ensure_running(self) -> None:
        if self.stopping or (self.pid == os.getpid() and self.thread is not None and self.thread.is_alive()):
            return
        with self.lock:
            if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
                return
            self.pid = os.getpid()
            self.wake = threading.Event()
            self.thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
            self.thread.start()

    def notify(self) -> None:
        self.ensure_running()
        self.wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Let the current pass finish, then end the thread (tests; a process exiting needs no call)."""
        self.stopping = True
        self.wake.set()
        if self.thread is not None and self.thread.is_alive() and self.pid == os.getpid():
            self.thread.join(timeout)

    def _pass(self) -> float | None:
        with self.app.app_context():
            try:
                deliver_due()
                return next_due_in()
            except Exception:
                log.exception("outbox delivery failed")
                return float(self.app.config["OUTBOX_RETRY_SECONDS"])
            finally:
                db.session.remove()

    def _run(self) -> None:
        while not self.stopping:
            self.wake.clear()
            started = time.monotonic()
            wait = self._pass()
            wait = self.IDLE_POLL if wait is None else min(wait, self.IDLE_POLL)
            if not self.wake.is_set():
                self.wake.wait(max(wait, 0.2 - (time.monotonic() - started)))


def _deliver_now(app: Flask) -> None:
    """Deliver in a fresh thread (its own app context and session) and wait for it."""

    def run() -> None:
        with app.app_context():
            try:
                deliver_due()
            except Exception:
                log.exception("outbox delivery failed")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()


def _send_queued_mail_after_commit(session: Session) -> None:
    """After a commit that queued mail, deliver it (sync) or wake the background sender (thread)."""
    if not session.info.pop(_QUEUED_IN_SESSION, False):
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return
    mode = app.config["OUTBOX_DELIVERY"]
    if mode == "sync" or (mode == "thread" and not has_request_context()):
        _deliver_now(app)  # tests; and CLI commands, which exit when done
    elif mode == "thread":
        app.extensions["outbox_sender"].notify()


def _start_sender() -> None:
    if current_app.config["OUTBOX_DELIVERY"] == "thread":
        current_app.extensions["outbox_sender"].ensure_running()


def init_outbox(app: Flask) -> None:
    """Send queued mail after each commit that queued some, never before (see OUTBOX_DELIVERY)."""
    if app.config["OUTBOX_DELIVERY"] not in {"thread", "sync", "off"}:
        raise ValueError("OUTBOX_DELIVERY must be thread, sync or off")
    app.extensions["outbox_sender"] = BackgroundSender(app)
    app.before_request(_start_sender)
    if not sa.event.contains(Session, "after_commit", _send_queued_mail_after_commit):
        sa.event.listen(Session, "after_commit", _send_queued_mail_after_commit)
