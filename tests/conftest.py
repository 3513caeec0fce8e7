"""Shared fixtures: the app on SQLite (or PostgreSQL via TEST_DATABASE_URL), a real SMTP sink,
and factories for every model. The schema is built once per run by the real migrations; each
test then starts from empty tables."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import g, request_started
from mailsink import MailServer
from seeding import empty_tables

from config import TestConfig
from oneonone import create_app
from oneonone.db_types import utcnow
from oneonone.extensions import db as _db

pytest_plugins = ["scenarios"]  # the shared scenario builders (tests/scenarios.py) as fixtures

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DEFAULT_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _config(database_url: str, mail_server: MailServer, **overrides) -> dict:
    return {
        **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_PORT": mail_server.port,
        **overrides,
    }


@pytest.fixture(scope="session")
def _schema(database_url, mail_server, tmp_path_factory) -> None:
    """Build the schema once with the real migrations."""
    from flask_migrate import upgrade

    app = create_app(_config(database_url, mail_server))
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        _db.engine.dispose()


@pytest.fixture
def app_config() -> dict:
    """Override in a test module (or parametrize) to change the app's configuration."""
    return {}


@pytest.fixture
def app(_schema, database_url, mail_server, app_config, tmp_path):
    application = create_app(
        _config(database_url, mail_server, **{"UPLOAD_FOLDER": str(tmp_path / "uploads")}, **app_config)
    )
    mail_server.messages.clear()
    # The test keeps one app context open, and Flask reuses it for every request; Flask-Login caches
    # the signed-in user in `g`, so forget it at each request or one client would act as another.
    request_started.connect(_forget_login, application)
    with application.app_context():
        yield application
        application.extensions["outbox_sender"].stop()  # a test in OUTBOX_DELIVERY=thread started it
        _db.session.remove()
        empty_tables(_db.engine)
        _db.engine.dispose()


def _forget_login(sender, **extra) -> None:
    g.pop("_login_user", None)


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mailbox(mail_server, app):
    """The SMTP sink's inbox, emptied for this test."""
    mail_server.messages.clear()
    return mail_server


# ---- factories -------------------------------------------------------------------------------

@pytest.fixture
def make_user(db):
    from oneonone.accounts.models import User

    counter = iter(range(1, 10_000))

    def make(**overrides) -> User:
        n = next(counter)
        password = overrides.pop("password", DEFAULT_PASSWORD)
        verified = overrides.pop("verified", True)  # make_user(verified=False): a fresh sign-up
        fields = {"email_verified_at": utcnow() if verified else None,
            "first_name": f"Owner{n}", "last_name": "Example", "username": f"owner{n}",
            "email": f"owner{n}@example.com", "timezone": "UTC", **overrides,
        }
        user = User(**fields)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_contact(db, make_user):
    from oneonone.contacts.models import Contact

    counter = iter(range(1, 10_000))

    def make(owner=None, **overrides) -> Contact:
        n = next(counter)
        owner = owner or make_user()
        fields = {"first_name": f"Contact{n}", "last_name": "Person",
                  "email": f"contact{n}@example.org", **overrides}
        contact = Contact(owner_id=owner.id, **fields)
        db.session.add(contact)
        db.session.commit()
        return contact

    return make


@pytest.fixture
def make_calendar(db, make_user):
    from oneonone.calendars.models import Calendar

    def make(owner=None, **overrides) -> Calendar:
        owner = owner or make_user()
        start = overrides.pop("start_date", dt.date(2030, 3, 4))
        fields = {"name": "Interview day", "start_date": start,
                  "end_date": start + dt.timedelta(days=4), "timezone": owner.timezone,
                  **overrides}
        calendar = Calendar(owner_id=owner.id, **fields)
        db.session.add(calendar)
        db.session.commit()
        return calendar

    return make


@pytest.fixture
def make_timeslot(db):
    from oneonone.calendars.models import Timeslot

    def make(calendar, start: str | dt.datetime = "09:00", minutes: int = 30, day: int = 0,
             high_priority: bool = False) -> Timeslot:
        """A slot on the calendar's `day`-th day at local `start` (calendar's zone)."""
        if isinstance(start, str):
            hour, minute = map(int, start.split(":"))
            date = calendar.start_date + dt.timedelta(days=day)
            start = dt.datetime(date.year, date.month, date.day, hour, minute,
                                tzinfo=ZoneInfo(calendar.timezone))
        slot = Timeslot(calendar_id=calendar.id, start_time=start,
                        end_time=start + dt.timedelta(minutes=minutes), high_priority=high_priority)
        db.session.add(slot)
        db.session.commit()
        return slot

    return make


@pytest.fixture
def make_invitee(db):
    from oneonone.scheduling.links import new_link
    from oneonone.scheduling.models import Invitee

    def make(calendar, contact) -> tuple[Invitee, str]:
        """An invitation; returns (invitee, link token)."""
        nonce, token, token_hash = new_link()
        invitee = Invitee(calendar_id=calendar.id, contact_id=contact.id, token_hash=token_hash,
                          link_nonce=nonce, link_issued_at=utcnow())
        db.session.add(invitee)
        db.session.commit()
        return invitee, token

    return make


@pytest.fixture
def make_event(db):
    from oneonone.scheduling.models import PREFERRED, Event

    def make(timeslot, contact, preference: str = PREFERRED, confirmed: bool = False) -> Event:
        event = Event(calendar_id=timeslot.calendar_id, timeslot_id=timeslot.id,
                      contact_id=contact.id, preference=preference, confirmed=confirmed)
        db.session.add(event)
        db.session.commit()
        return event

    return make


@pytest.fixture
def login(client):
    """Sign a user in through the real sign-in form."""

    def do(user, password: str = DEFAULT_PASSWORD):
        response = client.post("/accounts/signin", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def owner_client(client, owner, login):
    """A test client signed in as `owner`."""
    return login(owner)
