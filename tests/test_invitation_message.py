"""The owner's personal message in an invitation (issue 17 point 1): typed on the invitees page or sent
in the API's invite body, it goes in that invitation email only (read here from the SMTP sink), never
in a reminder or a resend; too long, it is refused and nobody is invited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from mailsink import text_of
from test_api import Api, assert_error

from oneonone.accounts.services import issue_api_token
from oneonone.exceptions import ValidationError
from oneonone.scheduling import invitations
from oneonone.scheduling.models import Invitee
from oneonone.transaction import unit_of_work

MESSAGE = "Looking forward to it!\r\nBring your <script>alert(1)</script> questions & ideas."
HEADING = "A message from Owner1:"


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def day(ada_and_bob):
    """Ada and Bob, not yet invited."""
    return ada_and_bob()


@pytest.fixture
def api(client, owner):
    with unit_of_work():
        return Api(client, issue_api_token(owner))


def assert_message_in(message) -> None:
    plain, html = (text_of(message, kind).replace("\r\n", "\n") for kind in ("text/plain", "text/html"))
    assert HEADING in plain
    assert "> Looking forward to it!\n> Bring your <script>alert(1)</script> questions & ideas." in plain
    assert HEADING in html
    assert "Looking forward to it!<br>\nBring your &lt;script&gt;alert(1)&lt;/script&gt; questions &amp; ideas." in html
    assert "<script>" not in html
    assert "<blockquote" in html


def assert_no_message_in(message) -> None:
    for part in (text_of(message), text_of(message, "text/html")):
        assert "A message from" not in part and "Looking forward" not in part


def test_invite_page_has_the_message_field(owner_client, day):
    html = owner_client.get(f"/calendars/{day.calendar.id}/invitees").get_data(as_text=True)
    assert re.search(r'<label[^>]*for="invite-message"[^>]*>Personal message \(optional\)</label>', html)
    field = re.search(r"<textarea[^>]*>", html).group(0)
    assert 'id="invite-message"' in field and 'name="message"' in field and 'maxlength="1000"' in field
    assert "Included in the invitation email." in html


def test_page_message_reaches_the_invitation_and_not_the_reminder(owner_client, day, mailbox, db):
    response = owner_client.post(f"/calendars/{day.calendar.id}/invitees",
                                 data={"contact_id": [str(day.ada.id), str(day.bob.id)], "message": MESSAGE})
    assert response.status_code == 302
    assert len(mailbox.messages) == 2
    for address in ("ada@example.org", "bob@example.org"):
        assert_message_in(mailbox.to(address)[0])
    # Not stored: a reminder and a new link do not repeat it.
    mailbox.messages.clear()
    assert owner_client.post(f"/calendars/{day.calendar.id}/remind").status_code == 302
    assert len(mailbox.messages) == 2
    for message in mailbox.messages:
        assert "Reminder" in message["Subject"]
        assert_no_message_in(message)
    mailbox.messages.clear()
    ada = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == day.ada.id))
    owner_client.post(f"/calendars/{day.calendar.id}/invitees/{ada.id}/resend")
    assert len(mailbox.messages) == 1
    assert_no_message_in(mailbox.messages[0])


def test_page_invite_without_message_has_no_message_block(owner_client, day, mailbox):
    for message_field in ({}, {"message": "  \r\n "}):
        owner_client.post(f"/calendars/{day.calendar.id}/invitees",
                          data={"contact_id": str(day.ada.id), **message_field})
    assert len(mailbox.messages) == 1
    assert_no_message_in(mailbox.messages[0])


@pytest.mark.parametrize(("message", "words"), [
    pytest.param("x" * 1001, "at most 1,000 characters", id="1001-chars"),
    pytest.param("Hello\x07there", "control characters", id="bell"),
    pytest.param("Hello\x1b[31m", "control characters", id="escape"),
])
def test_page_refuses_a_bad_message_beside_the_field_and_invites_nobody(owner_client, day, mailbox, db,
                                                                        message, words):
    response = owner_client.post(f"/calendars/{day.calendar.id}/invitees",
                                 data={"contact_id": [str(day.ada.id)], "message": message})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*>', html)
    assert re.search(rf'id="invite-message-error"[^>]*>[^<]*{re.escape(words)}', html), html
    # What was typed and chosen is kept, to correct.
    assert re.search(rf'<input[^>]*value="{day.ada.id}"[^>]*checked', html)
    if len(message) > 1000:
        assert "x" * 1001 in html
    assert count(db, Invitee) == 0
    assert mailbox.messages == []


def test_page_keeps_exactly_1000_characters(owner_client, day, mailbox):
    message = ("a" * 499 + "\r\n") * 2  # 1,000 characters once the line breaks are \n
    response = owner_client.post(f"/calendars/{day.calendar.id}/invitees",
                                 data={"contact_id": str(day.ada.id), "message": message})
    assert response.status_code == 302
    assert len(mailbox.messages) == 1
    assert "a" * 499 + "\n> " + "a" * 499 in text_of(mailbox.messages[0]).replace("\r\n", "\n")


def test_api_message_reaches_the_invitation(api, day, mailbox):
    url = f"/api/calendars/{day.calendar.id}/contacts/{day.ada.id}/"
    response = api.post(url, {"message": MESSAGE})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert_message_in(mailbox.to("ada@example.org")[0])
    # An empty body: no message.
    response = api.post(f"/api/calendars/{day.calendar.id}/contacts/{day.bob.id}/", {})
    assert response.status_code == 201
    assert_no_message_in(mailbox.to("bob@example.org")[0])


def test_api_invite_without_body_sends_no_message(api, day, mailbox):
    response = api.post(f"/api/calendars/{day.calendar.id}/contacts/{day.bob.id}/")
    assert response.status_code == 201
    assert_no_message_in(mailbox.to("bob@example.org")[0])


@pytest.mark.parametrize("body", [{"message": "x" * 1001}, {"message": 42}, {"message": "Hi\x1b"},
                                  {"message": ["Hi"]}])
def test_api_refuses_a_bad_message_and_invites_nobody(api, day, mailbox, db, body):
    response = api.post(f"/api/calendars/{day.calendar.id}/contacts/{day.ada.id}/", body)
    error = assert_error(response, 400, "message")
    assert set(error["fields"]) == {"message"}
    assert count(db, Invitee) == 0
    assert mailbox.messages == []


def test_api_refuses_a_body_that_is_not_json(api, day, db):
    response = api.post(f"/api/calendars/{day.calendar.id}/contacts/{day.ada.id}/",
                        data="message=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415)
    assert count(db, Invitee) == 0


def test_service_refuses_too_long_before_inviting_anyone(day, db, mailbox):
    with pytest.raises(ValidationError) as caught:
        invitations.invite_contacts(day.calendar, [day.ada, day.bob], message="x" * 1001)
    assert list(caught.value.fields) == ["message"]
    db.session.rollback()
    assert count(db, Invitee) == 0


def test_openapi_documents_the_invite_body(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/calendars/{calendar_id}/contacts/{contact_id}/"]["post"]
    body = operation["requestBody"]
    assert body.get("required") is not True
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "message" in spec["components"]["schemas"][ref]["properties"]
