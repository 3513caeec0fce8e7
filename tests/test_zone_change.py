"""Changing a calendar's time zone asks what happens to its slots: they keep their clock times (09:00
stays 09:00 in the new zone, so they move, and the answers on them go as for a slot edit) or their
moments (shown at other clock times from now on). The form asks without JavaScript (a first submit
re-renders with the choice and a preview, nothing saved); the API takes `slot_times`. A clock time
the new zone skips or shows twice refuses the change, naming the slot; the response deadline
follows the same choice and must stay ahead."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from mailsink import link_in, text_of

from oneonone.accounts.services import issue_api_token
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.db_types import utcnow
from oneonone.scheduling import confirmations
from oneonone.scheduling.models import Event, Invitee
from oneonone.transaction import unit_of_work

UTC = dt.UTC
CHICAGO = ZoneInfo("America/Chicago")
QUESTION = "The time zone changes from America/Chicago to America/New_York. What happens to the 2 slots?"
CLOCK_PREVIEW = "Mon 02 Sep 09:00 America/Chicago becomes 09:00 America/New_York (08:00 Chicago time)."
MOMENT_PREVIEW = "Mon 02 Sep 09:00 America/Chicago shows as 10:00 America/New_York."
CHOOSE = "Choose whether the slots keep their clock times or their moments."


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def chicago(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2030, 9, day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


@pytest.fixture
def week(owner, make_calendar, make_contact, make_invitee, make_timeslot, make_event, db):
    """Mon 02 – Fri 06 Sep 2030 in Chicago: Ada's meeting is confirmed at Mon 09:00, which Bob also
    picked; nobody picked Tue 14:00. Answers close Fri 30 Aug 17:00 Chicago time."""
    calendar = make_calendar(owner, name="Office hours", timezone="America/Chicago",
                             start_date=dt.date(2030, 9, 2),
                             response_deadline=dt.datetime(2030, 8, 30, 17, tzinfo=CHICAGO))
    nine = make_timeslot(calendar, "09:00")
    two = make_timeslot(calendar, "14:00", day=1)
    ada = make_contact(owner=owner, first_name="Ada", last_name="Lovelace", email="ada@example.org")
    bob = make_contact(owner=owner, first_name="Bob", last_name="Babbage", email="bob@example.org")
    invitees = {"ada": make_invitee(calendar, ada), "bob": make_invitee(calendar, bob)}
    confirmations.set_pick_confirmed(make_event(nine, ada), True)
    make_event(nine, bob)
    for invitee, _token in invitees.values():
        invitee.responded_at = utcnow()
    db.session.commit()
    return {"calendar": calendar, "nine": nine, "two": two, "ada": ada, "bob": bob, "links": invitees}


def _form(calendar, **changes) -> dict:
    local = calendar.response_deadline.astimezone(calendar.zone) if calendar.response_deadline else None
    return {"name": calendar.name, "start_date": calendar.start_date.isoformat(),
            "end_date": calendar.end_date.isoformat(), "timezone": calendar.timezone,
            "response_deadline": f"{local:%Y-%m-%dT%H:%M}" if local else "", **changes}


def _times(db, *slots) -> list[tuple[dt.datetime, dt.datetime]]:
    db.session.expire_all()
    return [(db.session.get(Timeslot, slot.id).start_time, db.session.get(Timeslot, slot.id).end_time)
            for slot in slots]


def _zone(db, calendar) -> str:
    db.session.expire_all()
    return db.session.get(Calendar, calendar.id).timezone


@pytest.fixture
def api(client, owner):
    with unit_of_work():
        token = issue_api_token(owner)

    def patch(calendar, body):
        return client.patch(f"/api/calendars/{calendar.id}/", json=body,
                            headers={"Authorization": f"Bearer {token}"})

    return patch


# ---- the form asks first ------------------------------------------------------------------------

def test_a_zone_change_asks_first_with_a_preview_and_saves_nothing(owner_client, week, db, mailbox):
    calendar = week["calendar"]
    url = f"/calendars/{calendar.id}/edit"
    response = owner_client.post(url, data=_form(calendar, timezone="America/New_York", name="Renamed"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text(response)
    assert "Nothing is saved yet: choose below what happens to the 2 slots, then save again." in page
    assert QUESTION in page
    # Radio buttons with visible labels, each with its preview beside it.
    assert re.search(r'<input[^>]*type="radio"[^>]*id="slot_times-0"[^>]*value="keep_clock_times"', html)
    assert '<label class="form-check-label fw-semibold" for="slot_times-0">Keep the clock times</label>' in html
    assert '<label class="form-check-label fw-semibold" for="slot_times-1">Keep the moments</label>' in html
    assert "checked" not in html.split('id="slot_times"')[1].split("</fieldset>")[0]
    assert CLOCK_PREVIEW in page and MOMENT_PREVIEW in page
    assert ("2 slots move. That removes 1 answer on them (Bob Babbage); that invitee is emailed to pick "
            "again. The confirmed meeting with Ada Lovelace moves; Ada Lovelace is emailed the new time.") in page
    assert "Answers stay as they are; nobody is emailed." in page
    assert "Answers close: Fri 30 Aug 17:00 America/Chicago becomes 17:00 America/New_York" in page
    assert "Answers close: Fri 30 Aug 17:00 America/Chicago shows as 18:00 America/New_York." in page
    assert 'name="zone_asked" type="hidden" value="America/New_York"' in html or \
        'type="hidden" name="zone_asked" value="America/New_York"' in html or \
        re.search(r'<input[^>]*name="zone_asked"[^>]*value="America/New_York"', html)
    db.session.expire_all()
    assert (db.session.get(Calendar, calendar.id).name, _zone(db, calendar)) == ("Office hours", "America/Chicago")

    # Saving again without a choice is refused beside the question.
    again = owner_client.post(url, data=_form(calendar, timezone="America/New_York", zone_asked="America/New_York"))
    assert again.status_code == 400 and CHOOSE in text(again)
    assert _zone(db, calendar) == "America/Chicago"
    # A choice made for another zone does not count: the question is asked again for this one.
    stale = owner_client.post(url, data=_form(calendar, timezone="America/New_York", zone_asked="Europe/London",
                                              slot_times="keep_clock_times"))
    assert stale.status_code == 200 and QUESTION in text(stale)
    assert _zone(db, calendar) == "America/Chicago"
    # An unknown choice is refused too.
    bogus = owner_client.post(url, data=_form(calendar, timezone="America/New_York",
                                              zone_asked="America/New_York", slot_times="both"))
    assert bogus.status_code == 400 and CHOOSE in text(bogus)
    assert mailbox.messages == []


def test_keeping_the_moments_on_the_page(owner_client, week, db, mailbox):
    calendar, nine, two = week["calendar"], week["nine"], week["two"]
    before = _times(db, nine, two)
    deadline = calendar.response_deadline
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=_form(
        calendar, timezone="America/New_York", zone_asked="America/New_York", slot_times="keep_moments"))
    assert response.status_code == 302
    assert ("Saved “Office hours”. The slots kept their moments and now show in America/New_York."
            in text(owner_client.get(response.location)))
    assert _zone(db, calendar) == "America/New_York"
    assert _times(db, nine, two) == before
    assert db.session.get(Calendar, calendar.id).response_deadline == deadline
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 2
    mailbox.wait_for(1, timeout=0.5)
    assert mailbox.messages == []


def test_keeping_the_clock_times_on_the_page_moves_the_slots_and_handles_the_answers(
        owner_client, client, week, db, mailbox):
    calendar, nine, two = week["calendar"], week["nine"], week["two"]
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=_form(
        calendar, timezone="America/New_York", zone_asked="America/New_York", slot_times="keep_clock_times"))
    assert response.status_code == 302
    assert ("Saved “Office hours”. The slots kept their clock times in America/New_York; 2 slots moved. "
            "Removed 1 answer; Bob Babbage was emailed to pick again. Ada Lovelace was emailed the new "
            "time.") in text(owner_client.get(response.location))
    new_york = ZoneInfo("America/New_York")
    assert _times(db, nine, two) == [
        (dt.datetime(2030, 9, 2, 9, tzinfo=new_york), dt.datetime(2030, 9, 2, 9, 30, tzinfo=new_york)),
        (dt.datetime(2030, 9, 3, 14, tzinfo=new_york), dt.datetime(2030, 9, 3, 14, 30, tzinfo=new_york))]
    # The deadline followed: 17:00 in New York now.
    assert db.session.get(Calendar, calendar.id).response_deadline == dt.datetime(2030, 8, 30, 17, tzinfo=new_york)
    # Bob's answer is gone (he has none left), Ada's meeting moved with the slot.
    assert list(db.session.execute(sa.select(Event.contact_id, Event.confirmed))) == [(week["ada"].id, True)]
    assert db.session.get(Invitee, week["links"]["bob"][0].id).responded_at is None
    mailbox.wait_for(2)
    assert mailbox.envelopes() == Counter({("bob@example.org", 'A time you picked changed: "Office hours"'): 1,
                                           ("ada@example.org", 'Moved: "Office hours"'): 1})
    [bob] = mailbox.to("bob@example.org")
    assert "Was: Mon 02 Sep 2030, 10:00 – 10:30" in text_of(bob)  # 09:00 Chicago, in New York
    assert "Now: Mon 02 Sep 2030, 09:00 – 09:30" in text_of(bob)
    assert client.get(link_in(bob, "/pick/")).status_code == 200
    [ada] = mailbox.to("ada@example.org")
    assert "Was:  Mon 02 Sep 2030, 10:00 – 10:30 (America/New_York)" in text_of(ada)
    assert "When: Mon 02 Sep 2030, 09:00 – 09:30 (America/New_York)" in text_of(ada)


def test_a_calendar_with_no_slots_and_no_deadline_just_saves(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="America/Chicago")
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=_form(calendar, timezone="Asia/Tokyo"))
    assert response.status_code == 302
    assert _zone(db, calendar) == "Asia/Tokyo"


def test_a_calendar_with_only_a_deadline_asks_about_it(owner_client, owner, make_calendar, db):
    calendar = make_calendar(owner, timezone="America/Chicago", start_date=dt.date(2030, 9, 2),
                             response_deadline=dt.datetime(2030, 8, 30, 17, tzinfo=CHICAGO))
    url = f"/calendars/{calendar.id}/edit"
    response = owner_client.post(url, data=_form(calendar, timezone="America/New_York"))
    assert response.status_code == 200
    page = text(response)
    assert "What happens to the response deadline?" in page
    assert "Fri 30 Aug 17:00 America/Chicago becomes 17:00 America/New_York (16:00 Chicago time)." in page
    response = owner_client.post(url, data=_form(calendar, timezone="America/New_York",
                                                 zone_asked="America/New_York", slot_times="keep_clock_times"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Calendar, calendar.id).response_deadline == dt.datetime(
        2030, 8, 30, 17, tzinfo=ZoneInfo("America/New_York"))


def test_an_unchanged_zone_asks_nothing(owner_client, week, db):
    calendar = week["calendar"]
    response = owner_client.post(f"/calendars/{calendar.id}/edit", data=_form(calendar, name="Renamed"))
    assert response.status_code == 302
    assert db.session.get(Calendar, calendar.id).name == "Renamed"


# ---- clock changes and the deadline refuse ------------------------------------------------------

@pytest.fixture
def spring_forward(owner, make_calendar, make_timeslot):
    """A UTC calendar with a slot at Sun 10 Mar 2030 02:30, a time New York's clocks skip."""
    calendar = make_calendar(owner, timezone="UTC", start_date=dt.date(2030, 3, 8))
    return calendar, make_timeslot(calendar, "02:30", day=2)


GAP = ("The slot Sun 10 Mar 2030, 02:30–03:00 cannot keep its clock time: Sun 10 Mar 2030, 02:30 does not "
       "exist in America/New_York: the clocks go forward then. Move it first, or keep the moments.")


def test_a_clock_time_the_new_zone_skips_is_refused_naming_the_slot(owner_client, spring_forward, db, api):
    calendar, slot = spring_forward
    before = _times(db, slot)
    url = f"/calendars/{calendar.id}/edit"
    asked = owner_client.post(url, data=_form(calendar, timezone="America/New_York"))
    assert asked.status_code == 200
    assert f"Not possible now: {GAP}" in text(asked)
    refused = owner_client.post(url, data=_form(calendar, timezone="America/New_York", zone_asked="America/New_York",
                                                slot_times="keep_clock_times"))
    assert refused.status_code == 400
    assert GAP in text(refused)
    assert (_zone(db, calendar), _times(db, slot)) == ("UTC", before)
    response = api(calendar, {"timezone": "America/New_York", "slot_times": "keep_clock_times"})
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"slot_times": [GAP]}
    assert (_zone(db, calendar), _times(db, slot)) == ("UTC", before)
    # Keeping the moments works.
    assert api(calendar, {"timezone": "America/New_York"}).status_code == 200
    assert (_zone(db, calendar), _times(db, slot)) == ("America/New_York", before)


def test_a_clock_time_the_new_zone_shows_twice_is_refused(owner, make_calendar, make_timeslot, db, api):
    calendar = make_calendar(owner, timezone="UTC", start_date=dt.date(2030, 11, 1))
    make_timeslot(calendar, "01:30", day=2)  # Sun 03 Nov 2030: 01:30 happens twice in New York
    response = api(calendar, {"timezone": "America/New_York", "slot_times": "keep_clock_times"})
    assert response.status_code == 400
    [problem] = response.get_json()["fields"]["slot_times"]
    assert problem.startswith("The slot Sun 03 Nov 2030, 01:30–02:00 cannot keep its clock time: Sun 03 Nov "
                              "2030, 01:30 happens twice in America/New_York")
    assert _zone(db, calendar) == "UTC"


def test_a_deadline_whose_clock_time_has_passed_in_the_new_zone_is_refused(owner, make_calendar, make_timeslot,
                                                                          owner_client, db, api):
    # Two hours ahead in UTC; at the same clock time in Kiritimati (UTC+14) that was 12 hours ago.
    deadline = (dt.datetime.now(UTC) + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    calendar = make_calendar(owner, timezone="UTC", start_date=dt.date(2030, 3, 4), response_deadline=deadline)
    make_timeslot(calendar, "09:00")
    response = api(calendar, {"timezone": "Pacific/Kiritimati", "slot_times": "keep_clock_times"})
    assert response.status_code == 400
    [problem] = response.get_json()["fields"]["response_deadline"]
    assert problem.startswith("Keeping the clock times would move the response deadline to ")
    assert problem.endswith("(Pacific/Kiritimati), which has passed. Change it, or keep the moments.")
    refused = owner_client.post(f"/calendars/{calendar.id}/edit", data=_form(
        calendar, timezone="Pacific/Kiritimati", zone_asked="Pacific/Kiritimati", slot_times="keep_clock_times"))
    assert refused.status_code == 400 and "which has passed" in text(refused)
    assert _zone(db, calendar) == "UTC"
    # Keeping the moments keeps the deadline where it was.
    assert api(calendar, {"timezone": "Pacific/Kiritimati"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Calendar, calendar.id).response_deadline == deadline


def test_a_passed_deadline_stays_as_it_was_whichever_choice(owner, make_calendar, make_timeslot, db, api):
    passed = (dt.datetime.now(UTC) - dt.timedelta(days=1)).replace(microsecond=0)
    calendar = make_calendar(owner, timezone="UTC", start_date=dt.date(2030, 3, 4), response_deadline=passed)
    make_timeslot(calendar, "09:00")
    response = api(calendar, {"timezone": "Asia/Tokyo", "slot_times": "keep_clock_times"})
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert db.session.get(Calendar, calendar.id).response_deadline == passed


# ---- the API ------------------------------------------------------------------------------------

def test_the_api_keeps_the_moments_by_default(week, db, api, mailbox):
    before = _times(db, week["nine"], week["two"])
    response = api(week["calendar"], {"timezone": "America/New_York"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["timezone"] == "America/New_York"
    assert body["response_deadline"] == "2030-08-30T18:00:00-04:00"
    assert _times(db, week["nine"], week["two"]) == before
    mailbox.wait_for(1, timeout=0.5)
    assert mailbox.messages == []


def test_the_api_can_keep_the_clock_times(week, db, api, mailbox):
    response = api(week["calendar"], {"timezone": "America/New_York", "slot_times": "keep_clock_times"})
    assert response.status_code == 200
    assert response.get_json()["response_deadline"] == "2030-08-30T17:00:00-04:00"
    assert _times(db, week["nine"])[0][0] == chicago(2, 8)  # 09:00 New York
    assert list(db.session.execute(sa.select(Event.contact_id))) == [(week["ada"].id,)]
    mailbox.wait_for(2)
    assert sorted(m["Subject"] for m in mailbox.messages) == [
        'A time you picked changed: "Office hours"', 'Moved: "Office hours"']


@pytest.mark.parametrize("value", ["keep", "", "KEEP_MOMENTS", 3, None, True, ["keep_moments"]])
def test_the_api_refuses_a_bad_slot_times_naming_it(week, db, api, value):
    response = api(week["calendar"], {"timezone": "America/New_York", "slot_times": value})
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["slot_times"]
    assert _zone(db, week["calendar"]) == "America/Chicago"


def test_the_api_update_changes_only_what_is_sent(week, db, api):
    response = api(week["calendar"], {"name": "Renamed"})
    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["timezone"]) == ("Renamed", "America/Chicago")
    response = api(week["calendar"], {"response_deadline": "2020-01-01T09:00"})
    assert response.status_code == 400 and list(response.get_json()["fields"]) == ["response_deadline"]


def test_slot_times_is_in_the_openapi_document(client):
    document = client.get("/api/openapi.json").get_json()
    schema = document["components"]["schemas"]["CalendarUpdate"]
    assert schema["properties"]["slot_times"]["enum"] == ["keep_clock_times", "keep_moments"]
    assert "keep_clock_times" in schema["properties"]["slot_times"]["description"]
    assert "patch" in document["paths"]["/api/calendars/{calendar_id}/"]


def test_one_email_per_invitee_for_all_their_moved_picks(week, make_event, db, api, mailbox):
    make_event(week["two"], week["bob"], "if_need_be")
    response = api(week["calendar"], {"timezone": "America/New_York", "slot_times": "keep_clock_times"})
    assert response.status_code == 200
    mailbox.wait_for(2)
    [bob] = mailbox.to("bob@example.org")
    assert bob["Subject"] == 'Times you picked changed: "Office hours"'
    body = text_of(bob)
    assert "changed the time of 2 slots you picked" in body
    assert body.index("Was: Mon 02 Sep 2030, 10:00") < body.index("Was: Tue 03 Sep 2030, 15:00")
    assert "Now: Tue 03 Sep 2030, 14:00 – 14:30" in body


def test_when_answers_have_closed_the_email_says_so(week, db, api, mailbox):
    calendar = db.session.get(Calendar, week["calendar"].id)
    calendar.response_deadline = utcnow() - dt.timedelta(hours=1)
    db.session.commit()
    assert api(calendar, {"timezone": "America/New_York", "slot_times": "keep_clock_times"}).status_code == 200
    mailbox.wait_for(2)
    [bob] = mailbox.to("bob@example.org")
    assert "Answers for this calendar have closed" in text_of(bob)
    assert "/pick/" not in text_of(bob)


def test_a_zone_whose_window_would_leave_slots_out_says_so_beside_that_choice(owner_client, owner, make_calendar,
                                                                              make_timeslot, db):
    # Fri 16:00 UTC is Sat 01:00 in Tokyo, after the window; at 16:00 Tokyo time it stays inside.
    calendar = make_calendar(owner, timezone="UTC")
    make_timeslot(calendar, "09:00")
    late = make_timeslot(calendar, "16:00", day=4)
    url = f"/calendars/{calendar.id}/edit"
    asked = owner_client.post(url, data=_form(calendar, timezone="Asia/Tokyo"))
    assert asked.status_code == 200
    assert "Not possible with this window: 1 slot would fall outside it." in text(asked)
    refused = owner_client.post(url, data=_form(calendar, timezone="Asia/Tokyo", zone_asked="Asia/Tokyo",
                                                slot_times="keep_moments"))
    assert refused.status_code == 400
    assert "1 slot would fall after the new end of the window" in text(refused)
    assert _zone(db, calendar) == "UTC"
    kept = owner_client.post(url, data=_form(calendar, timezone="Asia/Tokyo", zone_asked="Asia/Tokyo",
                                             slot_times="keep_clock_times"))
    assert kept.status_code == 302
    assert _times(db, late)[0][0] == dt.datetime(2030, 3, 8, 16, tzinfo=ZoneInfo("Asia/Tokyo"))
