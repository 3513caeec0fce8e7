"""Mail that reaches people and lets them answer (issue 17 point 2), read from the SMTP sink: every
email to an invitee has Reply-To the owner; From stays MAIL_DEFAULT_SENDER; Message-ID uses the
sender's domain; automatic mail says Auto-Submitted: auto-generated."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest

from config import _default_sender


@pytest.mark.parametrize(("public_url", "sender"), [
    ("https://meet.example.org", "OneOnOne <no-reply@meet.example.org>"),
    ("http://127.0.0.1:5000", "OneOnOne <no-reply@oneonone.local>"),
    ("http://localhost:8000", "OneOnOne <no-reply@oneonone.local>"),
])
def test_the_default_sender_is_at_the_sites_own_domain(public_url, sender):
    assert _default_sender(public_url) == sender


def test_message_ids_use_the_senders_domain(app, owner, owner_client, make_calendar, make_contact,
                                            make_timeslot, mailbox):
    app.config["MAIL_DEFAULT_SENDER"] = "OneOnOne <no-reply@meet.example.org>"
    calendar = make_calendar(owner=owner)
    make_timeslot(calendar)
    contact = make_contact(owner=owner, email="guest@example.org")
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(contact.id)})
    [message] = mailbox.to("guest@example.org")
    assert message["Message-ID"].endswith("@meet.example.org>")
    assert str(make_header(decode_header(message["From"]))) == "OneOnOne <no-reply@meet.example.org>"


def test_every_email_to_an_invitee_replies_to_the_owner(app, owner, owner_client, make_calendar, make_contact,
                                                        make_timeslot, mailbox, db):
    """Invitation, reminder, confirmation, update, "a time you picked changed" and cancellation."""
    import sqlalchemy as sa

    from oneonone.scheduling.models import Event, Invitee

    owner.first_name, owner.last_name = "Zoë", "Durand"
    db.session.commit()
    calendar = make_calendar(owner=owner)
    nine, ten = make_timeslot(calendar, "09:00"), make_timeslot(calendar, "10:00")
    contact = make_contact(owner=owner, email="guest@example.org")
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(contact.id)})
    owner_client.post(f"/calendars/{calendar.id}/remind")  # (a minute's grace: nothing new yet)
    db.session.execute(sa.update(Invitee).values(link_issued_at=None))
    db.session.commit()
    owner_client.post(f"/calendars/{calendar.id}/remind")
    invitee = db.session.scalar(sa.select(Invitee))
    db.session.add_all([Event(calendar_id=calendar.id, timeslot_id=slot.id, contact_id=contact.id)
                        for slot in (nine, ten)])
    invitee.responded_at = invitee.invited_at
    db.session.commit()
    owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/confirm", data={"timeslot_id": nine.id})
    owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/confirm",
                      data={"timeslot_id": ten.id, "move": "1"})
    owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/unconfirm")
    received = mailbox.to("guest@example.org")
    kinds = [m["Subject"].split(":")[0] for m in received]
    assert kinds[1:] == ["Reminder", "Confirmed", "Moved", "Cancelled"], kinds
    for message in received:
        assert str(make_header(decode_header(message["Reply-To"]))) == f"Zoë Durand <{owner.email}>", kinds
    automatic = [m["Subject"].split(":")[0] for m in received if m["Auto-Submitted"] == "auto-generated"]
    assert automatic == ["Reminder"]


def test_account_mail_is_auto_generated_and_has_no_reply_to(client, owner, mailbox):
    client.post("/accounts/password/forgot", data={"email": owner.email})
    [message] = mailbox.to(owner.email)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"] is None
