"""Attacks a red team found on the first version of the accounts change (issue 15), each fixed since:
a waiting address change outliving a password reset, a reset link outliving an address change, the
profile form dropping a waiting change, distributed guesses locking the owner out, verification mail
as a spam cannon, and huge ids. Every docstring says what an attacker (or a confused user) does and
what happens instead."""

from __future__ import annotations

import pytest
from mailsink import link_in, text_of

from oneonone.accounts.models import User

PASSWORD = "correct-horse-battery"
ATTACKER = "attacker@evil.example"


def _browser(app, user, *, address: str = "127.0.0.1", password: str = PASSWORD):
    browser = app.test_client()
    response = browser.post("/accounts/signin", data={"email": user.email, "password": password},
                            environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _profile_form(user, **changes) -> dict:
    return {"first_name": user.first_name, "last_name": user.last_name, "username": user.username,
            "email": user.email, "timezone": user.timezone, **changes}


def _reset_through_email(client, mailbox, address: str, new_password: str) -> None:
    assert client.post("/accounts/password/forgot", data={"email": address}).status_code == 200
    link = link_in(mailbox.to(address)[-1], "/accounts/password/reset/")
    response = client.post(link, data={"password": new_password, "repeat_password": new_password})
    assert response.status_code == 302, response.get_data(as_text=True)


# ---- a pending email change outlives the password reset its own notice tells the victim to do --------

@pytest.mark.parametrize("recovery", ["reset", "change"])
def test_recovering_the_password_cancels_an_attackers_pending_email_change(app, db, owner, mailbox, recovery):
    """An attacker who learnt the owner's password signs in and asks to change the address to one they
    control. The owner gets the "your email address is being changed ... If it wasn't, reset your
    password now" notice and does exactly that (or changes the password on the profile). The attacker
    then opens the verification link still sitting in their own mailbox: before the fix the address
    becomes the attacker's (who can then use "Forgot your password?" and own the account for good).
    A password reset / change must cancel a waiting address change (or the link must carry a
    fingerprint of the password hash, as reset links do), so the link answers 400 and nothing moves."""
    victim_address = owner.email
    intruder = _browser(app, owner)
    response = intruder.post("/accounts/profile", data=_profile_form(owner, email=ATTACKER,
                                                                       current_password=PASSWORD))
    assert response.status_code == 302
    [notice] = mailbox.to(victim_address)
    assert "reset your password now" in text_of(notice)
    verify_link = link_in(mailbox.to(ATTACKER)[0], "/accounts/verify/")

    owner_browser = app.test_client()
    if recovery == "reset":
        _reset_through_email(owner_browser, mailbox, victim_address, "my-brand-new-secret")
    else:
        owner_browser = _browser(app, owner)
        assert owner_browser.post("/accounts/profile", data={
            "action": "password", "pw-current_password": PASSWORD, "pw-new_password": "my-brand-new-secret",
            "pw-repeat_password": "my-brand-new-secret"}).status_code == 302

    opened = app.test_client().get(verify_link)  # the attacker, signed out everywhere by now
    db.session.expire_all()
    assert db.session.get(User, owner.id).email == victim_address
    assert opened.status_code == 400


# ---- a reset link mailed to the old address outlives the address change ---------------------------------

def test_a_reset_link_sent_to_the_old_address_dies_when_the_address_changes(app, db, owner, mailbox):
    """The owner's old mailbox (say a former employer's) is in someone else's hands. A reset link was
    mailed there shortly before the owner moved the account to a new address and confirmed it. Whoever
    reads the old mailbox opens that link within the hour: before the fix it still set the password of the
    account (now living at the new address), signing the real owner out. The link was for the address
    it was mailed to: once `email` changes it must be spent (Django binds its reset tokens to the email
    for this reason), answering 400 and leaving the password alone."""
    old_address = owner.email
    assert app.test_client().post("/accounts/password/forgot", data={"email": old_address}).status_code == 200
    reset_link = link_in(mailbox.to(old_address)[0], "/accounts/password/reset/")

    browser = _browser(app, owner)
    assert browser.post("/accounts/profile", data=_profile_form(
        owner, email="owner-new@example.com", current_password=PASSWORD)).status_code == 302
    assert browser.get(link_in(mailbox.to("owner-new@example.com")[0], "/accounts/verify/")).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, owner.id).email == "owner-new@example.com"

    old_mailbox_reader = app.test_client()
    response = old_mailbox_reader.post(reset_link, data={"password": "taken-over-secret",
                                                         "repeat_password": "taken-over-secret"})
    db.session.expire_all()
    assert not db.session.get(User, owner.id).check_password("taken-over-secret")
    assert response.status_code == 400


# ---- the profile form silently throws a waiting address change away -------------------------------------

def test_saving_the_profile_for_another_reason_keeps_the_waiting_address_change(app, db, owner, mailbox):
    """A user asks to move their account to a new address, then (before opening the mail) fixes a typo in
    their last name on the same profile page. The form is pre-filled with the *current* address, so the
    save counts as "asked for the current address again" and quietly clears `pending_email`: the link in
    the new mailbox then says "expired or out of date". Only an explicit request should cancel it; a
    profile save that did not touch the email field must leave the change waiting."""
    browser = _browser(app, owner)
    assert browser.post("/accounts/profile", data=_profile_form(
        owner, email="owner-new@example.com", current_password=PASSWORD)).status_code == 302
    page = browser.get("/accounts/profile").get_data(as_text=True)
    assert "Waiting for <strong>owner-new@example.com</strong>" in page
    assert f'value="{owner.email}"' in page  # what the browser sends back in the email field

    assert browser.post("/accounts/profile", data=_profile_form(owner, last_name="Exampel")).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, owner.id).pending_email == "owner-new@example.com"
    opened = browser.get(link_in(mailbox.to("owner-new@example.com")[0], "/accounts/verify/"))
    assert opened.status_code == 302


# ---- the per-account ceiling on sign-in locks the right password out -------------------------------------

@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_guesses_from_ten_addresses_do_not_lock_the_owner_out(app, owner, app_config):
    """An attacker with ten client addresses (trivial with IPv6 or a botnet) sends ten wrong passwords
    from each, staying under every per-client limit, and so fills the per-account ceiling (100 failed
    attempts an hour). The owner, from the browser they signed in with before (it carries a device
    cookie) and from a new address, still gets in; only browsers the account has never seen wait out
    the hour. A correct sign-in never counts toward the ceiling."""
    laptop = _browser(app, owner, address="198.51.100.20")
    laptop.post("/accounts/signout")
    for n in range(10):
        for _ in range(10):
            app.test_client().post("/accounts/signin", data={"email": owner.email, "password": "wrong-guess-x"},
                                   environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"})
    response = laptop.post("/accounts/signin", data={"email": owner.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert response.status_code == 302
    stranger = app.test_client().post("/accounts/signin", data={"email": owner.email, "password": PASSWORD},
                                      environ_base={"REMOTE_ADDR": "192.0.2.45"})
    assert stranger.status_code == 429


# ---- verification mail to any address, unlimited -----------------------------------------------------

@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_address_changes_cannot_mail_a_stranger_without_limit(app, make_user, mailbox, app_config):
    """"Send the verification email again" is limited to 5 an hour so OneOnOne cannot be used to flood
    someone's inbox. An unverified sign-up (who may mail nobody) instead toggles the profile's email
    between a victim's address and another one: every toggle sends the victim a fresh "Confirm the change
    of your OneOnOne email address" mail greeting them with the attacker-chosen first name, with no limit
    at all. Mail caused by address changes must count against the same kind of limit (at most 5 an hour
    here)."""
    spammer = make_user(verified=False, first_name="Cheap pills at evil.example")
    browser = _browser(app, spammer)
    for n in range(14):
        browser.post("/accounts/profile", data=_profile_form(
            spammer, email="victim@example.org" if n % 2 == 0 else f"other{n}@evil.example",
            current_password=PASSWORD))
    assert 1 <= len(mailbox.to("victim@example.org")) <= 5


# ---- huge ids in the new profile routes -------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
@pytest.mark.parametrize("path", ["/accounts/sessions/99999999999999999999/signout",
                                  "/accounts/tokens/99999999999999999999/revoke"])
def test_a_huge_id_in_the_session_or_token_routes_is_a_404(owner_client, path, app_config):
    """A signed-in user (or a fuzzer) posts to the new "sign this session out" / "revoke this token"
    routes with an id too large for the database. Before the fix the id went straight into the DELETE (SQLite
    raised OverflowError, PostgreSQL "integer out of range"): a 500 and an error log entry. Every other
    page clamps ids (calendars' `parse_id`, the API's IdConverter); these must answer 404 like any
    unknown id."""
    assert owner_client.post(path).status_code == 404
