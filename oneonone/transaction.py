"""One transaction boundary: services change and flush, the unit of work commits or rolls back.

- Every request is one unit of work: `init_app` wraps each view so that a response below 400 is
  committed and anything else (an error response, an exception) rolls the whole request back.
- CLI commands and the outbox sender open one explicitly: `with unit_of_work(): ...`.
- Services never commit. A service that must serialize with others takes a row lock first
  (`lock_row`), then reads what it decides on, so the database decides every race.

What the database refuses at flush or commit because of a concurrent change (a unique clash, a row
deleted meanwhile, a serialization failure, SQLite busy) becomes a `TransactionConflict` — a 409
"someone else just changed this" for the person, never a 500. A request whose transaction failed
that way is run once more when a retry can succeed (serialization failure, deadlock, SQLite busy):
mail is queued in the same transaction (oneonone/email.py), so a retry never sends it twice.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Iterator
from functools import wraps
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm
from flask import Flask, current_app, g, request, session
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .exceptions import ConflictError
from .extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")
CONFLICT_MESSAGE = ("Someone else changed this at the same moment, so nothing was saved. "
                    "Here is the current state; please check it and try again.")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


class TransactionConflict(ConflictError):
    """The transaction lost a race; `retryable` when running it again may succeed."""

    def __init__(self, message: str = CONFLICT_MESSAGE, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def _retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def as_conflict(error: Exception) -> TransactionConflict | None:
    """The conflict a database error stands for, or None when it is not a lost race."""
    if isinstance(error, IntegrityError | StaleDataError):
        return TransactionConflict()
    if isinstance(error, DBAPIError) and _retryable(error):
        return TransactionConflict(retryable=True)
    return None


@contextlib.contextmanager
def unit_of_work() -> Iterator[sa.orm.Session]:
    """Commit what the block did, or roll all of it back; a lost race raises TransactionConflict."""
    try:
        yield db.session
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        # A session that never began a transaction rolls back without an event: run them here.
        _run_calls(db.session, AFTER_ROLLBACK, AFTER_COMMIT)
        conflict = as_conflict(error)
        if conflict is not None:
            log.info("transaction conflict: %s: %s", type(error).__name__, error)
            raise conflict from error
        raise


def run_in_transaction(work: Callable[[], T], *, retries: int = 1) -> T:
    """`work()` in a unit of work, run again (at most `retries` times) after a retryable conflict."""
    for attempt in range(retries + 1):
        try:
            with unit_of_work():
                return work()
        except TransactionConflict as conflict:
            if not conflict.retryable or attempt == retries:
                raise
    raise AssertionError("unreachable")


class _RollBack(Exception):
    """Carries an error response out of the unit of work, so that it rolls back."""

    def __init__(self, response) -> None:
        self.response = response


def _request_state() -> Callable[[], None]:
    """What a view may change outside the database, and how to put it back before it runs again.

    A retried view must start from the request as it came in: the browser session as it was (a
    sign-out, a flashed "saved", a remembered link of the failed run are undone; Flask-Login reloads
    the user from it) and every uploaded file at its start (the failed run read it to the end).
    """
    saved = copy.deepcopy(dict(session))

    def restore() -> None:
        session.clear()
        session.update(copy.deepcopy(saved))
        g.pop("_login_user", None)
        for upload in request.files.values():
            if upload.stream.seekable():
                upload.stream.seek(0)

    return restore


def transactional(view: Callable) -> Callable:
    """A view as one unit of work: committed when it answers below 400, rolled back otherwise."""

    @wraps(view)
    def run(*args, **kwargs):
        restore = _request_state()
        runs = 0

        def attempt():
            nonlocal runs
            if runs:
                restore()  # a retry: the same request again, not its first run's leftovers
            runs += 1
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code >= 400:
                raise _RollBack(response)
            return response

        try:
            return run_in_transaction(attempt)
        except _RollBack as rolled_back:
            return rolled_back.response
        except TransactionConflict:
            # Nothing of the failed run stands: not a "saved" it flashed, not a sign-out it did.
            restore()
            raise

    return run


def lock_row(model: type[T], row_id: int) -> T | None:
    """Lock one row for the rest of the transaction and return it freshly read (None if gone).

    PostgreSQL: SELECT … FOR NO KEY UPDATE (inserting children still works meanwhile). SQLite has
    no row locks: a no-op UPDATE takes the database's write lock, waiting for the current writer,
    and the SELECT after it sees everything committed before.
    """
    table = model.__table__
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text(f"UPDATE {table.name} SET id = id WHERE id = :id"), {"id": row_id})
        query = sa.select(model).where(table.c.id == row_id)
    else:
        query = sa.select(model).where(table.c.id == row_id).with_for_update(key_share=True, of=table)
    return db.session.scalar(query.execution_options(populate_existing=True))


AFTER_COMMIT, AFTER_ROLLBACK = "after_commit_calls", "after_rollback_calls"


def after_commit(call: Callable[[], object]) -> None:
    """Run `call` once the current transaction has committed (e.g. delete a file it no longer uses)."""
    db.session.info.setdefault(AFTER_COMMIT, []).append(call)


def after_rollback(call: Callable[[], object]) -> None:
    """Run `call` if the current transaction is rolled back instead (e.g. delete a file it wrote)."""
    db.session.info.setdefault(AFTER_ROLLBACK, []).append(call)


def _run_calls(session: sa.orm.Session, run: str, drop: str) -> None:
    session.info.pop(drop, None)
    for call in session.info.pop(run, []):
        try:
            call()
        except Exception:
            log.exception("after-transaction call %r failed", call)


def _on_commit(session: sa.orm.Session) -> None:
    _run_calls(session, AFTER_COMMIT, AFTER_ROLLBACK)


def _on_rollback_soft(session: sa.orm.Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint
        _run_calls(session, AFTER_ROLLBACK, AFTER_COMMIT)


def init_app(app: Flask) -> None:
    """Make every view of `app` (registered so far) one unit of work."""
    if not sa.event.contains(sa.orm.Session, "after_commit", _on_commit):
        sa.event.listen(sa.orm.Session, "after_commit", _on_commit)
        sa.event.listen(sa.orm.Session, "after_soft_rollback", _on_rollback_soft)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not getattr(view, "_unit_of_work", False):
            wrapped = transactional(view)
            wrapped._unit_of_work = True
            app.view_functions[endpoint] = wrapped
