"""Suggestions that explain themselves (issue 19): who could be seated and how, one click to ask them,
alternatives shown as differences, and which meetings are forced — on the page and in the API.

The day: Bob's 09:00 is confirmed, so Ada (who picked only 09:00) is left out; Cy picked only 10:00;
Dan and Eve both picked 11:00 and 12:00 (so the two equally good schedules swap them); 13:00 is free.
Had Ada also picked 13:00 she would be seated: that is the one time that would fit her.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from mailsink import text_of
from test_api import Api, assert_error

from oneonone.scheduling.models import Invitee
from oneonone.scheduling.suggestions import suggest_for_calendar


@pytest.fixture
def day(owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    calendar = make_calendar(owner=owner, name="Panel day", timezone="Europe/London",
                             start_date=dt.date(2030, 1, 7))
    slots = {hour: make_timeslot(calendar, f"{hour}:00") for hour in (9, 10, 11, 12, 13)}
    people = {}
    for name in ("Ada", "Bob", "Cy", "Dan", "Eve"):
        contact = make_contact(owner=owner, first_name=name, last_name="Test", email=f"{name.lower()}@example.org")
        invitee, token = make_invitee(calendar, contact)
        people[name] = (contact, invitee, token)
    make_event(slots[9], people["Ada"][0])
    make_event(slots[9], people["Bob"][0], confirmed=True)
    make_event(slots[10], people["Cy"][0])
    for name in ("Dan", "Eve"):
        make_event(slots[11], people[name][0])
        make_event(slots[12], people[name][0])
    people["Ada"][1].timezone = "Asia/Tokyo"  # she chose her zone on her page
    db.session.commit()
    return calendar, slots, people


def test_the_best_schedule_says_who_could_be_seated_and_which_meetings_are_forced(day):
    calendar, slots, people = day
    suggestions = suggest_for_calendar(calendar, 3)
    best, *others = suggestions.schedules
    [ada] = best.unscheduled
    assert ada.invitee == people["Ada"][0].id and suggestions.would_fit[ada.invitee] == (slots[13].id,)
    forced = {a.invitee: suggestions.is_forced(a) for a in best.assignments if not a.fixed}
    assert forced == {people["Cy"][0].id: True, people["Dan"][0].id: False, people["Eve"][0].id: False}
    [swap] = others
    assert suggestions.equally_good(1) and swap.score == best.score
    dan, eve = people["Dan"][0].id, people["Eve"][0].id
    slot_of = {a.invitee: a.slot for a in best.assignments}
    assert set(suggestions.changes[1]) == {(dan, slot_of[dan], slot_of[eve]), (eve, slot_of[eve], slot_of[dan])}


def test_the_page_offers_to_ask_and_the_email_and_pick_page_show_exactly_those_times(
        owner_client, day, mailbox, client, db):
    calendar, slots, people = day
    page = owner_client.get(f"/calendars/{calendar.id}/suggestions").get_data(as_text=True)
    best = page.split('id="schedule-2"')[0]
    assert "Ada Test — every slot they picked is taken" in best
    assert "Would fit without unseating anyone:" in best and "Mon 07 Jan 13:00" in best
    assert "Ask Ada about these times" in best and "Only option" in best
    option = page.split('id="schedule-2"')[1]
    assert "Equally good" in option and "Differs from the best by" in option
    assert option.count('class="change"') == 2

    _, invitee, old_token = people["Ada"]
    response = owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/ask",
                                 data={"timeslot_id": [str(slots[13].id)]}, follow_redirects=True)
    assert "Ada Test was asked about 1 time by email" in response.get_data(as_text=True)
    [mail] = mailbox.to("ada@example.org")
    assert mail["Subject"].startswith("Owner") and 'could you make one of these times? "Panel day"' in mail["Subject"]
    text = text_of(mail)
    times = re.findall(r"^- (.+?)\r?$", text, re.M)
    assert times == ["Mon 07 Jan 2030, 22:00 – 22:30"]  # 13:00 in London is 22:00 in Tokyo
    assert "(Times in Asia/Tokyo.)" in text
    token = re.search(r"/pick/([\w-]+)", text).group(1)
    pick = client.get(f"/pick/{token}").get_data(as_text=True)
    asked_rows = re.findall(r'<div class="slot-row[^"]*slot-asked[^"]*"[^>]*aria-labelledby="slot-label-(\d+)"', pick)
    assert asked_rows == [str(slots[13].id)] and "Asked by Owner" in pick
    assert token == old_token  # their usual link: the one they kept still works
    again = owner_client.get(f"/calendars/{calendar.id}/suggestions").get_data(as_text=True)
    assert re.search(r"Asked \d\d \w{3} \d\d:\d\d", again)
    db.session.expire_all()
    assert db.session.get(Invitee, invitee.id).asked_timeslot_ids == [slots[13].id]
    # A double click sends nothing more.
    owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/ask", data={"timeslot_id": [str(slots[13].id)]})
    assert len(mailbox.to("ada@example.org")) == 1


def test_asking_about_a_time_that_would_not_seat_them_is_refused(owner_client, day, mailbox):
    calendar, slots, people = day
    invitee = people["Ada"][1]
    response = owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/ask",
                                 data={"timeslot_id": [str(slots[10].id)]}, follow_redirects=True)
    assert "Ada Test was not asked: Choose times among those that would seat them." in response.get_data(as_text=True)
    cy = people["Cy"][1]  # seated: nothing would "fit" them
    owner_client.post(f"/calendars/{calendar.id}/invitees/{cy.id}/ask", data={"timeslot_id": [str(slots[13].id)]})
    assert mailbox.messages == []


def test_the_api_lists_would_fit_forced_and_changes_and_asks(client, owner, day, mailbox, db):
    from oneonone.accounts.services import issue_api_token
    from oneonone.transaction import unit_of_work

    calendar, slots, people = day
    with unit_of_work():
        api = Api(client, issue_api_token(owner))
    body = api.get(f"/api/calendars/{calendar.id}/suggested/?k=3").get_json()
    best, swap = body["schedules"]
    assert best["unscheduled"] == [{"contact": people["Ada"][0].id, "reason": "slots_taken",
                                    "would_fit": [slots[13].id]}]
    assert best["changes"] == [] and best["equally_good"] is False
    assert {a["contact"]: a["forced"] for a in best["assignments"]}[people["Cy"][0].id] is True
    assert swap["equally_good"] is True and len(swap["changes"]) == 2
    assert set(swap["changes"][0]) == {"contact", "from_timeslot", "to_timeslot"}

    url = f"/api/calendars/{calendar.id}/invitees/{people['Ada'][0].id}/ask/"
    assert_error(api.post(url, json={"timeslots": [slots[10].id]}), 400, "timeslots")
    assert_error(api.post(url, json={"timeslots": []}), 400, "timeslots")
    assert mailbox.messages == []
    response = api.post(url, json={"timeslots": [slots[13].id]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["asked_timeslots"] == [slots[13].id]
    assert [m["To"] for m in mailbox.messages] == ["ada@example.org"]
    assert api.post(f"/api/calendars/{calendar.id}/invitees/{people['Cy'][0].id}/ask/",
                    json={"timeslots": [slots[13].id]}).status_code == 400
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/calendars/{calendar_id}/invitees/{contact_id}/ask/" in spec["paths"]
    schedule = spec["components"]["schemas"]["Schedule"]["properties"]
    assert {"changes", "equally_good"} <= set(schedule)
