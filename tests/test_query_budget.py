"""Query budget: every page and API endpoint runs a constant number of SQL statements, at most 8,
whether the calendar has 5 slots or 500 slots, 200 invitees and 2,000 picks.

Both datasets are seeded once for this module (bulk inserts, a second or so); each case then requests
its URL once to warm up and once counted, for the small owner and for the large one. Every GET route
of the app must have a case here (or a reasoned exemption), so a new page cannot escape the budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from flask import Flask
from querycount import count_queries
from seeding import Seeded, empty_tables, seed_owner_calendar

from config import TestConfig
from oneonone import create_app
from oneonone.accounts.services import issue_api_token, rotate_feed_token
from oneonone.extensions import db
from oneonone.transaction import unit_of_work

# Eight for a read; a write may add the lock it takes first (oneonone/transaction.py lock_row: one
# SELECT … FOR NO KEY UPDATE on PostgreSQL, an UPDATE then the fresh SELECT on SQLite).
BUDGET = {"GET": 8, "POST": 9}
# ORM objects one request may load on the large calendar (500 slots, 200 invitees, 2,000 picks):
# a page shows a week, a page of a list or the schedules on screen, never the whole calendar.
ROWS_CAP = 250

# GET routes without a case, and why they need none.
EXEMPT = {
    "static": "files from disk; no database",
    "bootstrap.static": "Bootstrap's files from the installed package; no database",
    "api.docs_asset": "Swagger UI's files from the installed package; no database",
    "contacts.photo": "sends one uploaded file after one ownership query; nothing in it grows with the data",
    "api_contacts.contact_photo": "the same file as contacts.photo, after the token and ownership queries",
    "observability.metrics": "404 unless METRICS_TOKEN is set; then two outbox aggregates, whatever the data",
}

# Cases that break the budget today: id -> reason. Each is a bug in the endpoint, not in this test;
# remove the entry once the endpoint is fixed (strict xfail fails the run as soon as it passes).
KNOWN_N_PLUS_ONE: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    url: str  # a template: {calendar_id}, {timeslot_id}, {contact_id}, {event_id}, {token}, ...
    auth: str  # anon | owner (session cookie) | api (owner's bearer token) | link (invitation token)
    status: int = 200
    note: str = ""

    @property
    def id(self) -> str:
        notes = [note for note in ("invitation token" if self.auth == "link" else "", self.note) if note]
        return f"{self.method} {self.url}" + "".join(f" ({note})" for note in notes)


CASES = [
    # Pages anyone can open.
    Case("home.index", "GET", "/", "anon"),
    Case("home.robots_txt", "GET", "/robots.txt", "anon"),
    Case("accounts.signin", "GET", "/accounts/signin", "anon"),
    Case("accounts.signup", "GET", "/accounts/signup", "anon"),
    Case("accounts.forgot_password", "GET", "/accounts/password/forgot", "anon"),
    Case("accounts.reset_password", "GET", "/accounts/password/reset/{token}", "anon", 400, note="spent link"),
    Case("accounts.verify", "GET", "/accounts/verify/{token}", "anon", 400, note="broken link"),
    # The owner's pages.
    Case("home.index", "GET", "/", "owner", 302, note="signed in"),
    Case("accounts.profile", "GET", "/accounts/profile", "owner"),
    Case("accounts.delete", "GET", "/accounts/delete", "owner"),
    Case("accounts.signout", "GET", "/accounts/signout", "owner"),
    Case("calendars.index", "GET", "/calendars/", "owner"),
    Case("calendars.create", "GET", "/calendars/new", "owner"),
    Case("calendars.detail", "GET", "/calendars/{calendar_id}/", "owner"),
    Case("calendars.edit", "GET", "/calendars/{calendar_id}/edit", "owner"),
    Case("calendars.delete", "GET", "/calendars/{calendar_id}/delete", "owner"),
    Case("calendars.add_timeslot", "GET", "/calendars/{calendar_id}/timeslots/new", "owner"),
    Case("calendars.add_series", "GET", "/calendars/{calendar_id}/timeslots/series", "owner"),
    Case("calendars.edit_timeslot", "GET", "/calendars/{calendar_id}/timeslots/{timeslot_id}/edit", "owner"),
    Case("calendars.delete_timeslot", "GET", "/calendars/{calendar_id}/timeslots/{timeslot_id}/delete",
         "owner"),
    Case("contacts.index", "GET", "/contacts/", "owner"),
    Case("contacts.index", "GET", "/contacts/?q=person", "owner"),
    Case("contacts.create", "GET", "/contacts/new", "owner"),
    Case("contacts.edit", "GET", "/contacts/{contact_id}/edit", "owner"),
    Case("contacts.delete", "GET", "/contacts/{contact_id}/delete", "owner"),
    Case("contacts.import_csv", "GET", "/contacts/import", "owner"),
    Case("contacts.import_sample", "GET", "/contacts/import/sample.csv", "owner"),
    Case("scheduling.invitees", "GET", "/calendars/{calendar_id}/invitees", "owner"),
    Case("scheduling.confirm_page", "GET",
         "/calendars/{calendar_id}/invitees/{invitee_id}/confirm?timeslot_id={timeslot_id}", "owner",
         note="a slot with another's meeting"),
    Case("scheduling.suggestions", "GET", "/calendars/{calendar_id}/suggestions", "owner"),
    Case("scheduling.suggestions", "GET", "/calendars/{calendar_id}/suggestions?k=3&option=2", "owner",
         note="an alternative opened"),
    Case("scheduling.confirm_page", "GET", "/calendars/{calendar_id}/invitees/{invitee_id}/confirm?show=free",
         "owner", note="another free time"),
    Case("calendars.detail", "GET", "/calendars/{calendar_id}/?week=2030-03-11", "owner", note="a chosen week"),
    Case("scheduling.schedule_csv", "GET", "/calendars/{calendar_id}/schedule.csv", "owner"),
    Case("scheduling.feed", "GET", "/feed/{feed_token}.ics", "anon"),
    # The invitee's pick page.
    Case("scheduling.pick", "GET", "/pick/{token}", "anon"),
    Case("scheduling.pick", "GET", "/pick/{token}?week=2030-03-11", "anon", note="a chosen week"),
    Case("scheduling.pick", "POST", "/pick/{token}", "anon", 302),
    Case("scheduling.pick_ics", "GET", "/pick/{confirmed_token}/meeting.ics", "anon"),
    # The API.
    Case("observability.healthz", "GET", "/healthz", "anon"),
    Case("api.openapi_json", "GET", "/api/openapi.json", "anon"),
    Case("api.docs", "GET", "/api/docs", "anon"),
    Case("api_accounts.Signin", "GET", "/api/accounts/signin/", "anon"),
    Case("api_accounts.Signup", "GET", "/api/accounts/signup/", "anon"),
    Case("api_accounts.Profile", "GET", "/api/accounts/profile/", "api"),
    Case("api_calendars.Calendars", "GET", "/api/calendars/", "api"),
    Case("api_calendars.CalendarDetail", "GET", "/api/calendars/{calendar_id}/", "api"),
    Case("api_calendars.calendar_timeslots", "GET", "/api/calendars/{calendar_id}/timeslots/", "api"),
    Case("api_calendars.calendar_timeslots", "GET", "/api/calendars/{calendar_id}/timeslots/", "link"),
    Case("api_contacts.Contacts", "GET", "/api/contacts/", "api"),
    Case("api_contacts.ContactDetail", "GET", "/api/contacts/{contact_id}/", "api"),
    Case("api_scheduling.EventDetail", "GET", "/api/events/{event_id}/", "api"),
    Case("api_scheduling.EventDetail", "GET", "/api/events/{event_id}/", "link"),
    Case("api_scheduling.suggested", "GET", "/api/calendars/{calendar_id}/suggested/", "api"),
    Case("api_scheduling.calendar_invitees", "GET", "/api/calendars/{calendar_id}/invitees/", "api"),
    Case("api_scheduling.timeslot_events", "GET", "/api/timeslots/{timeslot_id}/events/", "api"),
]


@dataclass
class Owner:
    """One seeded owner, with a signed-in browser, an API token and a feed token."""

    data: Seeded
    browser: object
    api_token: str
    feed_token: str
    values: dict = field(default_factory=dict)


@dataclass
class World:
    app: Flask
    engine: sa.Engine
    anonymous: object
    owners: dict[str, Owner]


def _owner(app: Flask, data: Seeded) -> Owner:
    from oneonone.accounts.models import User

    with app.app_context():
        user = db.session.get(User, data.owner_id)
        with unit_of_work():
            api_token = issue_api_token(user)
            feed_token = rotate_feed_token(user)
        db.session.remove()
    # Signed in outside any pushed app context: Flask-Login caches the user in `g`, which a shared
    # app context would carry from one request to the next.
    browser = app.test_client()
    response = browser.post("/accounts/signin", data={"email": data.email, "password": data.password})
    assert response.status_code == 302, response.get_data(as_text=True)
    values = {
        "calendar_id": data.calendar_id, "timeslot_id": data.confirmed_timeslot_id,
        "contact_id": data.pick_contact_id,
        "invitee_id": data.pick_invitee_id, "event_id": data.pick_event_id, "token": data.pick_token,
        "confirmed_token": data.confirmed_token, "feed_token": feed_token,
    }
    return Owner(data=data, browser=browser, api_token=api_token, feed_token=feed_token, values=values)


@pytest.fixture(scope="module")
def world(_schema, database_url, mail_server, tmp_path_factory) -> Iterator[World]:
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": database_url, "MAIL_PORT": mail_server.port,
                      "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads"))})
    with app.app_context():
        engine = db.engine
        empty_tables(engine)
        small = seed_owner_calendar("small", slots=5, invitees=3, unanswered=1, picks=5, confirmed=1,
                                    uninvited_contacts=2)
        large = seed_owner_calendar("large", slots=500, invitees=200, unanswered=20, picks=2000, confirmed=5,
                                    uninvited_contacts=50, extra_calendars=59)
        db.session.remove()
    owners = {"small": _owner(app, small), "large": _owner(app, large)}
    # No app context stays pushed: each request gets its own, and its own database session, as in production.
    yield World(app=app, engine=engine, anonymous=app.test_client(), owners=owners)
    with app.app_context():
        db.session.remove()
        empty_tables(engine)
        engine.dispose()


def _request(world: World, owner: Owner, case: Case):
    url = case.url.format(**owner.values)
    headers = {}
    client = world.anonymous
    if case.auth == "owner":
        client = owner.browser
    elif case.auth == "api":
        headers["Authorization"] = f"Bearer {owner.api_token}"
    elif case.auth == "link":
        headers["Authorization"] = f"Bearer {owner.data.pick_token}"
    if case.method == "POST":
        return client.post(url, data=owner.data.pick_form(), headers=headers)
    return client.get(url, headers=headers)


def _measure(world: World, owner: Owner, case: Case):
    _request(world, owner, case)  # warm up: first connections, caches filled once per process
    with count_queries(world.app, world.engine) as queries:
        response = _request(world, owner, case)
    assert response.status_code == case.status, (
        f"{owner.data.name}: {case.method} {response.request.path} answered {response.status_code}\n"
        + response.get_data(as_text=True)[:2000])
    return queries


def _params():
    for case in CASES:
        marks = []
        if case.id in KNOWN_N_PLUS_ONE:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_N_PLUS_ONE[case.id]))
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", _params())
def test_query_count_is_small_and_does_not_grow_with_the_data(world, case):
    small = _measure(world, world.owners["small"], case)
    large = _measure(world, world.owners["large"], case)
    print(f"query budget: {case.id}: small {small.count}, large {large.count}; "
          f"rows small {small.rows}, large {large.rows}")  # shown with -s or -rA
    details = f"\n--- small calendar: {small.report()}\n--- large calendar: {large.report()}"
    budget = BUDGET[case.method]
    assert large.count <= budget, f"{large.count} queries on the large calendar (budget {budget}){details}"
    assert large.rows <= ROWS_CAP, (
        f"{large.rows} objects loaded on the large calendar (at most {ROWS_CAP}: bounded by the screen){details}")
    assert large.count == small.count, (
        f"{small.count} queries on the small calendar but {large.count} on the large one{details}")


def test_every_get_route_has_a_budget_case(world):
    covered = {case.endpoint for case in CASES}
    routes = {rule.endpoint: rule.rule for rule in world.app.url_map.iter_rules()
              if "GET" in (rule.methods or ())}
    missing = sorted(f"{endpoint} ({rule})" for endpoint, rule in routes.items()
                     if endpoint not in covered and endpoint not in EXEMPT)
    assert not missing, f"GET routes with no query-budget case in {__name__}: {missing}"
    stale = sorted((covered | set(EXEMPT)) - set(routes))
    assert not stale, f"cases or exemptions for routes that no longer exist: {stale}"


def test_the_large_calendar_is_as_large_as_promised(world):
    from oneonone.calendars.models import Timeslot
    from oneonone.scheduling.models import Event, Invitee

    calendar_id = world.owners["large"].data.calendar_id
    with world.app.app_context():
        count = {model.__name__: db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.calendar_id == calendar_id))
            for model in (Timeslot, Invitee, Event)}
        confirmed = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
            Event.calendar_id == calendar_id, Event.confirmed))
    assert count == {"Timeslot": 500, "Invitee": 200, "Event": 2000}
    assert confirmed == 5



def test_the_counter_counts_the_request_and_nothing_else(world):
    from oneonone.accounts.models import User

    owner = world.owners["small"]
    with count_queries(world.app, world.engine) as queries:
        with world.app.app_context():
            db.session.scalar(sa.select(sa.func.count()).select_from(User))  # not a request: not counted
            db.session.remove()
        response = owner.browser.get("/accounts/signout")  # one query: the session and its user
    assert response.status_code == 200
    assert queries.count == 1, queries.report()
    assert queries.statements[0].lstrip().startswith("SELECT user_sessions.")
