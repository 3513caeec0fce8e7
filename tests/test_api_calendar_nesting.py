"""GET /api/calendars/<id>/ nests at most the first 100 timeslots, says how many there are and where
the rest are; its datetimes resolve the calendar's zone once per response, not once per value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from seeding import Seeded, seed_owner_calendar

from oneonone.accounts.models import User
from oneonone.accounts.services import issue_api_token
from oneonone.api import fields
from oneonone.api.calendars import NESTED_TIMESLOTS_MAX
from oneonone.transaction import unit_of_work


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
    return seed_owner_calendar("large", slots=500, invitees=200, unanswered=20, picks=2000, confirmed=5,
                               timezone="America/New_York")


@pytest.fixture
def headers(db, large) -> dict:
    with unit_of_work():
        token = issue_api_token(db.session.get(User, large.owner_id))
    return {"Authorization": f"Bearer {token}"}


def test_the_calendar_json_nests_the_first_100_slots_with_the_total_and_a_link(client, large, headers):
    body = client.get(f"/api/calendars/{large.calendar_id}/", headers=headers).get_json()
    assert NESTED_TIMESLOTS_MAX == 100
    assert [slot["id"] for slot in body["timeslots"]] == large.timeslot_ids[:100]  # earliest first
    assert body["timeslots_total"] == 500
    assert body["timeslots_url"] == f"/api/calendars/{large.calendar_id}/timeslots/"
    assert body["timeslots"][0]["start_time"] == "2030-03-04T08:00:00-05:00"  # in the calendar's zone
    assert {"id", "name", "start_date", "end_date", "owner", "timezone", "response_deadline", "location",
            "meeting_url", "description"} <= set(body)
    # The link lists every slot, paginated, past the nested ones.
    listed, page = [], 1
    while True:
        response = client.get(body["timeslots_url"], headers=headers, query_string={"page": page, "per_page": 100})
        assert response.status_code == 200
        listed += [slot["id"] for slot in response.get_json()]
        if len(listed) >= int(response.headers["X-Total-Count"]):
            break
        page += 1
    assert listed == large.timeslot_ids


def test_a_calendar_with_few_slots_nests_them_all(client, owner, make_calendar, make_timeslot):
    with unit_of_work():
        token = issue_api_token(owner)
    calendar = make_calendar(owner, timezone="Europe/London")
    slots = [make_timeslot(calendar, "10:00", day=1), make_timeslot(calendar, "09:00", day=1)]
    body = client.get(f"/api/calendars/{calendar.id}/", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [slot["id"] for slot in body["timeslots"]] == [slots[1].id, slots[0].id]
    assert body["timeslots_total"] == 2


def test_the_openapi_document_says_where_the_other_slots_are(client):
    spec = client.get("/api/openapi.json").get_json()
    schema = spec["components"]["schemas"]["CalendarDetail"]
    assert {"timeslots", "timeslots_total", "timeslots_url"} <= set(schema["required"])
    assert "first 100" in schema["properties"]["timeslots"]["description"]
    assert "paginated" in schema["properties"]["timeslots_url"]["description"]
    assert schema["properties"]["timeslots_total"]["type"] == "integer"
    operation = spec["paths"]["/api/calendars/{calendar_id}/"]["get"]
    assert "first 100" in operation["summary"] and "listTimeslots" in operation["description"]


def test_the_calendar_json_loads_rows_for_100_slots_not_500(client, large, headers, db):
    with rows_loaded(db) as loaded:
        response = client.get(f"/api/calendars/{large.calendar_id}/", headers=headers)
    assert response.status_code == 200
    assert loaded.count("Timeslot") == 100, sorted(set(loaded))
    assert len(loaded) <= 105, sorted(set(loaded))


def test_the_zone_is_resolved_once_per_response(client, large, headers, monkeypatch):
    built: list[str] = []

    class CountingZoneInfo(ZoneInfo):
        def __new__(cls, key):
            built.append(key)
            return ZoneInfo(key)

    monkeypatch.setattr(fields, "ZoneInfo", CountingZoneInfo)
    body = client.get(f"/api/calendars/{large.calendar_id}/", headers=headers).get_json()
    assert len(body["timeslots"]) == 100
    assert built == ["America/New_York"]  # one for the calendar, its deadline and 200 slot times
    built.clear()
    response = client.get(f"/api/calendars/{large.calendar_id}/timeslots/", headers=headers,
                          query_string={"per_page": 100})
    assert len(response.get_json()) == 100 and built == ["America/New_York"]


def test_the_slot_times_are_still_shown_in_each_calendars_own_zone(client, owner, make_calendar, make_timeslot):
    with unit_of_work():
        token = issue_api_token(owner)
    headers = {"Authorization": f"Bearer {token}"}
    tokyo = make_calendar(owner, timezone="Asia/Tokyo")
    london = make_calendar(owner, timezone="Europe/London",
                           response_deadline=dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC))
    make_timeslot(tokyo, dt.datetime(2030, 3, 4, 0, 0, tzinfo=dt.UTC))
    listed = {c["timezone"]: c for c in client.get("/api/calendars/", headers=headers).get_json()}
    assert listed["Europe/London"]["response_deadline"] == "2030-03-01T12:00:00+00:00"
    body = client.get(f"/api/calendars/{tokyo.id}/", headers=headers).get_json()
    assert body["timeslots"][0]["start_time"] == "2030-03-04T09:00:00+09:00"
    assert london.id != tokyo.id
