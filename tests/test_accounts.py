"""Sign-up, sign-in, sign-out, profile and account deletion through the real pages."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from mailsink import link_in

from oneonone.accounts.models import User
from oneonone.calendars.models import Calendar
from oneonone.contacts.models import Contact

GOOD_SIGNUP = {
    "first_name": "Ada", "last_name": "Lovelace", "username": "ada", "email": "ada@example.com",
    "password": "analytical-engine", "repeat_password": "analytical-engine", "timezone": "Europe/London",
}


def test_signup_creates_an_account_to_sign_in_to(client, db):
    response = client.post("/accounts/signup", data=GOOD_SIGNUP)
    assert response.status_code == 302 and response.location == "/accounts/signin"
    user = db.session.scalar(sa.select(User).where(User.email == "ada@example.com"))
    assert user.username == "ada" and user.timezone == "Europe/London"
    assert user.password_hash != GOOD_SIGNUP["password"] and user.check_password("analytical-engine")
    page = client.get("/accounts/signin").get_data(as_text=True)
    assert "Check your inbox: we sent a message to ada@example.com." in page
    assert 'value="ada@example.com"' in page  # the address is filled in, the password field focused
    assert re.search(r'<input[^>]*autofocus[^>]*name="password"|<input[^>]*name="password"[^>]*autofocus', page)
    assert "autofocus" not in client.get("/accounts/signin").get_data(as_text=True)  # once only
    signed_in = client.post("/accounts/signin", data={"email": "ada@example.com",
                                                      "password": "analytical-engine"})
    assert signed_in.status_code == 302
    page = client.get("/calendars/", follow_redirects=True)
    assert "Your calendars" in page.get_data(as_text=True)


def test_signup_normalises_email_case(client, db):
    client.post("/accounts/signup", data={**GOOD_SIGNUP, "email": "Ada@Example.COM"})
    assert db.session.scalar(sa.select(User.email)) == "ada@example.com"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_name": ""}, "Enter your first name."),
        ({"last_name": "x" * 121}, "Last name must be at most 120 characters."),
        ({"email": "not-an-email"}, "Enter a valid email address, like name@example.com."),
        ({"email": "a" * 110 + "@example.com"}, "Email must be at most 120 characters."),
        ({"username": "a b"}, "Use 3 to 64 characters: letters, digits, dots, dashes or underscores."),
        ({"password": "short", "repeat_password": "short"}, "Use at least 10 characters."),
        ({"repeat_password": "something-else"}, "The two passwords do not match."),
        ({"password": "1234567890", "repeat_password": "1234567890"}, "too common"),
        ({"timezone": "Mars/Olympus_Mons"}, "Choose a known time zone"),
    ],
)
def test_signup_refuses_bad_input(client, db, changes, message):
    response = client.post("/accounts/signup", data={**GOOD_SIGNUP, **changes})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_signup_refuses_a_taken_username(client, db, make_user):
    make_user()
    response = client.post("/accounts/signup", data={**GOOD_SIGNUP, "username": "Owner1"})
    assert response.status_code == 400
    assert "That username is taken." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_signin_and_signout(client, make_user):
    user = make_user(email="grace@example.com")
    response = client.post("/accounts/signin",
                           data={"email": "Grace@example.com", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/accounts/profile").status_code == 200
    assert client.post("/accounts/signout").status_code == 302
    response = client.get("/accounts/profile")
    assert response.status_code == 302 and "/accounts/signin" in response.location
    assert user.email == "grace@example.com"


@pytest.mark.parametrize("email", ["grace@example.com", "nobody@example.com"])
def test_signin_failure_does_not_reveal_whether_email_exists(client, make_user, email):
    make_user(email="grace@example.com")
    response = client.post("/accounts/signin", data={"email": email, "password": "wrong-password!"})
    assert response.status_code == 400
    assert "That email and password do not match an account." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/contacts/", "/contacts/"),
        ("https://evil.example.com/", "/calendars/"),
        ("//evil.example.com/", "/calendars/"),
        ("/\\evil.example.com", "/calendars/"),
        ("javascript:alert(1)", "/calendars/"),
    ],
)
def test_signin_next_is_safe(client, make_user, target, expected):
    user = make_user()
    response = client.post(f"/accounts/signin?next={target}",
                           data={"email": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert response.location == expected


def test_owner_pages_redirect_anonymous_to_signin(client):
    for url in ("/accounts/profile", "/accounts/delete", "/calendars/", "/contacts/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/accounts/signin?next=")


def test_profile_edit(owner_client, owner, db):
    response = owner_client.post("/accounts/profile", data={
        "first_name": "Grace", "last_name": "Hopper", "username": "grace",
        "email": owner.email, "timezone": "America/New_York",
    })
    assert response.status_code == 302
    db.session.refresh(owner)
    assert (owner.first_name, owner.username, owner.timezone) == ("Grace", "grace", "America/New_York")


def test_profile_email_change_needs_current_password(owner_client, owner, db, mailbox):
    data = {"first_name": "A", "last_name": "B", "username": owner.username,
            "email": "new@example.com", "timezone": "UTC"}
    response = owner_client.post("/accounts/profile", data=data)
    assert response.status_code == 400
    assert "Enter your current password to change your email." in response.get_data(as_text=True)
    db.session.refresh(owner)
    assert owner.email != "new@example.com"
    response = owner_client.post("/accounts/profile",
                                 data={**data, "current_password": "correct-horse-battery"})
    assert response.status_code == 302
    db.session.refresh(owner)
    assert owner.email != "new@example.com" and owner.pending_email == "new@example.com"
    owner_client.get(link_in(mailbox.to("new@example.com")[0], "/accounts/verify/"))
    db.session.refresh(owner)
    assert owner.email == "new@example.com" and owner.pending_email is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_name": ""}, "Enter your first name."),
        ({"first_name": "x" * 121}, "First name must be at most 120 characters."),
        ({"email": "nope"}, "Enter a valid email address, like name@example.com."),
        ({"username": "x"}, "Use 3 to 64 characters: letters, digits, dots, dashes or underscores."),
        ({"username": "taken"}, "That username is taken."),
        ({"email": "taken@example.com", "current_password": "correct-horse-battery"},
         "An account with this email already exists."),
        ({"timezone": "Not/AZone"}, "Choose a known time zone"),
    ],
)
def test_profile_refuses_bad_input(owner_client, owner, make_user, db, changes, message):
    make_user(username="taken", email="taken@example.com")
    before = (owner.first_name, owner.username, owner.email, owner.timezone)
    data = {"first_name": owner.first_name, "last_name": owner.last_name,
            "username": owner.username, "email": owner.email, "timezone": "UTC", **changes}
    response = owner_client.post("/accounts/profile", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    owner = db.session.get(User, owner.id)
    assert (owner.first_name, owner.username, owner.email, owner.timezone) == before


def test_change_password(owner_client, owner, db, client):
    response = owner_client.post("/accounts/profile", data={
        "action": "password", "pw-current_password": "wrong-one-here",
        "pw-new_password": "a-brand-new-secret", "pw-repeat_password": "a-brand-new-secret"})
    assert response.status_code == 400
    assert "Your current password is not correct." in response.get_data(as_text=True)
    response = owner_client.post("/accounts/profile", data={
        "action": "password", "pw-current_password": "correct-horse-battery",
        "pw-new_password": "a-brand-new-secret", "pw-repeat_password": "a-brand-new-secret"})
    assert response.status_code == 302
    db.session.refresh(owner)
    assert owner.check_password("a-brand-new-secret")


def test_delete_account_removes_everything_owned(owner_client, owner, db, make_contact,
                                                 make_calendar, make_timeslot, make_invitee,
                                                 make_event, make_user):
    contact = make_contact(owner=owner)
    calendar = make_calendar(owner=owner)
    slot = make_timeslot(calendar)
    make_invitee(calendar, contact)
    make_event(slot, contact)
    other = make_user()
    other_contact = make_contact(owner=other)

    response = owner_client.post("/accounts/delete", data={"password": "wrong-password-1"})
    assert response.status_code == 400
    assert db.session.get(User, owner.id) is not None

    response = owner_client.post("/accounts/delete",
                                 data={"password": "correct-horse-battery", "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, owner.id) is None
    assert db.session.scalars(sa.select(Calendar)).all() == []
    assert db.session.scalars(sa.select(Contact)).all() == [db.session.get(Contact, other_contact.id)]
    assert owner_client.get("/accounts/profile").status_code == 302


def test_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    response = client.get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
