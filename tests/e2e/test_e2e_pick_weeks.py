"""A large calendar's pick page in a browser (issue 20): the invitee answers week 1, moves on with
"Save and show next week", answers week 2, and every answer is kept; both pages pass axe on a desktop
and on a phone, without scrolling sideways."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from seeding import seed_owner_calendar

from oneonone.scheduling.models import Event

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_answering_week_by_week_keeps_every_answer(visit, db, phone):
    big = seed_owner_calendar("weeks", slots=500, invitees=3, picks=6, confirmed=1)
    db.session.remove()
    ana = visit("ana", timezone_id="Europe/London", phone=phone)
    page = ana.page
    ana.goto(f"/pick/{big.pick_token}?tz=Europe/London", "week-1")
    expect(page.get_by_role("heading", name="Week of 4–10 March 2030")).to_be_visible()
    page.get_by_role("radiogroup", name="17:30–18:00").first.get_by_text("If need be").click()
    page.get_by_role("button", name="Save and show next week").click()
    page.wait_for_url("**week=2030-03-11**")
    expect(page.get_by_text("Your answer was saved (3 slots picked)")).to_be_visible()
    expect(page.get_by_text("You picked 3 times in other weeks")).to_be_visible()
    page.get_by_role("radiogroup", name="08:00–08:30").first.get_by_text("Preferred").click()
    ana.check("week-2-chosen")
    page.get_by_role("button", name="Save my answer").click()
    expect(page.get_by_text("Your answer was saved (4 slots picked)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    picks = dict(db.session.execute(sa.select(Event.timeslot_id, Event.preference)
                                    .where(Event.contact_id == big.pick_contact_id)).all())
    db.session.remove()
    monday_last = big.timeslot_ids[19]  # Monday 4 March, 17:30
    assert picks == {**big.pick_answer, monday_last: "if_need_be", big.timeslot_ids[100]: "preferred"}
