"""The suggestions page renders the schedules that are shown, not the calendar (issue 20 goal 2).

The best schedule lists its first MEETINGS_SHOWN meetings, then "Show all N meetings"; an alternative
shows how it differs from the best and a link that opens its meetings; an "Ask … about these times"
offers at most ASK_AT_MOST free times. Small calendars read as before.
"""

from __future__ import annotations

import re

from seeding import seed_owner_calendar

from oneonone.extensions import db as _db
from oneonone.scheduling.pages import ASK_AT_MOST, MEETINGS_SHOWN


def _page(app, data, **args) -> str:
    client = app.test_client()
    assert client.post("/accounts/signin", data={"email": data.email, "password": data.password}).status_code == 302
    _db.session.remove()
    response = client.get(f"/calendars/{data.calendar_id}/suggestions", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _listed(html: str) -> list[int]:
    """Meetings listed per schedule card, in order."""
    cards = html.split('class="card schedule-card')[1:]
    return [card.count('class="list-group-item assignment') for card in cards]


def test_a_large_calendar_lists_a_screenful_and_links_the_rest(app):
    data = seed_owner_calendar("big", slots=300, invitees=120, unanswered=10, picks=1100, confirmed=2)
    html = _page(app, data)
    assert _listed(html) == [MEETINGS_SHOWN, 0, 0]  # the best, then two alternatives by their differences
    assert "Show all 110 meetings" in html
    assert html.count("All 110 meetings of this option") == 2
    # Each left-out invitee who picked nothing is offered at most ASK_AT_MOST of the free times.
    forms = re.findall(r'<form method="post" class="mt-1".*?</form>', html, re.S)
    assert forms and all(form.count('name="timeslot_id"') <= ASK_AT_MOST for form in forms)
    assert f"about the first {ASK_AT_MOST} of these times" in html

    opened = _page(app, data, k=3, option=2)
    assert _listed(opened) == [MEETINGS_SHOWN, MEETINGS_SHOWN, 0]
    assert opened.count("All 110 meetings of this option") == 1
    everything = _page(app, data, k=3, option=2, all=1)
    assert _listed(everything) == [MEETINGS_SHOWN, 110, 0]
    assert _listed(_page(app, data, all=1)) == [110, 0, 0]
    assert _listed(_page(app, data, k=3, option=99)) == [MEETINGS_SHOWN, 0, 0]  # no such option: none opened


def test_a_small_calendar_lists_every_meeting(app):
    data = seed_owner_calendar("small", slots=10, invitees=6, unanswered=1, picks=15, confirmed=1)
    html = _page(app, data)
    assert _listed(html)[0] == 5
    assert "Show all" not in html
