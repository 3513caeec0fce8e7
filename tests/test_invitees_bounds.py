"""The owner's invitees page is bounded by the screen, not by the calendar (issue 20 goal 2).

On a 500-slot calendar the page loads and shows what fits on a screen: the answers grid a window of
slots at a time, each row at most a screenful of the invitee's picks. Every other free time is one
click away, on the per-invitee chooser (GET .../invitees/<id>/confirm?show=free), a page at a time,
and confirming from there works end to end. Small calendars keep the one-step lists
(tests/test_meeting_moves.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from querycount import count_queries
from seeding import Seeded, seed_owner_calendar

from oneonone.extensions import db as _db
from oneonone.scheduling.invitees_page import PICKS_PER_ROW, SLOTS_PER_VIEW
from oneonone.scheduling.models import PREFERRED, Event


@contextmanager
def orm_loads() -> Iterator[Counter]:
    """Count the ORM instances loaded from the database inside the block, by class name."""
    loaded: Counter = Counter()

    def on_load(target, _context) -> None:
        loaded[type(target).__name__] += 1

    sa.event.listen(_db.Model, "load", on_load, propagate=True)
    try:
        yield loaded
    finally:
        sa.event.remove(_db.Model, "load", on_load)


def _seed(name: str, slots: int) -> Seeded:
    return seed_owner_calendar(name, slots=slots, invitees=30, unanswered=3, picks=270, confirmed=3,
                               uninvited_contacts=5)


def _signed_in(app, data: Seeded):
    client = app.test_client()
    response = client.post("/accounts/signin", data={"email": data.email, "password": data.password})
    assert response.status_code == 302
    return client


def _invitees_page(client, data: Seeded, **args) -> str:
    _db.session.remove()  # a fresh session, as each request gets in production: what it reads, it loads
    response = client.get(f"/calendars/{data.calendar_id}/invitees", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _confirmed_invitee(data: Seeded) -> int:
    return _db.session.scalar(sa.text(
        "SELECT invitees.id FROM invitees WHERE calendar_id = :c AND contact_id = :k"),
        {"c": data.calendar_id, "k": data.confirmed_contact_id})


def _meeting_slot(data: Seeded, contact_id: int) -> int | None:
    return _db.session.scalar(sa.select(Event.timeslot_id).where(
        Event.calendar_id == data.calendar_id, Event.contact_id == contact_id, Event.confirmed)
        .execution_options(populate_existing=True))


def test_a_500_slot_calendar_loads_no_more_rows_than_a_50_slot_one(app):
    medium, large = _seed("medium", 50), _seed("large", 500)
    counts = {}
    for data in (medium, large):
        client = _signed_in(app, data)
        _invitees_page(client, data)  # warm up
        with orm_loads() as loaded:
            html = _invitees_page(client, data)
        counts[data.name] = loaded
        assert loaded["Timeslot"] <= SLOTS_PER_VIEW, loaded
        assert html.count("<option") <= 30 * (PICKS_PER_ROW + SLOTS_PER_VIEW)
        assert html.count("<td") <= 30 * (SLOTS_PER_VIEW + 4) + SLOTS_PER_VIEW
    assert sum(counts["large"].values()) <= sum(counts["medium"].values()), counts
    assert sum(counts["large"].values()) < 200, counts["large"]


def test_the_grid_shows_a_window_of_slots_and_moves_through_all_of_them(app):
    large = _seed("large", 500)
    client = _signed_in(app, large)
    first = _invitees_page(client, large)
    assert "Times 1–40 of 500" in first and "Later times" in first
    assert first.count('class="slot-col') == SLOTS_PER_VIEW
    second = _invitees_page(client, large, times=2)
    assert "Times 41–80 of 500" in second
    headers = re.findall(r'<th scope="col" class="slot-col[^"]*"><span>([^<]*)</span><br>([^<]*)<', second)
    assert headers and headers != re.findall(
        r'<th scope="col" class="slot-col[^"]*"><span>([^<]*)</span><br>([^<]*)<', first)
    # Past the end: the last window, not an empty grid.
    assert "Times 481–500 of 500" in _invitees_page(client, large, times=999)


def test_moving_a_meeting_on_a_large_calendar_goes_through_the_chooser(app, mail_server):
    large = _seed("large", 500)
    client = _signed_in(app, large)
    html = _invitees_page(client, large)
    contact = _db.session.scalar(sa.text("SELECT first_name FROM contacts WHERE id = :k"),
                                 {"k": large.confirmed_contact_id})
    invitee_id = _confirmed_invitee(large)
    # The row offers the times they picked, not all 490 free ones; those are on the chooser.
    assert f"Times {contact} picked" in html
    assert f"Free times {contact} did not pick" not in html
    chooser = f"/calendars/{large.calendar_id}/invitees/{invitee_id}/confirm?show=free"
    assert chooser in html
    # Far into the calendar: page 10 of the chooser, a free time they did not pick.
    page = client.get(chooser + "&page=10")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    offered = re.findall(r'type="radio" name="timeslot_id" value="(\d+)" id="time-\d+" required>\s*'
                         r'<label[^>]*>([^<]*)</label>', text)
    assert 0 < len(offered) <= SLOTS_PER_VIEW
    free = [int(slot_id) for slot_id, label in offered if "not picked" in label]
    assert free, offered
    assert free[0] not in large.timeslot_ids[:SLOTS_PER_VIEW]  # beyond what the grid shows first
    response = client.post(f"/calendars/{large.calendar_id}/invitees/{invitee_id}/confirm",
                           data={"timeslot_id": free[0], "move": "1"}, follow_redirects=True)
    assert response.status_code == 200
    assert "a time they did not pick" in response.get_data(as_text=True)
    assert _meeting_slot(large, large.confirmed_contact_id) == free[0]


def test_a_row_offers_at_most_a_screenful_of_picks_and_the_chooser_has_the_rest(app):
    large = _seed("large", 500)
    # The first invitee picks every slot.
    picked = set(large.pick_answer)
    _db.session.execute(sa.insert(Event), [
        {"calendar_id": large.calendar_id, "timeslot_id": slot_id, "contact_id": large.pick_contact_id,
         "preference": PREFERRED} for slot_id in large.timeslot_ids if slot_id not in picked])
    _db.session.commit()
    client = _signed_in(app, large)
    html = _invitees_page(client, large)
    row = html[html.index(f'id="invitee-{large.pick_invitee_id}"'):]
    row = row[:row.index("</tr>")]
    assert row.count("<option") == PICKS_PER_ROW
    assert "500 picks" in row and "All 500 times" in row
    response = client.get(f"/calendars/{large.calendar_id}/invitees/{large.pick_invitee_id}/confirm",
                          query_string={"show": "picked", "page": 13})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "500, 40 a page" in text
    assert text.count('type="radio"') == 500 - 12 * SLOTS_PER_VIEW


@pytest.mark.parametrize("show", ["free", "picked"])
def test_the_chooser_runs_the_same_few_queries_whatever_the_size(app, show):
    small, large = _seed("small", 50), _seed("large", 500)
    counts = []
    for data in (small, large):
        client = _signed_in(app, data)
        url = f"/calendars/{data.calendar_id}/invitees/{data.pick_invitee_id}/confirm?show={show}"
        client.get(url)
        with count_queries(app, _db.engine) as queries:
            assert client.get(url).status_code == 200
        counts.append(queries.count)
    assert counts[0] == counts[1] <= 8, counts


def test_the_chooser_is_only_for_the_owner(app, make_user, login, client):
    data = _seed("owner", 50)
    login(make_user(email="mallory@example.org"))
    url = f"/calendars/{data.calendar_id}/invitees/{data.pick_invitee_id}/confirm?show=free"
    assert client.get(url).status_code == 404
