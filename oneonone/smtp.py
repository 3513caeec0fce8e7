"""What is said to the SMTP server, and what its answers mean.

A message handed over as plain data (`outbox.Outgoing`, no database session needed) becomes a
Flask-Mail message; the connection has a timeout on connecting and on every command, so a hanging
server costs the outbox's sender a few seconds, never a request; an error that means the connection
broke fails the rest of the batch; and a recorded error is put in words for the owner. Nothing here
decides when mail is sent: the outbox (oneonone/outbox.py) does, after the request's transaction commits.
"""

from __future__ import annotations

import logging
import re
import smtplib
from email import charset as email_charset
from email.utils import make_msgid, parseaddr
from typing import TYPE_CHECKING

from flask import current_app
from flask_mail import Connection, Message

# Flask-Mail sends UTF-8 text unencoded (8bit), so a line over 998 octets — a long one-line agenda or
# comment — makes the SMTP server refuse the message. Quoted-printable keeps every line short.
email_charset.add_charset("utf-8", email_charset.SHORTEST, email_charset.QP, "utf-8")

if TYPE_CHECKING:
    from .outbox import Outgoing

log = logging.getLogger(__name__)


class MailMessage(Message):
    """Flask-Mail's message; a meeting's calendar also goes inline, as the last part of the
    multipart/alternative (`text/calendar; method=...`: iMIP, where Outlook looks for it)."""

    calendar_method: str | None = None

    def _message(self):
        message = super()._message()
        if self.calendar_method:
            for part in message.walk():
                if part.get_content_type() == "text/calendar" and part.get_filename() is None:
                    part.set_param("method", self.calendar_method)
        return message


def _calendar_method(content_type: str) -> str | None:
    """The iTIP method of an attached .ics ("text/calendar; method=REQUEST; ..."), if any."""
    kind, *params = (piece.strip() for piece in content_type.split(";"))
    if kind.lower() != "text/calendar":
        return None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "method":
            return value.strip().upper() or None
    return None


def sender_domain(sender: str) -> str:
    """The domain of a From address ("OneOnOne <no-reply@example.org>" -> "example.org")."""
    return parseaddr(sender)[1].rpartition("@")[2].strip().lower() or "oneonone.local"


def to_mail(message: Outgoing) -> Message:
    """The Flask-Mail message for a claimed (or about to be queued) message."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    mail_message = MailMessage(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html,
        sender=sender,
    )
    # The sender's domain, not this machine's name ("@localhost" reads as spam to filters).
    mail_message.msgId = make_msgid(domain=sender_domain(sender))
    headers = dict(message.headers)
    mail_message.reply_to = headers.pop("Reply-To", None)
    mail_message.extra_headers = headers or None
    for attachment in message.attachments:
        method = _calendar_method(attachment["content_type"])
        if method and mail_message.calendar_method is None:
            mail_message.alts["calendar"] = attachment["data"]  # after "html": the last alternative
            mail_message.calendar_method = method
        mail_message.attach(attachment["filename"], attachment["content_type"], attachment["data"].encode())
    return mail_message


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout on connecting and on every command."""

    def configure_host(self) -> smtplib.SMTP:
        timeout = float(current_app.config["MAIL_TIMEOUT"])
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, *exc_info) -> None:
        try:
            super().__exit__(*exc_info)
        except (OSError, smtplib.SMTPException) as error:
            log.info("closing the SMTP connection: %s", error)


# A broken connection fails the rest of the batch; anything else (a refused recipient) fails one.
CONNECTION_ERRORS = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)


_SMTP_REPLY = re.compile(r"\((\d{3}), b['\"](.*?)['\"]\)")


def delivery_problem(error: str) -> str:
    """A recorded SMTP error ("SMTPRecipientsRefused: {...: (550, b'5.1.1 User unknown')}") in words."""
    reply = _SMTP_REPLY.search(error)
    detail = f" ({reply.group(1)} {reply.group(2)})" if reply else ""
    if error.startswith("SMTPRecipientsRefused"):
        return f"the receiving mail server refused the address{detail}"
    if "timed out" in error or error.startswith("TimeoutError"):
        return "our mail server did not answer"
    if error.startswith(("ConnectionRefusedError", "SMTPConnectError", "SMTPServerDisconnected", "OSError",
                         "socket.gaierror", "gaierror")):
        return "our mail server could not be reached"
    return f"the mail server refused the message{detail}"
