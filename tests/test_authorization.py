"""Every URL rule of the app, tried anonymously, as another owner and with an invitee's link token.

The rules come from app.url_map, so a new route cannot be forgotten: add it to one of the sets
below or this test fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from oneonone.accounts.services import issue_api_token
from oneonone.transaction import unit_of_work

# Pages anyone may open.
PUBLIC = {
    "static", "bootstrap.static", "home.index", "accounts.signin", "accounts.signup", "accounts.signout",
    "home.robots_txt",
    "scheduling.pick", "scheduling.pick_ics", "scheduling.feed",
    "accounts.forgot_password", "accounts.reset_password", "accounts.verify",  # links mailed to an address
    "observability.healthz", "observability.metrics",  # /metrics: its own bearer token, 404 unset
}
# Owner pages that name no object: a second owner simply sees their own.
OWN = {
    "calendars.index", "calendars.create", "contacts.index", "contacts.create", "contacts.import_csv",
    "contacts.import_sample", "accounts.profile", "accounts.delete", "accounts.feed_rotate",
    "accounts.end_other_sessions", "accounts.resend_verification",
}
# API endpoints open without a token.
API_PUBLIC_PREFIXES = ("/api/openapi.json", "/api/docs", "/api/accounts/signup", "/api/accounts/signin",
                       "/api/accounts/password-reset")
OBJECT_ARGUMENTS = {"calendar_id", "contact_id", "timeslot_id", "invitee_id", "session_id", "token_id"}


@pytest.fixture
def world(owner, make_user, one_of_each, login, client, db):
    """Owner A's objects; the client is signed in as owner B."""
    from oneonone.accounts.models import ApiToken, UserSession

    with unit_of_work():
        issue_api_token(owner)
        db.session.add(UserSession(user_id=owner.id, secret_hash="0" * 64))
    owner_session = db.session.scalar(sa.select(UserSession.id))
    owner_token = db.session.scalar(sa.select(ApiToken.id))
    objects = one_of_each()
    intruder = make_user()
    return {
        "ids": {**objects.ids(), "id": objects.calendar.id, "tid": objects.slot.id,
                "filename": "css/app.css", "session_id": owner_session, "token_id": owner_token},
        "intruder": intruder,
        "invitee_token": objects.token,
    }


def _rules(app) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def _build(rule: Rule, ids: dict) -> str:
    values = {}
    for arg in rule.arguments:
        if arg not in ids:
            raise AssertionError(f"add an id for <{arg}> of {rule.rule} to the world fixture")
        values[arg] = ids[arg]
    return rule.build(values, append_unknown=False)[1]


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _html_requests(app, ids: dict, skip: set[str]) -> Iterator[tuple[str, str]]:
    """(method, url) of every HTML rule whose endpoint is not in `skip`, built with `ids`."""
    for rule in _rules(app):
        if rule.endpoint in skip or rule.rule.startswith("/api"):
            continue
        url = _build(rule, ids)
        for method in _methods(rule):
            yield method, url


def test_every_html_rule_is_classified(app):
    for rule in _rules(app):
        if rule.rule.startswith("/api"):
            continue
        has_object = bool(set(rule.arguments) & OBJECT_ARGUMENTS)
        assert rule.endpoint in PUBLIC or rule.endpoint in OWN or has_object, (
            f"{rule.rule} ({rule.endpoint}) is new: classify it in tests/test_authorization.py")


def test_anonymous_visitors_are_sent_to_sign_in(app, client, world):
    for method, url in _html_requests(app, world["ids"], skip=PUBLIC):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.location.startswith("/accounts/signin"), (method, url)


def test_another_owner_gets_404_for_every_object(app, client, world, login):
    login(world["intruder"])
    form = {"confirm": "y", "timeslot_id": world["ids"]["timeslot_id"]}
    for method, url in _html_requests(app, world["ids"], skip=PUBLIC | OWN):
        response = client.open(url, method=method, data=form)
        assert response.status_code == 404, (method, url, response.status_code)


def test_an_invitee_token_opens_nothing_but_its_own_page(app, client, world):
    headers = {"Authorization": f"Bearer {world['invitee_token']}"}
    for method, url in _html_requests(app, world["ids"], skip=PUBLIC):
        response = client.open(url, method=method, headers=headers)
        assert response.status_code == 302 and response.location.startswith("/accounts/signin"), (method, url)


def test_api_refuses_missing_foreign_and_invitee_tokens(app, client, world):
    with unit_of_work():
        intruder_token = issue_api_token(world["intruder"])
    # The endpoints meant for invitees: their calendar's slots, creating and reading their own picks.
    invitee_allowed = {("GET", "/api/calendars/<calendar_id>/timeslots"), ("POST", "/api/events"),
                       ("GET", "/api/events/<event_id>")}  # the invitee's own event
    for rule in _rules(app):
        if not rule.rule.startswith("/api") or rule.rule.startswith(API_PUBLIC_PREFIXES):
            continue
        url = _build(rule, world["ids"])
        for method in _methods(rule):
            response = client.open(url, method=method, json={})
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.get_json()["error"] == "unauthorized"
            if rule.arguments:
                # Another owner's object answers exactly like an object that does not exist.
                intruder = {"Authorization": f"Bearer {intruder_token}"}
                response = client.open(url, method=method, json={}, headers=intruder)
                missing_ids = {k: (999_999 if isinstance(v, int) else v) for k, v in world["ids"].items()}
                missing = client.open(_build(rule, missing_ids), method=method, json={}, headers=intruder)
                assert response.status_code in (400, 404), (method, url, response.status_code)
                assert response.status_code == missing.status_code, (method, url)
            if (method, re.sub(r"<(?:[^>:]+:)?(\w+)>", r"<\1>", rule.rule).rstrip("/")) not in invitee_allowed:
                response = client.open(url, method=method, json={},
                                       headers={"Authorization": f"Bearer {world['invitee_token']}"})
                assert response.status_code in (401, 403, 404), (method, url, response.status_code)
