"""Races against gunicorn -w 2, on SQLite and on PostgreSQL (issue 13, "races without 500s").

1. An invitee saving "can't" everywhere while the owner confirms them, 40 times: no 500, and what the
   invitee was told by email matches whether a meeting stands.
2. 16 simultaneous submissions of one pick link: no 500, the stored answer is one that was sent.
3. 16 simultaneous confirmations over 8 invitees and 2 slots: no 500, at most one meeting per slot and
   per invitee, and the emails match the final state.
4. A double-clicked Resend, and Resend together with Remind: no 500, one new link mailed, the old link
   says it was replaced, the mailed link works.
5. 12 simultaneous sign-ups with one new address: all answer alike, one account, one verification
   email; the others become "someone tried to sign up" notices to it (issue 16).

Every request is built first and fired from threads that meet at one barrier (support.run_together).
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from oneonone.accounts.models import User

from .scenario import (
    OWNER_PASSWORD,
    REPLACED,
    OwnerBrowser,
    confirmed_slots,
    describe,
    drain_outbox,
    is_invitation,
    is_reminder,
    mailed_links,
    make_calendar,
    make_guests,
    meeting_mail,
    no_tracebacks,
    server_errors,
    stored_answer,
    subjects_by_recipient,
)
from .support import HTTP_TIMEOUT, Outcome, browser, csrf_token, run_together, summary, timed

pytestmark = pytest.mark.slow

WORKERS = 2


def _owner(make_user):
    return make_user(password=OWNER_PASSWORD)


def _start(gunicorn, database_url, smtp_sink):
    smtp_sink.start()
    return gunicorn(database_url, smtp_sink.port, workers=WORKERS)


def _pick_session(server, token: str) -> tuple[requests.Session, str]:
    """An invitee's browser on their pick page: (session, CSRF token). The caller closes the session."""
    session = requests.Session()
    page = session.get(f"{server.url}/pick/{token}", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, (page.status_code, page.text[:500])
    return session, csrf_token(page.text)


def _mail_consistent(subjects: Counter, standing: bool) -> bool:
    """A standing meeting: one "Confirmed" more than "Cancelled"; none: each "Confirmed" was cancelled."""
    confirmed, _moved, cancelled = meeting_mail(subjects)
    return confirmed - cancelled == (1 if standing else 0)


# ---- 1. answer "can't" while the owner confirms -------------------------------------------------

ROUNDS = 40


def test_answer_racing_confirmation_never_loses_a_meeting_or_misinforms_the_invitee(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = _owner(make_user)
    calendar_id, slot_ids = make_calendar(owner, slots=2 * ROUNDS)
    # Round r's invitee picked slots 2r (preferred) and 2r+1: no round touches another's slots.
    guests = make_guests(owner, calendar_id, ROUNDS, "answerer",
                         picks=[slot_ids[2 * r:2 * r + 2] for r in range(ROUNDS)])
    server = _start(gunicorn, database_url, smtp_sink)
    owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)
    cant_everywhere = {"tz": "UTC", "none_work": "1", **{f"slot-{slot_id}": "" for slot_id in slot_ids}}

    outcomes: list[Outcome] = []
    began = time.monotonic()
    for guest in guests:
        session, token = _pick_session(server, guest.token)
        try:
            def race(i: int, barrier, guest=guest, session=session, token=token) -> Outcome:
                barrier.wait()
                if i == 0:
                    return timed("answer", lambda: session.post(
                        f"{server.url}/pick/{guest.token}", data={"csrf_token": token, **cant_everywhere},
                        allow_redirects=False, timeout=HTTP_TIMEOUT))
                return owner_browser.post(f"/calendars/{calendar_id}/invitees/{guest.invitee_id}/confirm",
                                          label="confirm", timeslot_id=str(guest.slot_ids[0]))

            outcomes += run_together(2, race)
        finally:
            session.close()
    print(f"\n{ROUNDS} answer-vs-confirm races in {time.monotonic() - began:.1f}s: "
          f"answers {summary([o for o in outcomes if o.label == 'answer'])}; "
          f"confirms {summary([o for o in outcomes if o.label == 'confirm'])}")

    statuses = drain_outbox(smtp_sink)
    standing = {contact_id for contact_id, _ in confirmed_slots(calendar_id)}
    received = subjects_by_recipient(smtp_sink)
    told = Counter()
    wrong = []
    for guest in guests:
        subjects = received.get(guest.email, Counter())
        confirmed, _moved, cancelled = meeting_mail(subjects)
        told[(guest.contact_id in standing, confirmed, cancelled)] += 1
        if not _mail_consistent(subjects, guest.contact_id in standing):
            wrong.append((guest.email, "meeting stands" if guest.contact_id in standing else "no meeting",
                          dict(subjects)))
    print(f"  outbox {dict(statuses)}; (meeting stands, Confirmed, Cancelled) per invitee: {dict(told)}")
    failed = server_errors(outcomes)
    assert not failed, (f"{len(failed)} of {len(outcomes)} requests answered 5xx "
                        f"({Counter(o.label for o in failed)}): {describe(failed, 2)}")
    assert not wrong, f"{len(wrong)} of {ROUNDS} invitees were told something else than what stands: {wrong[:5]}"
    no_tracebacks(server)


# ---- 2. one pick link submitted 16 times at once ------------------------------------------------

SUBMISSIONS = 16
SUBMISSION_ROUNDS = 3


def test_sixteen_simultaneous_submissions_of_one_link_leave_one_of_the_answers(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = _owner(make_user)
    calendar_id, slot_ids = make_calendar(owner, slots=6)
    [guest] = make_guests(owner, calendar_id, 1, "submitter", picks=[slot_ids[:2]])
    server = _start(gunicorn, database_url, smtp_sink)
    url = f"{server.url}/pick/{guest.token}"
    rng = random.Random(13)

    outcomes: list[Outcome] = []
    wrong = []
    for wave in range(SUBMISSION_ROUNDS):
        answers: list[dict[int, str]] = []
        while len(answers) < SUBMISSIONS:  # 16 different answers, each with at least one pick
            answer = {slot_id: rng.choice(["preferred", "if_need_be", ""]) for slot_id in slot_ids}
            if any(answer.values()) and answer not in answers:
                answers.append(answer)

        def submit(i: int, barrier, answers=answers) -> Outcome:
            session, token = _pick_session(server, guest.token)
            try:
                form = {"csrf_token": token, "tz": "UTC",
                        **{f"slot-{slot_id}": value for slot_id, value in answers[i].items()}}
                barrier.wait()
                return timed("submit", lambda: session.post(url, data=form, allow_redirects=False,
                                                            timeout=HTTP_TIMEOUT), answer=i)
            finally:
                session.close()

        began = time.monotonic()
        wave_outcomes = run_together(SUBMISSIONS, submit)
        outcomes += wave_outcomes
        print(f"\nwave {wave + 1}: {SUBMISSIONS} simultaneous POST /pick/<token> in "
              f"{time.monotonic() - began:.2f}s: {summary(wave_outcomes)}")
        stored = stored_answer(calendar_id, guest.contact_id)
        saved = [{slot_id: v for slot_id, v in answers[o.extra["answer"]].items() if v}
                 for o in wave_outcomes if o.status == 302]
        if not saved or stored not in saved:
            wrong.append((wave + 1, stored, f"{len(saved)} acknowledged"))

    failed = server_errors(outcomes)
    assert not failed, (f"{len(failed)} of {len(outcomes)} submissions answered 5xx: {describe(failed, 2)}")
    assert not wrong, f"the stored answer is not one of the acknowledged submissions: {wrong}"
    no_tracebacks(server)


# ---- 3. 16 confirmations over 8 invitees and 2 slots ------------------------------------------

CONFIRM_ROUNDS = 3
CONFIRM_INVITEES = 8


def test_sixteen_simultaneous_confirmations_leave_one_meeting_per_slot_and_truthful_mail(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = _owner(make_user)
    calendar_id, slot_ids = make_calendar(owner, slots=2 * CONFIRM_ROUNDS)
    rounds = []
    for r in range(CONFIRM_ROUNDS):  # each round: its own 8 invitees, who all picked its own 2 slots
        pair = slot_ids[2 * r:2 * r + 2]
        rounds.append((pair, make_guests(owner, calendar_id, CONFIRM_INVITEES, f"confirmee{r}x",
                                         picks=[pair] * CONFIRM_INVITEES)))
    server = _start(gunicorn, database_url, smtp_sink)
    owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)

    outcomes: list[Outcome] = []
    for pair, guests in rounds:
        requests_ = [(guest, slot_id) for guest in guests for slot_id in pair]

        def confirm(i: int, barrier, requests_=requests_) -> Outcome:
            guest, slot_id = requests_[i]
            barrier.wait()
            return owner_browser.post(f"/calendars/{calendar_id}/invitees/{guest.invitee_id}/confirm",
                                      label="confirm", timeslot_id=str(slot_id))

        began = time.monotonic()
        round_outcomes = run_together(len(requests_), confirm)
        outcomes += round_outcomes
        print(f"\n16 simultaneous confirmations in {time.monotonic() - began:.2f}s: {summary(round_outcomes)}")

    statuses = drain_outbox(smtp_sink)
    meetings = confirmed_slots(calendar_id)
    received = subjects_by_recipient(smtp_sink)
    per_slot = Counter(slot_id for _, slot_id in meetings)
    per_invitee = Counter(contact_id for contact_id, _ in meetings)
    standing = set(per_invitee)
    wrong = []
    for _pair, guests in rounds:
        for guest in guests:
            subjects = received.get(guest.email, Counter())
            if not _mail_consistent(subjects, guest.contact_id in standing):
                wrong.append((guest.email, "meeting stands" if guest.contact_id in standing else "no meeting",
                              dict(subjects)))
    print(f"  outbox {dict(statuses)}; {len(meetings)} meetings stand; "
          f"{sum(sum(c.values()) for c in received.values())} meeting emails received")
    failed = server_errors(outcomes)
    assert not failed, f"{len(failed)} of {len(outcomes)} confirmations answered 5xx: {describe(failed, 2)}"
    assert all(n == 1 for n in per_slot.values()), f"two meetings share a slot: {per_slot}"
    assert all(n == 1 for n in per_invitee.values()), f"an invitee has two meetings: {per_invitee}"
    assert not wrong, f"{len(wrong)} invitees were told something else than what stands: {wrong[:5]}"
    no_tracebacks(server)


# ---- 4. double Resend, Resend with Remind ------------------------------------------------------

DOUBLE_RESENDS = 4
RESEND_WITH_REMIND = 4


def test_double_resend_and_resend_with_remind_mail_one_new_working_link(
        app, db, make_user, gunicorn, smtp_sink, database_url):
    owner = _owner(make_user)
    calendar_id, _slots = make_calendar(owner, name="Resend day", slots=4)
    doubles = make_guests(owner, calendar_id, DOUBLE_RESENDS, "resender")  # invited, not answered
    # Remind reminds everyone who has not answered: one calendar per round, one invitee in it.
    remind_rounds = []
    for r in range(RESEND_WITH_REMIND):
        other_id, _ = make_calendar(owner, name=f"Remind day {r}", slots=4)
        remind_rounds.append((other_id, make_guests(owner, other_id, 1, f"reminded{r}x")[0]))
    server = _start(gunicorn, database_url, smtp_sink)
    owner_browser = OwnerBrowser.sign_in(server.url, owner.email, calendar_id)

    outcomes: list[Outcome] = []
    cases = []  # (kind, guest)
    for guest in doubles:
        def double(i: int, barrier, guest=guest) -> Outcome:
            barrier.wait()
            return owner_browser.post(f"/calendars/{calendar_id}/invitees/{guest.invitee_id}/resend",
                                      label="resend")

        outcomes += run_together(2, double)
        cases.append(("double resend", guest))
    for other_id, guest in remind_rounds:
        def with_remind(i: int, barrier, other_id=other_id, guest=guest) -> Outcome:
            barrier.wait()
            if i == 0:
                return owner_browser.post(f"/calendars/{other_id}/invitees/{guest.invitee_id}/resend",
                                          label="resend")
            return owner_browser.post(f"/calendars/{other_id}/remind", label="remind")

        outcomes += run_together(2, with_remind)
        cases.append(("resend + remind", guest))
    print(f"\n{DOUBLE_RESENDS} double resends and {RESEND_WITH_REMIND} resend+remind pairs: {summary(outcomes)}")

    statuses = drain_outbox(smtp_sink)
    received = subjects_by_recipient(smtp_sink)
    wrong = []
    with browser() as visitor:
        for kind, guest in cases:
            subjects = received.get(guest.email, Counter())
            links = mailed_links(smtp_sink, guest.email)
            old = visitor.get(f"{server.url}/pick/{guest.token}", timeout=HTTP_TIMEOUT)
            problems = []
            if sum(subjects.values()) != 1:
                problems.append(f"{sum(subjects.values())} emails: {dict(subjects)}")
            elif kind == "double resend" and not all(is_invitation(s) for s in subjects):
                problems.append(f"not an invitation: {dict(subjects)}")
            elif not all(is_invitation(s) or is_reminder(s) for s in subjects):
                problems.append(f"not an invitation or a reminder: {dict(subjects)}")
            if not (old.status_code == 404 and REPLACED in old.text):
                problems.append(f"the old link answered {old.status_code} without saying it was replaced")
            working = [token for token in links
                       if visitor.get(f"{server.url}/pick/{token}", timeout=HTTP_TIMEOUT).status_code == 200]
            if len(links) != 1 or working != links:
                problems.append(f"{len(links)} links mailed, {len(working)} of them work")
            if problems:
                wrong.append((kind, guest.email, problems))
    print(f"  outbox {dict(statuses)}")
    failed = server_errors(outcomes)
    assert not failed, (f"{len(failed)} of {len(outcomes)} requests answered 5xx "
                        f"({Counter(o.label for o in failed)}): {describe(failed, 2)}")
    assert not wrong, f"{len(wrong)} of {len(cases)} cases did not mail exactly one working link: {wrong}"
    no_tracebacks(server)


# ---- 5. one address signed up 12 times at once -------------------------------------------------

SIGNUPS = 12


def test_simultaneous_sign_ups_with_one_address_make_one_account_and_answer_alike(
        app, db, gunicorn, smtp_sink, database_url):
    server = _start(gunicorn, database_url, smtp_sink)
    address = "twelve-times@example.com"

    def sign_up(i: int, barrier) -> tuple[int, dict | str]:
        with browser() as session:
            session.get(f"{server.url}/api/accounts/signup/", timeout=HTTP_TIMEOUT)  # both workers warm
            barrier.wait()
            response = session.post(f"{server.url}/api/accounts/signup/", timeout=HTTP_TIMEOUT, json={
                "first_name": "Twelve", "last_name": "Times", "username": f"twelve{i}", "email": address,
                "password": "a-long-enough-password", "repeat_password": "a-long-enough-password"})
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, response.text[:500]

    answers = run_together(SIGNUPS, sign_up)
    drain_outbox(smtp_sink)
    accounts = db.session.scalars(sa.select(User.username).where(User.email == address)).all()
    db.session.rollback()
    subjects = subjects_by_recipient(smtp_sink).get(address, Counter())
    print(f"\n{SIGNUPS} sign-ups with one address: {Counter(status for status, _ in answers)}; "
          f"mail {dict(subjects)}")
    assert [status for status, _ in answers] == [201] * SIGNUPS, answers
    assert all({**body, "username": ""} == {**answers[0][1], "username": ""} for _, body in answers)
    assert len(accounts) == 1, accounts
    assert subjects["Confirm your email address for OneOnOne"] == 1
    assert 1 <= subjects["Someone tried to sign up for OneOnOne with your email address"] <= SIGNUPS - 1
    assert sum(subjects.values()) == 1 + subjects["Someone tried to sign up for OneOnOne with your email address"]
    no_tracebacks(server)
