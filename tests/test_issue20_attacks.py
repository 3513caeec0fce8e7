"""Issue 20, attacked: the week-at-a-time pick page, the cached suggestions, the bounded invitees page and
chooser, the calendar page's ?week=, and conditional GET with compression — tried as an attacker and as a
confused invitee would. Each test names what a person would notice if it broke."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from oneonone.accounts.services import issue_api_token
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.scheduling import answers
from oneonone.scheduling.models import Event, Invitee
from oneonone.scheduling.pick_page import PAGED_OVER
from oneonone.scheduling.suggestions import suggest_for_calendar
from oneonone.transaction import unit_of_work

LONDON = ZoneInfo("Europe/London")
MONDAY = dt.date(2030, 3, 4)
WEEK_2, WEEK_3 = "2030-03-11", "2030-03-18"


@pytest.fixture
def weeks(db, owner, make_calendar, make_contact, make_invitee):
    """Three weeks of 15 slots (45 > PAGED_OVER: the pick page shows a week at a time), Europe/London,
    with invitees Ada and Bob; returns (calendar, slot ids by week, (ada, token), (bob, token))."""
    calendar = make_calendar(owner=owner, start_date=MONDAY, end_date=MONDAY + dt.timedelta(days=18),
                             timezone="Europe/London")
    by_week: list[list[int]] = []
    for week in range(3):
        rows = []
        for day in range(5):
            for hour in (9, 11, 14):
                date = MONDAY + dt.timedelta(days=7 * week + day)
                start = dt.datetime(date.year, date.month, date.day, hour, tzinfo=LONDON)
                rows.append(Timeslot(calendar_id=calendar.id, start_time=start,
                                     end_time=start + dt.timedelta(minutes=30)))
        db.session.add_all(rows)
        db.session.flush()
        by_week.append([row.id for row in rows])
    db.session.commit()
    assert sum(map(len, by_week)) > PAGED_OVER
    ada, bob = make_contact(owner=owner, first_name="Ada"), make_contact(owner=owner, first_name="Bob")
    return calendar, by_week, make_invitee(calendar, ada), make_invitee(calendar, bob)


def _picks(db, contact_id: int) -> dict[int, str]:
    rows = dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                                   .where(Event.contact_id == contact_id)).all())
    db.session.rollback()
    return rows


def _form(html: str, **choices: str) -> dict[str, str]:
    """The page's form as a browser sends it: every shown slot (can't unless chosen), tz, shown, week."""
    form = {"tz": re.search(r'<input type="hidden" name="tz" value="([^"]+)">', html).group(1),
            "shown": re.search(r'name="shown" value="([^"]*)"', html).group(1),
            "comment": ""}
    week = re.search(r'<input type="hidden" name="week" value="([^"]+)">', html)
    if week:
        form["week"] = week.group(1)
    for slot_id in dict.fromkeys(re.findall(r'name="slot-(\d+)"', html)):
        form[f"slot-{slot_id}"] = choices.get(f"slot-{slot_id}", "")
    return form


def _page(client, token: str, **query) -> str:
    response = client.get(f"/pick/{token}", query_string=query)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# ---- lost answers on the pick page ----------------------------------------------------------------

def test_shown_naming_another_calendars_slot_changes_nothing_anywhere(client, db, weeks, make_calendar, owner,
                                                                       make_timeslot, make_contact, make_event,
                                                                       make_invitee):
    _calendar, by_week, (ada, token), _bob = weeks
    other = make_calendar(owner=owner, name="Other")
    foreign = make_timeslot(other, "10:00")
    stranger = make_contact(owner=owner)
    make_invitee(other, stranger)
    make_event(foreign, stranger)
    client.post(f"/pick/{token}", data=_form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"}))
    form = _form(_page(client, token, week=WEEK_2), **{f"slot-{by_week[1][0]}": "preferred"})
    form["shown"] += f",{foreign.id}"
    response = client.post(f"/pick/{token}", data=form)
    assert response.status_code == 400
    assert _picks(db, ada.contact_id) == {by_week[0][0]: "preferred"}
    assert _picks(db, stranger.id) == {foreign.id: "preferred"}  # the other calendar's answer is untouched


def test_a_choice_for_another_calendars_slot_is_refused(client, db, weeks, make_calendar, owner, make_timeslot):
    _calendar, by_week, (ada, token), _bob = weeks
    foreign = make_timeslot(make_calendar(owner=owner, name="Other"), "10:00")
    form = _form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"})
    form[f"slot-{foreign.id}"] = "preferred"
    assert client.post(f"/pick/{token}", data=form).status_code == 400
    assert _picks(db, ada.contact_id) == {}


@pytest.mark.parametrize("shown", ["1,x", "9" * 400, "١٢", "-3", "1,,2,", " ", "0"])
def test_a_tampered_shown_field_is_no_500(client, db, weeks, shown):
    _calendar, by_week, (_ada, token), _bob = weeks
    form = _form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"})
    form["shown"] = shown
    response = client.post(f"/pick/{token}", data=form)
    assert response.status_code in (302, 400), response.status_code


def test_the_shown_ids_of_another_week_only_clear_the_posters_own_answers(client, db, weeks):
    """Someone who rewrites `shown` can only clear their own picks (it is their own link)."""
    _calendar, by_week, (ada, ada_token), (bob, bob_token) = weeks
    client.post(f"/pick/{bob_token}", data=_form(_page(client, bob_token), **{f"slot-{by_week[0][1]}": "preferred"}))
    client.post(f"/pick/{ada_token}", data=_form(_page(client, ada_token), **{f"slot-{by_week[0][1]}": "preferred"}))
    form = _form(_page(client, ada_token, week=WEEK_2), **{f"slot-{by_week[1][0]}": "if_need_be"})
    form["shown"] = ",".join(map(str, by_week[0] + by_week[1]))
    assert client.post(f"/pick/{ada_token}", data=form).status_code == 302
    assert _picks(db, ada.contact_id) == {by_week[1][0]: "if_need_be"}
    assert _picks(db, bob.contact_id) == {by_week[0][1]: "preferred"}


def test_a_week_posted_after_the_deadline_is_refused_and_keeps_the_answer(client, db, weeks):
    calendar, by_week, (ada, token), _bob = weeks
    client.post(f"/pick/{token}", data=_form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"}))
    stale = _form(_page(client, token, week=WEEK_2), **{f"slot-{by_week[1][0]}": "preferred"})
    db.session.execute(sa.update(Calendar).where(Calendar.id == calendar.id)
                       .values(response_deadline=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    db.session.commit()
    for data in (stale, {**stale, "go_week": WEEK_3}, {**stale, "none_work": "1"}):
        response = client.post(f"/pick/{token}", data=data)
        assert response.status_code == 400, response.status_code
        assert "deadline has passed" in response.get_data(as_text=True)
    assert _picks(db, ada.contact_id) == {by_week[0][0]: "preferred"}


def test_weeks_answered_in_two_zones_keep_each_other(client, db, weeks):
    """The invitee answers week 1 in London, then switches to Auckland (13 hours ahead: its weeks cut
    the slots differently) and answers a week there: week 1's picks stay."""
    _calendar, by_week, (ada, token), _bob = weeks
    london = _page(client, token, tz="Europe/London")
    saved = client.post(f"/pick/{token}", data=_form(london, **{f"slot-{by_week[0][0]}": "preferred"}))
    assert saved.status_code == 302
    auckland = _page(client, token, tz="Pacific/Auckland", week=WEEK_2)
    shown = [int(n) for n in re.search(r'name="shown" value="([^"]*)"', auckland).group(1).split(",")]
    assert by_week[0][0] not in shown
    target = by_week[1][3]
    assert target in shown
    assert client.post(f"/pick/{token}", data=_form(auckland, **{f"slot-{target}": "if_need_be"})).status_code == 302
    assert _picks(db, ada.contact_id) == {by_week[0][0]: "preferred", target: "if_need_be"}


def test_a_double_submitted_week_saves_once_and_keeps_the_others(client, db, weeks):
    _calendar, by_week, (ada, token), _bob = weeks
    client.post(f"/pick/{token}", data=_form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"}))
    form = _form(_page(client, token, week=WEEK_2), **{f"slot-{by_week[1][2]}": "preferred"})
    for _ in range(2):
        assert client.post(f"/pick/{token}", data={**form, "go_week": WEEK_3}).status_code == 302
    assert _picks(db, ada.contact_id) == {by_week[0][0]: "preferred", by_week[1][2]: "preferred"}


def test_none_work_then_a_time_in_another_week_is_saved(client, db, weeks):
    _calendar, by_week, (ada, token), _bob = weeks
    client.post(f"/pick/{token}", data=_form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"}))
    client.post(f"/pick/{token}", data={**_form(_page(client, token)), "none_work": "1"})
    assert _picks(db, ada.contact_id) == {}
    # The box stays ticked while it stands; going to week 2 with it ticked writes nothing.
    page = _page(client, token)
    assert client.post(f"/pick/{token}", data={**_form(page), "none_work": "1", "go_week": WEEK_2}).status_code == 302
    week_2 = _page(client, token, week=WEEK_2)
    response = client.post(f"/pick/{token}", data={**_form(week_2, **{f"slot-{by_week[1][0]}": "preferred"}),
                                                  "none_work": "1"})
    assert response.status_code == 302
    assert _picks(db, ada.contact_id) == {by_week[1][0]: "preferred"}
    row = db.session.get(Invitee, ada.id)
    assert row.declined_at is None
    db.session.rollback()


def test_unticking_none_work_to_go_and_pick_in_another_week_is_not_refused(client, db, weeks):
    """Confused invitee: they said none work, now untick it to pick a time in week 2 and press
    "Save and show next week" on week 1. The button promises to save this week and show the next;
    refusing ("Pick at least one time…") keeps them stuck on week 1."""
    _calendar, _by_week, (ada, token), _bob = weeks
    client.post(f"/pick/{token}", data={**_form(_page(client, token)), "none_work": "1"})
    response = client.post(f"/pick/{token}", data={**_form(_page(client, token)), "go_week": WEEK_2})
    assert response.status_code == 302, response.status_code
    assert f"week={WEEK_2}" in response.headers["Location"]
    assert db.session.get(Invitee, ada.id).declined_at is not None  # nothing written until they pick
    db.session.rollback()


def test_a_comment_typed_before_going_to_the_next_week_is_not_refused(client, db, weeks):
    """Confused invitee: first visit, types a comment on week 1 (nothing there suits) and presses
    "Save and show next week" to pick in week 2; refusing keeps them stuck on week 1."""
    _calendar, _by_week, (_ada, token), _bob = weeks
    form = {**_form(_page(client, token)), "comment": "Mornings suit me best", "go_week": WEEK_2}
    response = client.post(f"/pick/{token}", data=form)
    assert response.status_code == 302, response.status_code
    assert f"week={WEEK_2}" in response.headers["Location"]
    invitee = db.session.get(Invitee, _ada.id)
    assert (invitee.comment, invitee.responded_at) == ("Mornings suit me best", None), "kept, not an answer yet"
    db.session.rollback()
    assert "Mornings suit me best" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("week", ["", "x", "0001-01-01", "9999-12-31", "2030-W11-1", "20300311", "٢٠٣٠-٠٣-١١",
                                  "２０３０-０３-１１", "2030-02-30", "9" * 5000, "2030-03-11\x00"])
def test_bad_week_values_on_the_pick_page_are_no_500(client, db, weeks, week):
    _calendar, by_week, (ada, token), _bob = weeks
    nul = "\x00" in week  # the app refuses a NUL anywhere in a request (400) before any view
    assert client.get(f"/pick/{token}", query_string={"week": week}).status_code == (400 if nul else 200)
    form = _form(_page(client, token), **{f"slot-{by_week[0][0]}": "preferred"})
    response = client.post(f"/pick/{token}", data={**form, "week": week, "go_week": week})
    assert response.status_code == (400 if nul else 302), response.status_code
    assert _picks(db, ada.contact_id) == ({} if nul else {by_week[0][0]: "preferred"})


def test_repeated_week_params_are_no_500(client, weeks):
    _calendar, _by_week, (_ada, token), _bob = weeks
    assert client.get(f"/pick/{token}?week={WEEK_2}&week=x&week=").status_code == 200


# ---- 500s from bad query values on the owner's pages -----------------------------------------------

BAD_NUMBERS = ["", "0", "-1", "x", "1e3", "١", "２", "9" * 5000, "99999999999999999999", " 2 ", "1.5"]


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_bad_numbers_on_the_owner_pages_are_no_500(owner_client, weeks, value):
    calendar, _by_week, (ada, _token), _bob = weeks
    urls = [
        (f"/calendars/{calendar.id}/invitees", {"times": value}),
        (f"/calendars/{calendar.id}/invitees", {"page": value, "per_page": value}),
        (f"/calendars/{calendar.id}/suggestions", {"option": value, "k": value}),
        (f"/calendars/{calendar.id}/suggestions", {"option": value, "all": value}),
        (f"/calendars/{calendar.id}/invitees/{ada.id}/confirm", {"show": "free", "page": value}),
        (f"/calendars/{calendar.id}/invitees/{ada.id}/confirm", {"show": "picked", "page": value}),
    ]
    for url, query in urls:
        response = owner_client.get(url, query_string=query)
        assert response.status_code == 200, (url, query, response.status_code)


@pytest.mark.parametrize("show", ["", "FREE", "free ", "all", "x" * 3000])
def test_an_unknown_show_value_is_a_404_not_a_500(owner_client, weeks, show):
    calendar, _by_week, (ada, _token), _bob = weeks
    response = owner_client.get(f"/calendars/{calendar.id}/invitees/{ada.id}/confirm", query_string={"show": show})
    assert response.status_code in (400, 404), response.status_code


@pytest.mark.parametrize("week", ["", "x", "0001-01-01", "9999-12-31", "2030-W11-1", "20300311", "٢٠٣٠-٠٣-١١",
                                  "２０３０-０３-１１", "2030-02-30", "9" * 5000, " 2030-03-11 ", "2030-03-11\x00"])
def test_bad_week_values_on_the_calendar_page_are_no_500(owner_client, weeks, make_timeslot, week):
    calendar, _by_week, _ada, _bob = weeks
    for n in range(10):  # above the calendar page's 50: a week at a time
        make_timeslot(calendar, f"{16 + n // 5}:{(n % 5) * 10:02d}", day=1)
    response = owner_client.get(f"/calendars/{calendar.id}/", query_string={"week": week})
    assert response.status_code in (200, 400), response.status_code


def test_the_time_chooser_of_another_owner_is_404(client, weeks, make_user, login):
    calendar, _by_week, (ada, _token), _bob = weeks
    login(make_user())
    for show in ("free", "picked"):
        url = f"/calendars/{calendar.id}/invitees/{ada.id}/confirm"
        assert client.get(url, query_string={"show": show}).status_code == 404


def test_the_time_chooser_does_not_offer_another_calendars_invitee(owner_client, weeks, make_calendar, owner,
                                                                    make_contact, make_invitee):
    calendar, _by_week, _ada, _bob = weeks
    other = make_calendar(owner=owner, name="Other")
    stranger, _ = make_invitee(other, make_contact(owner=owner))
    url = f"/calendars/{calendar.id}/invitees/{stranger.id}/confirm"
    assert owner_client.get(url, query_string={"show": "free"}).status_code == 404


# ---- stale suggestions ---------------------------------------------------------------------------

def _best(calendar_id: int, db) -> dict[int, int]:
    best = suggest_for_calendar(db.session.get(Calendar, calendar_id), 1).best
    result = {a.invitee: a.slot for a in best.assignments} if best else {}
    db.session.rollback()
    return result


def test_suggestions_computed_in_a_rolled_back_transaction_are_not_served_later(db, weeks):
    """A transaction writes, reads the suggestions (cached under its new version) and rolls back; the
    next committed write reaches the same version number with other data: the cache must not answer it
    with the rolled-back answer."""
    calendar, by_week, (ada, _), (bob, _) = weeks
    with pytest.raises(RuntimeError), unit_of_work():
        answers.save_picks(db.session.get(Invitee, ada.id), {by_week[0][0]: "preferred"}, timezone="UTC")
        assert _best_in_session(calendar.id, db) == {ada.contact_id: by_week[0][0]}
        raise RuntimeError("rolled back")
    with unit_of_work():
        answers.save_picks(db.session.get(Invitee, bob.id), {by_week[0][1]: "preferred"}, timezone="UTC")
    assert _best(calendar.id, db) == {bob.contact_id: by_week[0][1]}


def _best_in_session(calendar_id: int, db) -> dict[int, int]:
    best = suggest_for_calendar(db.session.get(Calendar, calendar_id), 1).best
    return {a.invitee: a.slot for a in best.assignments} if best else {}


def test_a_bulk_write_in_the_same_transaction_is_seen_by_the_suggestions(db, weeks, make_event):
    """A bulk DELETE runs no flush: a calendar loaded before it must not read a cached answer of before."""
    calendar, by_week, (ada, _), _bob = weeks
    make_event(db.session.get(Timeslot, by_week[0][0]), ada.contact)
    assert _best(calendar.id, db) == {ada.contact_id: by_week[0][0]}
    with unit_of_work():
        loaded = db.session.get(Calendar, calendar.id)
        assert loaded.data_version is not None
        db.session.execute(sa.delete(Event).where(Event.calendar_id == calendar.id))
        best = suggest_for_calendar(loaded, 1).best
        assert not (best and best.assignments)


def test_a_slot_deleted_while_the_suggestions_page_loads_is_no_500(owner_client, db, weeks, make_event):
    """Another request deletes the suggested slot after this one read the (cached) suggestions and
    before it loads the slots they name: the page is made again from the new answers, not a KeyError."""
    calendar, by_week, (ada, _), _bob = weeks
    gone, other = by_week[0][0], by_week[0][1]
    make_event(db.session.get(Timeslot, gone), ada.contact)
    make_event(db.session.get(Timeslot, other), ada.contact, preference="if_need_be")
    url = f"/calendars/{calendar.id}/suggestions"
    assert owner_client.get(url).status_code == 200  # the suggestions (Ada at `gone`) are cached
    deleted = []

    def delete_first(_conn, _cursor, statement, _params, _context, _many):
        if not deleted and "FROM timeslots" in statement and " IN " in statement:
            deleted.append(gone)
            with db.engine.begin() as another:  # another request, committed in between
                another.execute(sa.text("DELETE FROM timeslots WHERE id = :id"), {"id": gone})

    sa.event.listen(db.engine, "before_cursor_execute", delete_first)
    try:
        response = owner_client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", delete_first)
    assert deleted and response.status_code == 200, response.status_code
    assert _best(calendar.id, db) == {ada.contact_id: other}


def test_a_contact_deleted_with_raw_sql_cascades_into_a_new_version(db, weeks, make_event):
    """The database's ON DELETE CASCADE (not the ORM's) removes the invitee and its picks: the triggers
    fire for cascaded rows too, on SQLite and PostgreSQL."""
    calendar, by_week, (ada, _), _bob = weeks
    make_event(db.session.get(Timeslot, by_week[0][0]), ada.contact)
    assert _best(calendar.id, db) == {ada.contact_id: by_week[0][0]}
    contact_id = ada.contact_id
    with db.engine.begin() as other:
        other.execute(sa.text("DELETE FROM contacts WHERE id = :id"), {"id": contact_id})
    assert _best(calendar.id, db) == {}


def test_an_answer_through_the_api_shows_in_the_api_suggestions_and_a_new_etag(client, db, owner, weeks):
    calendar, by_week, (ada, ada_token), _bob = weeks
    with unit_of_work():
        api_token = issue_api_token(owner)
    owner_headers = {"Authorization": f"Bearer {api_token}"}
    url = f"/api/calendars/{calendar.id}/suggested/?k=1"
    first = client.get(url, headers=owner_headers)
    assert first.status_code == 200 and first.get_json()["schedules"][0]["assignments"] == []
    created = client.post("/api/events/", headers={"Authorization": f"Bearer {ada_token}"},
                          json={"calendar": calendar.id, "timeslot": by_week[2][0], "contact": ada.contact_id})
    assert created.status_code == 201, created.get_data(as_text=True)
    again = client.get(url, headers={**owner_headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.get_json()["schedules"][0]["assignments"][0]["timeslot"] == by_week[2][0]


def test_confirm_and_unconfirm_on_the_page_move_the_suggestions(owner_client, db, weeks, make_event):
    calendar, by_week, (ada, _), (bob, _) = weeks
    make_event(db.session.get(Timeslot, by_week[0][0]), ada.contact)
    make_event(db.session.get(Timeslot, by_week[0][0]), bob.contact)
    make_event(db.session.get(Timeslot, by_week[0][1]), bob.contact, preference="if_need_be")
    assert _best(calendar.id, db) == {ada.contact_id: by_week[0][0], bob.contact_id: by_week[0][1]}
    response = owner_client.post(f"/calendars/{calendar.id}/invitees/{bob.id}/confirm",
                                 data={"timeslot_id": by_week[0][0], "replace": "1"})
    assert response.status_code == 302
    placed = dict(db.session.execute(sa.select(Event.contact_id, Event.timeslot_id).where(Event.confirmed)).all())
    db.session.rollback()
    assert placed == {bob.contact_id: by_week[0][0]}
    assert _best(calendar.id, db)[bob.contact_id] == by_week[0][0]
    assert owner_client.post(f"/calendars/{calendar.id}/invitees/{bob.id}/unconfirm").status_code == 302
    assert _best(calendar.id, db) == {ada.contact_id: by_week[0][0], bob.contact_id: by_week[0][1]}


# ---- conditional GET and compression -------------------------------------------------------------

def test_another_owners_etag_gets_a_404_not_a_304(client, db, owner, make_user, weeks):
    calendar, _by_week, _ada, _bob = weeks
    with unit_of_work():
        mine, theirs = issue_api_token(owner), issue_api_token(make_user())
    for url in (f"/api/calendars/{calendar.id}/", f"/api/calendars/{calendar.id}/suggested/",
                f"/api/calendars/{calendar.id}/timeslots/"):
        first = client.get(url, headers={"Authorization": f"Bearer {mine}"})
        assert first.status_code == 200
        other = client.get(url, headers={"Authorization": f"Bearer {theirs}", "If-None-Match": first.headers["ETag"]})
        assert other.status_code == 404, (url, other.status_code)


def test_a_changed_answer_is_never_a_304_for_the_invitees_api(client, db, weeks):
    calendar, by_week, (ada, token), _bob = weeks
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/calendars/{calendar.id}/invitees/"
    created = client.post("/api/events/", headers=headers,
                          json={"calendar": calendar.id, "timeslot": by_week[0][0], "contact": ada.contact_id})
    assert created.status_code == 201
    event_url = f"/api/events/{created.get_json()['id']}/"
    first = client.get(event_url, headers=headers)
    assert first.status_code == 200 and "ETag" in first.headers
    client.post(f"/pick/{token}", data={**_form(_page(client, token), **{f"slot-{by_week[0][0]}": "if_need_be"})})
    changed = client.get(event_url, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["preference"] == "if_need_be"
    assert url  # the owner-only list is not the invitee's


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_compressed_answer_is_304_with_its_own_etag_and_not_with_anothers(client, owner, weeks, encoding):
    calendar, _by_week, _ada, _bob = weeks
    with unit_of_work():
        token = issue_api_token(owner)
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": encoding}
    url = f"/api/calendars/{calendar.id}/timeslots/"
    first = client.get(url, headers=headers)
    assert first.headers.get("Content-Encoding") == encoding
    etag = first.headers["ETag"]
    assert client.get(url, headers={**headers, "If-None-Match": etag}).status_code == 304
    other = "gzip" if encoding == "br" else "br"
    plain = client.get(url, headers={**headers, "Accept-Encoding": other, "If-None-Match": etag})
    assert plain.status_code == 200 and plain.headers.get("Content-Encoding") == other


def test_errors_csv_and_ics_are_not_compressed(client, owner_client, db, owner, weeks, make_event):
    calendar, by_week, (ada, token), _bob = weeks
    headers = {"Accept-Encoding": "br, gzip"}
    missing = owner_client.get("/calendars/999999/", headers=headers)
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers
    stale = {**_form(_page(client, token)), "shown": "x"}
    refused = client.post(f"/pick/{token}", data=stale, headers=headers)
    assert refused.status_code == 400 and "Content-Encoding" not in refused.headers
    for n in range(3):
        make_event(db.session.get(Timeslot, by_week[0][n]), ada.contact, confirmed=n == 0)
    csv = owner_client.get(f"/calendars/{calendar.id}/schedule.csv", headers=headers)
    assert csv.status_code == 200 and "Content-Encoding" not in csv.headers
    ics = client.get(f"/pick/{token}/meeting.ics", headers=headers)
    assert ics.status_code == 200 and "Content-Encoding" not in ics.headers


def test_a_slot_deleted_while_the_invitee_answers_does_not_lose_their_week(client, db, owner_client, weeks):
    """The owner deletes a slot of week 2 while the invitee has that week open; the invitee, who chose
    another time there (and left the deleted one at can't), saves: their choice is kept."""
    calendar, by_week, (ada, token), _bob = weeks
    form = _form(_page(client, token, week=WEEK_2), **{f"slot-{by_week[1][5]}": "preferred"})
    gone = by_week[1][0]
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/{gone}/delete", data={"confirm": "y"})
    assert response.status_code == 302, response.status_code
    assert db.session.get(Timeslot, gone) is None
    db.session.rollback()
    response = client.post(f"/pick/{token}", data=form)
    assert response.status_code == 302, response.status_code
    assert _picks(db, ada.contact_id) == {by_week[1][5]: "preferred"}


def test_a_refused_week_shows_the_times_chosen_again(client, db, weeks):
    """A week refused for its comment (too long) comes back with the times chosen in it still chosen,
    as the page promises ("A refused answer keeps what was typed and chosen")."""
    _calendar, by_week, (_ada, token), _bob = weeks
    chosen = by_week[1][4]
    form = {**_form(_page(client, token, week=WEEK_2), **{f"slot-{chosen}": "preferred"}), "comment": "x" * 600}
    response = client.post(f"/pick/{token}", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(rf'name="slot-{chosen}" id="[^"]+" value="preferred" autocomplete="off"\s*checked', html)


def test_confirm_and_unconfirm_through_the_api_move_the_api_suggestions(client, db, owner, make_user, weeks,
                                                                        make_event):
    calendar, by_week, (ada, _), (bob, _) = weeks
    with unit_of_work():
        mine, theirs = issue_api_token(owner), issue_api_token(make_user())
    make_event(db.session.get(Timeslot, by_week[0][0]), ada.contact)
    bobs = make_event(db.session.get(Timeslot, by_week[0][0]), bob.contact)
    make_event(db.session.get(Timeslot, by_week[0][1]), bob.contact)
    headers = {"Authorization": f"Bearer {mine}"}
    url = f"/api/calendars/{calendar.id}/suggested/?k=1"

    def best() -> dict[int, int]:
        body = client.get(url, headers=headers).get_json()
        return {a["contact"]: a["timeslot"] for a in body["schedules"][0]["assignments"]}

    assert best() == {ada.contact_id: by_week[0][0], bob.contact_id: by_week[0][1]}
    event_url = f"/api/events/{bobs.id}/"
    intruder = client.put(event_url, headers={"Authorization": f"Bearer {theirs}"}, json={"confirmed": True})
    assert intruder.status_code == 404
    assert client.put(event_url, headers=headers, json={"confirmed": True}).status_code == 200
    assert best()[bob.contact_id] == by_week[0][0]
    assert client.put(event_url, headers=headers, json={"confirmed": False}).status_code == 200
    assert best() == {ada.contact_id: by_week[0][0], bob.contact_id: by_week[0][1]}


def test_the_chooser_cannot_confirm_into_another_owners_slot(owner_client, db, weeks, make_user, make_calendar,
                                                             make_timeslot):
    calendar, _by_week, (ada, _), _bob = weeks
    foreign = make_timeslot(make_calendar(owner=make_user(), name="Theirs"), "10:00")
    response = owner_client.post(f"/calendars/{calendar.id}/invitees/{ada.id}/confirm",
                                 data={"timeslot_id": foreign.id, "move": "1"})
    assert response.status_code in (302, 303, 404), response.status_code
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.confirmed)) == 0
    db.session.rollback()


def test_another_invitees_etag_gets_a_404_not_a_304(client, weeks):
    calendar, by_week, (ada, ada_token), (_bob, bob_token) = weeks
    created = client.post("/api/events/", headers={"Authorization": f"Bearer {ada_token}"},
                          json={"calendar": calendar.id, "timeslot": by_week[0][0], "contact": ada.contact_id})
    event_url = f"/api/events/{created.get_json()['id']}/"
    first = client.get(event_url, headers={"Authorization": f"Bearer {ada_token}"})
    assert first.status_code == 200
    other = client.get(event_url, headers={"Authorization": f"Bearer {bob_token}",
                                           "If-None-Match": first.headers["ETag"]})
    assert other.status_code in (403, 404), other.status_code
