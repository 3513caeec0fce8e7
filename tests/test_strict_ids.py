"""Crafted ids and numbers in every URL rule, form and query string: a 404 or a 400, never a 500.

`str.isdigit` accepts "²" that int() refuses, `\\d` matches Arabic-Indic digits that int() reads, and
a 20-digit id or 2**31 overflows the database's integer (SQLite raises, PostgreSQL refuses): each used
to be a 500 somewhere. The rules come from app.url_map, so a new route is fuzzed without being listed.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from oneonone.accounts.services import issue_api_token
from oneonone.transaction import unit_of_work
from oneonone.validation import ID_MAX, parse_id, parse_int

# Superscript two (isdigit() but not int()), Arabic-Indic three (int() reads it as 3), 20 digits,
# one past PostgreSQL's integer, and zero (no row has it).
BAD = ["²", "٣", "9" * 20, str(2**31), "0"]
# For form fields and query strings also 5,000 digits: int() refuses more than 4,300.
BAD_VALUES = [*BAD, "9" * 5000, "-1", " 1 2"]
REFUSED = {400, 401, 403, 404, 405, 429}
# Ending the signed-in session would leave the rest of the run signed out.
SIGNS_OUT = {"accounts.signout", "accounts.delete", "api_accounts.signout", "api_accounts.delete_account"}
# Forms that replace or remove the world's objects go last (a resent link retires the old one), the
# owner's calendar and all in it at the very end.
REMOVES = ["scheduling.resend", "scheduling.revoke", "calendars.delete_timeslot", "contacts.delete", "calendars.delete"]
_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


@pytest.fixture
def app_config() -> dict:
    return {"PROPAGATE_EXCEPTIONS": False}  # a crash is a 500 response to count, not an exception


@pytest.fixture
def world(owner, owner_client, one_of_each, db):
    """The signed-in owner's objects, one of each, and an API token."""
    from oneonone.accounts.models import ApiToken, UserSession

    with unit_of_work():
        api_token = issue_api_token(owner)
        issue_api_token(owner)  # the one /accounts/tokens/<token_id>/revoke revokes
        other_session = UserSession(user_id=owner.id, secret_hash="0" * 64)  # signing it out keeps ours
        db.session.add(other_session)
    ids = {**one_of_each().ids(), "filename": "css/app.css", "name": "app.css", "session_id": other_session.id,
           "token_id": db.session.scalar(sa.select(sa.func.max(ApiToken.id)))}
    return {"ids": ids, "headers": {"Authorization": f"Bearer {api_token}"}}


def _rules(app) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SIGNS_OUT), key=lambda r: r.rule)


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _url(rule: Rule, ids: dict, **replaced: str) -> str:
    """The rule's path with the world's ids, and `replaced` arguments as given (not converted)."""
    def argument(match: re.Match) -> str:
        name = match.group(1)
        return quote(replaced[name] if name in replaced else str(ids[name]), safe="/")

    return _ARGUMENT.sub(argument, rule.rule)


def _status(client, world, url: str, method: str, **kwargs) -> int:
    """The status of one request (the API with the owner's token, the pages with their session)."""
    headers = world["headers"] if url.startswith("/api") else {}
    with client.open(url, method=method, headers=headers, **kwargs) as response:
        return response.status_code


def _still_signed_in(client) -> bool:
    return client.get("/contacts/").status_code == 200


def test_every_id_in_a_path_is_checked_before_any_query(app, owner_client, world):
    """Each argument of each rule replaced by a crafted value: an id is a 404, anything else refused."""
    wrong = []
    for rule in _rules(app):
        for name in rule.arguments:
            for value in BAD:
                url = _url(rule, world["ids"], **{name: value})
                for method in _methods(rule):
                    status = _status(owner_client, world, url, method,
                                     json={} if url.startswith("/api") else None)
                    expected = {404} if name.endswith("_id") else REFUSED
                    if status not in expected:
                        wrong.append((method, url[:80], status))
    assert wrong == []
    assert _still_signed_in(owner_client)


@pytest.mark.parametrize("value", ["0", "-1", "²", "٣", "１", "9" * 20, str(2**31), "1.0", "0x1", "1_000"])
def test_the_id_converter_matches_database_ids_only(owner_client, world, value):
    assert owner_client.get(f"/contacts/{quote(value)}/edit").status_code == 404
    assert owner_client.get(f"/api/contacts/{quote(value)}/", headers=world["headers"]).status_code == 404


def test_the_id_converter_accepts_the_largest_id(owner_client, world):
    assert owner_client.get(f"/contacts/{ID_MAX}/edit").status_code == 404  # no such row, but no crash
    assert owner_client.get(f"/contacts/{world['ids']['contact_id']}/edit").status_code == 200


def test_crafted_ids_in_every_form_are_refused(app, owner_client, world):
    """contact_id, timeslot_id, pair=a:b and slot-<id> fields, posted to every HTML form."""
    ids = world["ids"]
    wrong = []
    rules = sorted(_rules(app), key=lambda r: REMOVES.index(r.endpoint) if r.endpoint in REMOVES else -1)
    for rule in rules:
        if "POST" not in rule.methods or rule.rule.startswith("/api"):
            continue
        url = _url(rule, ids)
        for value in BAD_VALUES:
            form = {"contact_id": [value, str(ids["contact_id"])], "timeslot_id": value, "page": value,
                    "pair": [f"{value}:{value}", f"{ids['contact_id']}:{value}"], f"slot-{value}": "preferred"}
            status = _status(owner_client, world, url, "POST", data=form)
            if status >= 500 or status not in REFUSED | {302, 303}:
                wrong.append((url, value[:12], status))
    assert wrong == []
    assert _still_signed_in(owner_client)


@pytest.mark.parametrize(("path", "data", "status", "text"), [
    ("/calendars/{calendar_id}/invitees", {"contact_id": "²"}, 400, "contact_id"),
    ("/calendars/{calendar_id}/invitees", {"contact_id": ["{contact_id}", "9" * 20]}, 400, "contact_id"),
    ("/calendars/{calendar_id}/invitees/{invitee_id}/ask", {"timeslot_id": "٣"}, 400, "timeslot_id"),
    ("/calendars/{calendar_id}/invitees/{invitee_id}/confirm", {"timeslot_id": str(2**31)}, 200,
     "Choose one of the slots this invitee picked."),
    ("/pick/{token}", {"slot-²": "preferred"}, 400, "Some choices could not be saved."),
    ("/pick/{token}", {"slot-" + "9" * 5000: "preferred"}, 400, "Some choices could not be saved."),
])
def test_a_crafted_id_in_a_form_is_refused_naming_it(owner_client, world, db, path, data, status, text):
    from oneonone.scheduling.models import Event, Invitee

    form = {name: [v.format(**world["ids"]) for v in value] if isinstance(value, list) else value
            for name, value in data.items()}
    response = owner_client.post(path.format(**world["ids"]), data=form, follow_redirects=True)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitee)) == 1  # nobody else invited
    assert db.session.scalar(sa.select(sa.func.count()).where(Event.confirmed)) == 0


def test_a_crafted_pair_leaves_the_schedule_unconfirmed(owner_client, world):
    for pair in ("²:³", f"{world['ids']['contact_id']}:{'9' * 5000}", f"{2**31}:1"):
        response = owner_client.post(f"/calendars/{world['ids']['calendar_id']}/suggestions/finalize",
                                     data={"pair": pair}, follow_redirects=True)
        assert response.status_code == 200
        assert "That schedule could not be read" in response.get_data(as_text=True)


def test_crafted_page_numbers_and_counts_never_crash(app, owner_client, world):
    wrong = []
    for rule in _rules(app):
        if "GET" not in rule.methods:
            continue
        url = _url(rule, world["ids"])
        for value in BAD_VALUES:
            query = f"?page={quote(value)}&per_page={quote(value)}&k={quote(value)}"
            status = _status(owner_client, world, url + query, "GET")
            if status >= 500 or status not in REFUSED | {200, 302}:
                wrong.append((url, value[:12], status))
    assert wrong == []
    assert _still_signed_in(owner_client)


def test_a_huge_page_shows_the_last_page(owner_client, make_contact, owner, world):
    response = owner_client.get("/contacts/?page=99999999999999999999")
    assert response.status_code == 302 and response.location == "/contacts/?page=1"
    assert owner_client.get("/api/contacts/?page=99999999999999999999", headers=world["headers"]).get_json() == []


@pytest.mark.parametrize("value", [*BAD, 2**31, 10**20, 0, -1, 1.5, True])
def test_crafted_ids_in_api_bodies_are_a_400_naming_the_field(owner_client, world, value):
    ids = world["ids"]
    calendar, contact = ids["calendar_id"], ids["contact_id"]
    for path, body, field in [
        ("/api/events/", {"calendar": calendar, "contact": contact, "timeslot": value,
                          "preference": "preferred"}, "timeslot"),
        (f"/api/calendars/{calendar}/invitees/{contact}/ask/", {"timeslots": [value]}, "timeslots"),
    ]:
        response = owner_client.post(path, json=body, headers=world["headers"])
        assert response.status_code == 400, (path, value, response.get_json())
        assert any(name.startswith(field) for name in response.get_json()["fields"]), response.get_json()


@pytest.mark.parametrize(("value", "expected"), [
    ("1", 1), (" 42 ", 42), (7, 7), (str(ID_MAX), ID_MAX), ("0" * 20 + "5", 5),
    ("0", None), ("-1", None), ("+1", None), ("²", None), ("٣", None), ("１", None), ("1 2", None),
    ("9" * 20, None), ("9" * 5000, None), (str(2**31), None), (2**31, None), (True, None), (1.0, None),
    (None, None), ("", None), ("1e3", None),
])
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_parse_int_clamps_when_asked():
    assert parse_int("9" * 30, minimum=1, maximum=200, clamp=True) == 200
    assert parse_int("0", minimum=1, maximum=200, clamp=True) == 1
    assert parse_int("٣", minimum=1, maximum=200, clamp=True) is None
    assert parse_int("3", maximum=2) is None
