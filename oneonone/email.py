"""How a message is written and queued, and what an owner's mail looks like from the database.

Writing: header-safe subjects (`header_text`, `quoted`), attachments, the owner's daily quota.

`queue_email` renders `templates/email/<name>.txt` and `.html` and writes the message to the outbox
(oneonone/outbox.py) in the request's transaction: it is sent only after that transaction commits,
and dropped if it rolls back, so an action never half-happens and a message is never lost. Every
function that calls it is named `queue_…` or says in its docstring which email it queues.

Reading and forgetting (`recent_mail_count`, `undelivered_for_invitees`, `forget_owner_mail`): rate
limits, what the invitees page shows as not delivered, and what an account's deletion leaves behind.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app, render_template

from .db_types import utcnow
from .exceptions import DomainError, ValidationError
from .extensions import db
from .outbox import FAILED, PENDING, OutboxMessage, mail_for, put_in_outbox


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (the meeting's .ics), its data as text."""

    filename: str
    content_type: str
    data: str


# Mail an owner's actions send to other people: counted against OWNER_DAILY_EMAIL_LIMIT.
OWNER_MAIL = ("invitation", "ask", "meeting_scheduled", "meeting_cancelled", "time_changed")
# Mail to invitees: a reply reaches the owner (Reply-To), not the service's sender.
INVITEE_MAIL = OWNER_MAIL
# Mail no person wrote or sent by hand (RFC 3834 "Auto-Submitted: auto-generated", so that
# out-of-office replies stay away): account mail and the owner's notifications; reminders say so
# when queued.
AUTOMATIC_MAIL = ("verify_email", "password_reset", "security_notice", "signup_attempt",
                  "answer_notification", "answers_digest", "all_answered")
_HEADER_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
SUBJECT_MAX = 200


class EmailQuotaExceeded(DomainError):
    status = 429
    code = "email_quota"

    def __init__(self, limit: int) -> None:
        super().__init__(f"This would pass the {limit} emails an account may send in 24 hours, so nothing was "
                         f"sent. Try again later, or write to us if you need more.")


class UnsendableMessage(ValidationError):
    """A message that could not be built (a header OneOnOne cannot write): refused at the action."""


def header_text(value: str) -> str:
    """`value` made safe for a mail header: nothing in it can end a header or start another."""
    return " ".join(_HEADER_BREAKERS.sub(" ", value).split())


def display_name(name: str) -> str:
    """A person's name for an address header: one line, without the characters that could make a
    client read part of it as an address (@ < > , ; : " \\)."""
    return " ".join(re.sub(r'[@<>,;:"\\]', " ", header_text(name)).split())


def quoted(text: str, limit: int = 40) -> str:
    """The owner's words in a subject: one line, cut to `limit` characters and quoted."""
    text = header_text(text)
    return f'"{text if len(text) <= limit else text[:limit - 3].rstrip() + "..."}"'


def _check_quota(owner_id: int) -> None:
    """Refuse the owner's next message past OWNER_DAILY_EMAIL_LIMIT in 24 hours (counted once per
    transaction, then kept up to date in the session as messages are queued)."""
    limit = int(current_app.config["OWNER_DAILY_EMAIL_LIMIT"])
    counts = db.session.info.setdefault("owner_mail_counts", {})
    key = (id(db.session().get_transaction()), owner_id)
    if key not in counts:
        counts[key] = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.owner_id == owner_id, OutboxMessage.template.in_(OWNER_MAIL),
            OutboxMessage.created_at > utcnow() - dt.timedelta(hours=24)))
    if counts[key] >= limit:
        raise EmailQuotaExceeded(limit)
    counts[key] += 1


def _headers(template: str, owner, automatic: bool | None) -> dict[str, str]:
    """Reply-To the owner on mail to invitees; Auto-Submitted on automatic mail."""
    headers = {}
    if owner is not None and template in INVITEE_MAIL:
        headers["Reply-To"] = formataddr((display_name(owner.full_name), owner.email))
    if automatic if automatic is not None else template in AUTOMATIC_MAIL:
        headers["Auto-Submitted"] = "auto-generated"
    return headers


def queue_email(
    to: str, subject: str, template: str, *, attachments: tuple[Attachment, ...] = (),
    automatic: bool | None = None, **context
) -> OutboxMessage:
    """Render a message and add it to the outbox in the current transaction.

    Whatever the subject holds, it becomes one header line. The message is built once here, so one
    that could not be sent is refused now (UnsendableMessage), not retried for hours. Mail an owner
    sends to others counts against their daily quota (EmailQuotaExceeded, nothing queued). Mail to an
    invitee has Reply-To the owner (`owner` in the context); `automatic` (default: by template, see
    AUTOMATIC_MAIL) adds Auto-Submitted.
    """
    subject = header_text(subject)[:SUBJECT_MAX]
    owner = context.get("owner")
    if owner is not None and template in OWNER_MAIL:
        _check_quota(owner.id)
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", subject=subject, **context)
    message = OutboxMessage(
        recipient=to,
        subject=subject,
        body_text=text,
        body_html=html,
        attachments=[a.__dict__ for a in attachments],
        template=template,
        headers=_headers(template, owner, automatic) or None,
    )
    try:
        mail_for(message).as_bytes()
    except Exception as error:
        raise UnsendableMessage.for_field("email", f"This email cannot be sent to {to}: {error}") from error
    if owner is not None:
        message.owner_id = owner.id
    invitee = context.get("invitee")
    if invitee is not None:
        if invitee.id is None:
            db.session.flush()
        message.invitee_id = invitee.id
    put_in_outbox(message)
    return message


def recent_mail_count(owner_id: int, template: str, since: dt.timedelta) -> int:
    """How many `template` messages the owner's actions queued within `since`."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.owner_id == owner_id, OutboxMessage.template == template,
        OutboxMessage.created_at > utcnow() - since))


def undelivered_for_invitees(invitee_ids: list[int]) -> dict[int, OutboxMessage]:
    """invitee id -> their latest message, for those whose latest message failed for good."""
    if not invitee_ids:
        return {}
    latest = (sa.select(sa.func.max(OutboxMessage.id))
              .where(OutboxMessage.invitee_id.in_(invitee_ids)).group_by(OutboxMessage.invitee_id))
    messages = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.id.in_(latest), OutboxMessage.status == FAILED)
    )
    return {m.invitee_id: m for m in messages}


def forget_owner_mail(owner_id: int) -> None:
    """An owner is deleting their account: drop their finished messages, discard the rest when done."""
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.owner_id == owner_id,
                                                      OutboxMessage.status != PENDING))
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.owner_id == owner_id)
                       .values(discard=True).execution_options(synchronize_session=False))
