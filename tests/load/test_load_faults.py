"""Load and faults against real processes on loopback: the app under gunicorn with several workers,
PostgreSQL, and an SMTP server that may be missing (issue 8, item 5).

1. 50 invitees submit their picks at the same moment: no pick lost, no 500.
2. 100 requests race to confirm the same slot: exactly one meeting on it each round.
3. The database restarts mid-run: requests fail cleanly, then succeed again without restarting gunicorn.
4. SMTP is down for the whole run: every action still works, every mail is delivered once it is back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import re
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from config import TestConfig
from oneonone import create_app
from oneonone.accounts.models import User
from oneonone.accounts.services import issue_api_token
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.contacts.models import Contact
from oneonone.extensions import db as _db
from oneonone.outbox import PENDING, SENT, OutboxMessage
from oneonone.scheduling.links import new_link_token
from oneonone.scheduling.models import IF_NEED_BE, PREFERRED, Event, Invitee
from oneonone.transaction import unit_of_work

from .support import (
    HTTP_TIMEOUT,
    OUR_500_PAGE,
    FlaskCommands,
    Outcome,
    browser,
    csrf_token,
    run_flask_concurrently,
    run_together,
    sign_in,
    summary,
    timed,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OWNER_PASSWORD = "load-test-password"
ANSWERS = [PREFERRED, IF_NEED_BE, ""]  # "" is "can't"


def _answer_fields(answer: dict[int, str]) -> dict[str, str]:
    """The pick form's fields for an answer; all "can't" is sent as a person must send it: with
    "None of these times work for me" ticked (an empty answer is refused)."""
    fields = {f"slot-{slot_id}": value for slot_id, value in answer.items()}
    return fields if any(answer.values()) else {**fields, "none_work": "1"}


def _owner(make_user) -> User:
    return make_user(password=OWNER_PASSWORD)


def _owner_browser_state(base_url: str, owner_email: str, calendar_id: int) -> tuple[dict[str, str], str]:
    """Sign the owner in over HTTP; returns (session cookies, a CSRF token for their forms)."""
    with browser() as session:
        sign_in(session, base_url, owner_email, OWNER_PASSWORD)
        page = session.get(f"{base_url}/calendars/{calendar_id}/invitees", timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.status_code
        return session.cookies.get_dict(), csrf_token(page.text)


def _picks(invitee_ids: list[int]) -> dict[int, dict[int, str]]:
    """Each invitee's answer as stored: invitee id -> {slot id: preference}."""
    picked_by = sa.and_(Event.calendar_id == Invitee.calendar_id, Event.contact_id == Invitee.contact_id)
    rows = _db.session.execute(
        sa.select(Invitee.id, Event.timeslot_id, Event.preference).join(Event, picked_by)
        .where(Invitee.id.in_(invitee_ids))).all()
    _db.session.rollback()
    stored: dict[int, dict[int, str]] = {i: {} for i in invitee_ids}
    for invitee_id, slot_id, preference in rows:
        stored[invitee_id][slot_id] = preference
    return stored


def _no_tracebacks(server) -> None:
    """No request ended in an unhandled exception (a 500) in any worker."""
    log = server.log(tail=None)
    assert "Traceback" not in log, log[log.index("Traceback"):][:4000]


# ---- 1. fifty invitees at once ----------------------------------------------------------------

def test_fifty_invitees_submit_picks_at_once_and_none_is_lost(
        app, db, make_user, make_calendar, make_timeslot, make_contact, make_invitee, make_event,
        gunicorn, smtp_sink, test_database_url):
    owner = _owner(make_user)
    calendar = make_calendar(owner=owner)
    slots = [make_timeslot(calendar, f"{9 + n % 4:02d}:00", day=n // 4, high_priority=n % 3 == 0)
             for n in range(12)]
    invitees, tokens = [], []
    for n in range(50):
        contact = make_contact(owner=owner, email=f"picker{n}@example.org")
        invitee, token = make_invitee(calendar, contact)
        invitees.append(invitee.id)
        tokens.append(token)
        if n % 2 == 0:  # half of them change an earlier answer: updates and deletes, not only inserts
            make_event(slots[0], contact, IF_NEED_BE)
            make_event(slots[1 + n % 11], contact, PREFERRED)
    smtp_sink.start()
    server = gunicorn(test_database_url, smtp_sink.port)

    for wave in range(2):
        rng = random.Random(wave)
        answers = [{slot.id: rng.choice(ANSWERS) for slot in slots} for _ in invitees]

        def submit(i: int, barrier, answers=answers) -> Outcome:
            with browser() as session:
                page = session.get(f"{server.url}/pick/{tokens[i]}", timeout=HTTP_TIMEOUT)
                assert page.status_code == 200, page.status_code
                form = {"csrf_token": csrf_token(page.text), "tz": "Europe/Berlin", **_answer_fields(answers[i])}
                barrier.wait()
                return timed("pick", lambda: session.post(f"{server.url}/pick/{tokens[i]}", data=form,
                                                          allow_redirects=False, timeout=HTTP_TIMEOUT))

        began = time.monotonic()
        outcomes = run_together(len(invitees), submit)
        print(f"\nscenario 1, wave {wave + 1}: 50 concurrent POST /pick/<token> in "
              f"{time.monotonic() - began:.2f}s: {summary(outcomes)}")
        assert [o.status for o in outcomes] == [302] * len(invitees), [
            (o.status, o.error, o.body[:300]) for o in outcomes if o.status != 302]

        stored = _picks(invitees)
        for i, invitee_id in enumerate(invitees):
            posted = {slot_id: value for slot_id, value in answers[i].items() if value}
            assert stored[invitee_id] == posted, f"invitee {i} lost picks in wave {wave + 1}"
        responded = db.session.execute(
            sa.select(Invitee.responded_at, Invitee.timezone).where(Invitee.id.in_(invitees))).all()
        db.session.rollback()
        assert all(r.responded_at is not None and r.timezone == "Europe/Berlin" for r in responded)
    _no_tracebacks(server)


# ---- 2. a hundred racing confirmations -----------------------------------------------------------

def test_hundred_racing_confirmations_leave_exactly_one_meeting_on_the_slot(
        app, db, make_user, make_calendar, make_timeslot, gunicorn, smtp_sink, test_database_url):
    owner = _owner(make_user)
    calendar = make_calendar(owner=owner)
    slots = [make_timeslot(calendar, f"{9 + n}:00") for n in range(3)]
    contacts = [Contact(owner_id=owner.id, first_name=f"Racer{n}", last_name="Person",
                        email=f"racer{n}@example.org") for n in range(100)]
    db.session.add_all(contacts)
    db.session.flush()
    invitees = [Invitee(calendar_id=calendar.id, contact_id=c.id, token_hash=new_link_token()[1])
                for c in contacts]
    db.session.add_all(invitees)
    db.session.flush()
    events = {(c.id, s.id): Event(calendar_id=calendar.id, timeslot_id=s.id, contact_id=c.id,
                                  preference=PREFERRED) for c in contacts for s in slots}
    db.session.add_all(events.values())
    db.session.commit()
    calendar_id, invitee_ids, contact_ids = calendar.id, [i.id for i in invitees], [c.id for c in contacts]
    event_ids = {key: e.id for key, e in events.items()}
    with unit_of_work():
        api_token = issue_api_token(owner)
    smtp_sink.start()
    server = gunicorn(test_database_url, smtp_sink.port)
    cookies, form_token = _owner_browser_state(server.url, owner.email, calendar_id)

    for slot, mode in zip(slots, ["form", "api", "mixed"], strict=True):
        watermark = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(OutboxMessage.id), 0)))

        def race(i: int, barrier, slot_id=slot.id, mode=mode) -> Outcome:
            if mode == "api" or (mode == "mixed" and i % 2):
                with browser() as session:
                    barrier.wait()
                    return timed("api", lambda: session.put(
                        f"{server.url}/api/events/{event_ids[(contact_ids[i], slot_id)]}/",
                        json={"confirmed": True}, headers={"Authorization": f"Bearer {api_token}"},
                        timeout=HTTP_TIMEOUT))
            with browser(cookies) as session:
                barrier.wait()
                return timed("form", lambda: session.post(
                    f"{server.url}/calendars/{calendar_id}/invitees/{invitee_ids[i]}/confirm",
                    data={"timeslot_id": str(slot_id), "csrf_token": form_token},
                    allow_redirects=False, timeout=HTTP_TIMEOUT))

        began = time.monotonic()
        outcomes = run_together(len(invitee_ids), race)
        print(f"\nscenario 2, {mode} round: 100 concurrent confirmations of slot {slot.id} in "
              f"{time.monotonic() - began:.2f}s: {summary(outcomes)}")
        for outcome in outcomes:
            expected = {302} if outcome.label == "form" else {200, 409}
            assert outcome.status in expected, (outcome.label, outcome.status, outcome.error,
                                                outcome.body[:500])
        # A form confirmation lands on the invitees page (confirmed) or, once another racer holds
        # the slot, on the page that names them first; never back on the sign-in page.
        landed = Counter("invitees" if o.location.endswith(f"/calendars/{calendar_id}/invitees") else
                         "asked" if f"/confirm?timeslot_id={slot.id}" in o.location else o.location
                         for o in outcomes if o.label == "form")
        assert set(landed) <= {"invitees", "asked"}, landed

        winners = db.session.scalars(
            sa.select(Event.contact_id).where(Event.timeslot_id == slot.id, Event.confirmed)).all()
        per_contact = db.session.execute(
            sa.select(Event.contact_id, sa.func.count())
            .where(Event.calendar_id == calendar_id, Event.confirmed).group_by(Event.contact_id)).all()
        mail = db.session.execute(
            sa.select(OutboxMessage.recipient, OutboxMessage.subject)
            .where(OutboxMessage.id > watermark).order_by(OutboxMessage.id)).all()
        db.session.rollback()
        assert len(winners) == 1, f"{len(winners)} confirmed meetings on slot {slot.id}"
        assert all(count == 1 for _, count in per_contact)
        # Everyone's last email of the round tells the truth: the winner has the meeting, the rest not.
        last = dict(mail)  # recipient -> subject of their last email
        winner_email = f"racer{contact_ids.index(winners[0])}@example.org"
        assert last[winner_email].startswith(("Confirmed:", "Moved:")), last[winner_email]
        assert all(subject.startswith("Cancelled:") for r, subject in last.items() if r != winner_email)

    # Every email queued by the races reaches the SMTP server once (several workers deliver at once).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statuses = Counter(db.session.scalars(sa.select(OutboxMessage.status)).all())
        db.session.rollback()
        if set(statuses) == {SENT}:
            break
        time.sleep(0.2)
    assert set(statuses) == {SENT}, statuses
    queued = Counter((r.lower(), s) for r, s in db.session.execute(
        sa.select(OutboxMessage.recipient, OutboxMessage.subject)).all())
    db.session.rollback()
    _wait_for_mail(smtp_sink, sum(queued.values()))
    assert smtp_sink.envelopes() == queued
    print(f"scenario 2: {sum(queued.values())} meeting emails queued and delivered once each")
    _no_tracebacks(server)


def _wait_for_mail(sink, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # anything beyond `count` (a duplicate) would arrive now


# ---- 3. the database restarts mid-run ------------------------------------------------------------

def _seed_private_database(database_url: str):
    """Build the schema with the real migrations and add an owner, a calendar and three invitees."""
    from flask_migrate import upgrade

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        owner = User(first_name="Restart", last_name="Owner", username="restart",
                     email="restart@example.com", timezone="UTC", email_verified_at=dt.datetime.now(dt.UTC))
        owner.set_password(OWNER_PASSWORD)
        calendar = Calendar(owner=owner, name="Restart day", start_date=dt.date(2030, 3, 4),
                            end_date=dt.date(2030, 3, 8), timezone="UTC")
        slots = [Timeslot(calendar=calendar, start_time=dt.datetime(2030, 3, 4, 9 + n, tzinfo=dt.UTC),
                          end_time=dt.datetime(2030, 3, 4, 9 + n, 30, tzinfo=dt.UTC)) for n in range(6)]
        tokens = []
        for n in range(3):
            contact = Contact(owner=owner, first_name=f"Steady{n}", last_name="Person",
                              email=f"steady{n}@example.org")
            token, token_hash = new_link_token()
            _db.session.add(Invitee(calendar=calendar, contact=contact, token_hash=token_hash))
            tokens.append(token)
        _db.session.add_all([owner, calendar, *slots])
        _db.session.commit()
        seeded = {"owner": owner.email, "calendar_id": calendar.id, "slot_ids": [s.id for s in slots],
                  "tokens": tokens}
        _db.session.remove()
        _db.engine.dispose()
    return app, seeded


def test_database_restart_fails_cleanly_and_gunicorn_recovers_without_restart(
        private_postgres, gunicorn, smtp_sink):
    database_url = private_postgres.create_database("oneonone_restart")
    app, seeded = _seed_private_database(database_url)
    smtp_sink.start()
    server = gunicorn(database_url, smtp_sink.port)
    workers_before = server.worker_pids()
    calendar_id, slot_ids = seeded["calendar_id"], seeded["slot_ids"]
    stop = threading.Event()
    ready = threading.Barrier(5)  # four clients and this thread
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def record(outcome: Outcome) -> None:
        with lock:
            outcomes.append(outcome)

    def client(setup, step) -> None:
        """Set up while the database is up, then repeat `step` until told to stop."""
        try:
            state = setup()
            ready.wait(60)
            while not stop.is_set():
                step(state)
                time.sleep(0.02)
        except BaseException:
            ready.abort()
            raise

    def invitee_client(n: int):
        url = f"{server.url}/pick/{seeded['tokens'][n]}"
        rng = random.Random(n)

        def setup():
            session = sessions.enter_context(browser())
            return session, csrf_token(session.get(url, timeout=HTTP_TIMEOUT).text)

        def step(state) -> None:
            session, token = state
            answer = {slot_id: rng.choice(ANSWERS) for slot_id in slot_ids}
            form = {"csrf_token": token, **_answer_fields(answer)}
            record(timed("pick POST", lambda: session.post(url, data=form, allow_redirects=False,
                                                           timeout=HTTP_TIMEOUT), invitee=n, answer=answer))
            record(timed("pick GET", lambda: session.get(url, timeout=HTTP_TIMEOUT)))

        return setup, step

    def owner_client():
        def setup():
            session = sessions.enter_context(browser())
            sign_in(session, server.url, seeded["owner"], OWNER_PASSWORD)
            return session

        def step(session) -> None:
            record(timed("owner GET", lambda: session.get(f"{server.url}/calendars/{calendar_id}/invitees",
                                                          allow_redirects=False, timeout=HTTP_TIMEOUT)))

        return setup, step

    with contextlib.ExitStack() as sessions:
        threads = [threading.Thread(target=client, args=invitee_client(n), daemon=True) for n in range(3)]
        threads.append(threading.Thread(target=client, args=owner_client(), daemon=True))
        for thread in threads:
            thread.start()
        ready.wait(60)
        serving = time.monotonic()
        _until(lambda: _seen(outcomes, lock, serving), at_least=1.0)
        stopping = time.monotonic()
        private_postgres.stop("fast")  # closes every worker's pooled connections from the server side
        down = time.monotonic()
        _until(lambda: _seen(outcomes, lock, down), at_least=2.0)
        starting = time.monotonic()
        private_postgres.start()
        up = time.monotonic()
        _until(lambda: _seen(outcomes, lock, up), at_least=2.0)
        stop.set()
        for thread in threads:
            thread.join(HTTP_TIMEOUT + 5)
        assert not any(t.is_alive() for t in threads), "a client hung"

    before = [o for o in outcomes if o.started + o.seconds < stopping]
    while_down = [o for o in outcomes if o.started >= down and o.started + o.seconds <= starting]
    after = [o for o in outcomes if o.started >= up]
    in_flight = [o for o in outcomes if o not in before and o not in while_down and o not in after]
    print(f"\nscenario 3: stop took {down - stopping:.2f}s, down {starting - down:.2f}s, "
          f"start took {up - starting:.2f}s")
    print(f"  before: {summary(before)}\n  while down: {summary(while_down)}\n"
          f"  across a stop or start: {summary(in_flight)}\n  after: {summary(after)}")
    for label in ("pick POST", "pick GET", "owner GET"):
        print(f"  while down, {label}: {summary([o for o in while_down if o.label == label])}")
    cut_off = [o for o in in_flight if o.status == 500 and OUR_500_PAGE not in o.body]
    owner_down = [o for o in while_down if o.label == "owner GET"]
    owner_bare = [o for o in owner_down if OUR_500_PAGE not in o.body]
    print(f"  {len(cut_off)} request(s) cut off by the stop got gunicorn's bare 500 instead of our page; "
          f"{len(owner_bare)} of {len(owner_down)} signed-in requests while down did too")

    assert not [o for o in outcomes if o.error], [o.error for o in outcomes if o.error][:5]
    assert before and while_down and after and owner_down
    assert all(o.status in (200, 302) for o in before), Counter(o.status for o in before)
    # While the database is down every request fails fast with a 500, no hang, no crash; the
    # invitee's pages show our error page.
    assert all(o.status == 500 for o in while_down), Counter(o.status for o in while_down)
    assert max(o.seconds for o in while_down) < 5.0
    assert all(OUR_500_PAGE in o.body for o in while_down if o.label != "owner GET"), [
        (o.label, o.body[:300]) for o in while_down if OUR_500_PAGE not in o.body][:1]
    assert all(o.status in (200, 302, 500) and o.seconds < 10.0 for o in in_flight)
    # ... and once it is back, every request succeeds again, served by the very same processes.
    assert all(o.status in (200, 302) for o in after), [
        (o.label, o.status) for o in after if o.status not in (200, 302)]
    assert server.alive() and server.worker_pids() == workers_before

    # No half-written answer: each invitee's stored picks are one whole answer they sent.
    with app.app_context():
        for n in range(3):
            invitee_id = _db.session.scalar(sa.select(Invitee.id).join(Contact).where(
                Contact.email == f"steady{n}@example.org"))
            stored = _picks([invitee_id])[invitee_id]
            posts = [o for o in outcomes if o.label == "pick POST" and o.extra["invitee"] == n]
            acknowledged = [i for i, o in enumerate(posts) if o.status == 302]
            assert acknowledged, f"invitee {n} never saved an answer"
            # the last acknowledged answer, or a later one whose reply was lost when the server went away
            candidates = [{slot_id: value for slot_id, value in o.extra["answer"].items() if value}
                          for o in posts[acknowledged[-1]:]]
            assert stored in candidates, f"invitee {n}'s stored picks are not an answer they sent"
        _db.session.remove()
        _db.engine.dispose()
    _no_tracebacks_except_database(server)
    # Signed-in visitors get our error page too (shown as to a signed-out visitor), and so do the
    # requests cut off by the stop.
    assert not owner_bare, f"{len(owner_bare)} of {len(owner_down)} signed-in requests got a bare 500"
    assert not cut_off, f"{len(cut_off)} request(s) cut off by the stop got a bare 500"


def _seen(outcomes: list[Outcome], lock: threading.Lock, since: float, count: int = 8) -> bool:
    """Whether `count` requests, one of them the owner's, started after `since` and are answered."""
    with lock:
        answered = [o for o in outcomes if o.started >= since]
    return len(answered) >= count and any(o.label == "owner GET" for o in answered)


def _until(condition, at_least: float, at_most: float = 30.0) -> None:
    """Let at least `at_least` seconds pass, then wait (up to `at_most`) for `condition`."""
    began = time.monotonic()
    while time.monotonic() - began < at_most:
        if time.monotonic() - began >= at_least and condition():
            return
        time.sleep(0.05)


def _no_tracebacks_except_database(server) -> None:
    """Only the database outage may leave tracebacks in gunicorn's log."""
    for entry in re.split(r"\n(?=\[\d{4}-\d\d-\d\d )", server.log(tail=None)):  # one per log line of gunicorn
        if "Traceback" in entry:
            assert "OperationalError" in entry or "psycopg" in entry, entry[-3000:]


# ---- 4. SMTP down for the whole run ------------------------------------------------------------

PICK_LINK = re.compile(r"/pick/([A-Za-z0-9_-]{20,})")


def _outbox() -> list:
    rows = _db.session.execute(sa.select(
        OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.status,
        OutboxMessage.attempts, OutboxMessage.claimed_by, OutboxMessage.last_error, OutboxMessage.body_text,
    ).order_by(OutboxMessage.id)).all()
    _db.session.rollback()
    return rows


def _settled(count: int, min_attempts: int, timeout: float = 20.0) -> list:
    """Wait until the outbox holds `count` messages, none claimed, each tried `min_attempts` times."""
    deadline = time.monotonic() + timeout
    while True:
        rows = _outbox()
        done = len(rows) == count and all(r.claimed_by is None and r.attempts >= min_attempts for r in rows)
        if done or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _delivered(count: int, timeout: float = 10.0) -> list:
    """Wait until the outbox holds `count` messages, all sent (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = _outbox()
        if (len(rows) == count and all(r.status == SENT for r in rows)) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _make_due_now() -> None:
    """Pretend the retry backoff has passed (the backoff policy is not what this test is about)."""
    _db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.status == PENDING)
                        .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    _db.session.commit()


def test_smtp_down_for_the_whole_run_then_every_mail_is_delivered_exactly_once(
        app, db, make_user, make_calendar, make_timeslot, make_contact, gunicorn, smtp_sink,
        test_database_url, tmp_path):
    owner = _owner(make_user)
    calendar = make_calendar(owner=owner)
    slot_ids = [make_timeslot(calendar, f"{9 + n}:00").id for n in range(4)]
    contacts = [make_contact(owner=owner, email=f"guest{n}@example.org") for n in range(24)]
    guests = [(c.id, c.email) for c in contacts]
    calendar_id, guest_emails = calendar.id, [email for _, email in guests]
    # Nothing listens on the sink's port until the end: SMTP is down.
    server = gunicorn(test_database_url, smtp_sink.port)
    cookies, token = _owner_browser_state(server.url, owner.email, calendar_id)
    base = f"{server.url}/calendars/{calendar_id}"
    outcomes: list[Outcome] = []

    def owner_post(path: str, **form) -> Outcome:
        with browser(cookies) as session:
            return timed(path, lambda: session.post(f"{base}{path}", data={"csrf_token": token, **form},
                                                    allow_redirects=False, timeout=HTTP_TIMEOUT))

    # The owner invites all 24 contacts from four tabs at once.
    def invite(i: int, barrier) -> Outcome:
        barrier.wait()
        return owner_post("/invitees", contact_id=[str(guest_id) for guest_id, _ in guests[i * 6:i * 6 + 6]])

    outcomes += run_together(4, invite)
    rows = _settled(24, min_attempts=1)
    assert len(rows) == 24 and all(r.status == PENDING for r in rows), [(r.status, r.attempts) for r in rows]
    assert all("refused" in (r.last_error or "").lower() for r in rows), rows[0].last_error
    links = {r.recipient: PICK_LINK.search(r.body_text).group(1) for r in rows}
    invitation_ids = {r.id for r in rows}

    # A cron `flask outbox deliver` runs into the dead SMTP server while twelve invitees answer
    # through the link in their (undelivered) email; picks send no mail.
    _make_due_now()  # the invitations are due for a second try
    cron = FlaskCommands(server.env, [("outbox", "deliver")], tmp_path)

    def answer(i: int, barrier) -> Outcome:
        url = f"{server.url}/pick/{links[guest_emails[i]]}"
        with browser() as session:
            form = {"csrf_token": csrf_token(session.get(url, timeout=HTTP_TIMEOUT).text),
                    f"slot-{slot_ids[i % 4]}": PREFERRED}
            barrier.wait()
            return timed("pick", lambda: session.post(url, data=form, allow_redirects=False,
                                                      timeout=HTTP_TIMEOUT))

    outcomes += run_together(12, answer)
    [cron_run] = cron.wait()
    print(f"\nscenario 4, `flask outbox deliver` with SMTP down ({cron_run.seconds:.1f}s): "
          f"{cron_run.output.strip().splitlines()[-1:]}")
    # Nothing can be sent. Which sender tries the due invitations again is a race by design: a
    # worker whose sender starts on its first request (here, an invitee's GET) tries them at once,
    # so the cron may find some or none of them still due; claims keep the tries apart.
    assert cron_run.returncode == 0 and "sent 0," in cron_run.output, cron_run.output
    invitee_ids = {contact_id: invitee_id for invitee_id, contact_id in db.session.execute(
        sa.select(Invitee.id, Invitee.contact_id).where(Invitee.calendar_id == calendar_id)).all()}
    db.session.rollback()

    # The owner confirms four meetings, reminds the twelve who did not answer and resends one link:
    # 4 confirmations, 12 reminders, 1 invitation more.
    for i in range(4):
        outcomes.append(owner_post(f"/invitees/{invitee_ids[guests[i][0]]}/confirm",
                                   timeslot_id=str(slot_ids[i])))
    outcomes.append(owner_post("/remind"))
    # Resend to one who answered and was not just reminded (a Resend within a minute of the reminder's
    # new link is a double click: nothing more is sent, test_load_races.py covers that).
    outcomes.append(owner_post(f"/invitees/{invitee_ids[guests[5][0]]}/resend"))
    print(f"scenario 4, actions with SMTP down: {summary(outcomes)}")
    assert [o.status for o in outcomes] == [302] * len(outcomes), [(o.label, o.status) for o in outcomes]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.calendar_id == calendar_id, Event.confirmed)) == 4
    db.session.rollback()

    expected = Counter(guest_emails)  # the invitations
    expected.update(guest_emails[:4])  # confirmations
    expected.update(guest_emails[12:])  # reminders
    expected.update([guest_emails[5]])  # the resent link
    rows = _settled(expected.total(), min_attempts=1)
    assert Counter(r.recipient for r in rows) == expected
    assert all(r.status == PENDING and "refused" in r.last_error.lower() for r in rows)
    assert all(r.attempts >= 2 for r in rows if r.id in invitation_ids), "tried again (cron or a sender)"

    # SMTP comes back. Two cron runs, a worker and the app's own sender (a link resent as soon as
    # the first message arrives) all deliver at the same time.
    smtp_sink.start()
    _make_due_now()
    began = time.monotonic()
    late: list[Outcome] = []
    resend = threading.Thread(target=lambda: late.append(
        _resend_once_mail_flows(smtp_sink, owner_post, invitee_ids[guests[6][0]])), daemon=True)
    resend.start()
    senders = [("outbox", "deliver"), ("outbox", "deliver", "--limit", "7"), ("outbox", "worker", "--once")]
    runs = run_flask_concurrently(server.env, senders, tmp_path)
    resend.join(HTTP_TIMEOUT * 2)
    assert [o.status for o in late] == [302]
    expected.update([guest_emails[6]])
    for run in runs:
        output = " | ".join(run.output.strip().splitlines())
        print(f"  flask {' '.join(run.args)} ({run.seconds:.1f}s): {output}")
        assert run.returncode == 0, run.output
    for _ in range(3):  # until empty, as an operator would run the cron line again
        rows = _delivered(expected.total())
        if all(r.status == SENT for r in rows):
            break
        _make_due_now()
        run_flask_concurrently(server.env, [("outbox", "deliver")], tmp_path)
    rows = _outbox()
    print(f"scenario 4: {len(rows)} messages delivered in {time.monotonic() - began:.1f}s "
          "after SMTP came back")
    assert all(r.status == SENT for r in rows), Counter(r.status for r in rows)
    _wait_for_mail(smtp_sink, expected.total())
    delivered = smtp_sink.envelopes()
    assert Counter(r.recipient for r in rows) == expected
    queued = Counter((r.recipient.lower(), r.subject) for r in rows)
    assert delivered == queued, "a message was lost or sent twice"
    message_ids = [m["Message-ID"] for m in smtp_sink.messages]
    assert len(set(message_ids)) == len(message_ids) == expected.total()
    _no_tracebacks(server)


def _resend_once_mail_flows(sink, owner_post, invitee_id: int) -> Outcome:
    """Resend a link as soon as the first message reaches the SMTP server, racing the CLI senders."""
    deadline = time.monotonic() + 60
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.01)
    return owner_post(f"/invitees/{invitee_id}/resend")

