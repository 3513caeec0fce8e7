"""The one way mail leaves OneOnOne: queue in the outbox with the action, deliver after commit.

Every message is rendered from `templates/email/<name>.txt` and `.html` and written to the
`outbox_messages` table in the same transaction as the action that caused it, so an action
never half-happens and a message is never lost. Senders (the app's own thread, `flask outbox
worker`, a cron `flask outbox deliver`) claim each message with a compare-and-set lease, so
several may run at once and each message is sent by one of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, render_template
from flask_mail import Message
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db_types import UTCDateTime, utcnow
from .extensions import db, mail

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
CLAIM_LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 30  # about a day and a half of retries with the capped backoff below


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

    def __str__(self) -> str:
        return f"#{self.id} {self.status} to {self.recipient}: {self.subject}"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: str


def queue_email(
    to: str, subject: str, template: str, *, attachments: tuple[Attachment, ...] = (), **context
) -> OutboxMessage:
    """Render a message and add it to the outbox in the current transaction."""
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", subject=subject, **context)
    message = OutboxMessage(
        recipient=to,
        subject=subject,
        body_text=text,
        body_html=html,
        attachments=[a.__dict__ for a in attachments],
    )
    db.session.add(message)
    db.session.info["outbox_pending"] = True
    return message


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def _due(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        OutboxMessage.status == PENDING,
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.claim_expires_at.is_(None), OutboxMessage.claim_expires_at < now),
    )


def _claim(limit: int, worker: str) -> list[OutboxMessage]:
    """Claim up to `limit` due messages; a row another sender claimed first is skipped."""
    now = utcnow()
    ids = db.session.scalars(
        sa.select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(limit)
    ).all()
    claimed = []
    for message_id in ids:
        # Compare-and-set: the WHERE is re-checked under the row lock, so one sender wins.
        result = db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(now))
            .values(claimed_by=worker, claim_expires_at=now + CLAIM_LEASE)
        )
        db.session.commit()
        if result.rowcount == 1:
            claimed.append(message_id)
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(claimed))))


def _to_mail(message: OutboxMessage) -> Message:
    mail_message = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    for attachment in message.attachments or []:
        mail_message.attach(
            attachment["filename"], attachment["content_type"], attachment["data"].encode()
        )
    return mail_message


def _record(message: OutboxMessage, error: Exception | None) -> None:
    message.claimed_by = None
    message.claim_expires_at = None
    message.attempts += 1
    if error is None:
        message.status = SENT
        message.sent_at = utcnow()
        message.last_error = None
        return
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = FAILED
    else:
        message.next_attempt_at = utcnow() + _backoff(message.attempts)


def deliver_due(limit: int = 100) -> DeliveryReport:
    """Send the outbox messages that are due; failures stay queued with a backoff."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    report = DeliveryReport()
    messages = _claim(limit, worker)
    if not messages:
        return report
    if not current_app.config.get("MAIL_SERVER"):
        for message in messages:
            # No SMTP server configured (development): show the mail instead of losing it.
            print(f"--- mail to {message.recipient}: {message.subject}\n{message.body_text}\n---")
            _record(message, None)
            report.sent += 1
        db.session.commit()
        return report
    try:
        with mail.connect() as connection:
            for message in messages:
                try:
                    connection.send(_to_mail(message))
                except Exception as error:
                    log.warning("mail %s not delivered: %s", message.id, error)
                    _record(message, error)
                    report.failed += 1
                else:
                    _record(message, None)
                    report.sent += 1
                db.session.commit()
    except Exception as error:
        log.warning("mail server unreachable: %s", error)
        for message in messages:
            if message.claimed_by == worker:
                _record(message, error)
                report.failed += 1
        db.session.commit()
    return report


def _deliver_in_context(app: Flask) -> None:
    with app.app_context():
        try:
            deliver_due()
        except Exception:
            log.exception("outbox delivery failed")
        finally:
            db.session.remove()


def _after_commit(session: Session) -> None:
    if not session.info.pop("outbox_pending", False):
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return
    mode = app.config.get("OUTBOX_DELIVERY", "thread")
    if mode == "off":
        return
    # A fresh thread gets its own app context and so its own database session.
    thread = threading.Thread(target=_deliver_in_context, args=(app,), daemon=True)
    thread.start()
    if mode == "sync":
        thread.join()


def init_outbox(app: Flask) -> None:
    """Deliver queued mail after each commit that queued some."""
    if not sa.event.contains(Session, "after_commit", _after_commit):
        sa.event.listen(Session, "after_commit", _after_commit)
