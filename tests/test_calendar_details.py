"""Meeting details on a calendar (issue 17 point 1): a location, a video call link and an agenda, on
the calendar form and page and in the API (create, PATCH, and PUT which replaces a calendar)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
import sqlalchemy as sa
from test_api import Api, assert_error

from oneonone.accounts.services import issue_api_token
from oneonone.calendars import services
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.exceptions import ValidationError
from oneonone.transaction import unit_of_work

GOOD_CALENDAR = {"name": "Spring 1:1s", "start_date": "2030-06-03", "end_date": "2030-06-14",
                 "timezone": "Europe/London", "response_deadline": ""}
DETAILS = {"location": "Room 4.2, Main Building", "meeting_url": "https://meet.example.com/abc-defg?pwd=1",
           "description": "Agenda:\r\n- your goals\r\n\t- <b>bold</b> & more\r\n"}
SAVED_DESCRIPTION = "Agenda:\n- your goals\n\t- <b>bold</b> & more"

# Each rule, with the field it names and the words it uses.
REFUSALS = [
    pytest.param("meeting_url", "javascript:alert(1)", "starts with https:// or http://", id="javascript-url"),
    pytest.param("meeting_url", "ftp://files.example.com/x", "starts with https:// or http://", id="ftp-url"),
    pytest.param("meeting_url", "https://meet.example.com/a b", "cannot contain spaces", id="url-with-space"),
    pytest.param("meeting_url", "https://", "full link", id="url-without-host"),
    pytest.param("meeting_url", "meet.example.com/abc", "starts with https:// or http://", id="url-without-scheme"),
    pytest.param("meeting_url", "https://meet.example.com/" + "a" * 480, "at most 500 characters",
                 id="url-501-chars"),
    pytest.param("location", "x" * 201, "at most 200 characters", id="location-201-chars"),
    pytest.param("location", "Room 1\nRoom 2", "one line", id="location-line-break"),
    pytest.param("location", "Room\x0b1", "one line", id="location-control-character"),
    pytest.param("description", "x" * 2001, "at most 2,000 characters", id="description-2001-chars"),
    pytest.param("description", "Agenda\x00", "control characters", id="description-nul"),
    pytest.param("description", "Agenda\x1b[31m", "control characters", id="description-escape"),
]
# A NUL in a form is refused before any view, by errors.refuse_nul_characters (the API names the field).
PAGE_REFUSALS = [param for param in REFUSALS if "\x00" not in param.values[1]]


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def text(response) -> str:
    return response.get_data(as_text=True)


def under_field(html: str, field: str, words: str) -> bool:
    """Whether the page shows an error holding `words` right after the field `field`."""
    return bool(re.search(rf'id="{field}"[^>]*>.*?invalid-feedback[^>]*>[^<]*{re.escape(words)}', html, re.S))


@pytest.fixture
def api(client, owner):
    with unit_of_work():
        return Api(client, issue_api_token(owner))


# ---- the service ------------------------------------------------------------------------------

def test_service_cleans_details_and_empty_is_none(owner, db):
    calendar = services.create_calendar(owner, name="Team", start_date=dt.date(2030, 3, 4),
                                        end_date=dt.date(2030, 3, 8), location="  Room 1  ",
                                        meeting_url=" HTTPS://Meet.Example.com/x ",
                                        description="One\r\nTwo\rThree\n\n")
    assert (calendar.location, calendar.meeting_url, calendar.description) == (
        "Room 1", "HTTPS://Meet.Example.com/x", "One\nTwo\nThree")
    services.update_calendar(calendar, {"location": "", "meeting_url": "  ", "description": None})
    assert (calendar.location, calendar.meeting_url, calendar.description) == (None, None, None)


@pytest.mark.parametrize(("field", "value", "words"), REFUSALS)
def test_service_refuses_bad_details(owner, db, field, value, words):
    with pytest.raises(ValidationError) as caught:
        services.create_calendar(owner, name="Team", start_date=dt.date(2030, 3, 4),
                                 end_date=dt.date(2030, 3, 8), **{field: value})
    assert list(caught.value.fields) == [field]
    assert words in caught.value.fields[field][0]
    assert count(db, Calendar) == 0


# ---- the page ---------------------------------------------------------------------------------

def test_form_has_the_detail_fields(owner_client):
    html = text(owner_client.get("/calendars/new"))
    for label in ("Location (optional)", "Video call link (optional)", "Agenda or description (optional)"):
        assert f">{label}</label>" in html
    assert re.search(r'<textarea[^>]*id="description"', html)
    assert re.search(r'<input[^>]*id="meeting_url"[^>]*type="url"|<input[^>]*type="url"[^>]*id="meeting_url"', html)


def test_create_with_details_saves_and_shows_them(owner_client, db):
    response = owner_client.post("/calendars/new", data={**GOOD_CALENDAR, **DETAILS})
    assert response.status_code == 302
    calendar = db.session.scalar(sa.select(Calendar))
    assert (calendar.location, calendar.meeting_url, calendar.description) == (
        "Room 4.2, Main Building", "https://meet.example.com/abc-defg?pwd=1", SAVED_DESCRIPTION)
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert "Room 4.2, Main Building" in html
    link = re.search(r'<a [^>]*href="https://meet.example.com/abc-defg\?pwd=1"[^>]*>', html)
    assert link and 'rel="noopener noreferrer"' in link.group(0) and 'target="_blank"' in link.group(0)
    # The agenda keeps its lines, and its markup is text.
    assert "Agenda:<br>- your goals<br>\t- &lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert "<b>bold</b>" not in html


def test_create_without_details_stores_none_and_says_they_can_be_added(owner_client, db):
    assert owner_client.post("/calendars/new", data=GOOD_CALENDAR).status_code == 302
    calendar = db.session.scalar(sa.select(Calendar))
    assert (calendar.location, calendar.meeting_url, calendar.description) == (None, None, None)
    html = text(owner_client.get(f"/calendars/{calendar.id}/"))
    assert "Add a location, video call link or agenda" in html


@pytest.mark.parametrize(("field", "value", "words"), PAGE_REFUSALS)
def test_form_refuses_bad_details_beside_the_field_and_keeps_the_values(owner_client, db, field, value, words):
    data = {**GOOD_CALENDAR, **DETAILS, field: value}
    response = owner_client.post("/calendars/new", data=data)
    html = text(response)
    assert response.status_code == 400
    assert under_field(html, field, words), html
    assert count(db, Calendar) == 0
    # What was typed is still there, to correct.
    assert 'value="Spring 1:1s"' in html
    for name in ("location", "meeting_url"):
        if name != field:
            assert f'value="{html_lib.escape(DETAILS[name])}"' in html
    if field != "description":
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html


def test_edit_changes_and_clears_details(owner_client, make_calendar, owner, db):
    calendar = make_calendar(owner, location="Old room", meeting_url="https://old.example.com/",
                             description="Old agenda")
    html = text(owner_client.get(f"/calendars/{calendar.id}/edit"))
    assert 'value="Old room"' in html and 'value="https://old.example.com/"' in html and "Old agenda" in html
    base = {"name": calendar.name, "start_date": "2030-03-04", "end_date": "2030-03-08", "timezone": "UTC"}
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data={
        **base, "location": "New room", "meeting_url": "http://new.example.com/x", "description": "A\r\nB"})
    assert response.status_code == 302
    db.session.refresh(calendar)
    assert (calendar.location, calendar.meeting_url, calendar.description) == (
        "New room", "http://new.example.com/x", "A\nB")
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data={
        **base, "location": "", "meeting_url": "", "description": ""})
    assert response.status_code == 302
    db.session.refresh(calendar)
    assert (calendar.location, calendar.meeting_url, calendar.description) == (None, None, None)


def test_edit_refused_changes_nothing(owner_client, make_calendar, owner, db):
    calendar = make_calendar(owner, location="Old room")
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data={
        "name": "Renamed", "start_date": "2030-03-04", "end_date": "2030-03-08", "timezone": "UTC",
        "location": "Room", "meeting_url": "javascript:alert(1)"})
    assert response.status_code == 400
    assert under_field(text(response), "meeting_url", "https://")
    db.session.expire_all()
    calendar = db.session.get(Calendar, calendar.id)
    assert (calendar.name, calendar.location, calendar.meeting_url) == ("Interview day", "Old room", None)


# ---- the API ------------------------------------------------------------------------------------

API_CALENDAR = {"name": "Office hours", "start_date": "2030-03-04", "end_date": "2030-03-08"}


def test_api_create_with_details_and_the_calendar_json(api, db):
    response = api.post("/api/calendars/", {**API_CALENDAR, **DETAILS})
    assert response.status_code == 201, text(response)
    body = response.get_json()
    assert (body["location"], body["meeting_url"], body["description"]) == (
        "Room 4.2, Main Building", "https://meet.example.com/abc-defg?pwd=1", SAVED_DESCRIPTION)
    assert api.get(f"/api/calendars/{body['id']}/").get_json() == {
        **body, "timeslots": [], "timeslots_total": 0, "timeslots_url": f"/api/calendars/{body['id']}/timeslots/"}
    assert api.get("/api/calendars/").get_json() == [body]


def test_api_calendar_json_has_null_details_when_unset(api):
    body = api.post("/api/calendars/", {**API_CALENDAR, "location": ""}).get_json()
    assert (body["location"], body["meeting_url"], body["description"]) == (None, None, None)
    body = api.post("/api/calendars/", {**API_CALENDAR, "description": None}).get_json()
    assert (body["location"], body["meeting_url"], body["description"]) == (None, None, None)


@pytest.mark.parametrize(("field", "value", "words"), REFUSALS)
def test_api_create_refuses_bad_details(api, db, field, value, words):
    body = assert_error(api.post("/api/calendars/", {**API_CALENDAR, **DETAILS, field: value}), 400, field)
    assert ("NUL" if "\x00" in value else words) in body["fields"][field][0]
    assert set(body["fields"]) == {field}
    assert count(db, Calendar) == 0


@pytest.mark.parametrize("field", ["location", "meeting_url", "description"])
def test_api_refuses_details_that_are_not_text(api, db, field):
    assert_error(api.post("/api/calendars/", {**API_CALENDAR, field: 42}), 400, field)
    assert count(db, Calendar) == 0


def test_api_one_answer_names_every_bad_field(api, db):
    body = assert_error(api.post("/api/calendars/", {**API_CALENDAR, "start_date": "soon",
                                                     "meeting_url": "ftp://x.example.com",
                                                     "location": "x" * 201}), 400)
    assert set(body["fields"]) == {"start_date", "meeting_url", "location"}
    assert count(db, Calendar) == 0


def test_api_patch_changes_only_the_details_sent(api, make_calendar, owner):
    calendar = make_calendar(owner, location="Room 1", description="Agenda")
    response = api.request("PATCH", f"/api/calendars/{calendar.id}/", {"meeting_url": "https://x.example.com/"})
    assert response.status_code == 200, text(response)
    body = response.get_json()
    assert (body["location"], body["meeting_url"], body["description"]) == (
        "Room 1", "https://x.example.com/", "Agenda")
    assert_error(api.request("PATCH", f"/api/calendars/{calendar.id}/", {"location": "a\nb"}), 400, "location")


def test_api_put_replaces_every_field_and_clears_the_omitted_ones(api, make_calendar, owner, db):
    calendar = make_calendar(owner, timezone="Europe/London", location="Room 1",
                             meeting_url="https://old.example.com/", description="Agenda",
                             response_deadline=dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC))
    response = api.put(f"/api/calendars/{calendar.id}/", {
        "name": "Renamed", "start_date": "2030-03-01", "end_date": "2030-03-15",
        "timezone": "America/New_York", "response_deadline": "2030-02-28T09:00",
        "location": "Room 2", "meeting_url": "http://new.example.com/", "description": "New\r\nagenda"})
    assert response.status_code == 200, text(response)
    body = response.get_json()
    assert body == {**body, "id": calendar.id, "name": "Renamed", "start_date": "2030-03-01",
                    "end_date": "2030-03-15", "timezone": "America/New_York",
                    "response_deadline": "2030-02-28T09:00:00-05:00", "location": "Room 2",
                    "meeting_url": "http://new.example.com/", "description": "New\nagenda"}
    # A full update: what is not sent is null (the zone, when not sent, stays).
    response = api.put(f"/api/calendars/{calendar.id}/", {
        "name": "Again", "start_date": "2030-03-04", "end_date": "2030-03-08"})
    assert response.status_code == 200, text(response)
    body = response.get_json()
    assert body == {**body, "name": "Again", "start_date": "2030-03-04", "end_date": "2030-03-08",
                    "timezone": "America/New_York", "response_deadline": None, "location": None,
                    "meeting_url": None, "description": None}
    db.session.expire_all()
    stored = db.session.get(Calendar, calendar.id)
    assert (stored.name, stored.location, stored.meeting_url, stored.description, stored.response_deadline) == (
        "Again", None, None, None, None)


def test_api_put_needs_the_required_fields_and_refuses_bad_ones(api, make_calendar, owner, db):
    calendar = make_calendar(owner, location="Room 1")
    body = assert_error(api.put(f"/api/calendars/{calendar.id}/", {"location": "Room 2"}), 400)
    assert {"name", "start_date", "end_date"} <= set(body["fields"])
    body = assert_error(api.put(f"/api/calendars/{calendar.id}/", {
        **API_CALENDAR, "end_date": "2030-03-01", "meeting_url": "javascript:alert(1)", "location": "x" * 201}), 400)
    assert set(body["fields"]) == {"end_date", "meeting_url", "location"}
    # The schema could not read start_date: the rules still name the others.
    body = assert_error(api.put(f"/api/calendars/{calendar.id}/", {
        **API_CALENDAR, "start_date": "soon", "meeting_url": "ftp://x.example.com"}), 400)
    assert set(body["fields"]) == {"start_date", "meeting_url"}
    assert_error(api.put(f"/api/calendars/{calendar.id}/", {**API_CALENDAR, "slot_times": "both"}), 400,
                 "slot_times")
    db.session.expire_all()
    stored = db.session.get(Calendar, calendar.id)
    assert (stored.name, stored.location) == ("Interview day", "Room 1")


def test_api_put_keeps_clock_times_when_asked(api, make_calendar, make_timeslot, owner, db):
    calendar = make_calendar(owner, timezone="Europe/London")
    slot = make_timeslot(calendar, "09:00")
    response = api.put(f"/api/calendars/{calendar.id}/", {**API_CALENDAR, "name": calendar.name,
                                                          "timezone": "America/New_York",
                                                          "slot_times": "keep_clock_times"})
    assert response.status_code == 200, text(response)
    db.session.expire_all()
    assert db.session.get(Timeslot, slot.id).start_time == dt.datetime(2030, 3, 4, 14, tzinfo=dt.UTC)


def test_api_put_is_the_owners_only(client, make_calendar, make_user, owner, db):
    calendar = make_calendar(owner)
    with unit_of_work():
        intruder = Api(client, issue_api_token(make_user(email="intruder@example.com", username="intruder")))
    assert_error(intruder.put(f"/api/calendars/{calendar.id}/", API_CALENDAR), 404)
    assert_error(Api(client).put(f"/api/calendars/{calendar.id}/", API_CALENDAR), 401)


def test_openapi_describes_the_details_and_put(client):
    spec = client.get("/api/openapi.json").get_json()
    components = spec["components"]["schemas"]
    for name in ("Calendar", "CalendarCreate", "CalendarReplace", "CalendarUpdate"):
        assert {"location", "meeting_url", "description"} <= set(components[name]["properties"]), name
    assert components["Calendar"]["properties"]["meeting_url"].get("nullable") is True
    put = spec["paths"]["/api/calendars/{calendar_id}/"]["put"]
    assert put["operationId"] == "replaceCalendar"
    assert "http" in components["CalendarCreate"]["properties"]["meeting_url"]["description"]
