"""The response deadline in a browser: one in the past is refused on the calendar form (new and
edit), a future one is saved, and every page shows it with its time zone. And the invitee's page
after confirmations: slots others hold are not offered, and their own answers stay in view."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .support import fits_the_phone, sign_in

pytestmark = pytest.mark.e2e

PAST_DEADLINE = "The response deadline must be in the future."
DEADLINE_LABEL = "Answers close at (optional)"


def _yesterday() -> str:
    return (dt.datetime.now(ZoneInfo("Europe/London")) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def _refused(page) -> None:
    """The form came back with the deadline's problem beside the field, the field still filled."""
    expect(page.get_by_role("alert")).to_have_text("Please correct the problem below.")
    field = page.get_by_label(DEADLINE_LABEL)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".invalid-feedback").filter(has_text=PAST_DEADLINE)).to_be_visible()
    expect(field).not_to_have_value("")


def test_a_past_deadline_is_refused_on_the_calendar_form(visit, owner, make_contact, make_timeslot,
                                                        make_invitee, db):
    owner_email = owner.email
    db.session.remove()
    visitor = visit("owner", timezone_id="Europe/London")
    page = visitor.page
    sign_in(visitor, owner_email)

    # A new calendar whose answers would close yesterday: refused, nothing created.
    visitor.goto("/calendars/new")
    page.get_by_label("Name").fill("Summer 1:1s")
    page.get_by_label("First day").fill("2030-06-03")
    page.get_by_label("Last day").fill("2030-06-14")
    page.get_by_label("Time zone", exact=True).select_option("Europe/London")
    page.get_by_label(DEADLINE_LABEL).fill(_yesterday())
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Create calendar").click()
    assert posted.value.status == 400
    _refused(page)
    expect(page.get_by_label("Name")).to_have_value("Summer 1:1s")
    visitor.check("new-calendar-past-deadline")

    # A deadline in the future is saved and shown with its zone.
    page.get_by_label(DEADLINE_LABEL).fill("2030-05-31T17:00")
    page.get_by_role("button", name="Create calendar").click()
    expect(page.get_by_text("Created “Summer 1:1s”.")).to_be_visible()
    expect(page.get_by_text("Answers close Fri 31 May 2030, 17:00 (Europe/London)")).to_be_visible()
    visitor.check("calendar-with-deadline")
    calendar_id = int(re.search(r"/calendars/(\d+)/", page.url).group(1))

    # Editing it to a time already past is refused too, and the saved deadline stays.
    visitor.goto(f"/calendars/{calendar_id}/edit")
    expect(page.get_by_label(DEADLINE_LABEL)).to_have_value("2030-05-31T17:00")
    page.get_by_label(DEADLINE_LABEL).fill(_yesterday())
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Save calendar").click()
    assert posted.value.status == 400
    _refused(page)
    visitor.check("edit-calendar-past-deadline")
    visitor.goto(f"/calendars/{calendar_id}/")
    expect(page.get_by_text("Answers close Fri 31 May 2030, 17:00 (Europe/London)")).to_be_visible()

    # On a phone the refusal reads the same and nothing scrolls sideways.
    phone = visit("owner-phone", timezone_id="Europe/London", phone=True)
    sign_in(phone, owner_email)
    phone.goto(f"/calendars/{calendar_id}/edit")
    phone.page.get_by_label(DEADLINE_LABEL).fill(_yesterday())
    phone.page.get_by_role("button", name="Save calendar").click()
    _refused(phone.page)
    fits_the_phone(phone.page)
    phone.check("edit-calendar-past-deadline-phone")

    # The invitee sees the deadline in the zone their page is shown in, with that zone's name.
    from oneonone.calendars.models import Calendar

    calendar = db.session.get(Calendar, calendar_id)
    make_timeslot(calendar, "09:00")
    contact = make_contact(owner=calendar.owner, first_name="Lin", last_name="Wu", email="lin@example.org")
    _invitee, token = make_invitee(calendar, contact)
    db.session.remove()
    lin = visit("lin", timezone_id="America/New_York", phone=True)
    lin.goto(f"/pick/{token}?tz=America/New_York")
    expect(lin.page.get_by_text("Answers close Fri 31 May 2030, 12:00 (America/New_York)")).to_be_visible()
    fits_the_phone(lin.page)
    lin.check("pick-page-deadline")


def test_an_invitee_keeps_seeing_their_answers_once_others_are_confirmed(
        visit, owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    from oneonone.scheduling import confirmations

    calendar = make_calendar(owner=owner, name="Office hours", timezone="Europe/London",
                             start_date=dt.date(2030, 5, 6),
                             response_deadline=dt.datetime(2030, 5, 3, 16, tzinfo=dt.UTC))
    ten, eleven = make_timeslot(calendar, "10:00"), make_timeslot(calendar, "11:00")
    lin = make_contact(owner=owner, first_name="Lin", last_name="Wu", email="lin@example.org")
    max_ = make_contact(owner=owner, first_name="Max", last_name="Mustermann", email="max@example.org")
    _invitee, token = make_invitee(calendar, lin)
    make_invitee(calendar, max_)
    make_event(ten, lin)
    make_event(eleven, lin, "if_need_be")
    confirmations.set_pick_confirmed(make_event(ten, max_), True)  # Max's meeting at 10:00
    db.session.commit()
    lins_eleven = _pick_id(db, eleven.id, lin.id)
    db.session.remove()

    # While answers are open, 10:00 (Max's) is simply not offered; nothing names Max.
    visitor = visit("lin", timezone_id="Europe/London")
    visitor.goto(f"/pick/{token}?tz=Europe/London")
    page = visitor.page
    expect(page.get_by_role("radiogroup")).to_have_count(1)
    eleven_group = page.get_by_role("radiogroup", name="11:00–11:30")
    expect(eleven_group.get_by_label("If need be")).to_be_checked()
    expect(page.get_by_text("Already taken")).to_have_count(0)
    expect(page.get_by_text("Max")).to_have_count(0)
    visitor.check("pick-page-others-confirmed")

    # Once Lin's own meeting is confirmed, every answer she gave is shown again, read-only.
    from oneonone.scheduling.models import Event

    confirmations.set_pick_confirmed(db.session.get(Event, lins_eleven), True)
    db.session.commit()
    db.session.remove()
    phone = visit("lin-phone", timezone_id="Europe/London", phone=True)
    phone.goto(f"/pick/{token}?tz=Europe/London")
    expect(phone.page.get_by_role("heading", name="Your meeting is confirmed")).to_be_visible()
    expect(phone.page.get_by_role("radiogroup", name="10:00–10:30").get_by_label("Preferred")).to_be_checked()
    expect(phone.page.get_by_role("radiogroup", name="11:00–11:30").get_by_label("If need be")).to_be_checked()
    for radio in phone.page.get_by_role("radio").all():
        expect(radio).to_be_disabled()
    expect(phone.page.get_by_text("Already taken")).to_have_count(0)
    expect(phone.page.get_by_text("Max")).to_have_count(0)
    fits_the_phone(phone.page)
    phone.check("pick-page-own-confirmed-phone")


def _pick_id(db, timeslot_id: int, contact_id: int) -> int:
    import sqlalchemy as sa

    from oneonone.scheduling.models import Event

    return db.session.scalar(sa.select(Event.id).where(Event.timeslot_id == timeslot_id,
                                                       Event.contact_id == contact_id))
