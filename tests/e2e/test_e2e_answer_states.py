"""Answers that say something, in a browser (issue 17 point 4): an invitee says "None of these times
work for me" with a comment, and the owner reads both on the invitees page; an answer with no pick
and without that choice is refused on the form, and the earlier answer stays."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from .support import fits_the_phone, sign_in

pytestmark = pytest.mark.e2e

NONE_WORK = "None of these times work for me"
COMMENT_LABEL = "Comment for Priya (optional)"
EMPTY_REFUSED = "Pick at least one time, or choose “None of these times work for me”."
COMMENT = ("I am away at a conference <Tue & Wed> that week.\n"
           "Could we meet the week after instead? Any afternoon from Monday 10 June works for me.")


@pytest.fixture
def week(make_user, make_calendar, make_contact, make_timeslot, make_invitee, make_event, db):
    """Priya's calendar with two slots; Lin picked 10:00 earlier, Max has not answered."""
    priya = make_user(first_name="Priya", last_name="Shah", email="priya@example.com", timezone="Europe/London")
    calendar = make_calendar(owner=priya, name="Mentoring", timezone="Europe/London",
                             start_date=dt.date(2030, 6, 3))
    ten = make_timeslot(calendar, "10:00")
    make_timeslot(calendar, "11:00")
    lin = make_contact(owner=priya, first_name="Lin", last_name="Wu", email="lin@example.org")
    max_ = make_contact(owner=priya, first_name="Max", last_name="Mustermann", email="max@example.org")
    _, lin_token = make_invitee(calendar, lin)
    _, max_token = make_invitee(calendar, max_)
    make_event(ten, lin)
    values = {"calendar_id": calendar.id, "lin": lin_token, "max": max_token, "max_id": max_.id,
              "ten": ten.id}
    db.session.remove()
    return values


def _answer(db, contact_id: int) -> tuple[dict, str | None, str | None]:
    from oneonone.scheduling.models import Event, Invitee

    picks = dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                                    .where(Event.contact_id == contact_id)).all())
    invitee = db.session.scalar(sa.select(Invitee).where(Invitee.contact_id == contact_id))
    state = (picks, invitee.answer_state, invitee.comment)
    db.session.remove()
    return state


def test_none_of_these_times_with_a_comment_reaches_the_owner(visit, week, db):
    lin = visit("lin", timezone_id="Europe/London")
    page = lin.page
    lin.goto(f"/pick/{week['lin']}?tz=Europe/London")
    expect(page.get_by_role("radiogroup", name="10:00–10:30").get_by_label("Preferred")).to_be_checked()
    expect(page.get_by_label(NONE_WORK)).not_to_be_checked()
    lin.check("pick-page-with-the-choice")

    # None of them work after all: she ticks the choice (her 10:00 stays chosen above) and writes why.
    page.get_by_label(NONE_WORK).check()
    page.get_by_label(COMMENT_LABEL).fill(COMMENT)
    page.get_by_role("button", name="Save my answer").click()
    expect(page.get_by_role("alert").filter(
        has_text="Your answer was saved: none of these times work for you. Priya will see your comment.")
    ).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="that none of these times work for you")).to_be_visible()
    for slot in ("10:00–10:30", "11:00–11:30"):
        expect(page.get_by_role("radiogroup", name=slot).get_by_label("Can't")).to_be_checked()
    expect(page.get_by_label(COMMENT_LABEL)).to_have_value(COMMENT)
    expect(page.get_by_label(NONE_WORK)).to_be_checked()  # her answer, as it stands
    expect(page.get_by_label(NONE_WORK)).to_have_accessible_description(
        "To pick a time instead, choose it above and save.")
    lin.check("pick-page-none-work-saved")

    # Priya sees it on the invitees page: the state and the comment, as written (not as markup).
    priya = visit("priya", timezone_id="Europe/London")
    sign_in(priya, "priya@example.com")
    priya.goto(f"/calendars/{week['calendar_id']}/invitees")
    invitees = priya.page.locator("table.invitee-table")
    row = invitees.get_by_role("row").filter(has_text="Lin Wu")
    expect(row.get_by_text("Can’t make any", exact=True)).to_be_visible()
    expect(row).to_contain_text("I am away at a conference <Tue & Wed> that week.")
    expect(row).to_contain_text("Could we meet the week after instead?")
    expect(row.get_by_role("button", name="Confirm")).to_have_count(0)  # no pick left to confirm
    max_row = invitees.get_by_role("row").filter(has_text="Max Mustermann")
    expect(max_row.get_by_text("Invited", exact=True)).to_be_visible()
    expect(priya.page.get_by_role("button", name="Remind 1 who has not answered")).to_be_visible()
    priya.check("invitees-cant-make-any")

    phone = visit("priya-phone", timezone_id="Europe/London", phone=True)
    sign_in(phone, "priya@example.com")
    phone.goto(f"/calendars/{week['calendar_id']}/invitees")
    expect(phone.page.get_by_text("Can’t make any", exact=True)).to_be_visible()
    expect(phone.page.get_by_text("Could we meet the week after instead?", exact=False)).to_be_visible()
    fits_the_phone(phone.page)
    phone.check("invitees-cant-make-any-phone")

    # Once answers close, Lin's page still says what she answered, read-only.
    from oneonone.calendars.models import Calendar

    calendar = db.session.get(Calendar, week["calendar_id"])
    calendar.response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    db.session.remove()
    lin_phone = visit("lin-phone", timezone_id="Europe/London", phone=True)
    lin_phone.goto(f"/pick/{week['lin']}?tz=Europe/London")
    expect(lin_phone.page.get_by_text("You said none of these times work for you.")).to_be_visible()
    comment = lin_phone.page.get_by_role("region", name="Your comment for Priya")
    expect(comment).to_contain_text("I am away at a conference <Tue & Wed> that week.")
    expect(lin_phone.page.get_by_role("button", name="Save my answer")).to_have_count(0)
    expect(lin_phone.page.get_by_label(COMMENT_LABEL)).to_have_count(0)
    fits_the_phone(lin_phone.page)
    lin_phone.check("pick-page-closed-cant-make-any-phone")


def test_an_empty_answer_is_refused_and_the_earlier_one_kept(visit, week, db):
    max_ = visit("max", timezone_id="Europe/London", phone=True)
    page = max_.page
    max_.goto(f"/pick/{week['max']}?tz=Europe/London")
    ten = page.get_by_role("radiogroup", name="10:00–10:30")
    ten.get_by_text("Preferred", exact=True).click()
    page.get_by_role("button", name="Save my answer").click()
    expect(page.get_by_text("Your answer was saved (1 slot picked)")).to_be_visible()

    # He sets 10:00 back to Can't and saves with only a comment: refused, with what to do instead.
    ten.get_by_text("Can't", exact=True).click()
    page.get_by_label(COMMENT_LABEL).fill("Mornings are tricky.")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Save my answer").click()
    assert posted.value.status == 400
    expect(page.get_by_role("alert").filter(has_text=EMPTY_REFUSED)).to_be_visible()
    choice = page.get_by_label(NONE_WORK)
    expect(choice).to_have_accessible_description(
        "Saving with this ticked clears any times chosen above. " + EMPTY_REFUSED)
    expect(page.get_by_label(COMMENT_LABEL)).to_have_value("Mornings are tricky.")  # what he typed stays
    # Nothing was saved: the page shows his earlier answer again.
    expect(ten.get_by_label("Preferred")).to_be_checked()
    fits_the_phone(page)
    max_.check("pick-page-empty-refused-phone")
    assert _answer(db, week["max_id"]) == ({week["ten"]: "preferred"}, "answered", None)

    # Ticking the choice is the way to say so; then the comment is saved with it.
    choice.check()
    page.get_by_role("button", name="Save my answer").click()
    expect(page.get_by_role("alert").filter(has_text="Priya will see your comment.")).to_be_visible()
    max_.check("pick-page-none-work-phone")
    assert _answer(db, week["max_id"]) == ({}, "cant_make_any", "Mornings are tricky.")
