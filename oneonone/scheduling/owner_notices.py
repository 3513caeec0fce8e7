"""What does the owner hear of answers?

Each owner chooses (`User.answer_notifications`, on the profile and in the API): "each" — an email
for every answer saved, with who, which times and their comment; "daily" — one digest a day by
`flask digest` (cron), only when someone answered since the last one; or "off". Whatever the choice,
when every invitee of a calendar has answered the owner gets one "Everyone has answered" email with a
link to the suggested schedules (again only after someone new is invited and answers too).

Mail, queued in the answering request's transaction (or the command's) and sent by the outbox after
it commits: `answer_notification`, `answers_digest`, `all_answered`. It is the owner's own mail:
automatic (Auto-Submitted) and not counted against their quota for mail to others.
"""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from ..accounts.models import User
from ..calendars.models import Calendar, Timeslot
from ..contacts.models import Contact
from ..db_types import utcnow
from ..email import header_text, queue_email, quoted
from ..extensions import db
from ..hosts import public_url_for
from .models import PREFERENCE_LABELS, Event, Invitee

EACH, DAILY, OFF = "each", "daily", "off"
DIGEST_EVERY = dt.timedelta(hours=23)  # a digest run hourly by mistake still sends one a day


def _invitees_url(calendar: Calendar) -> str:
    return public_url_for("scheduling.invitees", calendar_id=calendar.id)


def _picks_of(invitee: Invitee) -> list[tuple[Timeslot, str]]:
    """The invitee's picks with their slots, in time order (one query)."""
    return [(slot, PREFERENCE_LABELS.get(preference, preference)) for slot, preference in db.session.execute(
        sa.select(Timeslot, Event.preference).join(Event, Event.timeslot_id == Timeslot.id)
        .where(Event.calendar_id == invitee.calendar_id, Event.contact_id == invitee.contact_id,
               sa.not_(Event.owner_placed))
        .order_by(Timeslot.start_time))]


def answer_received(invitee: Invitee, *, first: bool) -> None:
    """An invitee's answer was just saved: tell the owner as they chose and, when it is their
    `first` answer (only then can it be the last one missing), whether everyone has now answered."""
    calendar = invitee.calendar
    owner = calendar.owner
    if owner.answer_notifications == EACH:
        queue_email(
            owner.email, f"{header_text(invitee.contact.full_name)[:60]} answered: {quoted(calendar.name)}",
            "answer_notification", owner=owner, calendar=calendar, invitee=invitee, contact=invitee.contact,
            picks=_picks_of(invitee), link=_invitees_url(calendar),
        )
    if first:
        _tell_if_everyone_answered(calendar)


def _tell_if_everyone_answered(calendar: Calendar) -> None:
    waiting, total, last_invited = db.session.execute(
        sa.select(sa.func.count().filter(Invitee.responded_at.is_(None)), sa.func.count(),
                  sa.func.max(Invitee.invited_at))
        .where(Invitee.calendar_id == calendar.id)).one()
    if waiting or not total:
        return
    if calendar.all_answered_at is not None and (last_invited is None or calendar.all_answered_at >= last_invited):
        return  # told already, and nobody was invited since
    calendar.all_answered_at = utcnow()
    owner = calendar.owner
    queue_email(
        owner.email, f"Everyone has answered: {quoted(calendar.name)}", "all_answered",
        owner=owner, calendar=calendar, total=total,
        link=public_url_for("scheduling.suggestions", calendar_id=calendar.id),
    )


# ---- the daily digest ---------------------------------------------------------------------------------

def queue_digests(now: dt.datetime | None = None) -> int:
    """Queue each "daily" owner a digest of the answers since their last one (none when nobody
    answered); returns how many were queued. For cron, once a day."""
    now = now or utcnow()
    owners = db.session.scalars(
        sa.select(User).where(User.answer_notifications == DAILY,
                              sa.or_(User.answers_digest_at.is_(None), User.answers_digest_at <= now - DIGEST_EVERY))
        .order_by(User.id).with_for_update(key_share=True, of=User)).all()
    sent = 0
    for owner in owners:
        since = owner.answers_digest_at or now - dt.timedelta(days=1)
        rows = db.session.execute(
            sa.select(Invitee, Contact, Calendar)
            .join(Contact, Contact.id == Invitee.contact_id).join(Calendar, Calendar.id == Invitee.calendar_id)
            .where(Calendar.owner_id == owner.id, Invitee.responded_at > since, Invitee.responded_at <= now)
            .order_by(Calendar.name, Calendar.id, Contact.last_name, Contact.first_name)).all()
        owner.answers_digest_at = now
        if not rows:
            continue
        counts = {(calendar_id, contact_id): n for calendar_id, contact_id, n in db.session.execute(
            sa.select(Event.calendar_id, Event.contact_id, sa.func.count())
            .where(sa.tuple_(Event.calendar_id, Event.contact_id).in_(
                [(invitee.calendar_id, invitee.contact_id) for invitee, _, _ in rows]), sa.not_(Event.owner_placed))
            .group_by(Event.calendar_id, Event.contact_id))}
        calendars = [
            (calendar, _invitees_url(calendar),
             [(contact, invitee, counts.get((invitee.calendar_id, invitee.contact_id), 0))
              for invitee, contact, _ in group])
            for calendar, group in itertools.groupby(rows, key=lambda row: row[2])
        ]
        queue_email(owner.email, f"New answers to your invitations: {len(rows)}", "answers_digest",
                    owner=owner, calendars=calendars, since=since)
        sent += 1
    db.session.flush()
    return sent

