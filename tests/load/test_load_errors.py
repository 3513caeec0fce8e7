"""A database broken under the running app (gunicorn -w 2): the 500 page shows an error reference,
the same id is in X-Request-ID, and gunicorn's log holds the traceback with that id (issue 13).
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import pytest
import requests
import sqlalchemy as sa

from oneonone.extensions import db as _db

from .scenario import OWNER_PASSWORD
from .support import HTTP_TIMEOUT, OUR_500_PAGE, sign_in

pytestmark = pytest.mark.slow

REFERENCE = re.compile(r"Error reference: <code[^>]*>([^<]+)</code>")


def _rename(table: str, to: str) -> None:
    with _db.engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE {table} RENAME TO {to}"))


def test_a_broken_database_leaves_the_traceback_and_the_request_id_in_the_log(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = make_user(password=OWNER_PASSWORD)
    smtp_sink.start()
    server = gunicorn(database_url, smtp_sink.port, workers=2)
    session = requests.Session()
    sign_in(session, server.url, owner.email, OWNER_PASSWORD)
    try:
        assert session.get(f"{server.url}/contacts/", timeout=HTTP_TIMEOUT).status_code == 200
        db.session.remove()
        _rename("contacts", "contacts_broken")
        try:
            generated = session.get(f"{server.url}/contacts/", timeout=HTTP_TIMEOUT)
            chosen = session.get(f"{server.url}/contacts/", headers={"X-Request-ID": "lb-7f3a9c"},
                                 timeout=HTTP_TIMEOUT)
        finally:
            _rename("contacts_broken", "contacts")
    finally:
        session.close()

    for response in (generated, chosen):
        assert response.status_code == 500 and OUR_500_PAGE in response.text
        [shown] = REFERENCE.findall(response.text)
        assert shown == response.headers["X-Request-ID"]
    assert chosen.headers["X-Request-ID"] == "lb-7f3a9c"  # the load balancer's id, honoured
    log = server.log(tail=None)
    for response in (generated, chosen):
        request_id = response.headers["X-Request-ID"]
        entry = next((line for line in log.splitlines() if request_id in line and "GET /contacts/" in line),
                     None)
        assert entry is not None, f"no log line names request {request_id}:\n{log[-3000:]}"
        after = log[log.index(entry):]
        assert "Traceback" in after[:6000] and "contacts" in after[:6000], after[:3000]
