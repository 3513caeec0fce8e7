"""Mail that cannot stall the site and is never left behind, against gunicorn -w 2 in the default
delivery mode (OUTBOX_DELIVERY=thread), on SQLite and on PostgreSQL (issue 13).

5. An SMTP server that accepts connections and never answers, during 40 invites: every request
   answers in under 5 s and other pages keep answering; once a real SMTP server is back on that port,
   every invitation arrives exactly once, with no further request.
6. 300 invitations in one action ("Invite all") all arrive with no further action.
7. A message refused once (nothing listening) arrives on its retry, with no other activity.

MAIL_TIMEOUT (SMTP connect/command timeout, seconds) and OUTBOX_RETRY_SECONDS (the first retry delay,
doubling after) are set to 1 so that the tests take seconds, not minutes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from .scenario import (
    OWNER_PASSWORD,
    OwnerBrowser,
    describe,
    is_invitation,
    make_calendar,
    make_guests,
    no_tracebacks,
    outbox_rows,
    server_errors,
)
from .support import HangingSmtp, Outcome, summary

pytestmark = pytest.mark.slow

WORKERS = 2
FAST_MAIL = {"OUTBOX_DELIVERY": "thread", "MAIL_TIMEOUT": "1", "OUTBOX_RETRY_SECONDS": "1"}
BUDGET = 5.0  # seconds any request may take while the mail server misbehaves
CLIENT_TIMEOUT = 8.0  # give up on a request a little after the budget, so a hang costs seconds


def _invitations(sink) -> Counter:
    """(recipient, subject) -> count, for the invitations the sink received."""
    return Counter({key: n for key, n in sink.envelopes().items() if is_invitation(key[1])})


def _wait_for_invitations(sink, recipients: set[str], timeout: float) -> Counter:
    """Poll the sink (no HTTP) until every recipient got an invitation or the timeout passes; then
    give a duplicate a moment to show up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {recipient for recipient, _ in _invitations(sink)} >= recipients:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    return _invitations(sink)


def _exactly_once(received: Counter, recipients: set[str]) -> tuple[list[str], list]:
    got = Counter(recipient for recipient, _ in received.elements())
    missing = sorted(recipients - set(got))
    twice = sorted((r, n) for r, n in got.items() if n > 1)
    return missing, twice


# ---- 5. a hanging SMTP server --------------------------------------------------------------------

INVITES = 40
INVITERS = 4


def test_hanging_smtp_server_stalls_nothing_and_every_invitation_arrives_once_it_is_back(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = make_user(password=OWNER_PASSWORD)
    calendar_id, _slots = make_calendar(owner, name="Hang day", slots=6)
    guests = make_guests(owner, None, INVITES, "hangee")  # contacts, not invited yet
    recipients = {guest.email for guest in guests}
    hanging = HangingSmtp(smtp_sink.port).start()  # the port the real sink takes over later
    try:
        server = gunicorn(database_url, smtp_sink.port, workers=WORKERS, **FAST_MAIL)
        owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)
        invites: list[Outcome] = []
        pages: list[Outcome] = []
        lock = threading.Lock()
        give_up = threading.Event()  # after a few blown budgets: the site is stalled, stop piling on
        blown = []

        def record(into: list[Outcome], outcome: Outcome) -> None:
            with lock:
                into.append(outcome)
                if outcome.status is None or outcome.status >= 500 or outcome.seconds >= BUDGET:
                    blown.append(outcome)
                    if len(blown) >= 3:
                        give_up.set()

        def inviter(n: int) -> None:
            for guest in guests[n::INVITERS]:
                if give_up.is_set():
                    return
                record(invites, owner_browser.post(f"/calendars/{calendar_id}/invitees", label="invite",
                                                   timeout=CLIENT_TIMEOUT, contact_id=str(guest.contact_id)))

        inviting = [threading.Thread(target=inviter, args=(n,), daemon=True) for n in range(INVITERS)]
        began = time.monotonic()
        for thread in inviting:
            thread.start()
        # Meanwhile, the owner keeps browsing: the calendar and the contacts pages must keep answering.
        paths = [f"/calendars/{calendar_id}/", "/contacts/"]
        while any(t.is_alive() for t in inviting) and not give_up.is_set():
            for path in paths:
                record(pages, owner_browser.get(path, label=path, timeout=CLIENT_TIMEOUT))
            time.sleep(0.1)
        for thread in inviting:
            thread.join(CLIENT_TIMEOUT * (INVITES // INVITERS + 1))
        for path in paths * 2:  # and after the last invite, with every invitation stuck on the server
            if not give_up.is_set():
                record(pages, owner_browser.get(path, label=path, timeout=CLIENT_TIMEOUT))
        print(f"\n{len(invites)} invites with a hanging SMTP server in {time.monotonic() - began:.1f}s "
              f"({hanging.accepted} SMTP connections accepted): {summary(invites)}\n"
              f"  other pages meanwhile: {summary(pages)}")
        slow = [o for o in invites + pages if o.status is None or o.status >= 500 or o.seconds >= BUDGET]
        assert len(invites) == INVITES and not slow, (
            f"{len(invites)} of {INVITES} invites made; {len(slow)} requests failed or took {BUDGET:g}s or "
            f"more: {[(o.label, o.status, o.error, round(o.seconds, 1)) for o in slow[:6]]}")
        assert all(o.status == 302 for o in invites), Counter(o.status for o in invites)
        assert all(o.status == 200 for o in pages), Counter(o.status for o in pages)
    finally:
        hanging.stop()

    # The real SMTP server comes back on the same port. No request is made from here on.
    smtp_sink.start()
    back = time.monotonic()
    received = _wait_for_invitations(smtp_sink, recipients, timeout=60)
    missing, twice = _exactly_once(received, recipients)
    rows = outbox_rows()
    print(f"  after SMTP came back: {INVITES - len(missing)} of {INVITES} invitations arrived in "
          f"{time.monotonic() - back:.1f}s; outbox {dict(Counter(r.status for r in rows))}")
    assert not missing and not twice, (
        f"{len(missing)} invitations never arrived, {len(twice)} arrived more than once {twice[:3]}; "
        f"outbox: {[(r.status, r.attempts, r.last_error) for r in rows[:3]]}")
    no_tracebacks(server)


# ---- 6. 300 invitations in one action -----------------------------------------------------------

MANY = 300


def test_three_hundred_invitations_in_one_action_all_arrive_with_no_further_action(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = make_user(password=OWNER_PASSWORD)
    calendar_id, _slots = make_calendar(owner, name="Big day", slots=6)
    guests = make_guests(owner, None, MANY, "crowd")
    recipients = {guest.email for guest in guests}
    smtp_sink.start()
    server = gunicorn(database_url, smtp_sink.port, workers=WORKERS, **FAST_MAIL)
    owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)

    invite_all = owner_browser.post(f"/calendars/{calendar_id}/invitees", label="invite all", all="1")
    print(f"\n'Invite all' ({MANY} contacts) answered {invite_all.status} in {invite_all.seconds:.1f}s")
    assert not server_errors([invite_all]), describe([invite_all])
    assert invite_all.status == 302, describe([invite_all])

    began = time.monotonic()
    received = _wait_for_invitations(smtp_sink, recipients, timeout=90)
    missing, twice = _exactly_once(received, recipients)
    rows = outbox_rows()
    print(f"  {MANY - len(missing)} of {MANY} invitations arrived in {time.monotonic() - began:.1f}s; "
          f"outbox {dict(Counter(r.status for r in rows))}")
    assert not missing and not twice, (
        f"{len(missing)} of {MANY} invitations never arrived, {len(twice)} arrived more than once")
    no_tracebacks(server)


# ---- 7. refused once, delivered on the retry ----------------------------------------------------

def test_a_message_refused_once_arrives_on_its_retry_with_no_other_activity(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = make_user(password=OWNER_PASSWORD)
    calendar_id, _slots = make_calendar(owner, name="Retry day", slots=4)
    [guest] = make_guests(owner, None, 1, "retried")
    # Nothing listens on the sink's port yet: the SMTP server refuses connections.
    server = gunicorn(database_url, smtp_sink.port, workers=WORKERS, **FAST_MAIL)
    owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)

    invite = owner_browser.post(f"/calendars/{calendar_id}/invitees", label="invite",
                                contact_id=str(guest.contact_id))
    assert invite.status == 302, describe([invite])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # read the outbox (no HTTP) until the first try has failed
        rows = outbox_rows()
        if rows and rows[0].attempts >= 1:
            break
        time.sleep(0.05)
    assert len(rows) == 1 and rows[0].attempts >= 1 and rows[0].status == "pending", rows
    print(f"\nfirst try refused: {rows[0].last_error}")

    smtp_sink.start()  # SMTP is back; nothing else happens
    back = time.monotonic()
    received = _wait_for_invitations(smtp_sink, {guest.email}, timeout=15)
    missing, twice = _exactly_once(received, {guest.email})
    rows = outbox_rows()
    print(f"  after SMTP came back: {'arrived' if not missing else 'not arrived'} within "
          f"{time.monotonic() - back:.1f}s; outbox {[(r.status, r.attempts, r.last_error) for r in rows]}")
    assert not missing, f"the invitation did not arrive within 15 s of SMTP coming back: {rows}"
    assert not twice, f"the invitation arrived twice: {twice}"
    no_tracebacks(server)
