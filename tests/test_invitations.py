"""Invitations by email, the invitee's pick page, reminders, and mail that is never lost."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from mailsink import text_of

from oneonone.email import queue_email
from oneonone.outbox import PENDING, SENT, OutboxMessage, deliver_due
from oneonone.scheduling import answers, confirmations, invitations
from oneonone.scheduling.models import Event, Invitee, RetiredLink

LINK_RE = re.compile(r"http://oneonone\.test/pick/([A-Za-z0-9_\-]+)")


def _link_token(message) -> str:
    match = LINK_RE.search(text_of(message))
    assert match, text_of(message)
    assert match.group(0) in text_of(message, "text/html")
    return match.group(1)


@pytest.fixture
def setup(ada_and_bob):
    """Ada and Bob, not yet invited, and the owner's 09:00 and 10:00 (high priority) in London."""
    day = ada_and_bob()
    return day.calendar, day.ada, day.bob, day.nine, day.ten


def test_invite_selected_contacts_emails_a_personal_link(owner_client, owner, setup, mailbox, db):
    calendar, ada, bob, _nine, _ = setup
    response = owner_client.post(f"/calendars/{calendar.id}/invitees",
                                 data={"contact_id": [str(ada.id), str(bob.id)]})
    assert response.status_code == 302
    assert len(mailbox.messages) == 2
    message = mailbox.to("ada@example.org")[0]
    assert "Interview day" in message["Subject"] and owner.first_name in message["Subject"]
    assert "Hello Ada" in text_of(message)
    token = _link_token(message)
    assert len(token) >= 22  # ≥ 128 bits of randomness, base64url
    # Only the hash is stored.
    assert db.session.scalar(sa.select(sa.func.count()).where(Invitee.token_hash == token)) == 0
    page = owner_client.get(f"/pick/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Interview day" in text and owner.full_name in text and "Hello Ada" in text
    # The owner's page shows the new link once, ready to copy.
    page = owner_client.get(f"/calendars/{calendar.id}/invitees").get_data(as_text=True)
    assert f"/pick/{token}" in page


def test_invite_all_and_reinvite_does_not_duplicate(owner_client, setup, mailbox, db):
    calendar, ada, _bob, *_ = setup
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"all": "1"})
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"all": "1"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 2
    assert sorted(m["To"] for m in mailbox.messages) == ["ada@example.org", "bob@example.org"]


def test_invite_without_choice_or_with_another_owners_contact(owner_client, setup, make_contact, db):
    calendar, *_ = setup
    stranger = make_contact(email="stranger@example.org")
    response = owner_client.post(f"/calendars/{calendar.id}/invitees", follow_redirects=True, data={})
    assert "Choose at least one contact" in response.get_data(as_text=True)
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(stranger.id)})
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": "abc"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 0


def test_resend_rotates_the_link(owner_client, setup, make_invitee, mailbox):
    calendar, ada, *_ = setup
    invitee, old_token = make_invitee(calendar, ada)
    response = owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/resend")
    assert response.status_code == 302
    new_token = _link_token(mailbox.to("ada@example.org")[-1])
    assert new_token != old_token
    assert owner_client.get(f"/pick/{new_token}").status_code == 200
    old = owner_client.get(f"/pick/{old_token}")
    assert old.status_code == 404
    assert "This link was replaced" in old.get_data(as_text=True)


def test_revoke_removes_invitation_and_picks(owner_client, setup, make_invitee, make_event, db):
    calendar, ada, _, nine, _ = setup
    invitee, token = make_invitee(calendar, ada)
    make_event(nine, ada)
    invitations.resend_invitation(invitee)
    owner_client.post(f"/calendars/{calendar.id}/invitees/{invitee.id}/revoke")
    for model in (Invitee, Event, RetiredLink):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    response = owner_client.get(f"/pick/{token}")
    assert response.status_code == 404
    assert "could not find this invitation" in response.get_data(as_text=True)


def test_pick_page_saves_every_choice_at_once_and_can_be_changed(client, setup, make_invitee, db):
    calendar, ada, _, nine, ten = setup
    invitee, token = make_invitee(calendar, ada)
    response = client.post(f"/pick/{token}", data={
        f"slot-{nine.id}": "preferred", f"slot-{ten.id}": "if_need_be", "tz": "America/New_York"})
    assert response.status_code == 302
    picks = dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)).all())
    assert picks == {nine.id: "preferred", ten.id: "if_need_be"}
    db.session.refresh(invitee)
    assert invitee.responded_at is not None and invitee.timezone == "America/New_York"
    # Change the answer: ten becomes can't, nine if need be.
    client.post(f"/pick/{token}", data={f"slot-{nine.id}": "if_need_be", f"slot-{ten.id}": ""})
    picks = dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)).all())
    assert picks == {nine.id: "if_need_be"}


def test_pick_page_shows_times_in_the_invitees_zone(client, setup, make_invitee):
    calendar, ada, _, _nine, _ = setup  # 09:00 Europe/London in June = 08:00 UTC = 04:00 New York
    _, token = make_invitee(calendar, ada)
    text = client.get(f"/pick/{token}?tz=America/New_York").get_data(as_text=True)
    assert "04:00–04:30" in text
    assert "Mon 09:00 Europe/London" in text  # the calendar's zone alongside
    text = client.get(f"/pick/{token}?tz=Asia/Tokyo").get_data(as_text=True)
    assert "17:00–17:30" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"slot-{nine}": "maybe"}, "Choose can&#39;t, if need be or preferred."),
        ({"slot-999999": "preferred"}, "Some choices could not be saved."),
        ({"slot-abc": "preferred"}, "Some choices could not be saved."),
        ({"slot-{other}": "preferred"}, "Some choices could not be saved."),
    ],
)
def test_pick_page_refuses_bad_input(client, setup, make_invitee, make_calendar, make_timeslot, db,
                                     data, message):
    calendar, ada, _, nine, _ = setup
    other_slot = make_timeslot(make_calendar())
    _, token = make_invitee(calendar, ada)
    form = {k.format(nine=nine.id, other=other_slot.id): v for k, v in data.items()}
    form[f"slot-{nine.id}"] = form.get(f"slot-{nine.id}", "preferred")
    response = client.post(f"/pick/{token}", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0  # never half an answer


def test_tampered_token_is_a_clear_404(client, setup, make_invitee):
    calendar, ada, *_ = setup
    _, token = make_invitee(calendar, ada)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x", "a" * 300):
        response = client.get(f"/pick/{bad}")
        assert response.status_code == 404
        assert "Ada" not in response.get_data(as_text=True)
        assert client.post(f"/pick/{bad}", data={}).status_code == 404


def test_pick_page_is_read_only_after_the_deadline(client, setup, make_invitee, db):
    calendar, ada, _, nine, _ = setup
    _, token = make_invitee(calendar, ada)
    calendar.response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    text = client.get(f"/pick/{token}").get_data(as_text=True)
    assert "has passed" in text and "Save my answer" not in text
    response = client.post(f"/pick/{token}", data={f"slot-{nine.id}": "preferred"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_pick_page_after_finalization_shows_the_meeting(client, setup, make_invitee, make_event, db):
    calendar, ada, _, nine, ten = setup
    _, token = make_invitee(calendar, ada)
    event = make_event(nine, ada)
    confirmations.set_pick_confirmed(event, True)
    text = client.get(f"/pick/{token}?tz=Europe/London").get_data(as_text=True)
    assert "Your meeting is confirmed" in text and "09:00–09:30" in text
    ics = client.get(f"/pick/{token}/meeting.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert "BEGIN:VEVENT" in ics.get_data(as_text=True)
    response = client.post(f"/pick/{token}", data={f"slot-{ten.id}": "preferred"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1


# ---- the pick page: the deadline with its zone, and the invitee's answers after a confirmation --

RADIO_RE = re.compile(r'<input type="radio"[^>]*>')


def _choices(html: str) -> dict[int, tuple[str | None, bool]]:
    """Per slot offered on the pick page: the value checked ("" for can't) and whether it is read-only."""
    slots: dict[int, tuple[str | None, bool]] = {}
    for tag in RADIO_RE.findall(html):
        slot_id = int(re.search(r'name="slot-(\d+)"', tag).group(1))
        checked, disabled = slots.get(slot_id, (None, True))
        if re.search(r"\schecked\b", tag):
            checked = re.search(r'value="([^"]*)"', tag).group(1)
        slots[slot_id] = (checked, disabled and bool(re.search(r"\sdisabled\b", tag)))
    return slots


@pytest.mark.parametrize(("tz", "shown"), [
    ("Europe/London", "Fri 31 May 2030, 17:00 (Europe/London)"),
    ("America/New_York", "Fri 31 May 2030, 12:00 (America/New_York)"),
    ("Asia/Tokyo", "Sat 01 Jun 2030, 01:00 (Asia/Tokyo)"),
])
def test_pick_page_shows_the_deadline_in_its_zone_with_the_zones_name(client, setup, make_invitee, db, tz, shown):
    calendar, ada, _, nine, _ = setup
    calendar.response_deadline = dt.datetime(2030, 5, 31, 16, tzinfo=dt.UTC)  # 17:00 in London
    db.session.commit()
    invitee, token = make_invitee(calendar, ada)
    words = re.sub(r"<[^>]+>", "", client.get(f"/pick/{token}?tz={tz}").get_data(as_text=True))
    assert f"Answers close {shown}" in words
    answers.save_picks(invitee, {nine.id: "preferred"})
    db.session.commit()
    text = client.get(f"/pick/{token}?tz={tz}").get_data(as_text=True)
    assert "You answered on" in text and f"Answers close {shown}" in text


def test_pick_page_says_when_the_deadline_passed_with_the_zones_name(client, setup, make_invitee, db):
    calendar, ada, *_ = setup
    passed = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=1)
    calendar.response_deadline = passed
    db.session.commit()
    _, token = make_invitee(calendar, ada)
    text = client.get(f"/pick/{token}?tz=America/New_York").get_data(as_text=True)
    shown = passed.astimezone(ZoneInfo("America/New_York")).strftime("%a %d %b %Y, %H:%M")
    assert f"The response deadline, {shown} (America/New_York), has passed" in text


def test_invitation_email_gives_the_deadline_with_its_zone(owner_client, setup, mailbox, db):
    calendar, ada, *_ = setup
    calendar.response_deadline = dt.datetime(2030, 5, 31, 16, tzinfo=dt.UTC)
    db.session.commit()
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
    [message] = mailbox.to("ada@example.org")
    for part in ("text/plain", "text/html"):
        assert re.search(r"Please answer by (<strong>)?Fri 31 May 2030, 17:00(</strong>)? \(Europe/London\)",
                         text_of(message, part))


@pytest.fixture
def bob_has_nine(setup, make_invitee, make_event, db):
    """Ada invited, who answered nine preferred and ten if need be; Bob's meeting is at nine."""
    calendar, ada, bob, nine, ten = setup
    invitee, token = make_invitee(calendar, ada)
    make_invitee(calendar, bob)
    answers.save_picks(invitee, {nine.id: "preferred", ten.id: "if_need_be"})
    db.session.commit()
    confirmations.set_pick_confirmed(make_event(nine, bob), True)
    db.session.commit()
    return token


def _says_nothing_of_bob(text: str) -> None:
    assert "Already taken" not in text and "taken" not in text.lower()
    assert "Bob" not in text and "Babbage" not in text


def test_a_slot_confirmed_to_someone_else_is_no_longer_offered(client, setup, bob_has_nine, db):
    _calendar, _ada, _bob, nine, ten = setup
    text = client.get(f"/pick/{bob_has_nine}?tz=Europe/London").get_data(as_text=True)
    _says_nothing_of_bob(text)
    assert f'slot-label-{nine.id}"' not in text and "09:00–09:30" not in text
    assert _choices(text) == {ten.id: ("if_need_be", False)}
    # Saving what the page sends keeps the answer given for nine before Bob's meeting.
    response = client.post(f"/pick/{bob_has_nine}", data={f"slot-{ten.id}": "preferred", "tz": "Europe/London",
                                                          **_hidden_slots(text)})
    assert response.status_code == 302
    picks = dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                                    .where(Event.confirmed.is_(False))).all())
    assert picks == {nine.id: "preferred", ten.id: "preferred"}


def _hidden_slots(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(slot-\d+)" value="([^"]*)">', html))


def test_after_their_own_confirmation_the_invitee_sees_every_answer_read_only(client, setup, bob_has_nine, db):
    _calendar, ada, _bob, nine, ten = setup
    ada_ten = db.session.scalar(sa.select(Event).where(Event.contact_id == ada.id, Event.timeslot_id == ten.id))
    confirmations.set_pick_confirmed(ada_ten, True)
    db.session.commit()
    text = client.get(f"/pick/{bob_has_nine}?tz=Europe/London").get_data(as_text=True)
    _says_nothing_of_bob(text)
    assert "Your meeting is confirmed" in text
    assert _choices(text) == {nine.id: ("preferred", True), ten.id: ("if_need_be", True)}


def test_after_the_deadline_the_invitee_sees_every_answer_read_only(client, setup, bob_has_nine, db):
    calendar, _ada, _bob, nine, ten = setup
    calendar.response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    text = client.get(f"/pick/{bob_has_nine}?tz=Europe/London").get_data(as_text=True)
    _says_nothing_of_bob(text)
    assert _choices(text) == {nine.id: ("preferred", True), ten.id: ("if_need_be", True)}


def test_the_invitees_timeslot_listing_says_nothing_of_others_meetings(client, setup, bob_has_nine):
    calendar, _ada, _bob, nine, ten = setup
    response = client.get(f"/api/calendars/{calendar.id}/timeslots/",
                          headers={"Authorization": f"Bearer {bob_has_nine}"})
    assert response.status_code == 200
    listed = response.get_json()
    assert [slot["id"] for slot in listed] == [nine.id, ten.id]
    assert all(set(slot) == {"id", "calendar", "start_time", "end_time", "high_priority"} for slot in listed)


def test_owner_sees_status_and_matrix(owner_client, setup, make_invitee, client, db):
    calendar, ada, bob, nine, _ = setup
    _, token = make_invitee(calendar, ada)
    make_invitee(calendar, bob)
    answers.save_picks(invitations.invitee_for_token(token), {nine.id: "preferred"})
    text = owner_client.get(f"/calendars/{calendar.id}/invitees").get_data(as_text=True)
    assert "Answered" in text and "1 pick" in text and "Invited" in text
    assert 'title="Preferred">P<' in text
    assert "Remind 1 who has not answered" in text


def test_remind_button_reminds_only_non_responders(owner_client, setup, make_invitee, mailbox, db):
    calendar, ada, bob, nine, _ = setup
    ada_invitee, _ada_token = make_invitee(calendar, ada)
    bob_invitee, _ = make_invitee(calendar, bob)
    answers.save_picks(ada_invitee, {nine.id: "preferred"})
    mailbox.messages.clear()
    owner_client.post(f"/calendars/{calendar.id}/remind")
    assert [m["To"] for m in mailbox.messages] == ["bob@example.org"]
    assert "Reminder" in mailbox.messages[0]["Subject"]
    new_token = _link_token(mailbox.messages[0])
    assert owner_client.get(f"/pick/{new_token}").status_code == 200
    db.session.refresh(bob_invitee)
    assert bob_invitee.reminded_at is not None


def test_flask_remind_sends_only_due_reminders(app, setup, make_invitee, make_calendar, make_contact,
                                               mailbox, db):
    calendar, ada, bob, _nine, _ = setup
    now = dt.datetime.now(dt.UTC)
    calendar.response_deadline = now + dt.timedelta(hours=30)
    later = make_calendar(owner=calendar.owner, name="Later")
    later.response_deadline = now + dt.timedelta(days=5)
    db.session.commit()
    make_invitee(calendar, ada)
    bob_invitee, _ = make_invitee(calendar, bob)
    bob_invitee.reminded_at = now - dt.timedelta(hours=2)  # reminded recently: not again
    make_invitee(later, make_contact(owner=calendar.owner, email="far@example.org"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["remind"])
    assert result.output.strip() == "sent 1 reminder"
    assert [m["To"] for m in mailbox.messages] == ["ada@example.org"]
    result = app.test_cli_runner().invoke(args=["remind"])
    assert result.output.strip() == "sent 0 reminders"


def test_smtp_down_during_invite_keeps_the_mail_until_delivered(owner_client, setup, mail_server, db, app):
    calendar, ada, *_ = setup
    mail_server.stop()
    try:
        response = owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
        assert response.status_code == 302  # the action succeeded
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 1
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.status == PENDING and message.attempts == 1 and message.last_error
        result = app.test_cli_runner().invoke(args=["outbox", "list"])
        assert "pending to ada@example.org" in result.output
    finally:
        mail_server.start()
    assert mail_server.messages == []
    # Not due yet (backoff), so a sender leaves it; once due it goes out exactly once.
    assert deliver_due().sent == 0
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=dt.datetime.now(dt.UTC)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.output.strip() == "sent 1, failed 0"
    assert deliver_due().sent == 0
    assert [m["To"] for m in mail_server.messages] == ["ada@example.org"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(OutboxMessage.status)) == SENT
    assert "every message was delivered" in app.test_cli_runner().invoke(args=["outbox", "list"]).output


def test_two_senders_never_send_one_message_twice(app, setup, make_invitee, mail_server, db):
    """Several senders claim messages with a lease; each message goes out once."""
    import threading

    from oneonone.extensions import db as _db

    calendar, ada, bob, *_ = setup
    app.config["OUTBOX_DELIVERY"] = "off"
    invitations.invite_contacts(calendar, [ada, bob])
    for n in range(20):
        queue_email(f"bulk{n}@example.org", "Hello", "invitation", invitee=None,
                             contact=ada, calendar=calendar, owner=calendar.owner,
                             link="http://oneonone.test/pick/x", reminder=False, slot_count=2)
    db.session.commit()
    mail_server.messages.clear()

    def sender():
        with app.app_context():
            deliver_due()
            _db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recipients = [m["To"] for m in mail_server.messages]
    assert len(recipients) == 22 and len(set(recipients)) == 22


@pytest.mark.parametrize("app_config", [{"MAIL_SERVER": ""}])
def test_without_an_smtp_server_mail_is_printed_to_the_console(owner_client, setup, capfd, db, app_config):
    calendar, ada, *_ = setup
    owner_client.post(f"/calendars/{calendar.id}/invitees", data={"contact_id": str(ada.id)})
    printed = capfd.readouterr().out
    assert "mail to ada@example.org" in printed and "http://oneonone.test/pick/" in printed
    assert db.session.scalar(sa.select(OutboxMessage.status)) == SENT
