"""Flask CLI commands: seed-demo and the outbox (deliver, list, worker)."""

from __future__ import annotations

import datetime as dt
import random
import signal
import time
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext

from .accounts.models import User
from .calendars.models import Calendar, Timeslot
from .contacts.models import Contact
from .db_types import utcnow
from .extensions import db
from .outbox import FAILED, PENDING, OutboxMessage, deliver_due, next_due_in
from .scheduling.links import new_link
from .scheduling.models import IF_NEED_BE, PREFERRED, Event, Invitee
from .transaction import TransactionConflict, unit_of_work
from .wording import plural

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_CONTACTS = [
    ("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper"), ("Katherine", "Johnson"),
    ("Edsger", "Dijkstra"), ("Barbara", "Liskov"), ("Donald", "Knuth"), ("Margaret", "Hamilton"),
]


def seed_demo_data() -> tuple[User, bool]:
    """Create the demo owner and their data unless it exists; returns (user, created)."""
    user = db.session.scalar(sa.select(User).where(User.email == DEMO_EMAIL))
    if user is not None:
        return user, False
    user = User(first_name="Demo", last_name="Owner", username="demo", email=DEMO_EMAIL,
                timezone="Europe/London", email_verified_at=utcnow())
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    contacts = [
        Contact(owner=user, first_name=first, last_name=last,
                email=f"{first}.{last}@example.com".lower())
        for first, last in DEMO_CONTACTS
    ]
    db.session.add_all(contacts)
    zone = ZoneInfo(user.timezone)
    today = dt.date.today()
    start = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    calendar = Calendar(owner=user, name="Team 1:1s", start_date=start,
                        end_date=start + dt.timedelta(days=4), timezone=user.timezone)
    db.session.add(calendar)
    for day in range(5):
        date = start + dt.timedelta(days=day)
        for hour in (9, 10, 11, 14, 15, 16):
            begin = dt.datetime(date.year, date.month, date.day, hour, 0, tzinfo=zone)
            db.session.add(Timeslot(calendar=calendar, start_time=begin,
                                    end_time=begin + dt.timedelta(minutes=45),
                                    high_priority=hour in (10, 14)))
    db.session.flush()
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    slots = list(calendar.timeslots)
    for contact in contacts[:6]:
        nonce, _, token_hash = new_link()  # the demo owner can copy each link from the invitees page
        invitee = Invitee(calendar=calendar, contact=contact, token_hash=token_hash, link_nonce=nonce,
                          link_issued_at=now)
        db.session.add(invitee)
        if contact is contacts[5]:
            continue  # one invitee has not answered yet
        invitee.responded_at = now
        for slot in rng.sample(slots, 5):
            db.session.add(Event(calendar_id=calendar.id, timeslot=slot, contact_id=contact.id,
                                 preference=rng.choice([PREFERRED, PREFERRED, IF_NEED_BE])))
    db.session.flush()
    return user, True


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo account (demo@example.com / demo-password); safe to run again."""
    with unit_of_work():
        _, created = seed_demo_data()
    state = "created" if created else "already present"
    click.echo(f"Demo account {state}: {DEMO_EMAIL} / {DEMO_PASSWORD}")


@click.group("outbox")
def outbox_group() -> None:
    """Queued email: deliver it, list it, or run a sender."""


@outbox_group.command("deliver")
@click.option("--limit", type=int, default=None, help="Most messages to try (default: all that are due).")
@with_appcontext
def outbox_deliver(limit: int | None) -> None:
    """Send the messages that are due (for cron)."""
    report = deliver_due(limit=limit)
    click.echo(f"sent {report.sent}, failed {report.failed}")


@outbox_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include sent messages.")
@with_appcontext
def outbox_list(show_all: bool) -> None:
    """Show pending and failed messages."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if not show_all:
        query = query.where(OutboxMessage.status.in_([PENDING, FAILED]))
    messages = db.session.scalars(query).all()
    if not messages:
        click.echo("The outbox is empty: every message was delivered.")
        return
    for message in messages:
        retry = ""
        if message.status == PENDING:
            retry = f", next try {message.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
        error = f" — {message.last_error}" if message.last_error else ""
        click.echo(f"#{message.id} {message.status} to {message.recipient}: {message.subject} "
                   f"({message.attempts} attempts{retry}){error}")


@outbox_group.command("worker")
@click.option("--interval", default=5.0, show_default=True,
              help="Most seconds between polls (sooner when a retry is due).")
@click.option("--once", is_flag=True, help="Deliver once and exit.")
@with_appcontext
def outbox_worker(interval: float, once: bool) -> None:
    """Long-running sender for production: polls the outbox and delivers what is due."""
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"outbox worker started (every {interval:g}s)")
    while not stopping:
        wait = interval
        try:
            report = deliver_due()
            if report.sent or report.failed:
                click.echo(f"sent {report.sent}, failed {report.failed}")
            due_in = next_due_in()
            if due_in is not None:
                wait = min(max(due_in, 0.2), interval)
        except (sa.exc.OperationalError, TransactionConflict) as error:
            db.session.rollback()
            click.echo(f"database unavailable or busy, retrying: {getattr(error, 'orig', error)}", err=True)
        finally:
            db.session.remove()
        if once:
            break
        deadline = time.monotonic() + wait
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))
    click.echo("outbox worker stopped")


@click.command("remind")
@with_appcontext
def remind_command() -> None:
    """Remind non-responders whose deadline is within 48 h (not reminded in 24 h); for cron."""
    from .scheduling.reminders import queue_due_reminders

    with unit_of_work():
        count = queue_due_reminders()
    click.echo(f"sent {plural(count, 'reminder')}")


@click.command("digest")
@with_appcontext
def digest_command() -> None:
    """Email each owner who chose a daily summary the answers since their last one; for cron, daily."""
    from .scheduling.owner_notices import queue_digests

    with unit_of_work():
        count = queue_digests()
    click.echo(f"sent {plural(count, 'digest')}")


def register(app: Flask) -> None:
    """Register the CLI commands."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(outbox_group)
    app.cli.add_command(remind_command)
    app.cli.add_command(digest_command)
