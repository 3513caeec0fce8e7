"""A request run again after a retryable failure, and the HTML conflict handler's redirect.

A retryable failure (SQLite "database is locked", PostgreSQL deadlock) runs the view once more
(`transactional` → `run_in_transaction`). The second run must start from the request as it came in,
not from what the first run did to it: an upload stream read to its end, a sign-out in the browser
session. `flask outbox worker` must survive a busy database (a `TransactionConflict` now), and the
conflict handler must never redirect off the site through a `//host` Referer path.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from oneonone import transaction
from oneonone.accounts.models import User
from oneonone.contacts.models import Contact
from oneonone.exceptions import ConflictError
from oneonone.outbox import PENDING, OutboxMessage

WRITES = ("INSERT", "UPDATE", "DELETE")


def _busy_error(engine) -> Exception:
    """What the driver raises when another writer holds the lock (a retryable failure)."""
    if engine.dialect.name == "sqlite":
        return sqlite3.OperationalError("database is locked")
    import psycopg.errors

    return psycopg.errors.DeadlockDetected("deadlock detected")


@contextlib.contextmanager
def busy_once(db, prefixes=WRITES, match: str | None = None):
    """The first write statement (optionally containing `match`) fails once as a busy database does.

    This is exactly where SQLite reports "database is locked": when the transaction first needs the
    write lock and another process keeps it past the busy timeout.
    """
    engine = db.engine
    state = {"armed": True, "failed": []}

    def before(conn, cursor, statement, parameters, context, executemany):
        text = statement.lstrip().upper()
        if state["armed"] and text.startswith(prefixes) and (match is None or match.upper() in text):
            state["armed"] = False
            state["failed"].append(statement)
            raise _busy_error(engine)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield state
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


# ---- 1. a retried view reads an upload stream that the first run already consumed ----------------

def test_csv_import_retried_after_a_busy_database_still_imports_the_file(owner_client, owner, db):
    data = b"first_name,last_name,email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"
    with busy_once(db) as busy:
        response = owner_client.post(
            "/contacts/import",
            data={"file": FileStorage(io.BytesIO(data), filename="c.csv", content_type="text/csv")},
        )
    assert busy["failed"], "the injected lock did not fire"
    body = response.get_data(as_text=True)
    # Actual: 400 "The file is empty" — the retry read the upload's stream at its end.
    assert "The file is empty" not in body
    assert response.status_code == 302, body[:2000]
    db.session.rollback()
    assert sorted(db.session.scalars(sa.select(Contact.email).where(Contact.owner_id == owner.id))) == [
        "ada@example.com", "alan@example.com"]


def test_contact_with_photo_retried_after_a_busy_database_is_added_with_its_photo(owner_client, owner, db):
    fields = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
              "image": FileStorage(io.BytesIO(_png()), filename="ada.png", content_type="image/png")}
    with busy_once(db) as busy:
        response = owner_client.post("/contacts/new", data=fields)
    assert busy["failed"], "the injected lock did not fire"
    body = response.get_data(as_text=True)
    # Actual: 400 "The photo file is empty." — the first run read the photo to its end.
    assert "The photo file is empty" not in body
    assert response.status_code == 302, body[:2000]
    db.session.rollback()
    contact = db.session.scalar(sa.select(Contact).where(Contact.owner_id == owner.id))
    assert contact is not None and contact.image_filename


# ---- 2. a retried view sees the browser session the first run changed ----------------------------

def test_deleting_the_account_when_the_database_was_busy_once_still_deletes_it(owner_client, owner, db):
    owner_id = owner.id
    with busy_once(db, prefixes=("DELETE",)) as busy:
        response = owner_client.post("/accounts/delete",
                                     data={"password": "correct-horse-battery", "confirm": "y"})
    assert busy["failed"], "the injected lock did not fire"
    db.session.rollback()
    still_there = db.session.get(User, owner_id) is not None
    # Actual: the first run signed the person out, the retry then found no one signed in and
    # redirected to the sign-in page; the account and everything in it were kept.
    assert not still_there, (
        f"account kept; answered {response.status_code} -> {response.headers.get('Location')}")


# ---- 3. the outbox worker no longer survives a busy database --------------------------------------

def test_outbox_worker_survives_a_busy_database(app, db, monkeypatch):
    monkeypatch.setattr("oneonone.commands.signal.signal", lambda *args: None)
    db.session.add(OutboxMessage(recipient="ada@example.org", subject="Hello", body_text="Hi",
                                 body_html=None, attachments=[], status=PENDING))
    db.session.commit()
    db.session.remove()
    with busy_once(db, prefixes=("UPDATE",), match="outbox_messages") as busy:
        result = app.test_cli_runner().invoke(args=["outbox", "worker", "--once", "--interval", "0.1"])
    assert busy["failed"], "the injected lock did not fire"
    # commands.py catches sa.exc.OperationalError ("database unavailable, retrying"), but _claim's
    # unit_of_work turned it into TransactionConflict, which kills the worker.
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and "outbox worker stopped" in result.output


# ---- 4. the HTML conflict handler: no open redirect through the Referer ---------------------------

@pytest.fixture
def conflict_route(app):
    def conflict():
        raise ConflictError("Someone else changed this.")

    app.add_url_rule("/_redteam/conflict", "redteam_conflict", conflict, methods=["POST"])
    transaction.init_app(app)


def test_conflict_redirect_stays_on_this_site(client, conflict_route):
    # A same-site page whose path starts with "//" (e.g. a 404 page at http://localhost//evil.example/)
    # gives this Referer; _same_site_referrer keeps the path, and "//evil.example/path" is another site.
    response = client.post("/_redteam/conflict", headers={"Referer": "http://localhost//evil.example/path"})
    location = response.headers.get("Location") or ""
    assert not location.replace("\\", "/").startswith("//"), f"open redirect to {location!r}"

