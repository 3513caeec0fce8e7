"""The database itself enforces the data model's invariants, and migrations match the models."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from oneonone.calendars.models import Calendar, Timeslot
from oneonone.contacts.models import Contact
from oneonone.scheduling.models import Event, Invitee


def _fails(db, obj_or_stmt) -> None:
    with pytest.raises(IntegrityError):
        if isinstance(obj_or_stmt, sa.sql.Executable):
            db.session.execute(obj_or_stmt)
        else:
            db.session.add(obj_or_stmt)
        db.session.flush()
    db.session.rollback()


def test_one_migration_head(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


def test_migrations_match_models(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


@contextlib.contextmanager
def _empty_database(db, tmp_path):
    """The URL of a brand-new, empty database of the same kind as the test database."""
    if db.engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    name = f"oneonone_fresh_{uuid.uuid4().hex[:12]}"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield db.engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))


def test_upgrade_from_empty_database(app, db, tmp_path):
    """The migrations build a brand-new database to head, on SQLite and on PostgreSQL alike."""
    from config import TestConfig
    from oneonone import create_app

    with _empty_database(db, tmp_path) as url:
        fresh = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                            "SQLALCHEMY_DATABASE_URI": url})
        with fresh.app_context():
            upgrade()
            tables = set(sa.inspect(db.engine).get_table_names())
            with db.engine.connect() as connection:
                diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
            db.session.remove()
            db.engine.dispose()
    assert {"users", "contacts", "calendars", "timeslots", "invitees", "events", "outbox_messages"} <= tables
    assert diff == []


def test_contact_email_unique_per_owner_only(db, make_user, make_contact):
    first, second = make_user(), make_user()
    make_contact(owner=first, email="same@example.org")
    make_contact(owner=second, email="same@example.org")  # another owner: fine
    _fails(db, Contact(owner_id=first.id, first_name="A", last_name="B", email="same@example.org"))


def test_calendar_window_and_slot_order_checked(db, owner):
    _fails(db, Calendar(owner_id=owner.id, name="Backwards", start_date=dt.date(2030, 1, 2),
                        end_date=dt.date(2030, 1, 1)))
    calendar = Calendar(owner_id=owner.id, name="OK", start_date=dt.date(2030, 1, 1),
                        end_date=dt.date(2030, 1, 1))
    db.session.add(calendar)
    db.session.commit()
    start = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
    _fails(db, Timeslot(calendar_id=calendar.id, start_time=start, end_time=start))


def test_invitee_and_event_uniqueness(db, make_calendar, make_contact, make_timeslot,
                                      make_invitee, make_event):
    calendar = make_calendar()
    contact = make_contact(owner=calendar.owner)
    slot = make_timeslot(calendar)
    make_invitee(calendar, contact)
    _fails(db, Invitee(calendar_id=calendar.id, contact_id=contact.id, token_hash="x" * 64))
    make_event(slot, contact)
    _fails(db, Event(calendar_id=calendar.id, timeslot_id=slot.id, contact_id=contact.id))
    _fails(db, sa.update(Event).values(preference="maybe"))


def test_event_needs_an_invitation_and_a_matching_calendar(db, make_calendar, make_contact,
                                                           make_timeslot, make_invitee):
    calendar, other = make_calendar(), make_calendar()
    contact = make_contact(owner=calendar.owner)
    slot, other_slot = make_timeslot(calendar), make_timeslot(other)
    _fails(db, Event(calendar_id=calendar.id, timeslot_id=slot.id, contact_id=contact.id))
    make_invitee(calendar, contact)
    _fails(db, Event(calendar_id=calendar.id, timeslot_id=other_slot.id, contact_id=contact.id))


def test_one_confirmed_event_per_slot_and_per_invitee(db, make_calendar, make_contact,
                                                     make_timeslot, make_invitee, make_event):
    calendar = make_calendar()
    ada, bob = make_contact(owner=calendar.owner), make_contact(owner=calendar.owner)
    nine, ten = make_timeslot(calendar, "09:00"), make_timeslot(calendar, "10:00")
    make_invitee(calendar, ada)
    make_invitee(calendar, bob)
    make_event(nine, ada, confirmed=True)
    bob_nine = make_event(nine, bob)
    _fails(db, sa.update(Event).where(Event.id == bob_nine.id).values(confirmed=True))
    ada_ten = make_event(ten, ada)
    _fails(db, sa.update(Event).where(Event.id == ada_ten.id).values(confirmed=True))
    make_event(ten, bob, confirmed=True)  # a different slot and invitee: fine


def test_cascades(db, make_calendar, make_contact, make_timeslot, make_invitee, make_event):
    calendar = make_calendar()
    ada, bob = make_contact(owner=calendar.owner), make_contact(owner=calendar.owner)
    slot = make_timeslot(calendar)
    make_invitee(calendar, ada)
    make_invitee(calendar, bob)
    make_event(slot, ada)
    make_event(slot, bob)
    db.session.delete(ada)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1
    # Deleting through SQL (not the ORM) proves the database cascades on its own.
    db.session.execute(sa.delete(Calendar).where(Calendar.id == calendar.id))
    db.session.commit()
    for model in (Timeslot, Invitee, Event):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_datetimes_come_back_aware_in_utc(db, make_calendar, make_timeslot):
    calendar = make_calendar(timezone="Asia/Tokyo")
    slot = make_timeslot(calendar, "09:00")
    db.session.expire_all()
    stored = db.session.get(Timeslot, slot.id)
    assert stored.start_time.tzinfo is not None
    assert stored.start_time.utcoffset() == dt.timedelta(0)
    assert stored.start_time.hour == 0  # 09:00 in Tokyo is midnight UTC
