"""The owner's calendar page, a week at a time: a large calendar shows one week (and reads only its
slots), with links to the weeks before and after and to every week; a small one shows every week."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from seeding import FIRST_DAY, Seeded, seed_owner_calendar

from oneonone.calendars import grid, signals
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.calendars.times import window_bounds
from oneonone.signals import answers

LONDON = ZoneInfo("Europe/London")
SLOT_ID = re.compile(r'id="slot-(\d+)"')


def text(response) -> str:
    return response.get_data(as_text=True)


def shown_slots(html: str) -> set[int]:
    return {int(n) for n in SLOT_ID.findall(html)}


def link(html: str, rel: str) -> str | None:
    """The href of the Previous (rel=prev) or Next (rel=next) week link, unescaped; None when disabled."""
    found = re.search(rf'<a [^>]*rel="{rel}"\s+href="([^"]+)"', html)
    return None if found is None else found.group(1).replace("&amp;", "&")


@contextmanager
def rows_loaded(db) -> Iterator[list]:
    """Every ORM instance loaded from a row while the block runs (the session is emptied first)."""
    loaded: list = []

    def on_load(target, _context) -> None:
        loaded.append(type(target).__name__)

    db.session.remove()
    sa.event.listen(db.Model, "load", on_load, propagate=True)
    try:
        yield loaded
    finally:
        sa.event.remove(db.Model, "load", on_load)


@pytest.fixture
def large(db) -> Seeded:
    """500 slots (20 a weekday from Mon 4 Mar 2030: five weeks of 100), 200 invitees, 2,000 picks."""
    return seed_owner_calendar("large", slots=500, invitees=200, unanswered=20, picks=2000, confirmed=5)


@pytest.fixture
def large_client(client, large):
    response = client.post("/accounts/signin", data={"email": large.email, "password": large.password})
    assert response.status_code == 302
    return client


def week_ids(large: Seeded, week: int) -> set[int]:
    return set(large.timeslot_ids[100 * week:100 * (week + 1)])


def add_slots(db, calendar: Calendar, days: list[int], per_day: int = 10) -> list[int]:
    """`per_day` 30-minute slots from 08:00 on each of the window's `days` (0 = its first day)."""
    rows = []
    for day in days:
        date = calendar.start_date + dt.timedelta(days=day)
        for n in range(per_day):
            start = dt.datetime.combine(date, dt.time(8), tzinfo=ZoneInfo(calendar.timezone)) + dt.timedelta(
                minutes=30 * n)
            rows.append({"calendar_id": calendar.id, "start_time": start.astimezone(dt.UTC),
                         "end_time": (start + dt.timedelta(minutes=30)).astimezone(dt.UTC)})
    ids = list(db.session.scalars(sa.insert(Timeslot).returning(Timeslot.id, sort_by_parameter_order=True), rows))
    db.session.commit()
    return ids


# ---- a large calendar shows one week -------------------------------------------------------------

def test_a_500_slot_calendar_shows_its_first_upcoming_week_only(large_client, large):
    response = large_client.get(f"/calendars/{large.calendar_id}/")
    assert response.status_code == 200
    html = text(response)
    assert shown_slots(html) == week_ids(large, 0)
    assert "<strong>500</strong> slots" in html  # the header counts the whole calendar
    assert "(125 high priority)" in html
    assert "Week of 04 Mar 2030" in html and "1 of 5 weeks with slots" in html
    assert "100 slots shown of 500" in html
    assert 'id="day-2030-03-11"' not in html  # the next week's days are not drawn
    assert link(html, "prev") is None and "‹ Previous week</span>" in html
    assert link(html, "next") == f"/calendars/{large.calendar_id}/?week=2030-03-11"


def test_any_day_of_a_week_shows_that_week(large_client, large):
    html = text(large_client.get(f"/calendars/{large.calendar_id}/?week=2030-03-20"))  # a Wednesday
    assert shown_slots(html) == week_ids(large, 2)
    assert "Week of 18 Mar 2030" in html and "3 of 5 weeks with slots" in html
    assert link(html, "prev") == f"/calendars/{large.calendar_id}/?week=2030-03-11"
    assert link(html, "next") == f"/calendars/{large.calendar_id}/?week=2030-03-25"
    assert re.search(r'aria-current="page">\s*<span class="week-chip-date">18 Mar</span>', html)


def test_next_links_walk_every_week_once_then_stop(large_client, large):
    url, seen, weeks = f"/calendars/{large.calendar_id}/", [], 0
    while url is not None:
        html = text(large_client.get(url))
        seen += SLOT_ID.findall(html)
        weeks += 1
        url = link(html, "next")
    assert weeks == 5
    assert sorted(int(n) for n in seen) == sorted(large.timeslot_ids)  # each slot once
    assert "Next week ›</span>" in html  # disabled on the last week


def test_the_week_list_links_every_week_with_its_slot_count(large_client, large):
    html = text(large_client.get(f"/calendars/{large.calendar_id}/"))
    weeks = re.findall(r'href="/calendars/\d+/\?week=([\d-]+)"[^>]*>\s*<span class="week-chip-date">[^<]+</span>'
                       r'\s*<span class="week-chip-count">([^<]+)</span>', html)
    assert weeks == [("2030-03-04", "100 slots"), ("2030-03-11", "100 slots"), ("2030-03-18", "100 slots"),
                     ("2030-03-25", "100 slots"), ("2030-04-01", "100 slots")]


def test_slot_summaries_are_read_for_the_shown_week_only(large, db):
    calendar = db.session.get(Calendar, large.calendar_id)
    begin, finish = window_bounds(dt.date(2030, 3, 11), dt.date(2030, 3, 17), LONDON)
    summaries: dict = {}
    for answer in answers(signals.slot_summaries, calendar, begin=begin, finish=finish):
        summaries.update(answer)
    assert summaries and set(summaries) <= week_ids(large, 1)
    everything = grid.slot_summaries(calendar)
    assert {slot: everything[slot] for slot in summaries} == summaries
    assert len(everything) > len(summaries)


def test_the_page_loads_rows_for_one_week_not_for_the_calendar(large_client, large, db):
    with rows_loaded(db) as loaded:
        response = large_client.get(f"/calendars/{large.calendar_id}/?week=2030-03-25")
    assert response.status_code == 200
    assert loaded.count("Timeslot") == 100, loaded  # the week's, of 500
    assert len(loaded) <= 110, sorted(set(loaded))  # plus the session, the user, the calendar


# ---- empty weeks, the default week and the week asked for -----------------------------------------

@pytest.fixture
def sparse(db, owner, make_calendar) -> Calendar:
    """A five-week window (Mon 4 Mar – Sun 7 Apr 2030) with 30 slots in its first week and 30 in its
    fourth: 60 slots, more than a page shows at once."""
    calendar = make_calendar(owner, timezone="Europe/London", end_date=dt.date(2030, 4, 7))
    add_slots(db, calendar, [0, 1, 2])
    add_slots(db, calendar, [21, 22, 23])
    return calendar


def test_previous_and_next_skip_the_weeks_without_slots(owner_client, sparse):
    html = text(owner_client.get(f"/calendars/{sparse.id}/"))
    assert "Week of 04 Mar 2030" in html and "1 of 2 weeks with slots" in html
    assert link(html, "next") == f"/calendars/{sparse.id}/?week=2030-03-25"  # not the empty 11 Mar
    html = text(owner_client.get(link(html, "next")))
    assert "Week of 25 Mar 2030" in html and "2 of 2 weeks with slots" in html
    assert link(html, "prev") == f"/calendars/{sparse.id}/?week=2030-03-04"
    # No later week has slots: Next is the plain next week, where slots can still be added.
    assert link(html, "next") == f"/calendars/{sparse.id}/?week=2030-04-01"
    html = text(owner_client.get(link(html, "next")))
    assert "no slots this week (2 weeks with slots)" in html
    assert shown_slots(html) == set() and html.count('class="day-note">No slots<') == 7
    assert link(html, "next") is None and link(html, "prev") == f"/calendars/{sparse.id}/?week=2030-03-25"


def test_the_week_list_says_which_weeks_are_empty(owner_client, sparse):
    html = text(owner_client.get(f"/calendars/{sparse.id}/"))
    counts = re.findall(r'<span class="week-chip-count">([^<]+)</span>', html)
    assert counts == ["30 slots", "no slots", "no slots", "30 slots", "no slots"]


def test_the_default_week_is_the_first_with_a_slot_to_come(db, owner, owner_client, make_calendar):
    today = dt.date.today()
    start = today - dt.timedelta(days=today.weekday() + 14)  # the Monday two weeks ago
    calendar = make_calendar(owner, timezone="UTC", start_date=start, end_date=start + dt.timedelta(days=41))
    add_slots(db, calendar, [0, 1, 2])  # two weeks ago: over
    future = add_slots(db, calendar, [28, 29, 30])  # in two weeks
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert shown_slots(html) == set(future)
    assert f"Week of {start + dt.timedelta(days=28):%d %b %Y}" in html


@pytest.mark.parametrize("week", ["nonsense", "2030-02-30", "2030-3-4x", "9" * 5000, "2030-03-04T10:00"])
def test_a_week_that_is_not_a_date_is_refused_with_the_page(owner_client, sparse, week):
    response = owner_client.get(f"/calendars/{sparse.id}/", query_string={"week": week})
    assert response.status_code == 400
    html = text(response)
    assert "That week is not a date (write it as YYYY-MM-DD)." in html
    assert "Week of 04 Mar 2030" in html and len(shown_slots(html)) == 30  # the default week still shows


@pytest.mark.parametrize(("week", "notice", "shown"), [
    ("2029-12-31", "31 Dec 2029 is before this calendar’s window: showing its first week.", "04 Mar 2030"),
    ("2031-01-08", "06 Jan 2031 is after this calendar’s window: showing its last week.", "01 Apr 2030"),
])
def test_a_week_outside_the_window_shows_the_nearest_with_a_message(owner_client, sparse, week, notice, shown):
    response = owner_client.get(f"/calendars/{sparse.id}/?week={week}")
    assert response.status_code == 200
    html = text(response)
    assert notice in html and f"Week of {shown}" in html


# ---- a small calendar shows every week, as it always did -------------------------------------------

def test_a_small_calendar_shows_every_week_without_week_links(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="Europe/London", end_date=dt.date(2030, 3, 20))  # three weeks
    ids = add_slots(db, calendar, [0, 8, 15], per_day=5)
    for week in ("", "?week=2030-03-18"):  # a week asked for changes nothing: every week shows
        html = text(owner_client.get(f"/calendars/{calendar.id}/{week}"))
        assert shown_slots(html) == set(ids)
        assert 'class="week-nav' not in html and "Previous week" not in html
        for monday in ("2030-03-04", "2030-03-11", "2030-03-18"):
            assert f'id="week-{monday}"' in html
    response = owner_client.get(f"/calendars/{calendar.id}/?week=soon")
    assert response.status_code == 400 and shown_slots(text(response)) == set(ids)


def test_fifty_slots_show_whole_and_fifty_one_a_week_at_a_time(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="Europe/London", end_date=dt.date(2030, 3, 20))
    add_slots(db, calendar, [0, 1, 2, 3, 4, 7, 8, 9, 10, 11], per_day=5)
    assert grid.WHOLE_WINDOW_MAX_SLOTS == 50
    assert len(shown_slots(text(owner_client.get(f"/calendars/{calendar.id}/")))) == 50
    add_slots(db, calendar, [15], per_day=1)
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert len(shown_slots(html)) == 25 and "1 of 3 weeks with slots" in html


# ---- after a change, the page opens on the week of the slot ---------------------------------------

def test_adding_editing_and_deleting_a_slot_return_to_its_week(owner_client, sparse, db):
    calendar_url = f"/calendars/{sparse.id}/"
    response = owner_client.post(f"{calendar_url}timeslots/new",
                                 data={"date": "2030-03-13", "start_time": "09:00", "end_time": "09:30"})
    assert response.status_code == 302
    assert response.location.endswith(f"{calendar_url}?week=2030-03-13#day-2030-03-13")
    html = text(owner_client.get(response.location))
    assert "Week of 11 Mar 2030" in html and len(shown_slots(html)) == 1
    [slot_id] = shown_slots(html)
    response = owner_client.post(f"{calendar_url}timeslots/{slot_id}/edit",
                                 data={"date": "2030-03-19", "start_time": "10:00", "end_time": "10:30"})
    assert response.location.endswith(f"{calendar_url}?week=2030-03-19#slot-{slot_id}")
    response = owner_client.post(f"{calendar_url}timeslots/{slot_id}/delete", data={})
    assert response.status_code == 302 and response.location.endswith(f"{calendar_url}?week=2030-03-19")


def test_the_fixture_dataset_is_five_full_weeks(large):
    assert len(large.timeslot_ids) == 500 and dt.date(2030, 3, 4) == FIRST_DAY
