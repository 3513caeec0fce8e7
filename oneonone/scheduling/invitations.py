"""Who is invited, with which link: finding invitees, their links, inviting, resending and revoking.

Mail, each queued in the request's transaction and sent by the outbox after it commits (nothing is
sent if it rolls back):
- the invitation with the invitee's personal link (`queue_invitation`), on invite (with the owner's
  personal message, if any: in that email and on their page, not in reminders) and resend;
- "Cancelled" (`notify.queue_meeting_email`) when a revoked invitee had a meeting.
Reminders and "could you make one of these times?" are follow-ups: reminders.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..accounts.models import User, hash_token
from ..accounts.recovery import require_verified
from ..calendars.models import Calendar
from ..contacts.models import Contact
from ..db_types import utcnow
from ..email import header_text, queue_email, quoted
from ..exceptions import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..transaction import lock_row
from ..validation import has_control_characters
from . import notify
from .confirmations import meeting_of
from .links import new_link, pick_url, rebuild_token
from .models import Invitee, RetiredLink

# A second resend (or a reminder) this soon after a new link is a double submission: no third link.
RESEND_GRACE = dt.timedelta(seconds=60)
MESSAGE_MAX = 1000  # the owner's personal message in an invitation


class LinkReplacedError(NotFoundError):
    """The link was replaced by a newer one (resend or reminder)."""


@dataclass(frozen=True)
class InviteResult:
    invitee: Invitee
    token: str | None  # the new link's token; None when the contact was already invited
    created: bool


# ---- finding invitees -----------------------------------------------------------------------------

def get_invitee(owner: User, calendar_id: int, invitee_id: int) -> Invitee:
    """One of the owner's invitees, or NotFoundError."""
    invitee = db.session.scalar(
        sa.select(Invitee).join(Calendar)
        .where(Invitee.id == invitee_id, Invitee.calendar_id == calendar_id,
               Calendar.owner_id == owner.id)
    )
    if invitee is None:
        raise NotFoundError("No such invitee.")
    return invitee


def invitee_of_contact(calendar: Calendar, contact_id: int, *, fresh: bool = False) -> Invitee:
    """The calendar's invitee for this contact (re-read from the database when `fresh`), or NotFoundError."""
    query = sa.select(Invitee).where(Invitee.calendar_id == calendar.id, Invitee.contact_id == contact_id)
    invitee = db.session.scalar(query.execution_options(populate_existing=True) if fresh else query)
    if invitee is None:
        raise NotFoundError("That contact is not invited to this calendar.",
                            {"contact": ["Not invited to this calendar."]})
    return invitee


def invitee_for_token(token: str | None) -> Invitee:
    """The invitee a link token belongs to; NotFoundError (or LinkReplacedError) otherwise."""
    if not token or len(token) > 200:
        raise NotFoundError("This link is not valid.")
    token_hash = hash_token(token)
    invitee = db.session.scalar(
        sa.select(Invitee).options(joinedload(Invitee.calendar).joinedload(Calendar.owner),
                                   joinedload(Invitee.contact))
        .where(Invitee.token_hash == token_hash)
    )
    if invitee is not None:
        return invitee
    if db.session.get(RetiredLink, token_hash) is not None:
        raise LinkReplacedError("This link was replaced by a newer one.")
    raise NotFoundError("This link is not valid.")


# ---- links ----------------------------------------------------------------------------------------

def invitee_link(token: str) -> str:
    """The full pick-page address for a link token."""
    return pick_url(token)


def link_is_new(invitee: Invitee, now: dt.datetime) -> bool:
    """Whether the invitee's current link replaced another less than RESEND_GRACE ago."""
    last = db.session.scalar(sa.select(sa.func.max(RetiredLink.retired_at))
                             .where(RetiredLink.invitee_id == invitee.id))
    return last is not None and last > now - RESEND_GRACE


def _rotate(invitee: Invitee) -> str:
    """Retire the invitee's link for a new one (the caller holds the invitee's row lock)."""
    db.session.add(RetiredLink(token_hash=invitee.token_hash, invitee_id=invitee.id))
    invitee.link_nonce, token, invitee.token_hash = new_link()
    invitee.link_issued_at = utcnow()
    return token


def current_link_token(invitee: Invitee) -> str:
    """The invitee's link as it stands (rebuilt, not stored). An invitation from before links were
    derived, or from before SECRET_KEY changed, gets a new one (the caller holds the row lock)."""
    return rebuild_token(invitee.link_nonce, invitee.token_hash) or _rotate(invitee)


def visible_link(invitee: Invitee) -> str | None:
    """The invitee's pick-page address for the owner's "Copy", when it can be rebuilt."""
    token = rebuild_token(invitee.link_nonce, invitee.token_hash)
    return pick_url(token) if token else None


# ---- inviting -------------------------------------------------------------------------------------

def queue_invitation(invitee: Invitee, token: str, *, reminder: bool = False, message: str | None = None) -> None:
    """Queue the invitation (or the reminder) email carrying the link `token`, and the owner's
    personal `message` (cleaned by `invitation_message`) if any."""
    calendar = invitee.calendar
    owner = calendar.owner
    subject = (f"Reminder: pick your times for {quoted(calendar.name)}" if reminder
               else f"{header_text(owner.full_name)[:60]} invites you to pick a time: {quoted(calendar.name)}")
    queue_email(
        invitee.contact.email, subject, "invitation",
        invitee=invitee, contact=invitee.contact, calendar=calendar, owner=owner,
        link=pick_url(token), reminder=reminder, slot_count=len(calendar.timeslots),
        message=message, owner_first_name=owner.first_name or owner.full_name, automatic=reminder,
    )


def contacts_to_invite(owner: User, contact_ids: Iterable[int] | None) -> list[Contact]:
    """The owner's contacts with these ids (None: every one of them), in id order."""
    query = sa.select(Contact).where(Contact.owner_id == owner.id)
    if contact_ids is not None:
        query = query.where(Contact.id.in_(contact_ids))
    return list(db.session.scalars(query.order_by(Contact.id)))


def invitation_message(message: str | None) -> str | None:
    """The owner's personal message for an invitation, stripped, line breaks as "\n" (None when empty);
    ValidationError naming `message` when it is too long or holds control characters."""
    if message is not None and not isinstance(message, str):
        raise ValidationError.for_field("message", "The personal message must be text.")
    text = (message or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MESSAGE_MAX:
        raise ValidationError.for_field("message", f"The personal message must be at most {MESSAGE_MAX:,} "
                                        f"characters (it has {len(text):,}).")
    if has_control_characters(text, multiline=True):
        raise ValidationError.for_field("message", "The personal message cannot contain control characters "
                                        "(line breaks and tabs are fine).")
    return text or None


def invite_contacts(calendar: Calendar, contacts: Iterable[Contact], *,
                    message: str | None = None) -> list[InviteResult]:
    """Invite contacts (the calendar owner's own) in one transaction, queueing each new invitee's
    invitation with the owner's personal `message`, if any; existing invitees are kept and sent
    nothing. A message that cannot go (see `invitation_message`) invites nobody."""
    require_verified(calendar.owner)
    message = invitation_message(message)
    contacts = list(contacts)
    if any(c.owner_id != calendar.owner_id for c in contacts):
        raise NotFoundError("No such contact.")
    existing = {
        i.contact_id: i
        for i in db.session.scalars(
            sa.select(Invitee).where(Invitee.calendar_id == calendar.id,
                                     Invitee.contact_id.in_([c.id for c in contacts]))
        )
    }
    results = []
    for contact in contacts:
        if contact.id in existing:
            results.append(InviteResult(existing[contact.id], None, False))
            continue
        nonce, token, token_hash = new_link()
        invitee = Invitee(calendar=calendar, contact=contact, token_hash=token_hash, link_nonce=nonce,
                          link_issued_at=utcnow(), message=message)
        db.session.add(invitee)
        existing[contact.id] = invitee
        results.append(InviteResult(invitee, token, True))
    try:
        db.session.flush()
    except IntegrityError as error:
        # Another request invited one of them at the same moment: report, change nothing.
        db.session.rollback()
        raise ConflictError("Someone invited these contacts at the same time; reload and try again.") from error
    for result in results:
        if result.created:
            queue_invitation(result.invitee, result.token, message=message)
    return results


def invite_contact(calendar: Calendar, contact: Contact, *, message: str | None = None) -> InviteResult:
    """Invite one contact; inviting again returns the existing invitee (not a duplicate, no email)."""
    return invite_contacts(calendar, [contact], message=message)[0]


def resend_invitation(invitee: Invitee) -> str | None:
    """Queue the invitation with a fresh link; the old one then says it was replaced. Returns the new
    token, or None when a new link went out less than a minute ago (a double click): nothing more is sent."""
    require_verified(invitee.calendar.owner)
    invitee = lock_row(Invitee, invitee.id)
    if invitee is None:
        raise NotFoundError("No such invitee.")
    if link_is_new(invitee, utcnow()):
        return None
    token = _rotate(invitee)
    queue_invitation(invitee, token)
    db.session.flush()
    return token


def revoke_invitation(invitee: Invitee) -> None:
    """Remove the invitation and its picks; a meeting is cancelled by email."""
    lock_row(Calendar, invitee.calendar_id)
    invitee = db.session.scalar(sa.select(Invitee).where(Invitee.id == invitee.id)
                                .execution_options(populate_existing=True))
    if invitee is None:
        return  # revoked by a request a moment ago
    meeting = meeting_of(invitee)
    if meeting is not None:
        notify.queue_meeting_email(invitee, meeting.timeslot, notify.CANCELLED, ends_invitation=notify.REVOKED)
    db.session.delete(invitee)
    db.session.flush()
