"""`GET /api/calendars/<id>/invitees/` (issue 17 point 4): each invitee's contact, answer state,
comment, picks, last reminder and meeting, a page at a time, for the calendar's owner only."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from test_api import Api, assert_error

from oneonone.accounts.services import issue_api_token
from oneonone.scheduling import answers, confirmations
from oneonone.scheduling.models import ANSWER_STATES, Event
from oneonone.transaction import unit_of_work


@pytest.fixture
def api(client, owner):
    with unit_of_work():
        return Api(client, issue_api_token(owner))


@pytest.fixture
def day(ada_and_bob, make_contact, make_invitee, owner, db):
    """Ada can't make any (with a comment), Bob picked both slots and has the 09:00 meeting, Cat has
    not answered and was reminded."""
    day = ada_and_bob(invite=("ada", "bob"))
    cat = make_contact(owner=owner, first_name="Cat", last_name="Reed", email="cat@example.org")
    cat_invitee, _ = make_invitee(day.calendar, cat)
    with unit_of_work():
        answers.save_picks(day.invitee("ada"), {day.nine.id: None}, none_work=True,
                           comment="Away that week, sorry.")
    with unit_of_work():
        answers.save_picks(day.invitee("bob"), {day.nine.id: "preferred", day.ten.id: "if_need_be"})
    with unit_of_work():
        bobs_nine = db.session.scalar(
            sa.select(Event).where(Event.contact_id == day.bob.id, Event.timeslot_id == day.nine.id))
        confirmations.set_pick_confirmed(bobs_nine, True)
    cat_invitee.reminded_at = dt.datetime(2030, 6, 1, 8, 30, tzinfo=dt.UTC)
    db.session.commit()
    day.cat, day.cat_invitee = cat, cat_invitee
    return day


def _url(day) -> str:
    return f"/api/calendars/{day.calendar.id}/invitees/"


def test_the_list_says_each_invitees_state_comment_and_meeting(api, day):
    response = api.get(_url(day))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-Total-Count"] == "3"
    assert "Link" not in response.headers
    bob, ada, cat = response.get_json()  # by last name: Babbage, Lovelace, Reed
    assert bob == {
        "id": day.invitee("bob").id,
        "contact": {"id": day.bob.id, "first_name": "Bob", "last_name": "Babbage", "email": "bob@example.org"},
        "state": "answered", "comment": None, "picks": 2, "reminded_at": None,
        "responded_at": bob["responded_at"], "confirmed_timeslot": day.nine.id,
    }
    assert bob["responded_at"] is not None
    assert {k: ada[k] for k in ("id", "state", "comment", "picks", "reminded_at", "confirmed_timeslot")} == {
        "id": day.invitee("ada").id, "state": "cant_make_any", "comment": "Away that week, sorry.", "picks": 0,
        "reminded_at": None, "confirmed_timeslot": None}
    assert {k: cat[k] for k in ("state", "comment", "picks", "responded_at", "confirmed_timeslot")} == {
        "state": "not_answered", "comment": None, "picks": 0, "responded_at": None, "confirmed_timeslot": None}
    # Times in the calendar's zone (Europe/London: BST in June), like the rest of the API.
    assert cat["reminded_at"] == "2030-06-01T09:30:00+01:00"
    assert {item["state"] for item in (bob, ada, cat)} == set(ANSWER_STATES)


def test_the_list_comes_a_page_at_a_time(api, day, app):
    response = api.get(_url(day) + "?per_page=2")
    assert response.headers["X-Total-Count"] == "3"
    assert [item["contact"]["first_name"] for item in response.get_json()] == ["Bob", "Ada"]
    public = app.config["PUBLIC_URL"]
    assert response.headers["Link"] == (
        f'<{public}/api/calendars/{day.calendar.id}/invitees/?page=2&per_page=2>; rel="next"')
    second = api.get(_url(day) + "?page=2&per_page=2")
    assert [item["contact"]["first_name"] for item in second.get_json()] == ["Cat"]
    assert second.headers["X-Total-Count"] == "3" and 'rel="prev"' in second.headers["Link"]
    assert api.get(_url(day) + "?page=9").get_json() == []


def test_only_the_calendars_owner_may_list_its_invitees(client, api, day, make_user):
    intruder = make_user()
    with unit_of_work():
        intruders = Api(client, issue_api_token(intruder))
    foreign = assert_error(intruders.get(_url(day)), 404)
    missing = assert_error(api.get("/api/calendars/999999/invitees/"), 404)
    assert foreign["message"] == missing["message"]
    assert_error(Api(client).get(_url(day)), 401)
    assert_error(Api(client, "not-a-token").get(_url(day)), 401)
    assert_error(Api(client, day.token("ada")).get(_url(day)), 403)  # an invitation token


def test_the_openapi_document_describes_the_list(api):
    spec = api.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/calendars/{calendar_id}/invitees/"]["get"]
    assert operation["operationId"] == "listCalendarInvitees"
    assert "X-Total-Count" in operation["responses"]["200"]["headers"]
    schema = spec["components"]["schemas"]["InviteeAnswer"]
    assert schema["properties"]["state"]["enum"] == ["not_answered", "answered", "cant_make_any"]
