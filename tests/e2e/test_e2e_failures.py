"""The journeys that go wrong, in a browser: a wrong password, a link replaced by a newer one, and
answering after the deadline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from .support import inbox, pick_link, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def office_hours(owner, make_calendar, make_contact, make_timeslot, db):
    """A calendar of two slots and a contact, Lin Wu; returns what the tests need as plain values."""
    calendar = make_calendar(owner=owner, name="Office hours", timezone="Europe/London",
                             start_date=dt.date(2030, 5, 6))
    make_timeslot(calendar, "10:00")
    make_timeslot(calendar, "11:00", high_priority=True)
    contact = make_contact(owner=owner, first_name="Lin", last_name="Wu", email="lin@example.org")
    values = {"owner_email": owner.email, "calendar_id": calendar.id, "contact_id": contact.id,
              "invite_subject": f"{owner.full_name} invites you to pick a time: \"Office hours\""}
    db.session.remove()  # the server's requests must not wait on this thread's session
    return values


def test_wrong_password_is_refused_with_a_clear_message_then_the_right_one_works(visit, owner):
    visitor = visit("owner")
    page = visitor.page
    visitor.goto("/calendars/")  # not signed in: off to the sign-in page, coming back afterwards
    expect(page.get_by_text("Please sign in to see that page.")).to_be_visible()
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("not-my-password")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 400
    expect(page.get_by_role("alert")).to_have_text("Please correct the problem below.")
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Email")).to_have_value(owner.email)
    visitor.check("signin-wrong-password")

    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/calendars/$"))  # back where the visit began
    expect(page.get_by_text(f"Signed in as {owner.email}.")).to_be_visible()
    visitor.check("signed-in")


def test_a_resent_link_replaces_the_old_one(visit, office_hours, mail_server):
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, office_hours["owner_email"])
    owner.goto(f"/calendars/{office_hours['calendar_id']}/invitees")
    page.get_by_label("Lin Wu").check()
    page.get_by_role("button", name="Invite selected").click()
    expect(page.get_by_text("Invited 1 contact;")).to_be_visible()
    first_link = pick_link(inbox(mail_server, "lin@example.org", office_hours["invite_subject"])[0])

    lin = visit("lin", timezone_id="Australia/Sydney", locale="en-AU")
    lin.goto(first_link)
    expect(lin.page.get_by_role("heading", name="Office hours")).to_be_visible()
    lin.check("first-link")

    # Lin lost the email; the owner resends it, which retires the first link.
    page.get_by_role("row", name="Lin Wu").get_by_role("button", name="Resend").click()
    resent = "A new link was sent to lin@example.org; the old link no longer works."
    expect(page.get_by_role("alert").filter(has_text=resent)).to_be_visible()
    owner.check("invitees-resent")
    second_link = pick_link(inbox(mail_server, "lin@example.org", office_hours["invite_subject"], 2)[-1])
    assert second_link != first_link

    response = lin.goto(first_link)
    assert response.status == 404
    expect(lin.page.get_by_role("heading", name="This link was replaced")).to_be_visible()
    expect(lin.page.get_by_text("Please open the link in the most recent email")).to_be_visible()
    lin.check("old-link-replaced")
    lin.goto(second_link)
    expect(lin.page.get_by_role("heading", name="Office hours")).to_be_visible()
    expect(lin.page.get_by_role("button", name="Save my answer")).to_be_enabled()
    lin.check("new-link")


def test_after_the_deadline_the_pick_page_is_read_only(visit, office_hours, make_invitee, db):
    from oneonone.calendars.models import Calendar
    from oneonone.contacts.models import Contact

    calendar = db.session.get(Calendar, office_hours["calendar_id"])
    _invitee, token = make_invitee(calendar, db.session.get(Contact, office_hours["contact_id"]))
    db.session.remove()

    # Lin opens the page and picks 10:00 while answers are still open...
    lin = visit("lin", timezone_id="Europe/London")
    lin.goto(f"/pick/{token}")
    expect(lin.page.get_by_label("Show times in")).to_have_value("Europe/London")  # the zone is right: no reload
    ten = lin.page.get_by_role("radiogroup", name="10:00–10:30")
    ten.get_by_text("Preferred", exact=True).click()
    lin.page.get_by_role("button", name="Save my answer").click()
    expect(lin.page.get_by_text("Your answer was saved (1 slot picked)")).to_be_visible()
    ten.get_by_text("If need be", exact=True).click()  # ...and starts changing it, page left open

    # Meanwhile the deadline the owner set passes (the form refuses a deadline already past, so the
    # clock is played forward here: the deadline is moved to a minute ago).
    calendar = db.session.get(Calendar, office_hours["calendar_id"])
    calendar.response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    db.session.remove()
    owner = visit("owner", timezone_id="Europe/London")
    page = owner.page
    sign_in(owner, office_hours["owner_email"])
    owner.goto(f"/calendars/{office_hours['calendar_id']}/")
    expect(page.get_by_text("Answers closed")).to_be_visible()
    owner.check("calendar-closed")

    # Lin's late save is refused with a clear message, and nothing changes.
    with lin.page.expect_response(lambda response: response.request.method == "POST") as posted:
        lin.page.get_by_role("button", name="Save my answer").click()
    assert posted.value.status == 400
    refused = "The response deadline has passed; answers can no longer be changed."
    expect(lin.page.get_by_role("alert").filter(has_text=refused)).to_be_visible()
    lin.check("late-save-refused")
    lin.page.goto(f"/pick/{token}")
    closed = lin.page.get_by_role("status").filter(has_text="The response deadline")
    expect(closed).to_contain_text("has passed, so answers can no longer be changed")
    expect(lin.page.get_by_role("button", name="Save my answer")).to_have_count(0)
    for radio in lin.page.get_by_role("radio").all():
        expect(radio).to_be_disabled()
    expect(lin.page.get_by_role("radiogroup", name="10:00–10:30").get_by_label("Preferred")).to_be_checked()
    lin.check("pick-read-only")
