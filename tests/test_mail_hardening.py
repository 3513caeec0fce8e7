"""Mail that cannot be forged, a service that cannot be a spam relay, and links that are never kept
(issue 16), read back from the real SMTP sink and from every text column of the database."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest
import sqlalchemy as sa
from mailsink import link_in, text_of
from test_api import Api

from oneonone.accounts.services import issue_api_token
from oneonone.extensions import db as _db
from oneonone.gunicorn_logging import mask
from oneonone.outbox import OutboxMessage, deliver_due
from oneonone.scheduling.models import Invitee
from oneonone.transaction import unit_of_work

# Every character Python's email library treats as a line break in a header, and CRLF itself.
BREAKERS = ["\r\n", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
INJECTION = "Hi{sep}Reply-To: attacker@evil.example{sep}X-Spam-Flag: NO{sep}{sep}Injected"
PASSWORD = "correct-horse-battery"


def _headers(message) -> set[str]:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    return {name.lower() for name in parsed}


@pytest.mark.parametrize("sep", BREAKERS, ids=[repr(s) for s in BREAKERS])
def test_a_name_that_breaks_a_header_is_refused_at_every_door(app, client, owner_client, owner, sep):
    name = INJECTION.format(sep=sep)
    signup = app.test_client().post("/accounts/signup", data={
        "first_name": name, "last_name": "X", "username": "mallory", "email": "mallory@example.com",
        "password": "a-long-enough-secret", "repeat_password": "a-long-enough-secret", "timezone": "UTC"})
    assert signup.status_code == 400 and "control characters" in signup.get_data(as_text=True)
    with unit_of_work():
        api = Api(client, issue_api_token(owner))
    profile = api.put("/api/accounts/profile/", {"first_name": name})
    assert profile.status_code == 400 and "first_name" in profile.get_json()["fields"]
    contact = api.post("/api/contacts/", {"first_name": name, "last_name": "B", "email": "b@example.org"})
    assert contact.status_code == 400 and "first_name" in contact.get_json()["fields"]
    calendar = api.post("/api/calendars/", {"name": name, "start_date": "2030-06-03", "end_date": "2030-06-07"})
    assert calendar.status_code == 400 and "name" in calendar.get_json()["fields"]
    page = owner_client.post("/contacts/new", data={"first_name": "A", "last_name": name, "email": "c@example.org"})
    assert page.status_code == 400 and "control characters" in page.get_data(as_text=True)


@pytest.mark.parametrize("sep", BREAKERS, ids=[repr(s) for s in BREAKERS])
def test_stored_text_that_predates_the_rule_still_adds_no_header(owner, owner_client, make_calendar, make_contact,
                                                                 make_timeslot, mailbox, db, sep):
    """Names written before the rule existed (straight into the database) reach only the subject
    and the body, as text: the message has exactly the headers OneOnOne writes."""
    calendar = make_calendar(owner=owner, name=f"Day{sep}X-Spam-Flag: NO{sep}{sep}Injected")  # at most 50
    make_timeslot(calendar)
    contact = make_contact(owner=owner, email="target@example.org")
    db.session.execute(sa.text("UPDATE users SET first_name = :name"), {"name": INJECTION.format(sep=sep)})
    db.session.commit()
    response = owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(contact.id)})
    assert response.status_code == 302
    [message] = mailbox.to("target@example.org")
    headers = _headers(message)
    assert "x-spam-flag" not in headers
    # Replies go to the owner's own address, whatever their name says (it is one quoted display name).
    assert parseaddr(str(make_header(decode_header(message["Reply-To"]))))[1] == owner.email
    assert len(message.get_all("Reply-To")) == 1
    assert {"from", "to", "subject", "date"} <= headers
    assert "Injected" in message["Subject"]  # the text is there, on the one Subject line


@pytest.mark.parametrize("app_config", [{"OWNER_DAILY_EMAIL_LIMIT": 3}])
def test_an_owners_daily_quota_counts_messages_and_queues_nothing_past_it(
        client, owner, owner_client, make_calendar, make_contact, make_timeslot, db, app_config):
    calendar = make_calendar(owner=owner)
    make_timeslot(calendar)
    contacts = [make_contact(owner=owner, email=f"p{n}@example.org") for n in range(5)]

    def queued() -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.template == "invitation"))

    # One request inviting four: past the quota of three, so none is invited and nothing queued.
    response = owner_client.post(f"/calendars/{calendar.id}/invitees",
                                 data={"contact_id": [str(c.id) for c in contacts[:4]]}, follow_redirects=True)
    assert "emails an account may send in 24 hours" in response.get_data(as_text=True)
    assert queued() == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 0
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": [str(c.id) for c in contacts[:3]]})
    assert queued() == 3
    with unit_of_work():
        api = Api(client, issue_api_token(owner))
    refused = api.post(f"/api/calendars/{calendar.id}/contacts/{contacts[4].id}/")
    assert refused.status_code == 429 and refused.get_json()["error"] == "email_quota"
    assert queued() == 3


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_the_api_invite_is_rate_limited_like_the_page(client, owner, make_calendar, make_contact, app_config):
    calendar = make_calendar(owner=owner)
    contacts = [make_contact(owner=owner, email=f"r{n}@example.org") for n in range(31)]
    with unit_of_work():
        api = Api(client, issue_api_token(owner))
    statuses = [api.post(f"/api/calendars/{calendar.id}/contacts/{c.id}/").status_code for c in contacts]
    assert statuses[:30] == [201] * 30 and statuses[30] == 429


def test_the_owners_calendar_name_is_quoted_and_cut_in_subjects(owner, owner_client, make_calendar, make_contact,
                                                                 make_timeslot, mailbox):
    calendar = make_calendar(owner=owner, name="Your account is locked. Verify at evil.example now")
    make_timeslot(calendar)
    contact = make_contact(owner=owner, email="q@example.org")
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(contact.id)})
    [message] = mailbox.to("q@example.org")
    subject = message["Subject"]
    assert subject.startswith(f'{owner.full_name} invites you to pick a time: "Your account is locked.')
    assert subject.endswith('..."') and "now" not in subject


def _text_columns(db) -> list[tuple[str, str]]:
    inspector = sa.inspect(db.engine)
    return [(table, column["name"]) for table in inspector.get_table_names()
            for column in inspector.get_columns(table)
            if isinstance(column["type"], sa.String | sa.Text | sa.JSON) and table != "alembic_version"]


def test_no_table_row_holds_a_link_once_the_mail_is_delivered(
        app, owner, owner_client, make_calendar, make_contact, make_timeslot, mailbox, db):
    calendar = make_calendar(owner=owner)
    slot = make_timeslot(calendar)
    contacts = [make_contact(owner=owner, email=f"t{n}@example.org") for n in range(3)]
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": [str(c.id) for c in contacts]})
    owner_client.post(f"/calendars/{calendar.id}/remind")
    tokens = {link_in(m, "/pick/").rsplit("/", 1)[1] for m in mailbox.messages}
    assert len(tokens) == 3
    client = app.test_client()
    token = next(iter(tokens))
    client.post(f"/pick/{token}", data={f"slot-{slot.id}": "preferred"})
    with app.app_context():
        deliver_due()
    _db.session.remove()
    with app.app_context():
        for table, column in _text_columns(_db):
            values = _db.session.execute(sa.text(f'SELECT CAST("{column}" AS TEXT) FROM "{table}"')).scalars()
            for value in values:
                assert not any(t in (value or "") for t in tokens), f"{table}.{column} holds a link token"


def test_reminders_reuse_the_link_people_keep(owner, owner_client, make_calendar, make_contact, make_timeslot,
                                              mailbox, client, db):
    calendar = make_calendar(owner=owner)
    make_timeslot(calendar)
    contact = make_contact(owner=owner, email="keeper@example.org")
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(contact.id)})
    first = link_in(mailbox.to("keeper@example.org")[0], "/pick/")
    for _ in range(2):
        db.session.execute(sa.update(Invitee).values(reminded_at=None))
        db.session.commit()
        owner_client.post(f"/calendars/{calendar.id}/remind")
    links = [link_in(m, "/pick/") for m in mailbox.to("keeper@example.org")]
    assert len(links) == 3 and set(links) == {first}
    assert client.get(first).status_code == 200


def test_the_cookie_stays_small_after_inviting_250_contacts(owner, owner_client, make_calendar, make_contact,
                                                            make_timeslot, db):
    calendar = make_calendar(owner=owner)
    make_timeslot(calendar)
    for n in range(250):
        make_contact(owner=owner, email=f"many{n}@example.org")
    response = owner_client.post(f"/calendars/{calendar.id}/invitees", data={"all": "1"})
    assert response.status_code == 302
    cookie = owner_client.get_cookie("session")
    assert len(cookie.value) < 1024, len(cookie.value)
    page = owner_client.get(f"/calendars/{calendar.id}/invitees").get_data(as_text=True)
    assert page.count('class="input-group input-group-sm mb-1 link-copy"') == 50  # the first page's links
    assert "/pick/" in page


def test_the_access_log_masks_secret_links():
    line = ('127.0.0.1 - - "GET /pick/AbC_d-9xYz?tz=Europe%2FLondon HTTP/1.1" 200 "http://x/feed/Tok3n.ics" '
            '"GET /accounts/password/reset/IjE.abc" /accounts/verify/resend /static/app.css')
    masked = mask(line)
    assert "AbC_d-9xYz" not in masked and "Tok3n" not in masked and "IjE.abc" not in masked
    assert "/pick/***?tz=" in masked and "/feed/***.ics" in masked and "/accounts/verify/resend" in masked


def test_unanswered_reminders_via_cli_skip_nothing_but_rotate_nothing(app, owner, make_calendar, make_contact,
                                                                      make_invitee, mailbox, db):
    calendar = make_calendar(owner=owner, response_deadline=dt.datetime.now(dt.UTC) + dt.timedelta(hours=12))
    _, token = make_invitee(calendar, make_contact(owner=owner, email="cli@example.org"))
    result = app.test_cli_runner().invoke(args=["remind"])
    assert result.output.strip() == "sent 1 reminder"
    [mail] = mailbox.to("cli@example.org")
    assert token in text_of(mail)
