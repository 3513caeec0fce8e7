"""Count the SQL statements a request runs: the test helper behind the query budget.

    with count_queries(app, db.engine) as queries:
        client.get("/calendars/1/")
    assert queries.count <= 8, queries.report()

Only statements run by the request itself are counted: from Flask's `request_started` signal to its
`request_tearing_down` signal, on the thread that serves the request (mail delivered in a background
thread is not the page's cost). SAVEPOINT, PRAGMA and transaction bookkeeping are noise, not queries.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, request_started, request_tearing_down

NOISE = re.compile(
    r"^\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT|PRAGMA|BEGIN|COMMIT|ROLLBACK)\b",
    re.IGNORECASE,
)


def normalize(statement: str) -> str:
    """One line of SQL with runs of whitespace collapsed (for reports and for spotting repeats)."""
    return " ".join(statement.split())


@dataclass
class QueryLog:
    """The statements one request ran, in order."""

    statements: list[str] = field(default_factory=list)
    rows: int = 0  # ORM objects loaded from the database (one per entity per row)

    @property
    def count(self) -> int:
        return len(self.statements)

    def repeated(self) -> list[tuple[str, int]]:
        """Statements run more than once (the same SQL text: an N+1 shows up here), most frequent first."""
        counts = Counter(normalize(statement) for statement in self.statements)
        return [(sql, n) for sql, n in counts.most_common() if n > 1]

    def report(self, width: int = 300) -> str:
        """A readable list: repeated statements first, then every statement in order."""
        lines = [f"{self.count} queries, {self.rows} objects loaded"]
        for sql, n in self.repeated():
            lines.append(f"  repeated x{n}: {sql[:width]}")
        lines += [f"  {i:>3}. {normalize(sql)[:width]}" for i, sql in enumerate(self.statements, 1)]
        return "\n".join(lines)


@contextmanager
def count_queries(app: Flask, engine: sa.Engine) -> Iterator[QueryLog]:
    """Record the statements every request of `app` runs on `engine` inside the block."""
    log = QueryLog()
    serving: set[int] = set()

    def started(sender, **_extra) -> None:
        if sender is app:
            serving.add(threading.get_ident())

    def tearing_down(sender, **_extra) -> None:
        if sender is app:
            serving.discard(threading.get_ident())

    def before_cursor_execute(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if threading.get_ident() in serving and not NOISE.match(statement):
            log.statements.append(statement)

    def loaded(_target, _context) -> None:
        if threading.get_ident() in serving:
            log.rows += 1

    request_started.connect(started, app)
    request_tearing_down.connect(tearing_down, app)
    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    sa.event.listen(sa.orm.Mapper, "load", loaded)
    try:
        yield log
    finally:
        sa.event.remove(sa.orm.Mapper, "load", loaded)
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)
        request_tearing_down.disconnect(tearing_down, app)
        request_started.disconnect(started, app)
