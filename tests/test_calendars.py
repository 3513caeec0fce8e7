"""Calendars and timeslots: the owner's pages and the services behind them."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import marshmallow as ma
import pytest
import sqlalchemy as sa
from flask import g, url_for
from scenarios import ADA

from oneonone.api import schemas
from oneonone.calendars import grid, services, timeslots
from oneonone.calendars.forms import SeriesForm
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.exceptions import ConflictError, NotFoundError, ValidationError
from oneonone.scheduling.models import Event, Invitee

DEFAULT_PASSWORD = "correct-horse-battery"  # the factories' password (conftest)
UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# make_calendar's default window: Mon 04 – Fri 08 Mar 2030.
MON = dt.date(2030, 3, 4)


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def text(response) -> str:
    return response.get_data(as_text=True)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def calendar_parts(message) -> list[str]:
    """The different texts of an email's text/calendar parts (inline and attached, the same file)."""
    return list(dict.fromkeys(part.get_payload(decode=True).decode() for part in message.walk()
                              if part.get_content_type() == "text/calendar"))


@contextmanager
def counting_queries(db):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def calendar(make_calendar, owner):
    return make_calendar(owner)


@pytest.fixture
def picked_slot(calendar, owner, make_timeslot, make_contact, make_invitee, make_event):
    """A slot on Tue 09:00–09:30 picked by two invitees, neither confirmed."""
    slot = make_timeslot(calendar, "09:00", day=1)
    for _ in range(2):
        contact = make_contact(owner)
        make_invitee(calendar, contact)
        make_event(slot, contact)
    return slot


@pytest.fixture
def confirmed_slot(calendar, owner, make_timeslot, make_contact, make_invitee, make_event):
    """A slot on Tue 10:00–10:30 with a confirmed meeting with Ada Lovelace (and one other pick)."""
    slot = make_timeslot(calendar, "10:00", day=1)
    ada = make_contact(owner, **ADA)
    make_invitee(calendar, ada)
    make_event(slot, ada, confirmed=True)
    other = make_contact(owner)
    make_invitee(calendar, other)
    make_event(slot, other)
    return slot


# ---- calendar list ------------------------------------------------------------------------

def row_counts(html: str, name: str) -> dict[str, str]:
    row = re.search(rf"<tr>\s*<td>\s*<a[^>]*>{re.escape(name)}</a>.*?</tr>", html, re.S)
    assert row, f"no row for {name}"
    return dict(re.findall(r'data-count="(\w+)">(\d+)', row.group(0)))


def test_list_shows_counts_per_calendar(owner_client, owner, db, make_calendar, make_timeslot,
                                        make_contact, make_invitee, make_event):
    busy = make_calendar(owner, name="Busy week")
    make_calendar(owner, name="Quiet week")
    slots = [make_timeslot(busy, f"{hour:02d}:00") for hour in (9, 10, 11)]
    contacts = [make_contact(owner) for _ in range(3)]
    invitees = [make_invitee(busy, contact)[0] for contact in contacts]
    for invitee in invitees[:2]:
        invitee.responded_at = dt.datetime.now(UTC)
    db.session.commit()
    make_event(slots[0], contacts[0], confirmed=True)
    make_event(slots[1], contacts[0])
    make_event(slots[1], contacts[1])

    html = text(owner_client.get("/calendars/"))

    assert row_counts(html, "Busy week") == {"slots": "3", "invitees": "3", "answered": "2", "confirmed": "1"}
    assert row_counts(html, "Quiet week") == {"slots": "0", "invitees": "0", "answered": "0", "confirmed": "0"}


def test_list_counts_take_a_constant_number_of_queries(owner_client, owner, db, make_calendar,
                                                       make_timeslot):
    make_timeslot(make_calendar(owner))
    with counting_queries(db) as one:
        assert owner_client.get("/calendars/").status_code == 200
    for _ in range(5):
        make_timeslot(make_calendar(owner))
    with counting_queries(db) as six:
        assert owner_client.get("/calendars/").status_code == 200
    assert len(six) == len(one)


def test_list_is_empty_then_invites_to_create(owner_client):
    html = text(owner_client.get("/calendars/"))
    assert "No calendars yet — create one" in html
    assert 'href="/calendars/new"' in html


def test_list_paginates_past_fifty(owner_client, owner, db):
    db.session.add_all(Calendar(owner_id=owner.id, name=f"Calendar {n:02d}", start_date=MON,
                                end_date=MON + dt.timedelta(days=n % 5), timezone="UTC")
                       for n in range(51))
    db.session.commit()
    first = text(owner_client.get("/calendars/"))
    second = text(owner_client.get("/calendars/?page=2"))
    assert first.count('data-count="slots"') == 50
    assert second.count('data-count="slots"') == 1
    assert 'href="/calendars/?page=2"' in first


def test_list_shows_only_own_calendars(owner_client, make_calendar, make_user):
    make_calendar(make_user(), name="Someone else's")
    assert "Someone else&#39;s" not in text(owner_client.get("/calendars/"))


# ---- create, edit, delete a calendar --------------------------------------------------------

GOOD_CALENDAR = {"name": "Spring 1:1s", "start_date": "2030-06-03", "end_date": "2030-06-14",
                 "timezone": "Europe/London", "response_deadline": "2030-05-31T17:00"}


def test_create_calendar(owner_client, owner, db):
    response = owner_client.post("/calendars/new", data=GOOD_CALENDAR)
    calendar = db.session.scalar(sa.select(Calendar))
    assert response.status_code == 302
    assert response.location.endswith(f"/calendars/{calendar.id}/")
    assert (calendar.owner_id, calendar.name, calendar.timezone) == (owner.id, "Spring 1:1s", "Europe/London")
    assert (calendar.start_date, calendar.end_date) == (dt.date(2030, 6, 3), dt.date(2030, 6, 14))
    # 17:00 in London in summer (BST) is 16:00 UTC.
    assert calendar.response_deadline == utc(2030, 5, 31, 16, 0)


def test_create_form_defaults_to_the_owners_zone(client, make_user, login):
    login(make_user(timezone="Asia/Tokyo"))
    html = text(client.get("/calendars/new"))
    assert re.search(r'<option selected value="Asia/Tokyo">|<option value="Asia/Tokyo" selected>', html)


def test_create_without_deadline_or_zone_uses_owners_zone(owner, db):
    owner.timezone = "America/New_York"
    calendar = services.create_calendar(owner, name=" Office hours ", start_date=dt.date(2030, 1, 7),
                                        end_date=dt.date(2030, 1, 11))
    assert (calendar.name, calendar.timezone, calendar.response_deadline) == (
        "Office hours", "America/New_York", None)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Name is required."),
        ({"name": "   "}, "name", "Name is required."),
        ({"name": "x" * 51}, "name", "Name must be at most 50 characters."),
        ({"name": "Tab\tbed"}, "name", "Name cannot contain control characters such as line breaks."),
        ({"end_date": "2030-06-02"}, "end_date", "The end date must be on or after the start date."),
        ({"end_date": "2031-06-14"}, "end_date", "The window can be at most 366 days long."),
        ({"start_date": ""}, "start_date", "Choose the first day."),
        ({"start_date": "03/06/2030"}, "start_date", "Enter a date such as 2030-03-04."),
        ({"start_date": "0001-01-01"}, "start_date", "enter a year between 1970 and 2999"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a known time zone"),
        ({"timezone": ""}, "timezone", "Choose a known time zone"),
        ({"response_deadline": "2030-03-31T01:30"}, "response_deadline", "does not exist in Europe/London"),
        ({"response_deadline": "soon"}, "response_deadline", "Enter a date and time such as 2030-03-04 17:00."),
    ],
)
def test_create_calendar_refuses_bad_input(owner_client, db, changes, field, message):
    response = owner_client.post("/calendars/new", data={**GOOD_CALENDAR, **changes})
    html = text(response)
    assert response.status_code == 400
    assert message in html
    # The message sits under its field.
    assert re.search(rf'id="{field}"[^>]*>.*?invalid-feedback[^>]*>[^<]*{re.escape(message)}', html, re.S)
    assert count(db, Calendar) == 0


def test_edit_calendar(owner_client, calendar, db):
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data={
        "name": "Interview week", "start_date": "2030-03-01", "end_date": "2030-03-15",
        "timezone": "America/New_York", "response_deadline": "2030-02-28T09:00"})
    assert response.status_code == 302
    db.session.refresh(calendar)
    assert (calendar.name, calendar.timezone) == ("Interview week", "America/New_York")
    assert (calendar.start_date, calendar.end_date) == (dt.date(2030, 3, 1), dt.date(2030, 3, 15))
    assert calendar.response_deadline == utc(2030, 2, 28, 14, 0)


def test_edit_form_shows_the_deadline_in_the_calendars_zone(owner_client, make_calendar, owner):
    calendar = make_calendar(owner, timezone="America/New_York", response_deadline=utc(2030, 3, 1, 22, 0))
    html = text(owner_client.get(f"/calendars/{calendar.id}/edit"))
    assert 'value="2030-03-01T17:00"' in html


def test_edit_calendar_can_clear_the_deadline(owner_client, make_calendar, owner, db):
    calendar = make_calendar(owner, response_deadline=utc(2030, 3, 1, 22, 0))
    data = {"name": calendar.name, "start_date": "2030-03-04", "end_date": "2030-03-08",
            "timezone": "UTC", "response_deadline": ""}
    assert owner_client.post(f"/calendars/{calendar.id}/edit", data=data).status_code == 302
    db.session.refresh(calendar)
    assert calendar.response_deadline is None


# ---- the response deadline: only a future one can be set, and it is shown with its zone -------

PAST_DEADLINE = "The response deadline must be in the future."


def _form_time(moment: dt.datetime, zone: ZoneInfo = LONDON) -> str:
    """`moment` as the calendar form's datetime-local field writes it (to the minute)."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _under_deadline_field(html: str, message: str) -> bool:
    return bool(re.search(rf'id="response_deadline"[^>]*>.*?invalid-feedback[^>]*>[^<]*{re.escape(message)}',
                          html, re.S))


@pytest.mark.parametrize("ago", [dt.timedelta(days=400), dt.timedelta(days=1), dt.timedelta(minutes=2)])
def test_create_form_refuses_a_deadline_in_the_past(owner_client, db, ago):
    deadline = _form_time(dt.datetime.now(UTC) - ago)
    response = owner_client.post("/calendars/new", data={**GOOD_CALENDAR, "response_deadline": deadline})
    assert response.status_code == 400
    assert _under_deadline_field(text(response), PAST_DEADLINE)
    assert count(db, Calendar) == 0


@pytest.mark.parametrize("before", [None, utc(2030, 3, 1, 17), "passed"])
def test_edit_form_refuses_setting_a_deadline_in_the_past(owner_client, make_calendar, owner, db, before):
    now = dt.datetime.now(UTC).replace(microsecond=0)
    before = now - dt.timedelta(days=3) if before == "passed" else before
    calendar = make_calendar(owner, timezone="Europe/London", response_deadline=before)
    data = {"name": "Renamed", "start_date": "2030-03-04", "end_date": "2030-03-08",
            "timezone": "Europe/London", "response_deadline": _form_time(now - dt.timedelta(days=1))}
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=data)
    assert response.status_code == 400
    assert _under_deadline_field(text(response), PAST_DEADLINE)
    db.session.refresh(calendar)
    assert (calendar.name, calendar.response_deadline) == ("Interview day", before)


def test_edit_keeps_an_already_passed_deadline_left_as_it_was(owner_client, make_calendar, owner, db):
    # Set through the API to the second; the form shows it to the minute and sends that back.
    passed = (dt.datetime.now(UTC) - dt.timedelta(days=2)).replace(second=30, microsecond=0)
    calendar = make_calendar(owner, timezone="Europe/London", response_deadline=passed)
    form = text(owner_client.get(f"/calendars/{calendar.id}/edit"))
    shown = re.search(r'id="response_deadline"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="response_deadline"',
                      form)
    assert shown and _form_time(passed) in shown.groups()
    data = {"name": "Renamed", "start_date": "2030-03-04", "end_date": "2030-03-08",
            "timezone": "Europe/London", "response_deadline": _form_time(passed)}
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=data)
    assert response.status_code == 302, text(response)
    db.session.refresh(calendar)
    assert (calendar.name, calendar.response_deadline) == ("Renamed", passed)


def test_update_service_refuses_a_past_deadline_unless_it_is_the_one_already_set(calendar, db):
    passed = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    with pytest.raises(ValidationError) as caught:
        services.update_calendar(calendar, {"response_deadline": passed})
    assert caught.value.fields == {"response_deadline": [PAST_DEADLINE]}
    calendar.response_deadline = passed
    services.update_calendar(calendar, {"name": "Renamed", "response_deadline": passed})
    assert (calendar.name, calendar.response_deadline) == ("Renamed", passed)
    with pytest.raises(ValidationError, match=PAST_DEADLINE) as caught:
        services.update_calendar(calendar, {"response_deadline": passed - dt.timedelta(minutes=5)})
    assert caught.value.fields == {"response_deadline": [PAST_DEADLINE]}


@pytest.fixture
def owner_api(client, owner):
    """Send JSON to the API with the owner's bearer token."""
    from oneonone.accounts.services import issue_api_token
    from oneonone.transaction import unit_of_work

    with unit_of_work():
        token = issue_api_token(owner)
    return lambda body: client.post("/api/calendars/", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("deadline", ["2020-01-31T17:00", "2020-01-31T17:00:00+00:00", "past"])
def test_api_refuses_a_deadline_in_the_past_naming_it(owner_api, db, deadline):
    if deadline == "past":
        deadline = (dt.datetime.now(UTC) - dt.timedelta(seconds=5)).isoformat()
    body = {"name": "Office hours", "start_date": "2030-03-04", "end_date": "2030-03-08",
            "timezone": "Europe/London", "response_deadline": deadline}
    response = owner_api(body)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"response_deadline": [PAST_DEADLINE]}
    # Named with the other problems at once, when another field cannot even be read.
    response = owner_api({**body, "start_date": "04/03/2030"})
    assert response.status_code == 400
    assert {"start_date", "response_deadline"} <= set(response.get_json()["fields"])
    assert response.get_json()["fields"]["response_deadline"] == [PAST_DEADLINE]
    assert count(db, Calendar) == 0
    assert owner_api({**body, "response_deadline": "2030-03-01T17:00"}).status_code == 201


def test_calendar_page_shows_the_deadline_with_its_zone(owner_client, make_calendar, owner, db):
    calendar = make_calendar(owner, timezone="America/New_York", response_deadline=utc(2030, 3, 1, 22))
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert "Answers close Fri 01 Mar 2030, 17:00 (America/New_York)" in html
    calendar.response_deadline = utc(2020, 3, 2, 22)
    db.session.commit()
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert "Answers closed Mon 02 Mar 2020, 17:00 (America/New_York)" in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end_date": "2030-03-06"}, "end_date",
         "2 slots would fall after the new end of the window; move or delete them first."),
        ({"start_date": "2030-03-05"}, "start_date",
         "1 slot would fall before the new start of the window; move or delete it first."),
        # Same dates, but in New York the Monday 09:00 UTC slot is on Monday 04:00 (fine) and the
        # Friday 16:00 UTC slot is at 11:00 — all inside; in Tokyo Fri 16:00 UTC is Sat 01:00.
        ({"timezone": "Asia/Tokyo", "slot_times": "keep_moments", "zone_asked": "Asia/Tokyo"}, "end_date",
         "1 slot would fall after the new end of the window"),
        ({"name": ""}, "name", "Name is required."),
    ],
)
def test_edit_calendar_refuses_narrowing_past_its_slots(owner_client, calendar, make_timeslot, db,
                                                        changes, field, message):
    make_timeslot(calendar, "09:00", day=0)
    make_timeslot(calendar, "09:00", day=3)
    make_timeslot(calendar, "16:00", day=4)
    data = {"name": calendar.name, "start_date": "2030-03-04", "end_date": "2030-03-08",
            "timezone": "UTC", **changes}
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=data)
    assert response.status_code == 400
    assert message in text(response)
    db.session.refresh(calendar)
    assert (calendar.name, calendar.end_date, calendar.timezone) == ("Interview day", dt.date(2030, 3, 8), "UTC")


def test_delete_calendar_page_says_what_goes_with_it(owner_client, confirmed_slot, make_timeslot):
    calendar = confirmed_slot.calendar
    make_timeslot(calendar, "11:00")
    html = text(owner_client.get(f"/calendars/{calendar.id}/delete"))
    summary = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "2 slots" in summary and "2 invitees" in summary and "1 confirmed meeting" in summary
    assert "Ada Lovelace" in summary


def test_delete_calendar_deletes_everything_in_it(owner_client, picked_slot, db, mailbox):
    calendar_id = picked_slot.calendar_id
    response = owner_client.post(f"/calendars/{calendar_id}/delete")
    assert response.status_code == 302 and response.location.endswith("/calendars/")
    assert [count(db, model) for model in (Calendar, Timeslot, Invitee, Event)] == [0, 0, 0, 0]
    assert mailbox.messages == []


def test_delete_calendar_does_not_cancel_past_meetings(owner_client, owner, make_calendar, make_timeslot,
                                                      make_contact, make_invitee, make_event, db, mailbox):
    calendar = make_calendar(owner, start_date=dt.date(2020, 3, 2))
    contact = make_contact(owner)
    make_invitee(calendar, contact)
    make_event(make_timeslot(calendar), contact, confirmed=True)
    assert owner_client.post(f"/calendars/{calendar.id}/delete").status_code == 302
    assert count(db, Calendar) == 0 and mailbox.messages == []


def test_delete_calendar_cancels_upcoming_meetings_by_email(owner_client, confirmed_slot, db, mailbox):
    response = owner_client.post(f"/calendars/{confirmed_slot.calendar_id}/delete")
    assert response.status_code == 302
    assert count(db, Calendar) == 0
    [message] = mailbox.wait_for(1)
    assert message["To"] == "ada@example.org"
    assert "METHOD:CANCEL" in calendar_parts(message)[0]


# ---- the calendar page --------------------------------------------------------------------

def test_calendar_page_shows_slots_in_the_calendars_zone(owner_client, owner, make_calendar, make_timeslot,
                                                        make_contact, make_invitee, make_event):
    calendar = make_calendar(owner, timezone="America/New_York", start_date=dt.date(2030, 3, 6),
                             end_date=dt.date(2030, 3, 12))
    plain = make_timeslot(calendar, utc(2030, 3, 6, 14, 0))  # 09:00 EST
    priority = make_timeslot(calendar, utc(2030, 3, 11, 13, 0), high_priority=True)  # 09:00 EDT
    grace = make_contact(owner, first_name="Grace", last_name="Hopper")
    make_invitee(calendar, grace)
    make_event(plain, grace, confirmed=True)
    make_event(priority, grace)

    html = text(owner_client.get(f"/calendars/{calendar.id}/"))

    plain_block = re.search(rf'id="slot-{plain.id}".*?</a>', html, re.S).group(0)
    priority_block = re.search(rf'id="slot-{priority.id}".*?</a>', html, re.S).group(0)
    assert "09:00–09:30" in plain_block and "1 pick" in plain_block and "Grace Hopper" in plain_block
    assert "High priority" not in plain_block
    assert "09:00–09:30" in priority_block and "High priority" in priority_block
    # Each slot sits in its own day's column; Mon and Tue of the first week and the days after
    # Tue 12 Mar are outside the window.
    assert html.index('id="day-2030-03-06"') < html.index(f'id="slot-{plain.id}"') < html.index(
        'id="day-2030-03-07"')
    assert html.index('id="day-2030-03-11"') < html.index(f'id="slot-{priority.id}"')
    for day in ("2030-03-04", "2030-03-05", "2030-03-13", "2030-03-17"):
        assert re.search(rf'class="day day-outside[^"]*"\s+id="day-{day}"', html)
    assert not re.search(r'class="day day-outside[^"]*"\s+id="day-2030-03-06"', html)
    assert 'id="day-2030-03-18"' not in html
    assert 'aria-current="page"' in html and "Invitees &amp; answers" in html


def test_calendar_page_of_an_empty_calendar_suggests_a_series(owner_client, calendar):
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert "No timeslots yet" in html
    assert f"/calendars/{calendar.id}/timeslots/series" in html


def test_calendar_page_takes_a_constant_number_of_queries(owner_client, calendar, make_timeslot, db,
                                                          owner, make_contact, make_invitee, make_event):
    make_timeslot(calendar, "09:00")
    with counting_queries(db) as few:
        owner_client.get(f"/calendars/{calendar.id}/")
    contact = make_contact(owner)
    make_invitee(calendar, contact)
    for day in range(5):
        for hour in range(10, 16):
            slot = make_timeslot(calendar, f"{hour}:00", day=day)
            make_event(slot, contact, confirmed=(day == 2 and hour == 10))
    with counting_queries(db) as many:
        owner_client.get(f"/calendars/{calendar.id}/")
    assert len(many) == len(few)


# ---- one timeslot -------------------------------------------------------------------------

def slot_form(date="2030-03-05", start="09:00", end="09:30", **extra) -> dict:
    return {"date": date, "start_time": start, "end_time": end, **extra}


def test_add_slot(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2030, 6, 3))
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/new",
                                 data=slot_form("2030-06-04", "09:00", "09:45", high_priority="y"))
    assert response.status_code == 302
    slot = db.session.scalar(sa.select(Timeslot))
    assert (slot.start_time, slot.end_time, slot.high_priority) == (
        utc(2030, 6, 4, 8, 0), utc(2030, 6, 4, 8, 45), True)
    page = text(owner_client.get(response.location))
    assert "Added the slot Tue 04 Jun 2030, 09:00–09:45." in page


def test_add_slot_and_add_another_keeps_the_date(owner_client, calendar):
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/new",
                                 data=slot_form("2030-03-06", another="1"))
    assert response.status_code == 302
    assert response.location.endswith(f"/calendars/{calendar.id}/timeslots/new?date=2030-03-06")
    assert 'value="2030-03-06"' in text(owner_client.get(response.location))


def test_add_slot_ending_at_midnight(owner_client, calendar, db):
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/new",
                                 data=slot_form("2030-03-08", "23:30", "00:00"))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Timeslot.end_time)) == utc(2030, 3, 9, 0, 0)


def test_slots_may_touch_end_to_start(owner_client, calendar, make_timeslot, db):
    make_timeslot(calendar, "09:00", day=1)
    for start, end in (("08:30", "09:00"), ("09:30", "10:00")):
        response = owner_client.post(f"/calendars/{calendar.id}/timeslots/new", data=slot_form(start=start, end=end))
        assert response.status_code == 302
    assert count(db, Timeslot) == 3


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (slot_form(date="2030-03-03"), "start_time", "The slot must lie within the calendar&#39;s window"),
        (slot_form(date="2030-03-09"), "start_time", "The slot must lie within the calendar&#39;s window"),
        (slot_form(start="10:00", end="09:30"), "end_time", "The end must be after the start."),
        (slot_form(start="10:00", end="10:00"), "end_time", "The end must be after the start."),
        (slot_form(start="09:15", end="09:45"), "start_time", "Overlaps the slot Tue 05 Mar 2030, 09:00–09:30."),
        (slot_form(start="08:00", end="11:00"), "start_time", "Overlaps the slot Tue 05 Mar 2030, 09:00–09:30."),
        (slot_form(date=""), "date", "Choose the date."),
        (slot_form(start="9 o'clock"), "start_time", "Enter a time such as 09:30."),
        (slot_form(end=""), "end_time", "Enter the end time."),
    ],
)
def test_add_slot_refuses_bad_input(owner_client, calendar, make_timeslot, db, data, field, message):
    make_timeslot(calendar, "09:00", day=1)
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/new", data=data)
    html = text(response)
    assert response.status_code == 400
    assert re.search(rf'id="{field}"[^>]*>.*?invalid-feedback[^>]*>[^<]*{re.escape(message)}', html, re.S)
    assert count(db, Timeslot) == 1


def test_add_slot_refuses_a_time_the_clocks_skip(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2026, 3, 27))
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/new",
                                 data=slot_form("2026-03-29", "01:30", "02:30"))
    assert response.status_code == 400
    assert ("Sun 29 Mar 2026, 01:30 does not exist in Europe/London: the clocks go forward then."
            in text(response))
    assert count(db, Timeslot) == 0


def test_an_ambiguous_time_is_its_first_occurrence(owner, make_calendar):
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2026, 10, 23))
    slot = timeslots.add_timeslot(calendar, start_time=dt.datetime(2026, 10, 25, 1, 30),
                                 end_time=dt.datetime(2026, 10, 25, 1, 45))
    # 01:30 happens twice that night: first in BST (00:30 UTC), then in GMT (01:30 UTC).
    assert (slot.start_time, slot.end_time) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45))


def test_edit_slot_moves_it_and_toggles_priority(owner_client, calendar, make_timeslot, db):
    slot = make_timeslot(calendar, "09:00", day=1)
    page = text(owner_client.get(f"/calendars/{calendar.id}/timeslots/{slot.id}/edit"))
    assert 'value="2030-03-05"' in page and 'value="09:00"' in page and 'value="09:30"' in page
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/{slot.id}/edit",
                                 data=slot_form("2030-03-06", "14:00", "15:00", high_priority="y"))
    assert response.status_code == 302
    db.session.refresh(slot)
    assert (slot.start_time, slot.end_time, slot.high_priority) == (
        utc(2030, 3, 6, 14), utc(2030, 3, 6, 15), True)
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/{slot.id}/edit",
                                 data=slot_form("2030-03-06", "14:00", "15:00"))
    db.session.refresh(slot)
    assert response.status_code == 302 and slot.high_priority is False


def test_saving_a_slot_unchanged_keeps_its_exact_instant(owner_client, owner, make_calendar, make_timeslot, db):
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2026, 10, 23))
    # The second 01:30 of the fall-back night (GMT), and a slot across midnight.
    late = make_timeslot(calendar, utc(2026, 10, 25, 1, 30), minutes=20)
    overnight = make_timeslot(calendar, utc(2026, 10, 26, 23, 30), minutes=60)
    for slot, data in ((late, slot_form("2026-10-25", "01:30", "01:50", high_priority="y")),
                       (overnight, slot_form("2026-10-26", "23:30", "00:30", high_priority="y"))):
        response = owner_client.post(f"/calendars/{calendar.id}/timeslots/{slot.id}/edit", data=data)
        assert response.status_code == 302, text(response)
    db.session.expire_all()
    assert (late.start_time, late.end_time, late.high_priority) == (
        utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 1, 50), True)
    assert (overnight.start_time, overnight.end_time, overnight.high_priority) == (
        utc(2026, 10, 26, 23, 30), utc(2026, 10, 27, 0, 30), True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (slot_form(start="10:15", end="10:45"), "Overlaps the slot Tue 05 Mar 2030, 10:00–10:30."),
        (slot_form(date="2030-03-10"), "The slot must lie within the calendar&#39;s window"),
        (slot_form(start="09:30", end="09:00"), "The end must be after the start."),
    ],
)
def test_edit_slot_refuses_bad_input(owner_client, calendar, make_timeslot, db, data, message):
    slot = make_timeslot(calendar, "09:00", day=1)
    make_timeslot(calendar, "10:00", day=1)
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/{slot.id}/edit", data=data)
    assert response.status_code == 400
    assert message in text(response)
    db.session.refresh(slot)
    assert slot.start_time == utc(2030, 3, 5, 9)


def test_moving_a_picked_slot_needs_acknowledging(owner_client, picked_slot, db, mailbox):
    url = f"/calendars/{picked_slot.calendar_id}/timeslots/{picked_slot.id}/edit"
    page = re.sub(r"\s+", " ", text(owner_client.get(url)))
    assert "Changing the time removes 2 answers on this slot (" in page
    assert "they are emailed to pick again." in page
    assert ("I understand that changing the time removes 2 answers and emails those invitees to pick again."
            in page)

    refused = owner_client.post(url, data=slot_form(start="11:00", end="11:30"))
    assert refused.status_code == 400
    assert "Tick this box to change the time of a slot that invitees picked." in text(refused)
    db.session.refresh(picked_slot)
    assert picked_slot.start_time == utc(2030, 3, 5, 9)

    # Only marking it high priority changes nothing for the invitees: no acknowledgement needed.
    assert owner_client.post(url, data=slot_form(high_priority="y")).status_code == 302
    assert count(db, Event) == 2 and mailbox.messages == []
    moved = owner_client.post(url, data=slot_form(start="11:00", end="11:30", acknowledge="y"))
    assert moved.status_code == 302
    db.session.refresh(picked_slot)
    assert (picked_slot.start_time, picked_slot.high_priority) == (utc(2030, 3, 5, 11), False)
    # The answers were for 09:00: they go, and both pickers are asked to look again.
    assert count(db, Event) == 0
    assert len(mailbox.wait_for(2)) == 2


def test_moving_a_confirmed_slot_emails_the_new_time(owner_client, confirmed_slot, db, mailbox):
    url = f"/calendars/{confirmed_slot.calendar_id}/timeslots/{confirmed_slot.id}/edit"
    page = text(owner_client.get(url))
    assert "Ada Lovelace’s confirmed meeting moves with the slot; Ada Lovelace is emailed the new time." in (
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))
    response = owner_client.post(url, data=slot_form(start="15:00", end="15:30", acknowledge="y"))
    assert response.status_code == 302
    received = mailbox.wait_for(2)  # Ada's meeting moved; the other picker's answer was for 09:00
    [message] = [m for m in received if m["To"] == "ada@example.org"]
    assert message["Subject"] == 'Moved: "Interview day"'
    assert [m["Subject"] for m in received if m["To"] != "ada@example.org"] == [
        'A time you picked changed: "Interview day"']
    [ics] = calendar_parts(message)
    assert "METHOD:REQUEST" in ics and "DTSTART:20300305T150000Z" in ics
    assert "Ada Lovelace was emailed the new time." in text(owner_client.get(response.location))


def test_delete_slot(owner_client, calendar, make_timeslot, db):
    slot = make_timeslot(calendar, "09:00")
    page = text(owner_client.get(f"/calendars/{calendar.id}/timeslots/{slot.id}/delete"))
    assert "Nobody has picked this slot yet." in page
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/{slot.id}/delete")
    assert response.status_code == 302
    assert count(db, Timeslot) == 0


def test_deleting_a_picked_slot_warns_first(owner_client, picked_slot, db, mailbox):
    url = f"/calendars/{picked_slot.calendar_id}/timeslots/{picked_slot.id}/delete"
    page = re.sub(r"<[^>]+>", "", text(owner_client.get(url)))
    assert "2 invitees picked this slot; their picks are deleted with it." in page
    assert "No meeting is confirmed here." in page
    assert owner_client.post(url).status_code == 302
    assert (count(db, Timeslot), count(db, Event), count(db, Invitee)) == (0, 0, 2)
    assert mailbox.messages == []


def test_deleting_a_confirmed_slot_needs_confirming_then_emails_a_cancellation(
        owner_client, confirmed_slot, db, mailbox):
    url = f"/calendars/{confirmed_slot.calendar_id}/timeslots/{confirmed_slot.id}/delete"
    page = re.sub(r"\s+", " ", text(owner_client.get(url)))
    assert "A meeting with <strong>Ada Lovelace</strong> is confirmed here." in page
    assert "Cancel the meeting with Ada Lovelace and email them a cancellation" in page

    refused = owner_client.post(url)
    assert refused.status_code == 400
    assert "Tick this box to cancel the confirmed meeting." in text(refused)
    assert count(db, Timeslot) == 1 and mailbox.messages == []

    response = owner_client.post(url, data={"confirm": "y"})
    assert response.status_code == 302
    assert count(db, Timeslot) == 0 and count(db, Event) == 0
    [message] = mailbox.wait_for(1)
    assert message["To"] == "ada@example.org" and message["Subject"] == 'Cancelled: "Interview day"'
    [ics] = calendar_parts(message)
    assert "METHOD:CANCEL" in ics and "DTSTART:20300305T100000Z" in ics


def test_delete_timeslot_service_refuses_a_confirmed_meeting_without_confirm(confirmed_slot, db):
    with pytest.raises(ConflictError, match="A meeting with Ada Lovelace is confirmed") as caught:
        timeslots.delete_timeslot(confirmed_slot)
    assert caught.value.status == 409
    with pytest.raises(ConflictError):
        timeslots.delete_timeslot(confirmed_slot, confirm="false")
    assert count(db, Timeslot) == 1


# ---- a series of slots --------------------------------------------------------------------

def series_form(**changes) -> dict:
    data = {"weekdays": ["0", "2", "4"], "start": "09:00", "end": "12:00", "length_minutes": "30",
            "gap_minutes": "0", "first_day": "", "last_day": "", **changes}
    return {key: value for key, value in data.items() if value is not None}


def local_starts(db, zone=UTC) -> list[str]:
    return [f"{start.astimezone(zone):%a %H:%M}" for start in db.session.scalars(
        sa.select(Timeslot.start_time).order_by(Timeslot.start_time))]


def test_add_series(owner_client, calendar, db):
    page = text(owner_client.get(f"/calendars/{calendar.id}/timeslots/series"))
    assert 'id="weekday-0" value="0" checked' in page and 'id="weekday-5" value="5">' in page
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/series",
                                 data=series_form(high_priority="y"))
    assert response.status_code == 302
    assert count(db, Timeslot) == 18  # 6 half-hours a day on Mon, Wed and Fri
    assert db.session.scalar(sa.select(sa.func.min(Timeslot.start_time))) == utc(2030, 3, 4, 9)
    assert db.session.scalar(sa.select(sa.func.max(Timeslot.end_time))) == utc(2030, 3, 8, 12)
    assert all(db.session.scalars(sa.select(Timeslot.high_priority)))
    assert "Added 18 slots." in text(owner_client.get(response.location))


def test_add_series_with_a_gap_and_days(owner_client, calendar, db):
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/series", data=series_form(
        weekdays=["0", "1", "2", "3", "4"], gap_minutes="10", first_day="2030-03-05", last_day="2030-03-06"))
    assert response.status_code == 302
    assert local_starts(db) == ["Tue 09:00", "Tue 09:40", "Tue 10:20", "Tue 11:00",
                                "Wed 09:00", "Wed 09:40", "Wed 10:20", "Wed 11:00"]
    assert db.session.scalar(sa.select(sa.func.max(Timeslot.end_time))) == utc(2030, 3, 6, 11, 30)


def test_series_across_a_clock_change_keeps_local_times(owner, make_calendar, db):
    # In London the clocks go forward on Sun 29 Mar 2026.
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2026, 3, 23),
                             end_date=dt.date(2026, 4, 3))
    slots = timeslots.add_series(calendar, weekdays={4, 0}, start=dt.time(9), end=dt.time(10),
                                length_minutes=30)
    starts = {slot.start_time.astimezone(LONDON).date(): slot.start_time for slot in slots[::2]}
    assert starts[dt.date(2026, 3, 27)] == utc(2026, 3, 27, 9, 0)
    assert starts[dt.date(2026, 3, 30)] == utc(2026, 3, 30, 8, 0)
    assert [f"{s.start_time.astimezone(LONDON):%d %H:%M}" for s in slots] == [
        "23 09:00", "23 09:30", "27 09:00", "27 09:30", "30 09:00", "30 09:30", "03 09:00", "03 09:30"]


def test_series_page_shows_the_slots_at_their_local_time_after_the_change(owner_client, owner, make_calendar):
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2026, 3, 27),
                             end_date=dt.date(2026, 3, 30))
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/series",
                                 data=series_form(weekdays=["0", "4"], end="09:30"))
    assert response.status_code == 302
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    for day in ("2026-03-27", "2026-03-30"):
        column = re.search(rf'id="day-{day}".*?</section>', html, re.S).group(0)
        assert "09:00–09:30" in column


def test_series_with_a_clash_adds_nothing(owner_client, calendar, make_timeslot, db):
    make_timeslot(calendar, "10:15", day=2)
    make_timeslot(calendar, "11:50", minutes=20, day=4)
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/series", data=series_form())
    html = text(response)
    assert response.status_code == 400
    assert "Nothing was added: 3 slots of 18 would overlap existing slots." in html
    assert "Wed 06 Mar 2030, 10:00–10:30 overlaps the slot 10:15–10:45." in html
    assert "Wed 06 Mar 2030, 10:30–11:00 overlaps the slot 10:15–10:45." in html
    assert "Fri 08 Mar 2030, 11:30–12:00 overlaps the slot 11:50–12:10." in html
    assert count(db, Timeslot) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weekdays": None}, "Choose at least one weekday."),
        ({"weekdays": ["7"]}, "Weekdays are numbers from 0 (Monday) to 6 (Sunday)."),
        ({"weekdays": ["monday"]}, "Weekdays are numbers from 0 (Monday) to 6 (Sunday)."),
        ({"weekdays": ["5", "6"]}, "No Sat, Sun falls between Mon 04 Mar 2030 and Fri 08 Mar 2030."),
        ({"length_minutes": "0"}, "Slot length must be between 5 and 1440."),
        ({"length_minutes": "-30"}, "Slot length must be between 5 and 1440."),
        ({"length_minutes": "half an hour"}, "Enter a whole number of minutes, such as 30."),
        ({"length_minutes": ""}, "Enter the slot length in minutes."),
        ({"length_minutes": "240"}, "A 240-minute slot does not fit between 09:00 and 12:00."),
        ({"gap_minutes": "-5"}, "Gap must be between 0 and 1440."),
        ({"end": "09:00"}, "The end of the day&#39;s slots must be after their start."),
        ({"start": "nine"}, "Enter a time such as 09:30."),
        ({"first_day": "2030-03-01"}, "The first day must be within the window"),
        ({"last_day": "2030-03-11"}, "The last day must be within the window"),
        ({"first_day": "2030-03-07", "last_day": "2030-03-05"}, "The last day must be on or after the first day."),
    ],
)
def test_series_refuses_bad_input(owner_client, calendar, db, changes, message):
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/series", data=series_form(**changes))
    assert response.status_code == 400
    assert message in text(response)
    assert count(db, Timeslot) == 0


def test_series_refuses_times_the_clocks_skip(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="Europe/London", start_date=dt.date(2026, 3, 27),
                             end_date=dt.date(2026, 3, 30))
    response = owner_client.post(f"/calendars/{calendar.id}/timeslots/series",
                                 data=series_form(weekdays=[str(d) for d in range(7)], start="00:30", end="03:00"))
    assert response.status_code == 400
    # 00:30–01:00 ends at 01:00, which the clocks skip, as they skip 01:00–01:30 and 01:30–02:00.
    assert "Nothing was added: 3 slots would fall in a clock change." in text(response)
    assert "Sun 29 Mar 2026, 01:00 does not exist in Europe/London" in text(response)
    assert count(db, Timeslot) == 0


def test_series_service_reports_every_clash(calendar, make_timeslot, db):
    make_timeslot(calendar, "08:00", minutes=300, day=0)
    with pytest.raises(ConflictError) as caught:
        timeslots.add_series(calendar, weekdays=[0], start=dt.time(9), end=dt.time(10), length_minutes=20)
    assert caught.value.message == "Nothing was added: all 3 new slots would overlap existing slots."
    assert caught.value.fields["timeslots"][0] == "Mon 04 Mar 2030, 09:00–09:20 overlaps the slot 08:00–13:00."
    assert count(db, Timeslot) == 1


def test_series_is_limited_in_size(owner, make_calendar, db):
    calendar = make_calendar(owner, end_date=MON + dt.timedelta(days=13))
    with pytest.raises(ValidationError, match="add at most 2000 at a time"):
        timeslots.add_series(calendar, weekdays=set(range(7)), start=dt.time(0), end=dt.time(23, 55), length_minutes=5,
                            gap_minutes=0)
    assert count(db, Timeslot) == 0


# ---- the services with the values the JSON API sends (parsed by its request schemas) -----------

def as_the_api_parses(schema: type[ma.Schema], body: dict) -> dict:
    """`body` as the API's request schema hands it to the service; a refusal as a ValidationError."""
    try:
        return schema().load(body)
    except ma.ValidationError as error:
        raise ValidationError("The request schema refused it.", error.messages) from error


def test_add_timeslot_reads_naive_times_in_the_calendars_zone_and_converts_aware_ones(owner, make_calendar):
    calendar = make_calendar(owner, timezone="America/New_York")
    naive = timeslots.add_timeslot(calendar, **as_the_api_parses(schemas.TimeslotCreateSchema, {
        "start_time": "2030-03-04T09:00", "end_time": "2030-03-04T09:30"}))
    aware = timeslots.add_timeslot(calendar, start_time=dt.datetime.fromisoformat("2030-03-04T15:00:00+00:00"),
                                   end_time=dt.datetime(2030, 3, 4, 16, 0, tzinfo=UTC), high_priority=True)
    assert (naive.start_time, naive.end_time, naive.high_priority) == (
        utc(2030, 3, 4, 14), utc(2030, 3, 4, 14, 30), False)
    assert (aware.start_time, aware.end_time, aware.high_priority) == (
        utc(2030, 3, 4, 15), utc(2030, 3, 4, 16), True)


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"start_time": None, "end_time": "2030-03-04T10:00"}, {"start_time"}),
        ({"start_time": 9, "end_time": "2030-03-04T10:00"}, {"start_time"}),
        ({"start_time": "tomorrow", "end_time": "2030-03-04T10:00"}, {"start_time"}),
        ({"start_time": dt.date(2030, 3, 4), "end_time": "2030-03-04T10:00"}, {"start_time"}),
        ({"start_time": "2030-03-04T10:00", "end_time": "2030-03-04T09:00"}, {"end_time"}),
        ({"start_time": "2030-03-09T10:00", "end_time": "2030-03-09T11:00"}, {"start_time"}),
        ({"start_time": "2030-03-08T23:00", "end_time": "2030-03-09T01:00"}, {"end_time"}),
        ({"start_time": "2030-03-04T09:00", "end_time": "2030-03-04T10:00", "high_priority": "maybe"},
         {"high_priority"}),
    ],
)
def test_add_timeslot_service_refuses_bad_values(calendar, db, kwargs, fields):
    with pytest.raises(ValidationError) as caught:
        timeslots.add_timeslot(calendar, **as_the_api_parses(schemas.TimeslotCreateSchema, kwargs))
    assert set(caught.value.fields) == fields
    assert count(db, Timeslot) == 0


def test_add_timeslot_service_names_the_clash(calendar, make_timeslot):
    make_timeslot(calendar, "09:00", day=1)
    with pytest.raises(ConflictError, match=r"^Overlaps the slot Tue 05 Mar 2030, 09:00–09:30\.$") as caught:
        timeslots.add_timeslot(calendar, start_time=utc(2030, 3, 5, 9, 29), end_time=utc(2030, 3, 5, 10))
    assert caught.value.status == 409 and "start_time" in caught.value.fields


def test_update_timeslot_service(calendar, make_timeslot, db):
    slot = make_timeslot(calendar, "09:00")
    timeslots.update_timeslot(slot, {"high_priority": True})
    assert slot.high_priority is True and slot.start_time == utc(2030, 3, 4, 9)
    timeslots.update_timeslot(slot, as_the_api_parses(schemas.TimeslotUpdateSchema,
                                                      {"end_time": "2030-03-04T10:00"}))
    assert slot.end_time == utc(2030, 3, 4, 10)
    with pytest.raises(ValidationError) as caught:
        timeslots.update_timeslot(slot, {"calendar_id": 7, "start_time": dt.datetime(2030, 3, 4, 11)})
    assert set(caught.value.fields) == {"calendar_id", "end_time"}
    with pytest.raises(ValidationError):
        timeslots.update_timeslot(slot, ["start_time"])
    db.session.refresh(slot)
    assert (slot.start_time, slot.end_time) == (utc(2030, 3, 4, 9), utc(2030, 3, 4, 10))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weekdays": {7}}, "weekdays"),
        ({"weekdays": "024"}, "weekdays"),
        ({"weekdays": set()}, "weekdays"),
        ({"weekdays": None}, "weekdays"),
        ({"weekdays": {True}}, "weekdays"),
        ({"gap_minutes": -1}, "gap_minutes"),
    ],
)
def test_add_series_service_refuses_bad_values(calendar, db, kwargs, field):
    arguments = {"weekdays": {0, 2}, "start": dt.time(9), "end": dt.time(12), "length_minutes": 30, **kwargs}
    with pytest.raises(ValidationError) as caught:
        timeslots.add_series(calendar, **arguments)
    assert field in caught.value.fields
    assert count(db, Timeslot) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"length_minutes": ""}, "length_minutes"),
        ({"length_minutes": "2.5"}, "length_minutes"),
        ({"length_minutes": "30 minutes"}, "length_minutes"),
        ({"start": "25:00"}, "start"),
        ({"start": "9"}, "start"),
        ({"first_day": "2030-02-30"}, "first_day"),
        ({"last_day": "2030-03-05T09:00"}, "last_day"),
    ],
)
def test_series_form_refuses_values_it_cannot_read(app, changes, field):
    """The series form is the edge that turns the page's text into the service's typed values."""
    with app.test_request_context(method="POST", data=series_form(**changes)):
        form = SeriesForm(meta={"csrf": False})
        assert not form.validate()
        assert field in form.errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": None}, "name"),
        ({"name": 42}, "name"),
        ({"start_date": "2030-13-01"}, "start_date"),
        ({"start_date": 20300301}, "start_date"),
        ({"end_date": None}, "end_date"),
        ({"timezone": 0}, "timezone"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"response_deadline": "31/05/2030"}, "response_deadline"),
        ({"response_deadline": 1}, "response_deadline"),
    ],
)
def test_create_calendar_service_refuses_bad_values(owner, db, kwargs, field):
    arguments = {"name": "Team", "start_date": "2030-03-04", "end_date": "2030-03-08", **kwargs}
    with pytest.raises(ValidationError) as caught:
        services.create_calendar(owner, **as_the_api_parses(schemas.CalendarCreateSchema, arguments))
    assert field in caught.value.fields
    assert count(db, Calendar) == 0


def test_update_calendar_service(calendar, make_timeslot, db):
    make_timeslot(calendar, "09:00", day=4)
    services.update_calendar(calendar, {"name": "Renamed",
                                        "response_deadline": dt.datetime.fromisoformat("2030-03-01T12:00+01:00")})
    assert (calendar.name, calendar.response_deadline) == ("Renamed", utc(2030, 3, 1, 11))
    with pytest.raises(ValidationError) as caught:
        services.update_calendar(calendar, {"end_date": dt.date(2030, 3, 7), "owner_id": 1})
    assert set(caught.value.fields) == {"end_date", "owner_id"}
    with pytest.raises(ValidationError) as caught:
        services.update_calendar(calendar, ("name", "x"))
    with pytest.raises(ValidationError, match="1 slot would fall after"):
        services.update_calendar(calendar, {"end_date": dt.date(2030, 3, 7)})
    db.session.refresh(calendar)
    assert calendar.end_date == dt.date(2030, 3, 8)


def test_getters_refuse_other_owners_and_odd_ids(calendar, make_calendar, make_user, make_timeslot, owner):
    slot = make_timeslot(calendar)
    other = make_calendar(owner)
    stranger = make_user()
    assert services.get_calendar(owner, str(calendar.id)) == calendar
    assert timeslots.get_timeslot(owner, calendar.id, slot.id) == slot
    for calendar_id in (None, "x", "²", " ", -1, 0, 2**31, 10**20, True, 1.0):
        with pytest.raises(NotFoundError):
            services.get_calendar(owner, calendar_id)
    with pytest.raises(NotFoundError):
        services.get_calendar(stranger, calendar.id)
    with pytest.raises(NotFoundError):
        timeslots.get_timeslot(owner, other.id, slot.id)
    with pytest.raises(NotFoundError):
        timeslots.get_timeslot(stranger, calendar.id, slot.id)


def test_list_calendars_and_counts_services(owner, make_calendar, make_timeslot):
    calendars = [make_calendar(owner, start_date=MON + dt.timedelta(days=7 * n)) for n in range(3)]
    make_timeslot(calendars[0])
    page = services.list_calendars(owner, page="2", per_page=2)
    assert (page.total, page.page, [c.id for c in page.items]) == (3, 2, [calendars[0].id])
    counts = services.calendar_counts([c.id for c in calendars])
    assert counts[calendars[0].id] == services.CalendarCounts(slots=1)
    assert counts[calendars[1].id] == services.CalendarCounts()
    assert services.calendar_counts([]) == {}


def test_slot_summaries(confirmed_slot, picked_slot):
    summaries = grid.slot_summaries(confirmed_slot.calendar)
    assert summaries[confirmed_slot.id] == grid.SlotSummary(
        picks=2, preferred=2, confirmed_contact_id=summaries[confirmed_slot.id].confirmed_contact_id,
        confirmed_name="Ada Lovelace")
    assert summaries[picked_slot.id].picks == 2 and not summaries[picked_slot.id].confirmed


# ---- who may see what ---------------------------------------------------------------------

def test_every_calendar_page_is_owner_only(app, owner_client, owner, db, confirmed_slot, make_user):
    calendar = confirmed_slot.calendar
    values = {"calendar_id": calendar.id, "timeslot_id": confirmed_slot.id}
    stranger_client = app.test_client()
    stranger = make_user()
    anonymous = app.test_client()
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("calendars.")]
    assert {rule.endpoint for rule in rules} >= {
        "calendars.index", "calendars.create", "calendars.detail", "calendars.edit", "calendars.delete",
        "calendars.add_timeslot", "calendars.add_series", "calendars.edit_timeslot",
        "calendars.delete_timeslot"}
    tried = 0

    def as_(client, method, url, data):
        # The app fixture keeps one app context for the whole test, so `g` (where Flask-Login
        # caches the signed-in user) would carry over from one client's request to the next.
        g.pop("_login_user", None)
        return client.open(url, method=method, data=data)

    signin = as_(stranger_client, "POST", "/accounts/signin",
                 {"email": stranger.email, "password": DEFAULT_PASSWORD})
    assert signin.status_code == 302
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"confirm": "y", "acknowledge": "y", "name": "Taken", "date": "2030-03-05",
                    "start_time": "12:00", "end_time": "12:30", "weekdays": ["0"], "start": "13:00",
                    "end": "14:00", "length_minutes": "30", "start_date": "2030-03-04",
                    "end_date": "2030-03-08", "timezone": "UTC"}
            response = as_(anonymous, method, url, data)
            assert response.status_code == 302, (method, url)
            assert "/accounts/signin" in response.location, (method, url)
            response = as_(stranger_client, method, url, data)
            if rule.arguments:
                assert response.status_code == 404, (method, url)
            else:
                assert response.status_code in (200, 302), (method, url)
                assert calendar.name not in text(response)
            tried += 1
    assert tried >= 16
    db.session.expire_all()
    assert db.session.get(Calendar, calendar.id).name == "Interview day"
    assert count(db, Timeslot) == 1 and count(db, Event) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Calendar)
                             .where(Calendar.owner_id == owner.id)) == 1
