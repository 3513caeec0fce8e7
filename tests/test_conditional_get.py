"""Conditional GET: the API's and the feed's answers carry an ETag; asking again with If-None-Match
gets 304 and no body until something changes, then the new answer and a new ETag."""

from __future__ import annotations

import pytest

from oneonone.accounts.services import issue_api_token, rotate_feed_token
from oneonone.transaction import unit_of_work


@pytest.fixture
def tokens(owner, one_of_each):
    objects = one_of_each(confirmed=True)
    with unit_of_work():
        return {"calendar": objects.calendar.id, "api": issue_api_token(owner), "feed": rotate_feed_token(owner),
                "pick": objects.token}


def _urls(tokens):
    calendar = tokens["calendar"]
    owner = {"Authorization": f"Bearer {tokens['api']}"}
    invitee = {"Authorization": f"Bearer {tokens['pick']}"}
    return [
        ("/api/contacts/", owner), (f"/api/calendars/{calendar}/", owner),
        (f"/api/calendars/{calendar}/timeslots/", owner), (f"/api/calendars/{calendar}/suggested/", owner),
        (f"/api/calendars/{calendar}/timeslots/", invitee),  # the invitee's page data
        (f"/feed/{tokens['feed']}.ics", {}),
    ]


def test_an_unchanged_answer_is_304_without_a_body(client, tokens):
    for url, headers in _urls(tokens):
        first = client.get(url, headers=headers)
        assert first.status_code == 200, (url, first.status_code)
        etag = first.headers.get("ETag")
        assert etag, url
        again = client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.get_data() == b""
        assert client.get(url, headers={**headers, "If-None-Match": '"something-else"'}).status_code == 200


def test_a_change_gives_a_new_answer_and_etag(client, tokens, make_timeslot, db):
    from oneonone.calendars.models import Calendar

    url, headers = f"/api/calendars/{tokens['calendar']}/timeslots/", {"Authorization": f"Bearer {tokens['api']}"}
    first = client.get(url, headers=headers)
    make_timeslot(db.session.get(Calendar, tokens["calendar"]), "16:00", day=1)
    changed = client.get(url, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert len(changed.get_json()) == len(first.get_json()) + 1


def test_errors_and_writes_are_never_304(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['api']}"}
    missing = client.get("/api/calendars/999999/", headers={**headers, "If-None-Match": "*"})
    assert missing.status_code == 404
    assert "ETag" not in missing.headers
