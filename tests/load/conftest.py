"""Fixtures for the load and fault tests. Tests marked `postgres` (test_load_faults.py) run only against
PostgreSQL (TEST_DATABASE_URL); the others run on whatever database the suite uses (a SQLite file
that the test process and gunicorn share, or PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from .support import Gunicorn, PrivatePostgres, SmtpSink, app_env, postgres_bindir


def _is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+", 1)[0] in {"postgres", "postgresql"}


@pytest.fixture(autouse=True)
def _postgres_only(request) -> None:
    """Skip a `postgres` test before any fixture builds anything (private PG restarts and the like)."""
    if request.node.get_closest_marker("postgres") and not _is_postgres(os.environ.get("TEST_DATABASE_URL")):
        pytest.skip("load and fault tests run gunicorn against PostgreSQL: "
                    "set TEST_DATABASE_URL=postgresql+psycopg://... (CI's PostgreSQL pass does)")


@pytest.fixture
def test_database_url() -> str:
    return os.environ["TEST_DATABASE_URL"]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback, not started: a test starts it when mail should get through."""
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def gunicorn(request, tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    """Start the app under gunicorn: gunicorn(database_url, mail_port, workers=3) -> a running server.

    The servers are stopped before the `app` fixture empties the tables, so TRUNCATE never waits
    for a worker's open transaction.
    """
    if "app" in request.fixturenames:
        request.getfixturevalue("app")  # set up first, so torn down after the servers stop
    servers: list[Gunicorn] = []

    def start(database_url: str, mail_port: int, workers: int = 3, **env: str) -> Gunicorn:
        log_path = tmp_path / f"gunicorn-{len(servers)}.log"
        server = Gunicorn({**app_env(database_url, mail_port), **env}, log_path, workers)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, so restarting it disturbs nobody else."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin")
    server = PrivatePostgres(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()
