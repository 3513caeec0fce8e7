"""The owner kept in the loop (issue 17 point 5), read from the SMTP sink.

A profile setting `answer_notifications`: "each" (an email per answer: who, which slots, their
comment), "daily" (one digest a day by `flask digest`, only when something changed; the default) or
"off"; in `PUT /api/accounts/profile/` too. When every invitee has answered, the owner gets one email
with a link to the suggested schedules.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from mailsink import text_of

from oneonone.accounts.models import User
from oneonone.accounts.services import issue_api_token
from oneonone.scheduling.models import Invitee
from oneonone.transaction import unit_of_work

DIGEST_SUBJECT = "New answers to your invitations"


@pytest.fixture
def day(ada_and_bob, owner, db):
    day = ada_and_bob(name="Interview day", invite=("ada", "bob"))
    return day


def _answer(client, day, name: str, **choices) -> None:
    form = {f"slot-{slot.id}": "" for slot in (day.nine, day.ten)}
    form.update(choices)
    response = client.post(f"/pick/{day.token(name)}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)


def _owner_mail(mailbox, owner) -> list:
    return mailbox.to(owner.email)


def _set(db, owner, value: str) -> None:
    owner.answer_notifications = value
    db.session.commit()


def test_each_answer_emails_the_owner_who_and_which_slots(client, owner, day, db, mailbox):
    _set(db, owner, "each")
    _answer(client, day, "ada", **{f"slot-{day.nine.id}": "preferred", f"slot-{day.ten.id}": "if_need_be"})
    [message] = _owner_mail(mailbox, owner)
    assert message["Subject"] == 'Ada Lovelace answered: "Interview day"'
    text = text_of(message)
    assert "09:00" in text and "Preferred" in text and "10:00" in text and "If need be" in text
    assert f"/calendars/{day.calendar.id}/invitees" in text
    assert message["Auto-Submitted"] == "auto-generated"


def test_when_everyone_has_answered_the_owner_is_told_once(client, owner, day, db, mailbox):
    _set(db, owner, "off")
    _answer(client, day, "ada", **{f"slot-{day.nine.id}": "preferred"})
    assert _owner_mail(mailbox, owner) == []
    _answer(client, day, "bob", **{f"slot-{day.ten.id}": "preferred"})
    [message] = _owner_mail(mailbox, owner)
    assert message["Subject"] == 'Everyone has answered: "Interview day"'
    assert f"/calendars/{day.calendar.id}/suggestions" in text_of(message)
    _answer(client, day, "bob", **{f"slot-{day.nine.id}": "preferred"})  # a change of mind: no second email
    assert len(_owner_mail(mailbox, owner)) == 1


def test_off_sends_nothing_for_each_answer(client, owner, day, db, mailbox):
    _set(db, owner, "off")
    _answer(client, day, "ada", **{f"slot-{day.nine.id}": "preferred"})
    assert _owner_mail(mailbox, owner) == []


def test_the_daily_digest_lists_new_answers_once(app, client, owner, day, db, mailbox):
    assert db.session.get(User, owner.id).answer_notifications == "daily"  # the default
    _answer(client, day, "ada", **{f"slot-{day.nine.id}": "preferred"})
    assert _owner_mail(mailbox, owner) == []  # nothing until the digest runs
    result = app.test_cli_runner().invoke(args=["digest"])
    assert result.exit_code == 0 and "sent 1 digest" in result.output
    [digest] = _owner_mail(mailbox, owner)
    assert digest["Subject"].startswith(DIGEST_SUBJECT)
    text = text_of(digest)
    assert "Interview day" in text and "Ada Lovelace" in text and "Bob Babbage" not in text
    # Nothing new: the next run sends nothing.
    assert "sent 0 digests" in app.test_cli_runner().invoke(args=["digest"]).output
    # A day later, a new answer: a new digest with only that one.
    db.session.execute(sa.update(User).values(answers_digest_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
    db.session.execute(sa.update(Invitee).values(responded_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)))
    db.session.commit()
    _answer(client, day, "bob", **{f"slot-{day.ten.id}": "preferred"})
    app.test_cli_runner().invoke(args=["digest"])
    digests = [m for m in _owner_mail(mailbox, owner) if m["Subject"].startswith(DIGEST_SUBJECT)]
    assert len(digests) == 2 and "Bob Babbage" in text_of(digests[1]) and "Ada Lovelace" not in text_of(digests[1])


def test_the_setting_on_the_profile_page_and_the_api(owner, owner_client, client, db):
    page = owner_client.get("/accounts/profile").get_data(as_text=True)
    assert "Emails about answers" in page and "One summary a day" in page
    response = owner_client.post("/accounts/profile", data={
        "first_name": owner.first_name, "last_name": owner.last_name, "username": owner.username,
        "email": owner.email, "timezone": owner.timezone, "answer_notifications": "each"})
    assert response.status_code == 302
    db.session.refresh(owner)
    assert owner.answer_notifications == "each"
    with unit_of_work():
        token = issue_api_token(owner)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/accounts/profile/", headers=headers).get_json()["answer_notifications"] == "each"
    changed = client.put("/api/accounts/profile/", json={"answer_notifications": "off"}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["answer_notifications"] == "off"
    bad = client.put("/api/accounts/profile/", json={"answer_notifications": "hourly"}, headers=headers)
    assert bad.status_code == 400 and "answer_notifications" in bad.get_json()["fields"]
    db.session.refresh(owner)
    assert owner.answer_notifications == "off"
