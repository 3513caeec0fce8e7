"""Answers that say something (issue 17 point 4): "None of these times work for me", a comment for
the owner, and the invitee's state (not answered, answered, can't make any), on the pick page and the
owner's invitees page. A submission with no pick and without that choice is refused.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from test_api import Api

from oneonone.scheduling import answers, reminders
from oneonone.scheduling.models import ANSWERED, CANT_MAKE_ANY, NOT_ANSWERED, Event, Invitee

NONE_WORK = "None of these times work for me"
EMPTY_REFUSED = "Pick at least one time, or choose “None of these times work for me”."
COMMENT = "Mornings are hard for me <b>this</b> month; any afternoon would do."


@pytest.fixture
def day(ada_and_bob):
    """The owner's day (09:00 and 10:00) with Ada and Bob invited; nobody has answered."""
    return ada_and_bob(invite=("ada", "bob"))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _form(day, *, nine: str = "", ten: str = "", **extra) -> dict:
    """The pick page's form as a browser submits it: every slot ("" for can't), then the rest."""
    return {"tz": "Europe/London", f"slot-{day.nine.id}": nine, f"slot-{day.ten.id}": ten, **extra}


def _picks(db, contact) -> dict[int, str]:
    return dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                                   .where(Event.contact_id == contact.id)).all())


def _fresh(db, invitee: Invitee) -> Invitee:
    db.session.expire_all()
    return db.session.get(Invitee, invitee.id)


# ---- "None of these times work for me", with a comment ---------------------------------------

def test_none_of_these_times_with_a_comment_reaches_the_owner(client, owner, login, day, db):
    token = day.token("ada")
    assert client.post(f"/pick/{token}", data=_form(day, nine="preferred")).status_code == 302
    # She comes back: none of them work after all. The radios still hold her pick; the choice wins.
    response = client.post(f"/pick/{token}", data=_form(day, nine="preferred", none_work="1", comment=COMMENT),
                           follow_redirects=True)
    assert response.status_code == 200
    page = _text(response)
    assert (f"Your answer was saved: none of these times work for you. {owner.first_name} will see your "
            "comment.") in page
    assert _picks(db, day.ada) == {}
    ada = _fresh(db, day.invitee("ada"))
    assert ada.answer_state == CANT_MAKE_ANY
    assert ada.comment == COMMENT and ada.declined_at is not None and ada.responded_at is not None
    # Her page says so, and keeps her comment in the box to edit.
    assert "none of these times work for you" in page
    assert "Mornings are hard for me &lt;b&gt;this&lt;/b&gt; month" in page

    login(owner)
    owners_page = _text(client.get(f"/calendars/{day.calendar.id}/invitees"))
    assert "Can&#39;t make any" in owners_page or "Can’t make any" in owners_page
    assert "Mornings are hard for me &lt;b&gt;this&lt;/b&gt; month; any afternoon would do." in owners_page
    assert "<b>this</b>" not in owners_page


def test_none_of_these_clears_a_pick_kept_on_a_slot_someone_else_holds(client, day, db, make_event):
    from oneonone.scheduling import confirmations

    make_event(day.nine, day.ada)
    confirmations.set_pick_confirmed(make_event(day.nine, day.bob), True)  # Bob's meeting at 09:00
    db.session.commit()
    # The page sends Ada's 09:00 pick back as a hidden field, since the slot is not offered.
    form = {"tz": "Europe/London", f"slot-{day.nine.id}": "preferred", f"slot-{day.ten.id}": "",
            "none_work": "1"}
    assert client.post(f"/pick/{day.token('ada')}", data=form).status_code == 302
    assert _picks(db, day.ada) == {}
    assert _fresh(db, day.invitee("ada")).answer_state == CANT_MAKE_ANY


def test_picks_can_carry_a_comment_too(client, owner, day, db):
    response = client.post(f"/pick/{day.token('ada')}",
                           data=_form(day, ten="if_need_be", comment="  Only if 09:00 is gone.  "),
                           follow_redirects=True)
    assert "Your answer was saved (1 slot picked)" in _text(response)
    assert f"{owner.first_name} will see your comment." in _text(response)
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.comment) == (ANSWERED, "Only if 09:00 is gone.")
    # An empty box removes the comment.
    client.post(f"/pick/{day.token('ada')}", data=_form(day, ten="if_need_be", comment="   "))
    assert _fresh(db, day.invitee("ada")).comment is None


# ---- the empty submission ----------------------------------------------------------------------

@pytest.mark.parametrize("extra", [{}, {"comment": "See you"}, {"none_work": ""}, {"none_work": "0"}],
                         ids=["nothing", "comment only", "empty choice", "choice off"])
def test_an_empty_submission_is_refused_and_the_earlier_answer_kept(client, day, db, extra):
    token = day.token("ada")
    client.post(f"/pick/{token}", data=_form(day, nine="preferred", comment="Earlier"))
    answered_at = _fresh(db, day.invitee("ada")).responded_at
    response = client.post(f"/pick/{token}", data=_form(day, **extra))
    assert response.status_code == 400
    assert EMPTY_REFUSED in _text(response)
    assert _picks(db, day.ada) == {day.nine.id: "preferred"}
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.comment, ada.responded_at) == (ANSWERED, "Earlier", answered_at)


def test_an_empty_first_answer_is_not_an_answer(client, day, db):
    response = client.post(f"/pick/{day.token('ada')}", data={"tz": "Europe/London"})
    assert response.status_code == 400
    assert EMPTY_REFUSED in _text(response)
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.responded_at, ada.timezone) == (NOT_ANSWERED, None, None)


# ---- the comment's rules -------------------------------------------------------------------------

@pytest.mark.parametrize(("comment", "problem"), [
    ("x" * 501, "Comment must be at most 500 characters."),
    ("Call me\x07", "Comment cannot contain control characters"),
    ("Page\x0cbreak", "Comment cannot contain control characters"),
])
def test_a_bad_comment_is_refused_naming_comment(client, day, db, comment, problem):
    token = day.token("ada")
    client.post(f"/pick/{token}", data=_form(day, nine="preferred"))
    response = client.post(f"/pick/{token}", data=_form(day, none_work="1", comment=comment))
    assert response.status_code == 400
    page = _text(response)
    assert problem in page
    assert 'id="comment-error"' in page and 'aria-invalid="true"' in page
    assert _picks(db, day.ada) == {day.nine.id: "preferred"}
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.comment) == (ANSWERED, None)


def test_a_nul_character_in_the_comment_is_refused_before_anything_is_read(client, day, db):
    response = client.post(f"/pick/{day.token('ada')}", data=_form(day, none_work="1", comment="Nul\x00here"))
    assert response.status_code == 400
    assert "invisible NUL character" in _text(response)
    assert _fresh(db, day.invitee("ada")).answer_state == NOT_ANSWERED


def test_a_comment_of_500_characters_on_several_lines_is_kept(client, day, db):
    comment = "Line one\r\n" + "y" * 490  # 500 characters once "\r\n" is "\n"
    assert client.post(f"/pick/{day.token('ada')}", data=_form(day, none_work="1", comment=comment)).status_code == 302
    assert _fresh(db, day.invitee("ada")).comment == "Line one\n" + "y" * 490


# ---- picking again, through the page and through the API -----------------------------------------

def test_picking_again_on_the_page_clears_cant_make_any(client, day, db):
    token = day.token("ada")
    client.post(f"/pick/{token}", data=_form(day, none_work="1", comment="Not this week"))
    assert _fresh(db, day.invitee("ada")).answer_state == CANT_MAKE_ANY
    client.post(f"/pick/{token}", data=_form(day, ten="preferred", comment="Not this week"))
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.declined_at, ada.comment) == (ANSWERED, None, "Not this week")
    assert _picks(db, day.ada) == {day.ten.id: "preferred"}


def test_the_choice_stays_ticked_and_a_time_chosen_beside_it_is_saved(client, day, db):
    token = day.token("ada")
    client.post(f"/pick/{token}", data=_form(day, none_work="1", comment="Not this week"))
    page = _text(client.get(f"/pick/{token}?tz=Europe/London"))
    assert 'name="none_work" value="1"' in page and " checked>" in page.split('id="none_work"')[1][:200]
    assert "To pick a time instead, choose it above and save." in page
    # Her comment alone can change while the choice stands...
    assert client.post(f"/pick/{token}", data=_form(day, none_work="1", comment="Not this month")).status_code == 302
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.comment) == (CANT_MAKE_ANY, "Not this month")
    # ...and a time she then chooses, the box still ticked, is the change: it is saved.
    response = client.post(f"/pick/{token}", data=_form(day, ten="preferred", none_work="1"), follow_redirects=True)
    assert "Your answer was saved (1 slot picked)" in _text(response)
    assert _picks(db, day.ada) == {day.ten.id: "preferred"}
    assert _fresh(db, day.invitee("ada")).answer_state == ANSWERED
    assert 'id="none_work"' in _text(response) and " checked>" not in _text(response).split('id="none_work"')[1][:200]


def test_picking_through_the_api_clears_cant_make_any(client, day, db):
    client.post(f"/pick/{day.token('ada')}", data=_form(day, none_work="1", comment="Not this week"))
    api = Api(client, day.token("ada"))
    response = api.post("/api/events/", {"calendar": day.calendar.id, "timeslot": day.nine.id,
                                         "contact": day.ada.id})
    assert response.status_code == 201, _text(response)
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.declined_at, ada.comment) == (ANSWERED, None, "Not this week")


def test_the_service_refuses_an_empty_answer_naming_it(day, db):
    from oneonone.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        answers.save_picks(day.invitee("ada"), {day.nine.id: None})
    assert refused.value.message == EMPTY_REFUSED and "answer" in refused.value.fields
    db.session.rollback()
    answers.save_picks(day.invitee("ada"), {day.nine.id: None}, none_work=True, comment="Sorry")
    db.session.commit()
    ada = _fresh(db, day.invitee("ada"))
    assert (ada.answer_state, ada.comment) == (CANT_MAKE_ANY, "Sorry")
    # Leaving the comment out (comment=None) keeps it.
    answers.save_picks(ada, {day.nine.id: "preferred"})
    db.session.commit()
    assert _fresh(db, ada).comment == "Sorry"


# ---- reminders ---------------------------------------------------------------------------------

def test_cant_make_any_is_not_reminded(client, owner, login, day, db, mailbox):
    client.post(f"/pick/{day.token('ada')}", data=_form(day, none_work="1"))
    assert reminders.waiting_for(day.calendar).due == 1  # Bob only
    login(owner)
    response = client.post(f"/calendars/{day.calendar.id}/remind", follow_redirects=True)
    assert "Reminded 1 invitee who had not answered" in _text(response)
    assert [m["To"] for m in mailbox.messages if m["Subject"].startswith("Reminder")] == ["bob@example.org"]
    assert mailbox.to("ada@example.org") == []
    # The hourly job skips her too, as the deadline nears.
    day.calendar.response_deadline = dt.datetime.now(dt.UTC) + dt.timedelta(hours=20)
    db.session.execute(sa.update(Invitee).values(reminded_at=None))
    db.session.commit()
    assert reminders.queue_due_reminders() == 1
    db.session.commit()
    assert mailbox.to("ada@example.org") == []


# ---- the pick page shows the state, open and closed ------------------------------------------------

def test_the_pick_page_offers_the_choice_and_the_comment(client, owner, day):
    page = _text(client.get(f"/pick/{day.token('ada')}?tz=Europe/London"))
    assert NONE_WORK in page
    assert f"Comment for {owner.first_name} (optional)" in page
    assert 'name="none_work"' in page and 'name="comment"' in page and 'maxlength="500"' in page


def test_the_closed_page_shows_cant_make_any_and_the_comment(client, day, db):
    token = day.token("ada")
    client.post(f"/pick/{token}", data=_form(day, none_work="1", comment="Away that week.\nBack on the 14th."))
    day.calendar.response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    page = _text(client.get(f"/pick/{token}?tz=Europe/London"))
    assert "has passed" in page and "Save my answer" not in page
    assert "You said none of these times work for you." in page
    assert "Away that week.<br>Back on the 14th." in page
    assert 'name="comment"' not in page and 'name="none_work"' not in page
    response = client.post(f"/pick/{token}", data=_form(day, nine="preferred"))
    assert response.status_code == 400
    assert _fresh(db, day.invitee("ada")).answer_state == CANT_MAKE_ANY
