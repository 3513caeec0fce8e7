"""Sign-up cannot tell anyone which addresses have accounts (issue 16, point 9).

An attacker signs up once with an address that has an account and once with one that does not; page
and API answer alike, nothing is created or changed for the taken address, and its owner alone learns
of the attempt, by an email read back from the real SMTP sink.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from mailsink import link_in, text_of

from oneonone.accounts.models import User, UserSession
from oneonone.accounts.recovery import SIGNUP_ATTEMPT_MAILS_PER_HOUR

ATTEMPT_SUBJECT = "Someone tried to sign up for OneOnOne with your email address"
SIGNUP = {"first_name": "Mallory", "last_name": "Probe", "username": "mallory",
          "password": "not-a-common-password", "repeat_password": "not-a-common-password",
          "timezone": "Europe/Paris"}
NEW_ADDRESS = "nobody-yet@example.com"


def _users(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def _page_answer(app, email: str) -> tuple[int, str, str, bool]:
    """(status, Location, the page it leads to with the address and CSRF token blanked, signed in?)"""
    browser = app.test_client()
    response = browser.post("/accounts/signup", data={**SIGNUP, "email": email})
    landed = browser.get(response.location) if response.status_code == 302 else response
    page = landed.get_data(as_text=True).replace(email.lower(), "ADDRESS")
    page = re.sub(r'name="csrf_token"[^>]*value="[^"]*"|value="[^"]*"([^>]*name="csrf_token")',
                  "CSRF", page)
    signed_in = browser.get("/accounts/profile").status_code == 200
    return response.status_code, response.location, page, signed_in


def test_the_page_answers_a_taken_address_as_it_answers_a_new_one(app, db, mailbox, owner):
    before = (owner.first_name, owner.username, owner.password_hash, owner.timezone)
    taken = _page_answer(app, owner.email.upper())  # any case of the address
    assert _users(db) == 1
    new = _page_answer(app, NEW_ADDRESS)  # the same username: the taken case kept nothing
    assert taken == new
    status, location, page, signed_in = new
    assert (status, location, signed_in) == (302, "/accounts/signin", False)
    assert "Check your inbox: we sent a message to ADDRESS." in page

    assert _users(db) == 2
    db.session.expire_all()
    assert (owner.first_name, owner.username, owner.password_hash, owner.timezone) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
    [notice] = mailbox.to(owner.email)
    assert notice["Subject"] == ATTEMPT_SUBJECT
    body = text_of(notice)
    assert "no new account was made and nothing about yours changed" in body
    assert link_in(notice, "/accounts/signin") == "/accounts/signin"
    assert link_in(notice, "/accounts/password/forgot") == "/accounts/password/forgot"
    assert "/accounts/verify/" not in body and SIGNUP["password"] not in body
    [verify] = mailbox.to(NEW_ADDRESS)
    assert "/accounts/verify/" in text_of(verify)


def test_the_api_answers_a_taken_address_as_it_answers_a_new_one(client, db, mailbox, owner):
    taken = client.post("/api/accounts/signup/", json={**SIGNUP, "email": owner.email})
    new = client.post("/api/accounts/signup/", json={**SIGNUP, "email": NEW_ADDRESS})
    assert taken.status_code == new.status_code == 201
    body = new.get_json()
    assert taken.get_json() == {**body, "email": owner.email,
                                "detail": body["detail"].replace(NEW_ADDRESS, owner.email)}
    assert body == {"username": "mallory", "email": NEW_ADDRESS, "first_name": "Mallory",
                    "last_name": "Probe", "timezone": "Europe/Paris", "email_verified": False,
                    "detail": f"Check your inbox: we sent a message to {NEW_ADDRESS}. Open the link in "
                              f"it to verify your address; you can sign in meanwhile."}
    assert _users(db) == 2
    assert [m["Subject"] for m in mailbox.to(owner.email)] == [ATTEMPT_SUBJECT]
    # The attacker's password opens nothing on the existing account.
    assert client.post("/api/accounts/signin/", json={"email": owner.email,
                                                      "password": SIGNUP["password"]}).status_code == 401


@pytest.mark.parametrize("door", ["page", "api"])
def test_a_taken_username_is_still_refused(client, db, owner, door):
    data = {**SIGNUP, "username": owner.username.upper(), "email": NEW_ADDRESS}
    if door == "page":
        response = client.post("/accounts/signup", data=data)
        assert response.status_code == 400 and "That username is taken." in response.get_data(as_text=True)
    else:
        response = client.post("/api/accounts/signup/", json=data)
        assert response.status_code == 400 and response.get_json()["fields"] == {
            "username": ["That username is taken."]}
    assert _users(db) == 1


def test_bad_input_with_a_taken_address_is_refused_as_for_a_new_one(client, db, mailbox, owner):
    """Field errors come before the address is looked up, so they cannot tell the cases apart either."""
    answers = [client.post("/api/accounts/signup/", json={**SIGNUP, "email": email, "password": "short",
                                                         "repeat_password": "short"})
               for email in (owner.email, NEW_ADDRESS)]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].get_json() == answers[1].get_json()
    assert not mailbox.to(owner.email) and _users(db) == 1


def test_repeated_attempts_cannot_flood_the_owner(client, db, mailbox, owner):
    statuses = [client.post("/api/accounts/signup/", json={**SIGNUP, "email": owner.email}).status_code
                for _ in range(SIGNUP_ATTEMPT_MAILS_PER_HOUR + 2)]
    assert statuses == [201] * (SIGNUP_ATTEMPT_MAILS_PER_HOUR + 2)
    assert len(mailbox.to(owner.email)) == SIGNUP_ATTEMPT_MAILS_PER_HOUR
    assert _users(db) == 1
