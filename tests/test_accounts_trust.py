"""Accounts people can trust (issue 15), tried as an attacker would: replayed cookies, reused ids, the
public key, a forgotten password, unverified addresses, guesses from elsewhere, deletion that leaves
nothing behind, and tokens that age. Mail is read back from the real SMTP sink."""

from __future__ import annotations

import datetime as dt
import io
import os
import stat

import pytest
import sqlalchemy as sa
from flask.sessions import SecureCookieSessionInterface
from mailsink import link_in, text_of
from test_api import Api, assert_error
from test_contacts import image_bytes

from config import TestConfig
from oneonone import create_app
from oneonone.accounts.models import ApiToken, User, UserSession
from oneonone.accounts.services import issue_api_token, rotate_feed_token
from oneonone.outbox import OutboxMessage, deliver_due
from oneonone.transaction import unit_of_work

PASSWORD = "correct-horse-battery"
SIGNUP = {"first_name": "Alice", "last_name": "Liddell", "username": "alice", "email": "alice@example.com",
          "password": "through-the-looking-glass", "repeat_password": "through-the-looking-glass",
          "timezone": "UTC"}


def _signed_in(client) -> bool:
    response = client.get("/accounts/profile")
    return response.status_code == 200


def _copy(app, client):
    """A second browser holding copies of `client`'s session and remember-me cookies."""
    thief = app.test_client()
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def _sign_in(app, user, *, remember: bool = False, password: str = PASSWORD):
    browser = app.test_client()
    data = {"email": user.email, "password": password, **({"remember": "y"} if remember else {})}
    assert browser.post("/accounts/signin", data=data).status_code == 302
    return browser


# ---- a signed-out session stays signed out ---------------------------------------------------------

@pytest.mark.parametrize("remember", [False, True])
def test_a_copied_cookie_dies_with_sign_out(app, owner, remember):
    browser = _sign_in(app, owner, remember=remember)
    thief = _copy(app, browser)
    assert _signed_in(thief)
    assert browser.post("/accounts/signout").status_code == 302
    assert not _signed_in(thief)
    if remember:  # the remember-me cookie alone opens nothing either
        only_remember = app.test_client()
        only_remember.set_cookie("remember_token", thief.get_cookie("remember_token").value)
        assert not _signed_in(only_remember)


def test_a_password_change_ends_every_other_session_and_remember_me(app, owner, mailbox):
    browser = _sign_in(app, owner)
    other = _sign_in(app, owner, remember=True)
    thief = _copy(app, other)
    response = browser.post("/accounts/profile", data={
        "action": "password", "pw-current_password": PASSWORD, "pw-new_password": "a-new-long-secret",
        "pw-repeat_password": "a-new-long-secret"})
    assert response.status_code == 302
    assert _signed_in(browser)  # the browser that changed it stays signed in
    assert not _signed_in(other) and not _signed_in(thief)
    [notice] = mailbox.to(owner.email)
    assert notice["Subject"] == "Your OneOnOne password was changed"
    assert "If it wasn't, reset your password now" in text_of(notice)


def test_an_email_change_ends_other_sessions_once_the_new_address_is_confirmed(app, owner, mailbox, db):
    browser, other = _sign_in(app, owner), _sign_in(app, owner, remember=True)
    old_address = owner.email
    response = browser.post("/accounts/profile", data={
        "first_name": owner.first_name, "last_name": owner.last_name, "username": owner.username,
        "email": "new-address@example.com", "timezone": "UTC", "current_password": PASSWORD})
    assert response.status_code == 302
    # The old address stays in force until the new one proves itself; it is told of the request.
    db.session.expire_all()
    assert db.session.get(User, owner.id).email == old_address
    [notice] = mailbox.to(old_address)
    assert notice["Subject"] == "Your OneOnOne email address is being changed"
    assert "new-address@example.com" in text_of(notice)
    assert app.test_client().post("/accounts/signin", data={
        "email": "new-address@example.com", "password": PASSWORD}).status_code == 400
    assert _signed_in(other)
    [verify] = mailbox.to("new-address@example.com")
    assert browser.get(link_in(verify, "/accounts/verify/")).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, owner.id).email == "new-address@example.com"
    assert _signed_in(browser) and not _signed_in(other)


def test_a_deleted_accounts_cookies_never_open_the_next_account(app, client, db):
    assert client.post("/accounts/signup", data=SIGNUP).status_code == 302
    assert not _signed_in(client)  # sign-up signs nobody in: its answer must not depend on the address
    alice = _sign_in(app, db.session.scalar(sa.select(User)), remember=True,
                     password=SIGNUP["password"])
    alice_id = db.session.scalar(sa.select(User.id))
    thief = _copy(app, alice)
    assert alice.post("/accounts/delete", data={"password": SIGNUP["password"], "confirm": "y"}).status_code == 302
    bob = app.test_client()
    assert bob.post("/accounts/signup", data={**SIGNUP, "username": "bob", "email": "bob@example.com",
                                              "first_name": "Bob"}).status_code == 302
    bob_id = db.session.scalar(sa.select(User.id).where(User.username == "bob"))
    bob = _sign_in(app, db.session.get(User, bob_id), password=SIGNUP["password"])
    if db.engine.dialect.name == "sqlite":
        assert bob_id == alice_id  # SQLite hands the id out again: the attack is real here
    assert not _signed_in(thief)
    assert "Bob" not in thief.get("/calendars/", follow_redirects=True).get_data(as_text=True)
    assert _signed_in(bob)


def test_cookies_from_before_server_sessions_carry_a_user_id_and_open_nothing(app, owner):
    browser = app.test_client()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    browser.set_cookie("session", serializer.dumps({"_user_id": str(owner.id), "_fresh": True}))
    assert not _signed_in(browser)


# ---- no public secrets -------------------------------------------------------------------------

def test_each_instance_makes_its_own_key_and_the_old_constant_opens_nothing(tmp_path, database_url, owner, app):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=None, APP_ENV="development",
                  OUTBOX_DELIVERY="off")
    first = create_app(config, instance_path=str(tmp_path / "one"))
    second = create_app(config, instance_path=str(tmp_path / "two"))
    again = create_app(config, instance_path=str(tmp_path / "one"))
    keys = {first.config["SECRET_KEY"], second.config["SECRET_KEY"]}
    assert len(keys) == 2 and all(len(key) >= 32 for key in keys)
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]  # kept across restarts
    mode = os.stat(tmp_path / "one" / "secret_key").st_mode
    assert stat.S_IMODE(mode) == 0o600
    # A cookie signed with the constant that used to be the default, for user 1 as the old code made it.
    forger = app.test_client()
    app.config["SECRET_KEY"], real = "dev-only-insecure-secret-key", app.config["SECRET_KEY"]
    forged = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"_user_id": str(owner.id)})
    app.config["SECRET_KEY"] = real
    for instance in (first, second):
        forger = instance.test_client()
        forger.set_cookie("session", forged)
        assert forger.get("/accounts/profile").status_code == 302
    with pytest.raises(RuntimeError, match="published"):
        create_app({**config, "SECRET_KEY": "dev-only-insecure-secret-key"}, instance_path=str(tmp_path / "3"))


# ---- forgot password ---------------------------------------------------------------------------

def _ask_reset(client, address: str):
    return client.post("/accounts/password/forgot", data={"email": address})


def test_forgot_password_answers_the_same_for_unknown_addresses(client, owner, mailbox):
    known = _ask_reset(client, owner.email).get_data(as_text=True)
    unknown = _ask_reset(client, "nobody@example.com").get_data(as_text=True)
    assert known.replace(owner.email, "X") == unknown.replace("nobody@example.com", "X")
    assert "If an account exists for" in known
    assert [m["To"] for m in mailbox.messages] == [owner.email]


def test_a_reset_link_survives_prefetching_works_once_and_signs_everyone_else_out(app, client, owner, mailbox, db):
    elsewhere = _sign_in(app, owner, remember=True)
    with unit_of_work():
        token = issue_api_token(owner)
        rotate_feed_token(db.session.get(User, owner.id))
    _ask_reset(client, owner.email)
    [mail] = mailbox.to(owner.email)
    assert mail["Subject"] == "Reset your OneOnOne password" and "works once, for 60 minutes" in text_of(mail)
    link = link_in(mail, "/accounts/password/reset/")
    for _ in range(2):  # a mail scanner fetching the link spends nothing
        page = client.get(link)
        assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    mismatch = client.post(link, data={"password": "brand-new-secret", "repeat_password": "other-secret-x"})
    assert mismatch.status_code == 400
    response = client.post(link, data={"password": "brand-new-secret", "repeat_password": "brand-new-secret"})
    assert response.status_code == 302
    assert _signed_in(client) and not _signed_in(elsewhere)
    assert Api(client, token).get("/api/accounts/profile/").status_code == 401
    db.session.expire_all()
    reset = db.session.get(User, owner.id)
    assert reset.check_password("brand-new-secret") and reset.feed_token_hash is None
    notice = mailbox.to(owner.email)[-1]
    assert notice["Subject"] == "Your OneOnOne password was reset"
    spent = app.test_client().get(link)
    assert spent.status_code == 400
    assert "expired or was already used" in spent.get_data(as_text=True)
    assert "Ask for a new link" in spent.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"PASSWORD_RESET_MAX_AGE": -1}])
def test_an_expired_reset_link_says_so(client, owner, mailbox, app_config):
    _ask_reset(client, owner.email)
    link = link_in(mailbox.to(owner.email)[0], "/accounts/password/reset/")
    page = client.get(link)
    assert page.status_code == 400 and "expired or was already used" in page.get_data(as_text=True)
    response = client.post(link, data={"password": "brand-new-secret", "repeat_password": "brand-new-secret"})
    assert response.status_code == 400


def test_password_reset_over_the_api(client, owner, mailbox, db):
    for address in (owner.email, "nobody@example.com"):
        response = client.post("/api/accounts/password-reset/", json={"email": address})
        assert response.status_code == 202
        assert response.get_json()["message"].startswith("If an account exists for that address")
    [mail] = mailbox.messages
    token = link_in(mail, "/accounts/password/reset/").rsplit("/", 1)[1]
    url = "/api/accounts/password-reset/confirm/"
    assert_error(client.post(url, json={"token": "x" + token, "password": "brand-new-secret",
                                        "repeat_password": "brand-new-secret"}), 400, "token")
    assert_error(client.post(url, json={"token": token, "password": "short", "repeat_password": "short"}),
                 400, "password")
    response = client.post(url, json={"token": token, "password": "brand-new-secret",
                                      "repeat_password": "brand-new-secret"})
    assert response.status_code == 200
    assert Api(client, response.get_json()["token"]).get("/api/accounts/profile/").status_code == 200
    assert_error(client.post(url, json={"token": token, "password": "another-new-secret",
                                        "repeat_password": "another-new-secret"}), 400, "token")


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_reset_requests_are_limited_per_account(client, owner, mailbox, app_config):
    statuses = [_ask_reset(client, owner.email).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(mailbox.to(owner.email)) == 3


# ---- verified addresses ------------------------------------------------------------------------

def test_until_verified_an_owner_mails_nobody(app, db, mailbox, make_calendar, make_contact, make_timeslot):
    assert app.test_client().post("/accounts/signup", data=SIGNUP).status_code == 302
    alice = db.session.scalar(sa.select(User))
    client = _sign_in(app, alice, password=SIGNUP["password"])  # an unverified account may sign in
    assert alice.email_verified_at is None
    [verify] = mailbox.to(alice.email)
    assert verify["Subject"] == "Confirm your email address for OneOnOne"
    calendar = make_calendar(owner=alice)
    make_timeslot(calendar)
    contact = make_contact(owner=alice)
    page = client.get("/calendars/", follow_redirects=True).get_data(as_text=True)
    assert "Send the verification email again" in page
    response = client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(contact.id)},
                           headers={"Referer": f"http://localhost/calendars/{calendar.id}/invitees"},
                           follow_redirects=True)
    assert "Verify your email address first" in response.get_data(as_text=True)
    with unit_of_work():
        token = issue_api_token(alice)
    api = Api(client, token)
    refused = api.post(f"/api/calendars/{calendar.id}/contacts/{contact.id}/")
    assert refused.status_code == 403 and refused.get_json()["error"] == "email_not_verified"
    assert api.get("/api/accounts/profile/").get_json()["email_verified"] is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == contact.email)) == 0
    # "Send the verification email again", then the link.
    client.post("/accounts/verify/resend")
    assert len(mailbox.to(alice.email)) == 2
    assert client.get(link_in(mailbox.to(alice.email)[-1], "/accounts/verify/"),
                      follow_redirects=True).status_code == 200
    assert api.post(f"/api/calendars/{calendar.id}/contacts/{contact.id}/").status_code == 201
    assert mailbox.to(contact.email)


def test_a_broken_verification_link_says_so(client, owner):
    page = client.get("/accounts/verify/not-a-real-token")
    assert page.status_code == 400 and "This link no longer works" in page.get_data(as_text=True)


def test_api_sign_up_sends_the_verification_email(client, mailbox):
    response = client.post("/api/accounts/signup/", json=SIGNUP)
    assert response.status_code == 201
    assert response.get_json()["email_verified"] is False
    [mail] = mailbox.to(SIGNUP["email"])
    assert "/accounts/verify/" in text_of(mail)


# ---- sign-in limits that cannot be turned against the user -------------------------------------------

@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
@pytest.mark.parametrize("door", ["page", "api"])
def test_wrong_guesses_from_elsewhere_do_not_lock_the_right_password_out(app, owner, door, app_config):
    def attempt(address: str, password: str) -> int:
        browser = app.test_client()
        environ = {"REMOTE_ADDR": address}
        if door == "page":
            return browser.post("/accounts/signin", data={"email": owner.email, "password": password},
                                environ_base=environ).status_code
        return browser.post("/api/accounts/signin/", json={"email": owner.email, "password": password},
                            environ_base=environ).status_code

    statuses = [attempt(address, "wrong-password-x") for address in ("203.0.113.7", "198.51.100.9")
                for _ in range(18)]
    assert 429 in statuses  # each guessing address is stopped...
    assert attempt("192.0.2.44", PASSWORD) == (302 if door == "page" else 200)  # ...the owner is not


# ---- complete deletion -------------------------------------------------------------------------

def test_deleting_an_account_cancels_meetings_and_leaves_no_file_or_message(
        app, owner, owner_client, make_calendar, make_contact, make_timeslot, make_invitee, make_event,
        mailbox, db):
    calendar = make_calendar(owner=owner, start_date=dt.date(2030, 1, 7))
    slot = make_timeslot(calendar)
    upload = app.config["UPLOAD_FOLDER"]
    response = owner_client.post("/contacts/new", data={
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
        "image": (io.BytesIO(image_bytes()), "ada.png")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert os.listdir(upload)
    ada = db.session.scalar(sa.select(User).where(User.id == owner.id)).contacts[0]
    make_invitee(calendar, ada)
    make_event(slot, ada, confirmed=True)
    other = make_contact(owner=owner, email="someone@example.org")
    make_invitee(calendar, other)
    mailbox.messages.clear()

    wrong = owner_client.post("/accounts/delete", data={"password": "not-my-password", "confirm": "y"})
    assert wrong.status_code == 400 and "Your password is not correct." in wrong.get_data(as_text=True)
    response = owner_client.post("/accounts/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    [cancel] = mailbox.to("ada@example.org")
    assert cancel["Subject"].startswith("Cancelled")
    assert any(p.get_content_type() == "text/calendar" for p in cancel.walk())
    assert not mailbox.to("someone@example.org")
    assert os.listdir(upload) == []
    with app.app_context():
        deliver_due()
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


# ---- sessions and tokens on the profile -----------------------------------------------------------

def test_the_profile_lists_sessions_and_signs_them_out(app, owner, db):
    here = _sign_in(app, owner)
    phone = app.test_client()
    phone.post("/accounts/signin", data={"email": owner.email, "password": PASSWORD},
               headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"})
    laptop = _sign_in(app, owner)
    page = here.get("/accounts/profile").get_data(as_text=True)
    assert "Where you are signed in" in page and "Safari on iPhone" in page
    assert page.count('class="list-group-item px-0 d-flex flex-wrap align-items-center gap-2 session-row"') == 3
    assert "This browser" in page
    phone_session = db.session.scalar(sa.select(UserSession.id).where(UserSession.user_agent.contains("iPhone")))
    assert here.post(f"/accounts/sessions/{phone_session}/signout").status_code == 302
    assert not _signed_in(phone) and _signed_in(laptop)
    here.post("/accounts/sessions/signout-others")
    assert not _signed_in(laptop) and _signed_in(here)


def test_api_tokens_record_their_use_expire_unused_and_can_be_revoked(app, client, owner, db):
    with unit_of_work():
        token = issue_api_token(owner)
        stale = issue_api_token(owner)
    api = Api(client, token)
    assert api.get("/api/accounts/profile/").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.id == 1)) is not None
    with unit_of_work():
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == 2).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31)))
    assert_error(Api(client, stale).get("/api/accounts/profile/"), 401)
    browser = _sign_in(app, owner)
    page = browser.get("/accounts/profile").get_data(as_text=True)
    assert "API tokens" in page and "Revoke" in page and "last used" in page
    assert browser.post("/accounts/tokens/1/revoke").status_code == 302
    assert_error(api.get("/api/accounts/profile/"), 401)
