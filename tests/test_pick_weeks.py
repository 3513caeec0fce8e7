"""A large calendar's pick page, a week at a time (issue 20 goal 2): the page shows one week in the
viewer's zone with links to the others, saving it keeps the answers in the weeks not shown, and the
rows it loads are bounded by the week. A small calendar's page is as before.

The large calendar is tests/seeding.py's: 500 slots, 20 a weekday from Monday 4 March 2030, so five
weeks of 100; the invitee of `pick_token` picked its first two slots (week 1).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from seeding import seed_owner_calendar

from oneonone.calendars.models import Timeslot
from oneonone.scheduling.links import new_link
from oneonone.scheduling.models import Event, Invitee
from oneonone.scheduling.pick_page import PAGED_OVER

LONDON = ZoneInfo("Europe/London")
WEEK_2 = "2030-03-11"


@pytest.fixture
def big(app, db):
    """The 500-slot calendar, three invitees; the last has a meeting in week 1 (its fifth slot)."""
    return seed_owner_calendar("big", slots=500, invitees=3, picks=6, confirmed=1)


def _week_one(big) -> list[int]:
    """The times week 1 offers the pick invitee: all but the one another's meeting holds."""
    return [slot_id for slot_id in big.timeslot_ids[:100] if slot_id != big.confirmed_timeslot_id]


def _slot_names(html: str) -> list[int]:
    return list(dict.fromkeys(int(n) for n in re.findall(r'name="slot-(\d+)"', html)))


def _shown(html: str) -> str:
    return re.search(r'name="shown" value="([^"]*)"', html).group(1)


def _picks(db, contact_id: int) -> dict[int, str]:
    rows = db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                              .where(Event.contact_id == contact_id)).all()
    db.session.remove()
    return dict(rows)


def _week_form(html: str, **choices: str) -> dict[str, str]:
    """The page's form as a browser sends it: every shown slot (can't unless chosen), tz, shown, week."""
    form = {"tz": "Europe/London", "shown": _shown(html)}
    week = re.search(r'<input type="hidden" name="week" value="([^"]+)">', html)
    if week:
        form["week"] = week.group(1)
    for slot_id in _slot_names(html):
        form[f"slot-{slot_id}"] = choices.get(f"slot-{slot_id}", "")
    return form


def _checked(html: str, slot_id: int) -> str:
    match = re.search(rf'name="slot-{slot_id}" id="[^"]+" value="([^"]*)" autocomplete="off"\s*checked', html)
    return match.group(1)


# ---- a small calendar is shown whole, as before ---------------------------------------------------

def test_a_small_calendar_over_two_weeks_is_shown_whole(client, owner, make_calendar, make_timeslot, make_contact,
                                                         make_invitee):
    calendar = make_calendar(owner=owner, start_date=dt.date(2030, 3, 4), end_date=dt.date(2030, 3, 15),
                             timezone="Europe/London")
    slots = [make_timeslot(calendar, "09:00", day=day) for day in (0, 1, 7, 8)]
    _invitee, token = make_invitee(calendar, make_contact(owner=owner))
    html = client.get(f"/pick/{token}?tz=Europe/London").get_data(as_text=True)
    assert _slot_names(html) == [slot.id for slot in slots]
    assert "Save and show next week" not in html and 'name="go_week"' not in html and "Week of" not in html
    assert "None of these times work for me" in html and "in any week" not in html
    assert _shown(html) == ",".join(str(slot.id) for slot in slots)


@pytest.mark.parametrize(("count", "paged"), [(PAGED_OVER, False), (PAGED_OVER + 1, True)])
def test_a_calendar_is_paged_only_beyond_the_threshold(client, owner, make_calendar, make_timeslot, make_contact,
                                                        make_invitee, count, paged):
    calendar = make_calendar(owner=owner, start_date=dt.date(2030, 3, 4), end_date=dt.date(2030, 3, 15),
                             timezone="Europe/London")
    for n in range(count):  # two weeks, 10 weekdays: a slot an hour from 08:00
        make_timeslot(calendar, f"{8 + n // 10}:00", day=[0, 1, 2, 3, 4, 7, 8, 9, 10, 11][n % 10])
    _invitee, token = make_invitee(calendar, make_contact(owner=owner))
    html = client.get(f"/pick/{token}?tz=Europe/London").get_data(as_text=True)
    assert ("Save and show next week" in html) is paged
    assert len(_slot_names(html)) == (count - count // 2 if paged else count)


# ---- a large calendar, a week at a time ---------------------------------------------------------

def test_a_large_calendar_shows_its_first_week_with_every_week_listed(client, big):
    html = client.get(f"/pick/{big.pick_token}?tz=Europe/London").get_data(as_text=True)
    assert _slot_names(html) == _week_one(big)
    assert "Week of 4–10 March 2030" in html and "Week 1 of 5, with 99 times." in html
    assert html.count('name="go_week"') == 5  # next week, and the four other weeks
    assert ('<button type="submit" class="btn btn-primary" name="go_week" value="2030-03-11">'
            'Save and show next week') in html
    assert "Save and show previous week" not in html
    for label in ("11–17 March 2030", "18–24 March 2030", "25–31 March 2030", "1–7 April 2030"):
        assert label in html
    assert "You picked no times in other weeks." in html
    assert "None of the times, in any week, work for me" in html
    assert "clears every time you picked, in every week" in html


def test_any_day_of_a_week_shows_that_week_in_the_viewers_zone(client, big):
    html = client.get(f"/pick/{big.pick_token}?tz=Europe/London&week=2030-03-13").get_data(as_text=True)
    assert _slot_names(html) == big.timeslot_ids[100:200]
    assert "Week of 11–17 March 2030" in html and "Save and show previous week" in html
    assert "You picked <strong>2 times in other weeks</strong>" in html
    # In Tokyo a London Monday 08:00 is 17:00, the same week; the zone form keeps the week.
    tokyo = client.get(f"/pick/{big.pick_token}?tz=Asia/Tokyo&week=2030-03-11").get_data(as_text=True)
    assert _slot_names(tokyo) == big.timeslot_ids[100:200]
    assert re.search(r'<form method="get"[^>]*>.*?name="week" value="2030-03-11"', tokyo, re.S)


@pytest.mark.parametrize("week", ["garbage", "2030-02-30", "2030-3-11", "9999-12-31", "0001-01-01", "2031-01-06",
                                  "2030-03-11T00:00", ""])
def test_a_bad_or_empty_week_falls_back_to_the_first(client, big, week):
    response = client.get(f"/pick/{big.pick_token}?tz=Europe/London&week={week}")
    assert response.status_code == 200
    assert _slot_names(response.get_data(as_text=True)) == _week_one(big)


def test_saving_week_two_keeps_the_picks_of_week_one(client, big, db):
    url = f"/pick/{big.pick_token}"
    html = client.get(f"{url}?tz=Europe/London&week={WEEK_2}").get_data(as_text=True)
    chosen = big.timeslot_ids[150]
    response = client.post(url, data=_week_form(html, **{f"slot-{chosen}": "preferred"}))
    assert response.status_code == 302
    assert f"week={WEEK_2}" in response.headers["Location"] and "tz=Europe" in response.headers["Location"]
    assert _picks(db, big.pick_contact_id) == {**big.pick_answer, chosen: "preferred"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your answer was saved (3 slots picked)" in page
    assert _checked(page, chosen) == "preferred"
    # Back on week 1, clearing one pick there keeps the week-2 pick.
    first, second = big.timeslot_ids[:2]
    html = client.get(f"{url}?tz=Europe/London").get_data(as_text=True)
    assert "You picked <strong>1 time in other weeks</strong>" in html
    client.post(url, data=_week_form(html, **{f"slot-{first}": "preferred"}))
    assert _picks(db, big.pick_contact_id) == {first: "preferred", chosen: "preferred"}
    assert second not in _picks(db, big.pick_contact_id)


def test_clearing_the_shown_week_is_allowed_while_other_weeks_hold_picks(client, big, db):
    url = f"/pick/{big.pick_token}"
    html = client.get(f"{url}?tz=Europe/London&week={WEEK_2}").get_data(as_text=True)
    assert client.post(url, data=_week_form(html)).status_code == 302
    assert _picks(db, big.pick_contact_id) == big.pick_answer
    html = client.get(f"{url}?tz=Europe/London").get_data(as_text=True)  # week 1: every pick gone then
    response = client.post(url, data=_week_form(html))
    assert response.status_code == 400 and "Pick at least one time" in response.get_data(as_text=True)
    assert _picks(db, big.pick_contact_id) == big.pick_answer


def test_a_week_button_saves_what_changed_then_shows_that_week(client, big, db, mailbox):
    url = f"/pick/{big.pick_token}"
    html = client.get(f"{url}?tz=Europe/London").get_data(as_text=True)
    third = big.timeslot_ids[2]
    form = _week_form(html, **{f"slot-{s}": p for s, p in big.pick_answer.items()}, **{f"slot-{third}": "if_need_be"})
    response = client.post(url, data={**form, "go_week": WEEK_2})
    assert response.status_code == 302 and f"week={WEEK_2}" in response.headers["Location"]
    assert _picks(db, big.pick_contact_id) == {**big.pick_answer, third: "if_need_be"}
    assert "Your answer was saved (3 slots picked)" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_week_button_without_changes_writes_nothing(client, big, db, mailbox):
    url = f"/pick/{big.pick_token}"
    before = db.session.scalar(sa.select(Invitee.responded_at).where(Invitee.id == big.pick_invitee_id))
    db.session.remove()
    html = client.get(f"{url}?tz=Europe/London").get_data(as_text=True)
    form = _week_form(html, **{f"slot-{s}": p for s, p in big.pick_answer.items()})
    response = client.post(url, data={**form, "go_week": "2030-03-18"})
    assert response.status_code == 302 and "week=2030-03-18" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your answer was saved" not in page and _slot_names(page) == big.timeslot_ids[200:300]
    assert db.session.scalar(sa.select(Invitee.responded_at).where(Invitee.id == big.pick_invitee_id)) == before
    assert mailbox.messages == []


def test_someone_who_has_not_answered_can_browse_the_weeks(client, db):
    seeded = seed_owner_calendar("fresh", slots=500, invitees=3, unanswered=1, picks=4, confirmed=1)
    token = _unanswered_token(db, seeded)
    html = client.get(f"/pick/{token}?tz=Europe/London").get_data(as_text=True)
    response = client.post(f"/pick/{token}", data={**_week_form(html), "go_week": WEEK_2})
    assert response.status_code == 302 and f"week={WEEK_2}" in response.headers["Location"]


def _unanswered_token(db, seeded) -> str:
    """A fresh link for the seeded calendar's invitee who has not answered (its last one)."""
    nonce, token, token_hash = new_link()
    db.session.execute(sa.update(Invitee).where(Invitee.contact_id == seeded.contact_ids[-1])
                       .values(token_hash=token_hash, link_nonce=nonce))
    db.session.commit()
    return token


def test_none_work_clears_the_picks_of_every_week(client, big, db):
    url = f"/pick/{big.pick_token}"
    html = client.get(f"{url}?tz=Europe/London&week={WEEK_2}").get_data(as_text=True)
    response = client.post(url, data={**_week_form(html), "none_work": "1"})
    assert response.status_code == 302
    assert _picks(db, big.pick_contact_id) == {}
    invitee = db.session.get(Invitee, big.pick_invitee_id)
    assert invitee.declined_at is not None
    db.session.remove()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "none of these times work for you" in page
    assert "To pick a time instead, choose it in its week and save." in page


def test_the_shown_list_must_name_this_calendars_slots(client, big, db, make_calendar, make_timeslot, owner):
    other = make_timeslot(make_calendar(owner=owner))
    url = f"/pick/{big.pick_token}"
    html = client.get(f"{url}?tz=Europe/London&week={WEEK_2}").get_data(as_text=True)
    form = _week_form(html, **{f"slot-{big.timeslot_ids[150]}": "preferred"})
    for shown in (f"{form['shown']},{other.id}", "1,abc", "-5"):
        response = client.post(url, data={**form, "shown": shown})
        assert response.status_code == 400, shown
    assert _picks(db, big.pick_contact_id) == big.pick_answer


def test_a_form_that_does_not_say_what_it_showed_answers_for_the_whole_calendar(client, big, db):
    chosen = big.timeslot_ids[150]
    response = client.post(f"/pick/{big.pick_token}", data={"tz": "Europe/London", f"slot-{chosen}": "preferred"})
    assert response.status_code == 302
    assert _picks(db, big.pick_contact_id) == {chosen: "preferred"}


def test_the_api_adds_a_pick_in_another_week_and_keeps_the_rest(client, big, db):
    chosen = big.timeslot_ids[250]
    response = client.post("/api/events/", json={"calendar": big.calendar_id, "timeslot": chosen,
                                                 "contact": big.pick_contact_id},
                           headers={"Authorization": f"Bearer {big.pick_token}"})
    assert response.status_code == 201
    assert _picks(db, big.pick_contact_id) == {**big.pick_answer, chosen: "preferred"}


def test_a_confirmed_invitee_sees_their_meetings_week_and_links_between_weeks(client, big):
    html = client.get(f"/pick/{big.confirmed_token}?tz=Europe/London").get_data(as_text=True)
    assert "Your meeting is confirmed" in html and "Week of 4–10 March 2030" in html
    assert 'name="go_week"' not in html and 'name="shown"' not in html
    assert f'href="/pick/{big.confirmed_token}?tz=Europe/London&amp;week=2030-03-11">Next week' in html
    other = client.get(f"/pick/{big.confirmed_token}?tz=Europe/London&week=2030-03-25").get_data(as_text=True)
    assert "Your meeting is confirmed" in other and "Monday 04 March 2030, 10:00" in other
    assert "Week of 25–31 March 2030" in other


def test_the_week_with_times_the_owner_asked_about_is_shown_first(client, big, db):
    asked = big.timeslot_ids[320:322]
    db.session.execute(sa.update(Invitee).where(Invitee.id == big.pick_invitee_id)
                       .values(asked_timeslot_ids=asked))
    db.session.commit()
    html = client.get(f"/pick/{big.pick_token}?tz=Europe/London").get_data(as_text=True)
    assert _slot_names(html) == big.timeslot_ids[300:400]
    assert "Week of 25–31 March 2030" in html and "Asked by" in html


# ---- rows loaded --------------------------------------------------------------------------------

@pytest.fixture
def loads(db):
    """How many ORM instances were loaded (every model), counted from the "load" event."""
    counter = {"n": 0}

    def count(_target, _context):
        counter["n"] += 1

    sa.event.listen(db.Model, "load", count, propagate=True)
    yield counter
    sa.event.remove(db.Model, "load", count)


def test_the_large_pick_page_loads_a_weeks_rows(client, big, db, loads):
    url = f"/pick/{big.pick_token}?tz=Europe/London&week={WEEK_2}"
    client.get(url)  # warm
    db.session.expunge_all()
    loads["n"] = 0
    assert client.get(url).status_code == 200
    # The week's 100 slots, the invitee, the calendar and its owner; never the 500 slots.
    assert loads["n"] <= 100 + 5, loads["n"]
    in_week = db.session.scalar(sa.select(sa.func.count()).select_from(Timeslot).where(
        Timeslot.calendar_id == big.calendar_id,
        Timeslot.start_time >= dt.datetime(2030, 3, 11, tzinfo=LONDON),
        Timeslot.start_time < dt.datetime(2030, 3, 18, tzinfo=LONDON)))
    assert in_week == 100
