"""The whole journey in a browser: an owner signs up, adds contacts, creates a calendar with a series
of slots and invites two contacts; each invitee picks from the link in their email, in their own
time zone; the owner confirms the best schedule; each invitee gets the meeting by email (.ics) and
sees it on their page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from .support import fits_the_phone, ics_attachment, inbox, link_to, pick_link, text_body

pytestmark = pytest.mark.e2e

CALENDAR = "Team 1:1s, spring"
OWNER_EMAIL = "grace@example.com"
AMARA = ("Amara", "Okafor", "amara@example.org")  # answers from New York, on a laptop
KENJI = ("Kenji", "Sato", "kenji@example.org")    # answers from Tokyo, on a phone
CHRIS = ("Chris", "Doe", "chris@example.org")     # in the address book, not invited


def _slot_group(page, day: str, start: str):
    """The radio group of the slot starting at `start` on `day` (as the pick page shows them)."""
    section = page.locator("section.pick-day").filter(has=page.get_by_role("heading", name=day))
    return section.get_by_role("radiogroup", name=re.compile(f"^{start}–"))


def test_owner_invites_two_people_who_pick_and_get_the_confirmed_meeting(visit, mail_server):
    owner = visit("owner", timezone_id="Europe/Berlin", locale="en-GB")
    page = owner.page

    # Sign up; the time zone select starts at the browser's zone.
    owner.goto("/", "home")
    page.get_by_role("link", name="Create a free account").click()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    owner.check("signup")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Repeat password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    # Sign-up says the same whether or not the address has an account, so it signs nobody in.
    expect(page.get_by_text(f"Check your inbox: we sent a message to {OWNER_EMAIL}.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(OWNER_EMAIL)
    owner.check("signup-sent")
    page.get_by_label("Password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("No calendars yet — create one")).to_be_visible()
    owner.check("calendars-empty")
    # The address is verified through the link mailed at sign-up; until then nobody is mailed for Grace.
    expect(page.get_by_role("region", name="Verify your email address")).to_be_visible()
    page.goto(link_to(inbox(mail_server, OWNER_EMAIL, "Confirm your email address")[0], "/accounts/verify/"))
    expect(page.get_by_text(f"Thank you: {OWNER_EMAIL} is verified.")).to_be_visible()
    expect(page.get_by_role("region", name="Verify your email address")).to_have_count(0)

    # Contacts: the empty state, then three people.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_text("No contacts yet — add one")).to_be_visible()
    owner.check("contacts-empty")
    page.get_by_role("link", name="Add a contact").click()
    owner.check("contact-new")
    for first, last, address in (AMARA, KENJI, CHRIS):
        if not page.url.endswith("/contacts/new"):
            page.get_by_role("link", name="Add contact").click()
        page.get_by_label("First name").fill(first)
        page.get_by_label("Last name").fill(last)
        page.get_by_label("Email").fill(address)
        page.get_by_role("button", name="Add contact").click()
        expect(page.get_by_role("row").filter(has_text=address)).to_be_visible()
    owner.check("contacts")

    # A calendar for the first week of March 2030, in Berlin time.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendars").click()
    page.get_by_role("link", name="Create a calendar").click()
    owner.check("calendar-new")
    page.get_by_label("Name").fill(CALENDAR)
    page.get_by_label("First day").fill("2030-03-04")
    page.get_by_label("Last day").fill("2030-03-08")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Create calendar").click()
    expect(page.get_by_role("heading", name=CALENDAR, level=1)).to_be_visible()
    expect(page.get_by_text("No timeslots yet")).to_be_visible()
    owner.check("calendar-empty")

    # Bulk-add: 30-minute slots 09:00–10:30 on Monday and Tuesday, then a high-priority afternoon.
    page.get_by_role("link", name="Add a series of slots").first.click()
    owner.check("series")
    _add_series(page, ["Monday", "Tuesday"], "09:00", "10:30")
    expect(page.get_by_text("6 slots", exact=True)).to_be_visible()
    page.get_by_role("link", name="Add a series of slots").click()
    _add_series(page, ["Wednesday"], "14:00", "15:00", high_priority=True)
    expect(page.get_by_text("8 slots (2 high priority)")).to_be_visible()
    owner.check("calendar-slots")

    # Invite Amara and Kenji.
    page.get_by_role("link", name="Invitees & answers").click()
    expect(page.get_by_text("Nobody is invited yet")).to_be_visible()
    owner.check("invitees-empty")
    page.get_by_label("Amara Okafor").check()
    page.get_by_label("Kenji Sato").check()
    page.get_by_role("button", name="Invite selected").click()
    expect(page.get_by_text("Invited 2 contacts")).to_be_visible()
    expect(page.get_by_role("heading", name="Invitees (2)")).to_be_visible()
    owner.check("invitees-invited")
    assert not mail_server.to(CHRIS[2])

    # Amara, in New York: Berlin 09:00 is 03:00 for her, and 14:00 is 08:00.
    amara = visit("amara", timezone_id="America/New_York", locale="en-US")
    _open_pick_page(amara, _link_for(mail_server, AMARA[2]), "America/New_York")
    expect(amara.page.get_by_text("One-on-one with Grace Hopper")).to_be_visible()
    amara.check("pick")
    monday, wednesday = "Monday 04 March 2030", "Wednesday 06 March 2030"
    _choose(amara.page, wednesday, "08:00", "Preferred")
    _choose(amara.page, monday, "03:00", "If need be")
    amara.page.get_by_role("button", name="Save my answer").click()
    expect(amara.page.get_by_text("Thank you! Your answer was saved (2 slots picked)")).to_be_visible()
    expect(_slot_group(amara.page, wednesday, "08:00").get_by_label("Preferred")).to_be_checked()
    amara.check("pick-saved")

    # Kenji, in Tokyo on a 375-px phone: Berlin 14:00 on Wednesday is 22:00 for him.
    kenji = visit("kenji", timezone_id="Asia/Tokyo", locale="ja-JP", phone=True)
    _open_pick_page(kenji, _link_for(mail_server, KENJI[2]), "Asia/Tokyo")
    fits_the_phone(kenji.page)
    kenji.check("pick-phone")
    _choose(kenji.page, wednesday, "22:00", "Preferred")
    kenji.page.get_by_role("button", name="Save my answer").click()
    expect(kenji.page.get_by_text("Your answer was saved (1 slot picked)")).to_be_visible()
    fits_the_phone(kenji.page)
    kenji.check("pick-phone-saved")

    # The owner sees the answers, then the suggestions: only if Amara takes Monday 09:00 (if need
    # be) can Kenji have the Wednesday slot they both want, so the best schedule has both of them.
    page.reload()
    expect(page.get_by_text("2 picks")).to_be_visible()
    owner.check("invitees-answered")
    page.get_by_role("link", name="Suggested schedules").click()
    best = page.locator("section.schedule-card").filter(has=page.get_by_role("heading", name="Best schedule"))
    expect(best).to_contain_text("2 of 2 scheduled")
    expect(best.get_by_role("listitem").filter(has_text="Amara Okafor")).to_contain_text("09:00–09:30")
    expect(best.get_by_role("listitem").filter(has_text="Kenji Sato")).to_contain_text("14:00–14:30")
    owner.check("suggestions")
    best.get_by_role("button", name="Confirm this schedule").click()  # accepts the confirm() prompt
    expect(page.get_by_text("Schedule confirmed: 2 new meetings")).to_be_visible()
    expect(page.locator(".invitee-table .badge", has_text="Confirmed")).to_have_count(2)
    owner.check("invitees-confirmed")

    # Each inbox has the confirmation with a valid .ics, in UTC.
    berlin_monday_nine = dt.datetime(2030, 3, 4, 8, 0, tzinfo=dt.UTC)
    berlin_wednesday_two = dt.datetime(2030, 3, 6, 13, 0, tzinfo=dt.UTC)
    for (_first, _last, address), start, local in (
            (AMARA, berlin_monday_nine, "Mon 04 Mar 2030, 03:00 – 03:30 (America/New_York)"),
            (KENJI, berlin_wednesday_two, "Wed 06 Mar 2030, 22:00 – 22:30 (Asia/Tokyo)")):
        message = inbox(mail_server, address, f'Confirmed: "{CALENDAR}"')[0]
        assert local in text_body(message)  # in the zone they picked in
        calendar_file = ics_attachment(message)
        assert calendar_file["METHOD"] == "REQUEST"
        (event,) = calendar_file.walk("VEVENT")
        assert event.decoded("dtstart") == start
        assert event.decoded("dtend") == start + dt.timedelta(minutes=30)
        assert event["dtstart"].to_ical().decode().endswith("Z")  # written in UTC
        assert str(event["attendee"]).lower() == f"mailto:{address}"
        assert str(event["organizer"]).lower() == f"mailto:{OWNER_EMAIL}"

    # Each invitee's page now shows the meeting in their own time zone.
    amara.page.reload()
    confirmed = amara.page.get_by_role("status").filter(has_text="Your meeting is confirmed")
    expect(confirmed).to_contain_text("Monday 04 March 2030, 03:00–03:30")
    expect(confirmed).to_contain_text("America/New York")
    amara.check("pick-confirmed")
    ics_link = amara.page.get_by_role("link", name="Add to calendar (.ics)").get_attribute("href")
    ics = amara.page.request.get(ics_link)
    assert ics.ok and ics.headers["content-type"].startswith("text/calendar")
    kenji.page.reload()
    expect(kenji.page.get_by_role("status").filter(has_text="Your meeting is confirmed")).to_contain_text(
        "Wednesday 06 March 2030, 22:00–22:30")
    fits_the_phone(kenji.page)
    kenji.check("pick-phone-confirmed")


def _link_for(mail_server, address: str) -> str:
    """The pick-page link in the latest invitation `address` received."""
    return pick_link(inbox(mail_server, address, "Grace Hopper invites you to pick a time")[-1])


def _add_series(page, weekdays: list[str], start: str, end: str, *, high_priority: bool = False) -> None:
    for weekday in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(weekday).set_checked(weekday in weekdays)
    page.get_by_label("From").fill(start)
    page.get_by_label("To", exact=True).fill(end)
    page.get_by_label("Slot length (minutes)").fill("30")
    if high_priority:
        page.get_by_label("High priority").check()
    page.get_by_role("button", name="Add the slots").click()
    expect(page.get_by_role("link", name="Timeslots")).to_have_attribute("aria-current", "page")


def _open_pick_page(visitor, link: str, zone: str) -> None:
    """Open the emailed link; on the first visit the page switches to the browser's time zone."""
    visitor.page.goto(link)
    visitor.page.wait_for_url(re.compile(r"[?&]tz="))
    expect(visitor.page.get_by_label("Show times in")).to_have_value(zone)


def _choose(page, day: str, start: str, label: str) -> None:
    group = _slot_group(page, day, start)
    group.get_by_text(label, exact=True).click()
    expect(group.get_by_label(label, exact=True)).to_be_checked()
