"""Messages a person understands, in a browser (issue 18, point 9): sign-up shows every problem at
once in the product's words, the browser's zone is found even under an old name, and "Search zones"
narrows the time-zone list, on a desktop and a phone; without JavaScript the plain select works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .support import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def taken(make_user, db):
    make_user(username="grace", email="grace@example.com")
    db.session.remove()


def _fits(visitor) -> None:
    assert visitor.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_signup_reports_everything_at_once_and_finds_a_zone(visit, taken, phone):
    # Chromium reports India's zone by its old name, Asia/Calcutta, which the list does not offer.
    ada = visit("ada-phone" if phone else "ada-desktop", timezone_id="Asia/Calcutta", phone=phone)
    page = ada.page
    ada.goto("/accounts/signup", "signup")
    _fits(ada)
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_value("Asia/Kolkata")
    expect(page.locator('#timezone option[value="Asia/Calcutta"]')).to_have_count(0)

    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email").fill("ada-at-example")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create account").click()
    for message in ("Enter your first name.", "Enter your last name.", "That username is taken.",
                    "Enter a valid email address, like name@example.com.", "Use at least 10 characters."):
        expect(page.get_by_text(message)).to_be_visible()
    ada.check("signup-problems")
    _fits(ada)

    search = page.get_by_role("searchbox", name="Search zones")
    search.fill("berlin")
    expect(zone).to_have_value("Europe/Berlin")
    expect(page.get_by_text("1 zone matches.")).to_be_visible()
    assert page.locator("#timezone option").count() == 1
    search.press("Enter")  # chooses, does not submit
    expect(zone).to_be_focused()
    search.fill("new york")
    expect(zone).to_have_value("America/New_York")
    search.fill("")
    assert page.locator("#timezone option").count() > 400
    expect(zone).to_have_value("America/New_York")
    ada.check("signup-zone-search")

    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("analytical-engine")
    page.get_by_label("Repeat password").fill("analytical-engine")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your inbox: we sent a message to ada@example.com.")).to_be_visible()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_an_old_zone_name_stays_chosen_on_the_profile_and_the_calendar(visit, make_user, make_calendar, db, phone):
    owner = make_user(timezone="US/Eastern")
    calendar = make_calendar(owner=owner, timezone="Asia/Calcutta")
    address, calendar_id = owner.email, calendar.id
    db.session.remove()
    visitor = visit("owner-phone" if phone else "owner-desktop", phone=phone)
    page = visitor.page
    sign_in(visitor, address)
    visitor.goto("/accounts/profile", "profile")
    _fits(visitor)
    expect(page.get_by_label("Time zone")).to_have_value("US/Eastern")
    page.get_by_role("searchbox", name="Search zones").fill("chicago")
    expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")
    visitor.goto(f"/calendars/{calendar_id}/edit", "calendar-edit")
    _fits(visitor)
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Calcutta")


def test_without_javascript_the_plain_select_works(live_server, new_context, _screenshot_folder):
    context = new_context(java_script_enabled=False, base_url=live_server.url, viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.goto("/accounts/signup")
    expect(page.get_by_role("searchbox", name="Search zones")).to_be_hidden()
    page.get_by_label("Time zone").select_option("Europe/Kyiv")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Kyiv")
    folder = _screenshot_folder / "without_javascript_the_plain_select_works"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / "01-signup-no-js.png"), full_page=True)
    context.close()
