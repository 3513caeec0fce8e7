"""Suggestions are computed once per change of a calendar's data, and a stale one is never served.

The cache (oneonone/scheduling/suggestions.py) is keyed by `calendars.data_version`, which database
triggers bump on every write to the calendar's picks, slots and invitees (migration 0009). These tests
write through every door that changes suggestions — the services, bulk SQL, a cascade, raw SQL from
another connection — and check the version moved and the next view shows the change; the last one does
it against gunicorn with two workers, whose caches are separate processes.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from oneonone.calendars.models import Calendar
from oneonone.scheduling import answers, invitations
from oneonone.scheduling.models import Event, Invitee
from oneonone.scheduling.suggestions import cache, suggest_for_calendar
from oneonone.transaction import unit_of_work


def _version(db, calendar_id: int) -> int:
    version = db.session.scalar(sa.select(Calendar.data_version).where(Calendar.id == calendar_id))
    db.session.rollback()
    return version


@pytest.fixture
def day(make_calendar, make_timeslot, make_contact, make_invitee, owner):
    calendar = make_calendar(owner)
    slots = [make_timeslot(calendar, f"{9 + n}:00") for n in range(3)]
    ada, bob = make_contact(owner, first_name="Ada"), make_contact(owner, first_name="Bob")
    (ada_invitee, _), (bob_invitee, _) = make_invitee(calendar, ada), make_invitee(calendar, bob)
    return calendar, slots, (ada, ada_invitee), (bob, bob_invitee)


def _scheduled(calendar) -> dict[int, int]:
    best = suggest_for_calendar(calendar, 1).best
    return {a.invitee: a.slot for a in best.assignments} if best else {}


def test_every_write_that_changes_suggestions_bumps_the_version(db, day, make_timeslot, make_event):
    calendar, slots, (ada, ada_invitee), (bob, _) = day
    seen = [_version(db, calendar.id)]

    def moved() -> bool:
        seen.append(_version(db, calendar.id))
        return seen[-1] > seen[-2]

    event = make_event(slots[0], ada)
    assert moved(), "a pick inserted"
    event.preference = "if_need_be"
    db.session.commit()
    assert moved(), "a pick's preference changed"
    db.session.execute(sa.update(Event).where(Event.id == event.id).values(confirmed=True))
    db.session.commit()
    assert moved(), "a bulk UPDATE confirming a meeting"
    db.session.execute(sa.delete(Event).where(Event.calendar_id == calendar.id))
    db.session.commit()
    assert moved(), "a bulk DELETE of the picks"
    make_timeslot(calendar, "15:00")
    assert moved(), "a slot added"
    slots[1].high_priority = True
    db.session.commit()
    assert moved(), "a slot marked high priority"
    ada_invitee.responded_at = sa.func.now()
    db.session.commit()
    assert moved(), "an invitee answered"
    db.session.delete(db.session.get(type(bob), bob.id))  # the contact goes; its invitee by cascade
    db.session.commit()
    assert moved(), "an invitee removed by the contact's cascade"
    with db.engine.begin() as other:  # raw SQL on another connection, as another process would write
        other.execute(sa.text("DELETE FROM timeslots WHERE id = :id"), {"id": slots[2].id})
    assert moved(), "a slot deleted with raw SQL"


def test_a_new_link_is_no_change_to_suggestions(db, day):
    calendar, _slots, (_ada, ada_invitee), _bob = day
    before = _version(db, calendar.id)
    with unit_of_work():
        invitations.resend_invitation(db.session.get(Invitee, ada_invitee.id))
    assert _version(db, calendar.id) == before  # the invitee's row is written, but not a watched column


def test_an_answer_saved_shows_in_the_next_suggestions_at_once(db, day):
    calendar, slots, (ada, ada_invitee), (bob, bob_invitee) = day
    with unit_of_work():
        answers.save_picks(db.session.get(Invitee, ada_invitee.id), {slots[0].id: "preferred"}, timezone="UTC")
    assert _scheduled(calendar) == {ada.id: slots[0].id}
    with unit_of_work():
        bob_row = db.session.get(Invitee, bob_invitee.id)
        answers.save_picks(bob_row, {slots[0].id: "preferred", slots[1].id: "if_need_be"}, timezone="UTC")
        # In the same transaction, after the write: the calendar loaded before it reads its new version.
        assert _scheduled(bob_row.calendar) == {ada.id: slots[0].id, bob.id: slots[1].id}
    assert _scheduled(db.session.get(Calendar, calendar.id)) == {ada.id: slots[0].id, bob.id: slots[1].id}


def test_the_search_runs_once_per_version(db, day, make_event, monkeypatch):
    from oneonone.scheduling import suggest

    calendar, slots, (ada, _), _bob = day
    make_event(slots[0], ada)
    calls = []
    real = suggest.suggest_schedules
    monkeypatch.setattr(suggest, "suggest_schedules", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    cache.clear()
    for _ in range(3):
        _scheduled(db.session.get(Calendar, calendar.id))
    assert len(calls) == 1
    make_event(slots[1], ada)
    _scheduled(db.session.get(Calendar, calendar.id))
    assert len(calls) == 2


def test_a_reused_calendar_id_gets_its_own_suggestions(db, owner, make_calendar, make_timeslot, make_contact,
                                                         make_invitee, make_event):
    """SQLite hands a deleted row's id (the largest) to the next insert; its version starts at 0 again."""
    first = make_calendar(owner)
    slot = make_timeslot(first)
    ada = make_contact(owner, first_name="Ada")
    make_invitee(first, ada)
    make_event(slot, ada)
    old_id = first.id
    assert _scheduled(first) == {ada.id: slot.id}
    db.session.delete(first)
    db.session.commit()
    second = make_calendar(owner)
    make_timeslot(second)
    make_invitee(second, make_contact(owner, first_name="Bob"))
    if second.id == old_id:  # the case this test is about (SQLite); on PostgreSQL ids are not reused
        assert _scheduled(second) == {}


@pytest.mark.slow
def test_another_process_never_serves_an_old_schedule(app, db, make_user, tmp_path, database_url):
    """gunicorn -w 2: both workers cache the schedule, an invitee answers on the pick page, and every
    later view, whichever worker answers it, shows them scheduled; then a raw SQL write does the same."""
    import requests
    from load.scenario import make_calendar, make_guests
    from load.support import Gunicorn, SmtpSink, app_env

    from oneonone.accounts.services import issue_api_token

    owner = make_user()
    calendar_id, slot_ids = make_calendar(owner, slots=3)
    ada, bob, carl = make_guests(owner, calendar_id, 3, "guest", picks=[[slot_ids[0]], [slot_ids[0]], []])
    with unit_of_work():
        token = issue_api_token(db.session.get(type(owner), owner.id))
    db.session.remove()
    sink = SmtpSink()
    sink.start()
    server = Gunicorn(app_env(database_url, sink.port), tmp_path / "gunicorn.log", workers=2).start()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    def scheduled_everywhere() -> list[set[int]]:
        seen = []
        for _ in range(12):  # enough requests to reach both workers
            response = api.get(f"{server.url}/api/calendars/{calendar_id}/suggested/?k=1", timeout=10)
            assert response.status_code == 200, response.text
            seen.append({a["contact"] for a in response.json()["schedules"][0]["assignments"]})
        return seen

    try:
        first = scheduled_everywhere()
        assert len(first) == 12 and all(len(s) == 1 for s in first)  # Ada or Bob: one slot for both
        page = requests.Session()
        form = page.get(f"{server.url}/pick/{carl.token}", timeout=10)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
        saved = page.post(f"{server.url}/pick/{carl.token}", timeout=10, allow_redirects=False,
                          data={"csrf_token": csrf, f"slot-{slot_ids[1]}": "preferred"})
        assert saved.status_code == 302, saved.text
        assert all(carl.contact_id in s and len(s) == 2 for s in scheduled_everywhere())
        with db.engine.begin() as other:
            other.execute(sa.insert(Event).values(calendar_id=calendar_id, timeslot_id=slot_ids[2],
                                                  contact_id=bob.contact_id, preference="if_need_be"))
        assert all(s == {ada.contact_id, bob.contact_id, carl.contact_id} for s in scheduled_everywhere())
    finally:
        server.stop()
        sink.stop()


def test_a_write_to_other_tables_keeps_the_cache(db, owner, day, make_event, monkeypatch):
    """Only writes to the rows suggestions read (calendars, slots, invitees, picks) make a transaction
    compute afresh: a request that also touched a session, a token or the outbox still reads the cache."""
    from oneonone.accounts.models import User
    from oneonone.scheduling import suggest

    calendar, slots, (ada, _), _bob = day
    make_event(slots[0], ada)
    calls = []
    real = suggest.suggest_schedules
    monkeypatch.setattr(suggest, "suggest_schedules", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    cache.clear()
    _scheduled(db.session.get(Calendar, calendar.id))
    db.session.rollback()
    with unit_of_work():
        db.session.execute(sa.update(User).where(User.id == owner.id).values(timezone="Europe/Paris"))
        db.session.get(User, owner.id).first_name = "Renamed"
        db.session.flush()
        assert _scheduled(db.session.get(Calendar, calendar.id)) == {ada.id: slots[0].id}
    assert len(calls) == 1, "the other tables' writes made the search run again"
    with unit_of_work():
        db.session.execute(sa.update(Event).where(Event.contact_id == ada.id).values(preference="if_need_be"))
        _scheduled(db.session.get(Calendar, calendar.id))
    assert len(calls) == 2, "a bulk write to the picks computes afresh"
