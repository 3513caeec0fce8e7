"""Getting back in and proving an address, in a browser (issue 15): "Forgot your password?" from the
sign-in page to a new password through the emailed link (read from the SMTP sink), the spent link
explaining itself, the sessions list on the profile, and an unverified owner told why nothing was
sent, with "Send the verification email again". axe checks every new page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .support import PASSWORD, inbox, link_to, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def account(owner, db):
    values = {"email": owner.email}
    db.session.remove()
    return values


def test_a_forgotten_password_is_reset_through_the_emailed_link(visit, account, mail_server):
    elsewhere = visit("laptop")
    sign_in(elsewhere, account["email"])

    owner = visit("owner", phone=True)
    page = owner.page
    owner.goto("/accounts/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    owner.check("forgot")
    page.get_by_label("Email").fill(account["email"])
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text(f"If an account exists for {account['email']}")).to_be_visible()
    owner.check("forgot-sent")

    link = link_to(inbox(mail_server, account["email"], "Reset your OneOnOne password")[0], "/accounts/password/reset/")
    owner.goto(link, "reset")
    page.get_by_label("New password", exact=True).fill("a-fresh-long-passphrase")
    page.get_by_label("Repeat new password").fill("a-fresh-long-passphrase")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your password was reset and you are signed in.")).to_be_visible()
    inbox(mail_server, account["email"], "Your OneOnOne password was reset")

    # The other browser was signed out; the link is spent and says what to do.
    elsewhere.page.goto("/accounts/profile")
    expect(elsewhere.page.get_by_role("heading", name="Sign in")).to_be_visible()
    owner.goto(link, "reset-spent")
    expect(page.get_by_text("This link has expired or was already used.")).to_be_visible()
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()


def test_the_profile_lists_where_you_are_signed_in(visit, account):
    phone = visit("phone", phone=True)
    sign_in(phone, account["email"])
    owner = visit("owner")
    sign_in(owner, account["email"], PASSWORD)
    owner.goto("/accounts/profile", "profile-sessions")
    sessions = owner.page.locator(".session-row")
    expect(sessions).to_have_count(2)
    expect(owner.page.get_by_text("This browser")).to_be_visible()
    owner.page.get_by_role("button", name="Sign out everywhere else").click()
    expect(owner.page.get_by_text("Signed out everywhere else (1 session).")).to_be_visible()
    expect(sessions).to_have_count(1)
    phone.page.goto("/calendars/")
    expect(phone.page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_unverified_owner_sees_why_and_can_ask_for_the_link_again(visit, make_user, mail_server, db):
    user = make_user(verified=False)
    address = user.email
    db.session.remove()
    owner = visit("owner")
    sign_in(owner, address)
    banner = owner.page.get_by_role("region", name="Verify your email address")
    expect(banner).to_contain_text(f"Verify {address}")
    owner.check("unverified")
    banner.get_by_role("button", name="Send the verification email again").click()
    expect(owner.page.get_by_text(f"We emailed a new link to {address}.")).to_be_visible()
    owner.goto(link_to(inbox(mail_server, address, "Confirm your email address")[0], "/accounts/verify/"))
    expect(owner.page.get_by_text(f"Thank you: {address} is verified.")).to_be_visible()
    expect(banner).to_have_count(0)
