"""A link that lasts, and reminders that do not pile up (issue 17 point 3).

The link an invitee got first keeps working through reminders and a confirmation; only "Resend with a
new link" (which says so first) or Revoke retires it. The same invitee is reminded at most once per
REMINDER_COOLDOWN_HOURS (12 unless configured), and the Remind button says how many it will mail.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from mailsink import link_in

from oneonone.scheduling import answers, confirmations, invitations
from oneonone.scheduling.models import Event, Invitee
from oneonone.transaction import unit_of_work


@pytest.fixture
def three(owner, owner_client, make_calendar, make_contact, make_timeslot, mailbox, db):
    """Three contacts invited through the page; nobody has answered."""
    calendar = make_calendar(owner=owner, name="Panel day")
    make_timeslot(calendar, "09:00")
    for name in ("ann", "ben", "cat"):
        make_contact(owner=owner, first_name=name.title(), last_name="Reed", email=f"{name}@example.org")
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"all": "1"})
    return calendar


def _age_reminders(db, hours: float, email: str | None = None) -> None:
    """Pretend the reminders (and links) were sent `hours` ago."""
    then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    query = sa.update(Invitee).values(reminded_at=then, link_issued_at=then)
    if email is not None:
        from oneonone.contacts.models import Contact
        query = query.where(Invitee.contact_id.in_(sa.select(Contact.id).where(Contact.email == email)))
    db.session.execute(query)
    db.session.commit()


def _reminders(mailbox, email: str) -> list:
    return [m for m in mailbox.to(email) if m["Subject"].startswith("Reminder")]


def test_a_second_reminder_within_12_hours_is_not_sent(owner_client, three, mailbox, db):
    owner_client.post(f"/calendars/{three.id}/remind")
    assert len(_reminders(mailbox, "ann@example.org")) == 1
    _age_reminders(db, 2)  # two hours later: the owner presses Remind again
    response = owner_client.post(f"/calendars/{three.id}/remind", follow_redirects=True)
    assert "Everyone who has not answered was reminded in the last 12 hours" in response.get_data(as_text=True)
    assert len(_reminders(mailbox, "ann@example.org")) == 1
    _age_reminders(db, 13)
    owner_client.post(f"/calendars/{three.id}/remind")
    assert len(_reminders(mailbox, "ann@example.org")) == 2


def test_the_button_says_how_many_it_will_mail(owner_client, three, db):
    owner_client.post(f"/calendars/{three.id}/remind")
    _age_reminders(db, 13)
    _age_reminders(db, 1, email="ann@example.org")
    page = owner_client.get(f"/calendars/{three.id}/invitees").get_data(as_text=True)
    assert "Remind 2 who have not answered" in page
    assert "1 other was reminded in the last 12 hours" in page
    _age_reminders(db, 1)
    page = owner_client.get(f"/calendars/{three.id}/invitees").get_data(as_text=True)
    assert "Remind " not in page.split('id="invitees-heading"')[1].split("</section>")[0].replace(
        "Reminded", "")
    assert "All 3 who have not answered were reminded in the last 12 hours" in page


def test_the_cooldown_is_configurable(app, owner_client, three, mailbox, db):
    app.config["REMINDER_COOLDOWN_HOURS"] = 1
    owner_client.post(f"/calendars/{three.id}/remind")
    _age_reminders(db, 2)
    owner_client.post(f"/calendars/{three.id}/remind")
    assert len(_reminders(mailbox, "ben@example.org")) == 2


def test_the_first_link_still_works_after_two_reminders_and_a_confirmation(owner_client, three, mailbox,
                                                                          client, db):
    first = link_in(mailbox.to("cat@example.org")[0], "/pick/")
    for _ in range(2):
        _age_reminders(db, 13)
        owner_client.post(f"/calendars/{three.id}/remind")
    invitee = invitations.invitee_for_token(first.removeprefix("/pick/"))
    slot = three.timeslots[0]
    with unit_of_work():
        answers.save_picks(invitee, {slot.id: "preferred"})
    with unit_of_work():
        confirmations.set_pick_confirmed(db.session.scalar(sa.select(Event).where(
            Event.contact_id == invitee.contact_id)), True)
    received = mailbox.to("cat@example.org")
    subjects = [m["Subject"].split(":")[0] for m in received]
    assert subjects[0].endswith("invites you to pick a time")
    assert subjects[1:] == ["Reminder", "Reminder", "Confirmed"]
    assert {link_in(m, "/pick/") for m in received} == {first}
    page = client.get(first)
    assert page.status_code == 200 and "Your meeting is confirmed" in page.get_data(as_text=True)


def test_only_a_resend_retires_the_link_and_the_page_says_so_first(owner_client, three, mailbox, client, db):
    page = owner_client.get(f"/calendars/{three.id}/invitees").get_data(as_text=True)
    assert "Resend with a new link" in page
    assert "The link they have stops working" in page
    first = link_in(mailbox.to("ann@example.org")[0], "/pick/")
    invitee = db.session.scalar(sa.select(Invitee).join(Invitee.contact).where(
        Invitee.calendar_id == three.id).order_by(Invitee.id))
    _age_reminders(db, 13)
    owner_client.post(f"/calendars/{three.id}/invitees/{invitee.id}/resend")
    assert "replaced" in client.get(first).get_data(as_text=True)
