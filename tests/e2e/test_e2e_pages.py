"""The pages the journeys do not reach (or reach only empty) pass axe too, with data in them and
with form errors; the calendar pages read well on a phone; so do the emails."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from scenarios import ADA

from oneonone.scheduling import answers, confirmations, invitations
from oneonone.transaction import unit_of_work

from .support import fits_the_phone, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def busy_owner(owner, make_calendar, make_contact, make_timeslot, make_invitee, db):
    """A calendar with slots, two invitees who answered, one confirmed meeting; ids as plain values."""
    calendar = make_calendar(owner=owner, name="Design reviews", timezone="America/Chicago",
                             start_date=dt.date(2030, 9, 2),
                             response_deadline=dt.datetime(2030, 8, 30, 17, tzinfo=dt.UTC))
    slots = [make_timeslot(calendar, start, day=day, high_priority=start == "09:00")
             for day in range(3) for start in ("09:00", "10:00", "11:00")]
    ada = make_contact(owner=owner, **ADA)
    bo = make_contact(owner=owner, first_name="Bo", last_name="Chen", email="bo@example.org")
    make_contact(owner=owner, first_name="Cy", last_name="Young", email="cy@example.org")
    (ada_invitee, _), (bo_invitee, _) = make_invitee(calendar, ada), make_invitee(calendar, bo)
    with unit_of_work():
        answers.save_picks(ada_invitee, {slots[0].id: "preferred", slots[1].id: "if_need_be"})
        answers.save_picks(bo_invitee, {slots[0].id: "preferred", slots[4].id: "preferred"})
        confirmations.finalize_schedule(calendar, [(ada.id, slots[0].id)])
    values = {"email": owner.email, "calendar": calendar.id, "slot": slots[0].id, "contact": ada.id,
              "bo": bo.id, "bo_slot": slots[4].id}
    db.session.remove()
    return values


def test_every_other_owner_page_passes_axe(visit, busy_owner):
    owner = visit("owner", timezone_id="America/Chicago", locale="en-US")
    page = owner.page
    sign_in(owner, busy_owner["email"])
    calendar, slot, contact = busy_owner["calendar"], busy_owner["slot"], busy_owner["contact"]
    for path, name in [
        ("/calendars/", "calendars"),
        (f"/calendars/{calendar}/", "calendar"),
        (f"/calendars/{calendar}/invitees", "invitees"),
        (f"/calendars/{calendar}/delete", "calendar-delete"),
        (f"/calendars/{calendar}/timeslots/new", "slot-new"),
        (f"/calendars/{calendar}/timeslots/{slot}/edit", "slot-edit-with-picks"),
        (f"/calendars/{calendar}/timeslots/{slot}/delete", "slot-delete-confirmed"),
        (f"/contacts/{contact}/edit", "contact-edit"),
        (f"/contacts/{contact}/delete", "contact-delete"),
        ("/contacts/import", "contacts-import"),
        ("/accounts/profile", "profile"),
        ("/accounts/delete", "account-delete"),
        ("/accounts/signout", "signout"),
        ("/calendars/999999/", "not-found"),
        ("/pick/not-a-real-link", "link-not-found"),
    ]:
        owner.goto(path, name)

    # Forms refused: the messages are on the form, and still accessible.
    page.goto("/calendars/new")
    page.get_by_role("button", name="Create calendar").click()
    expect(page.get_by_text("Name is required.")).to_be_visible()
    owner.check("calendar-new-errors")
    page.goto(f"/calendars/{calendar}/timeslots/series")
    for weekday in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(weekday).uncheck()
    page.get_by_label("Slot length (minutes)").fill("")
    page.get_by_role("button", name="Add the slots").click()
    expect(page.get_by_text("Choose at least one weekday.")).to_be_visible()
    owner.check("series-errors")
    page.goto("/contacts/new")
    page.get_by_role("button", name="Add contact").click()
    owner.check("contact-new-errors")

    # On a phone, the lists stay inside the screen.
    phone = visit("owner-phone", timezone_id="America/Chicago", locale="en-US", phone=True)
    sign_in(phone, busy_owner["email"])
    for path, name in [("/calendars/", "calendars"), (f"/calendars/{calendar}/", "calendar"),
                       (f"/calendars/{calendar}/invitees", "invitees")]:
        phone.goto(path, name)
        fits_the_phone(phone.page)


def test_the_emails_read_well(visit, busy_owner, mail_server, db):
    """The invitation and confirmation emails, opened as a mail client would show them."""
    from oneonone.calendars.models import Calendar
    from oneonone.scheduling.models import Invitee

    calendar = db.session.get(Calendar, busy_owner["calendar"])
    invitee = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == busy_owner["bo"]))
    with unit_of_work():
        invitations.resend_invitation(invitee)
        confirmations.finalize_schedule(calendar, [(busy_owner["bo"], busy_owner["bo_slot"])])
    db.session.remove()

    reader = visit("reader", timezone_id="Asia/Shanghai", phone=True)
    for subject, name in (("Owner1 Example invites you", "invitation"), ("Confirmed:", "confirmed")):
        (message,) = [m for m in mail_server.to("bo@example.org") if m["Subject"].startswith(subject)]
        html = next(part for part in message.walk() if part.get_content_type() == "text/html")
        reader.page.set_content(html.get_payload(decode=True).decode())
        reader.check(f"email-{name}")
        fits_the_phone(reader.page)
