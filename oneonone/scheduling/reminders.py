"""Who is reminded, and who is asked again: the follow-up emails to invitees.

Mail, each queued in the request's transaction and sent by the outbox after it commits (nothing is
sent if it rolls back):
- the reminder with the invitee's usual link (`queue_reminders`), from the Remind button
  (`remind_unanswered`) and the hourly cron job (`queue_due_reminders`, `flask remind`), at most
  once per REMINDER_COOLDOWN_HOURS (12 by default) to the same invitee;
- "could you make one of these times?" (`queue_ask_email`) to an invitee the suggestions leave out.
A double click sends nothing twice: a reminder or a question repeated within a minute is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..accounts.models import User
from ..accounts.recovery import require_verified
from ..calendars.models import Calendar, Timeslot
from ..db_types import utcnow
from ..email import header_text, queue_email, quoted
from ..exceptions import ValidationError
from ..extensions import db
from ..transaction import lock_row
from .invitations import RESEND_GRACE, current_link_token, invitee_of_contact, link_is_new, queue_invitation
from .links import pick_url
from .models import Invitee
from .suggestions import suggest_for_calendar

REMINDER_WINDOW = dt.timedelta(hours=48)
REMINDER_INTERVAL = dt.timedelta(hours=24)  # the cron job's, unless the cooldown is longer
ASK_AGAIN_AFTER = dt.timedelta(seconds=60)


# ---- reminders ------------------------------------------------------------------------------------

def queue_reminders(invitees: Iterable[Invitee], now: dt.datetime) -> int:
    """Queue each a reminder with their usual link, except those reminded or sent a new link in the
    last minute (a double click); returns how many."""
    count = 0
    for invitee in invitees:
        if link_is_new(invitee, now) or (invitee.reminded_at and invitee.reminded_at > now - RESEND_GRACE):
            continue
        queue_invitation(invitee, current_link_token(invitee), reminder=True)
        invitee.reminded_at = now
        count += 1
    db.session.flush()
    return count


def _lock_invitees(calendar_id: int) -> None:
    """Lock the calendar's invitees in id order (a resend of one of them waits, and vice versa)."""
    if db.session.get_bind().dialect.name == "sqlite":
        lock_row(Calendar, calendar_id)  # the database's write lock
    else:
        db.session.execute(sa.select(Invitee.id).where(Invitee.calendar_id == calendar_id)
                           .order_by(Invitee.id).with_for_update(key_share=True))


def reminder_cooldown() -> dt.timedelta:
    """How long after a reminder the same invitee is not reminded again (REMINDER_COOLDOWN_HOURS)."""
    return dt.timedelta(hours=float(current_app.config["REMINDER_COOLDOWN_HOURS"]))


def _unanswered(calendar_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(Invitee.calendar_id == calendar_id, Invitee.responded_at.is_(None))


def _rested(now: dt.datetime, interval: dt.timedelta) -> sa.ColumnElement[bool]:
    """Not reminded within `interval` of `now`."""
    return sa.or_(Invitee.reminded_at.is_(None), Invitee.reminded_at <= now - interval)


@dataclass(frozen=True)
class Waiting:
    """Who has not answered: how many the Remind button would mail now, and how many rest."""

    due: int
    resting: int  # reminded within the cooldown
    hours: str  # the cooldown, as the page says it ("12")


def waiting_for(calendar: Calendar) -> Waiting:
    """How many unanswered invitees the Remind button would mail now, and how many it skips (one query)."""
    due, total = db.session.execute(
        sa.select(sa.func.count().filter(_rested(utcnow(), reminder_cooldown())), sa.func.count())
        .select_from(Invitee).where(_unanswered(calendar.id))).one()
    return Waiting(due=due or 0, resting=(total or 0) - (due or 0),
                   hours=f"{reminder_cooldown().total_seconds() / 3600:g}")


def remind_unanswered(calendar: Calendar) -> int:
    """Queue a reminder for every invitee who has not answered and was not reminded within the
    cooldown; returns how many."""
    require_verified(calendar.owner)
    _lock_invitees(calendar.id)
    now = utcnow()
    invitees = db.session.scalars(
        sa.select(Invitee).where(_unanswered(calendar.id), _rested(now, reminder_cooldown()))
        .order_by(Invitee.id).execution_options(populate_existing=True)).all()
    return queue_reminders(invitees, now)


def queue_due_reminders(now: dt.datetime | None = None) -> int:
    """Queue reminders for non-responders whose deadline is within 48 h and who were not reminded in 24 h."""
    now = now or utcnow()
    invitees = db.session.scalars(
        sa.select(Invitee).join(Calendar)
        .where(Invitee.responded_at.is_(None),
               Calendar.response_deadline.is_not(None),
               Calendar.response_deadline > now,
               Calendar.response_deadline <= now + REMINDER_WINDOW,
               Calendar.owner_id.in_(sa.select(User.id).where(User.email_verified_at.is_not(None))),
               _rested(now, max(REMINDER_INTERVAL, reminder_cooldown())))
        .order_by(Invitee.id).with_for_update(key_share=True, of=Invitee)
        .execution_options(populate_existing=True)
    ).all()
    return queue_reminders(invitees, now)


# ---- asking a left-out invitee about free times ------------------------------------------------------

def queue_ask_email(invitee: Invitee, times: list[Timeslot], token: str) -> None:
    """Queue "could you make one of these times?" listing `times`, with the link `token`."""
    calendar = invitee.calendar
    owner = calendar.owner
    queue_email(
        invitee.contact.email,
        f"{header_text(owner.full_name)[:60]} asks: could you make one of these times? {quoted(calendar.name)}",
        "ask", invitee=invitee, contact=invitee.contact, calendar=calendar, owner=owner,
        link=pick_url(token), times=times,
    )


def ask_about_times(calendar: Calendar, contact_id: int, timeslot_ids: Iterable[int]) -> Invitee:
    """Queue an email asking a left-out invitee about the free times that would seat them, marked on
    their page.

    The times must be among the best schedule's `would_fit` for them. Asking again for the same
    times within a minute (a double click) sends nothing more. Like a reminder, the email carries
    their usual link.
    """
    require_verified(calendar.owner)
    lock_row(Calendar, calendar.id)
    invitee = invitee_of_contact(calendar, contact_id, fresh=True)
    wanted = list(dict.fromkeys(timeslot_ids))
    suggestions = suggest_for_calendar(calendar, 1)
    left_out = {u.invitee for u in suggestions.best.unscheduled} if suggestions.best else set()
    fit = suggestions.would_fit.get(contact_id, ()) if contact_id in left_out else ()
    if not wanted or not set(wanted) <= set(fit):
        problem = ("Choose times among those that would seat them." if fit
                   else "No free time would seat them now; the suggestions have changed.")
        raise ValidationError.for_field("timeslots", problem)
    order = {slot_id: n for n, slot_id in enumerate(fit)}
    wanted.sort(key=order.__getitem__)
    now = utcnow()
    if (invitee.asked_timeslot_ids == wanted and invitee.asked_at is not None
            and invitee.asked_at > now - ASK_AGAIN_AFTER):
        return invitee
    times = list(db.session.scalars(
        sa.select(Timeslot).where(Timeslot.id.in_(wanted)).order_by(Timeslot.start_time, Timeslot.id)))
    token = current_link_token(invitee)
    invitee.asked_at, invitee.asked_timeslot_ids = now, wanted
    queue_ask_email(invitee, times, token)
    db.session.flush()
    return invitee
