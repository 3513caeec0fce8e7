"""The JSON API: contract (URLs, methods, fields, status codes, error shape), auth and ownership."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from mailsink import link_in, text_of

from oneonone.accounts.models import ApiToken, User
from oneonone.accounts.services import issue_api_token
from oneonone.calendars.models import Calendar, Timeslot
from oneonone.contacts.models import Contact
from oneonone.scheduling.models import Event, Invitee
from oneonone.transaction import unit_of_work

DEFAULT_PASSWORD = "correct-horse-battery"  # tests/conftest.py makes every user with it

LINK_RE = re.compile(r"http://oneonone\.test/pick/([A-Za-z0-9_\-]+)")
ERROR_KEYS = {"error", "message", "fields"}
SIGNUP = {"first_name": "Ada", "last_name": "Lovelace", "username": "ada", "email": "ada@example.com",
          "password": "analytical-engine", "repeat_password": "analytical-engine"}


class Api:
    """The Flask test client speaking JSON with a bearer token."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token

    def request(self, method: str, path: str, body=None, *, token: str | None = "default", **kwargs):
        token = self.token if token == "default" else token
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            kwargs["json"] = body
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def assert_error(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str) and body["message"]
    for name in fields:
        assert name in body["fields"], body
    return body


@pytest.fixture
def api(client, owner):
    with unit_of_work():
        return Api(client, issue_api_token(owner))


@pytest.fixture
def intruder(client, make_user):
    intruder = make_user(email="intruder@example.com", username="intruder")
    with unit_of_work():
        return Api(client, issue_api_token(intruder))


@pytest.fixture
def world(ada_and_bob):
    """The owner's calendar (Europe/London) with two slots, two contacts, Ada invited."""
    day = ada_and_bob(invite=("ada",))
    invitee, token = day.links["ada"]
    return {"calendar": day.calendar, "ada": day.ada, "bob": day.bob, "nine": day.nine, "ten": day.ten,
            "invitee": invitee, "token": token}


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ---- framework: slashes, 404/405/415, session cookies, CSRF, OpenAPI, docs -------------------

@pytest.mark.parametrize("path", ["/api/accounts/profile", "/api/contacts", "/api/calendars",
                                  "/api/openapi.json", "/api/docs"])
def test_every_path_answers_with_and_without_trailing_slash(api, path):
    for variant in (path, path + "/"):
        response = api.get(variant)
        assert response.status_code == 200, variant
        assert "Location" not in response.headers


def test_item_paths_answer_with_and_without_trailing_slash(api, world):
    calendar, slot = world["calendar"], world["nine"]
    for path in (f"/api/calendars/{calendar.id}", f"/api/calendars/{calendar.id}/timeslots",
                 f"/api/contacts/{world['ada'].id}", f"/api/timeslots/{slot.id}/events",
                 f"/api/calendars/{calendar.id}/suggested"):
        assert api.get(path).status_code == 200, path
        assert api.get(path + "/").status_code == 200, path
    response = api.put(f"/api/calendars/{calendar.id}/timeslots/{slot.id}", {"high_priority": True})
    assert response.status_code == 200


def test_signup_without_trailing_slash_is_not_redirected(client):
    response = client.post("/api/accounts/signup", json=SIGNUP)
    assert response.status_code == 201


def test_unknown_path_and_unlisted_method(api, world):
    assert_error(api.get("/api/no-such-thing/"), 404)
    response = api.request("PATCH", "/api/contacts/")
    assert_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    # PUT replaces a calendar (tests/test_calendar_details.py): a body without the required fields is a 400.
    response = api.put(f"/api/calendars/{world['calendar'].id}/", {"name": "x"})
    assert_error(response, 400, "start_date", "end_date")
    response = api.request("PUT", "/api/calendars/")
    assert_error(response, 405)
    assert "PUT" not in response.headers["Allow"]
    assert_error(api.get("/api/accounts/delete/"), 405)
    assert_error(api.delete("/api/events/"), 405)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("first_name=Ada&last_name=L&email=a%40example.org", "application/x-www-form-urlencoded"),
        ('{"first_name": "Ada"}', "text/plain"),
        ("", None),
        ("{not json", "application/json"),
        ("", "application/json"),
        ('{"first_name": NaN}', "application/json"),
        (b"\xff\xfe\xfa", "application/json"),
    ],
)
def test_a_body_that_is_not_json_is_415(api, db, data, content_type):
    response = api.post("/api/contacts/", data=data, content_type=content_type)
    assert_error(response, 415)
    assert _count(db, Contact) == 0


def test_deeply_nested_json_is_refused_not_crashed(api):
    response = api.post("/api/contacts/", data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code in (400, 415)


def test_a_json_body_that_is_not_an_object_is_400(api):
    for body in ([], "text", 5, None):
        response = api.post("/api/contacts/", data=__import__("json").dumps(body),
                            content_type="application/json")
        assert_error(response, 400)


def test_session_cookie_is_not_accepted(owner_client):
    response = owner_client.get("/api/accounts/profile/")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_csrf_does_not_apply_to_the_api(client, owner):
    response = client.post("/api/accounts/signin/", json={"email": owner.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    token = response.get_json()["token"]
    response = Api(client, token).post("/api/contacts/", {"first_name": "A", "last_name": "B",
                                                         "email": "ab@example.org"})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not-a-real-token",
     "Bearer " + "x" * 5000],
)
def test_missing_or_bad_token_is_401_with_challenge(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/contacts/", headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_openapi_document_is_generated_and_complete(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ownerToken"] == {**schemes["ownerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["invitationToken"]["scheme"] == "bearer"
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "delete", "patch")}
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routed |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), (path, method)
            if operation.get("security"):
                assert "401" in operation["responses"], (path, method)
    contacts = spec["paths"]["/api/contacts/"]["get"]
    assert {p["name"] for p in contacts["parameters"]} >= {"page", "per_page"}
    assert "X-Total-Count" in contacts["responses"]["200"]["headers"]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == ERROR_KEYS


def test_docs_page_is_served_without_a_cdn(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith(("/", "#")) for s in sources), sources
    for source in sources:
        if source.startswith(("/static/", "/api/docs/assets/")):
            with client.get(source) as asset:
                assert asset.status_code == 200, source
    assert "/api/openapi.json" in html
    assert "POST" in html and "/api/events/" in html  # the no-JavaScript list of operations
    with client.get("/api/docs/assets/index.html") as private:
        assert private.status_code == 404


# ---- accounts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/accounts/signup/", "/api/accounts/signin/"])
def test_get_describes_the_expected_fields(client, path):
    body = client.get(path).get_json()
    expected = set(SIGNUP) if "signup" in path else {"email", "password"}
    assert expected <= set(body["fields"])
    for name in expected:
        assert body["fields"][name]["required"] is True
        assert body["fields"][name]["type"] == "string"


def test_signup_signin_and_use_the_token(client, db):
    response = client.post("/api/accounts/signup/", json={**SIGNUP, "timezone": "Europe/London"})
    assert response.status_code == 201
    user = response.get_json()
    assert user == {**user, "username": "ada", "email": "ada@example.com", "first_name": "Ada",
                    "last_name": "Lovelace", "timezone": "Europe/London", "email_verified": False}
    assert "password" not in user and "id" not in user  # the same answer as for a taken address
    response = client.post("/api/accounts/signin/",
                           json={"email": "ADA@example.com", "password": SIGNUP["password"]})
    assert response.status_code == 200
    token = response.get_json()["token"]
    assert len(token) >= 32
    assert db.session.scalar(sa.select(ApiToken.token_hash)) != token  # stored hashed
    profile = Api(client, token).get("/api/accounts/profile/").get_json()
    assert profile["username"] == "ada" and isinstance(profile["id"], int)


def test_signup_names_every_missing_field(client, db):
    body = assert_error(client.post("/api/accounts/signup/", json={}), 400, *SIGNUP)
    assert set(body["fields"]) == set(SIGNUP)
    assert _count(db, User) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"username": "a b"}, "username"),
        ({"password": "short", "repeat_password": "short"}, "password"),
        ({"repeat_password": "something-else"}, "repeat_password"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"first_name": "x" * 121}, "first_name"),
        ({"first_name": "x" * 100_000}, "first_name"),
        ({"first_name": None}, "first_name"),
        ({"first_name": 5}, "first_name"),
        ({"last_name": ["a"]}, "last_name"),
        ({"last_name": "nul\x00byte"}, "last_name"),
        ({"last_name": "\ud800"}, "last_name"),
        ({"email": {"a": 1}}, "email"),
    ],
)
def test_signup_refuses_bad_input(client, db, changes, field):
    assert_error(client.post("/api/accounts/signup/", json={**SIGNUP, **changes}), 400, field)
    assert _count(db, User) == 0


def test_signup_accepts_unicode_names(client):
    response = client.post("/api/accounts/signup/",
                           json={**SIGNUP, "first_name": "Zoë 🎉", "last_name": "Ōtsuka"})
    assert response.status_code == 201
    assert response.get_json()["first_name"] == "Zoë 🎉"


@pytest.mark.parametrize("body", [{"email": "owner1@example.com", "password": "wrong-password"},
                                  {"email": "nobody@example.com", "password": DEFAULT_PASSWORD}])
def test_signin_refuses_wrong_credentials(client, owner, body):
    assert_error(client.post("/api/accounts/signin/", json=body), 401)


def test_signin_names_missing_fields(client):
    assert_error(client.post("/api/accounts/signin/", json={}), 400, "email", "password")


def test_signout_revokes_only_that_token(client, owner):
    first, second = issue_api_token(owner), issue_api_token(owner)
    response = Api(client, first).post("/api/accounts/signout/")
    assert response.status_code == 204 and response.data == b""
    assert_error(Api(client, first).get("/api/accounts/profile/"), 401)
    assert Api(client, second).get("/api/accounts/profile/").status_code == 200


def test_profile_partial_update(api, owner):
    response = api.put("/api/accounts/profile/", {"first_name": "Grace", "timezone": "America/New_York"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["first_name"] == "Grace" and body["timezone"] == "America/New_York"
    assert body["last_name"] == owner.last_name and body["email"] == owner.email


def test_profile_email_change_needs_the_current_password(api, owner, client, mailbox):
    assert_error(api.put("/api/accounts/profile/", {"email": "new@example.com"}), 400, "current_password")
    response = api.put("/api/accounts/profile/",
                       {"email": "new@example.com", "current_password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert response.get_json()["email"] == owner.email and response.get_json()["pending_email"] == "new@example.com"
    # The new address takes over when its link is opened; that signs out every token.
    [mail] = mailbox.to("new@example.com")
    assert client.get(link_in(mail, "/accounts/verify/")).status_code == 302
    assert_error(api.get("/api/accounts/profile/"), 401)
    assert client.post("/api/accounts/signin/", json={"email": "new@example.com",
                                                      "password": DEFAULT_PASSWORD}).status_code == 200


def test_profile_password_change(api, client, owner):
    response = api.put("/api/accounts/profile/", {"password": "a-brand-new-secret",
                                                  "current_password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert client.post("/api/accounts/signin/", json={"email": owner.email,
                                                      "password": "a-brand-new-secret"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "a-brand-new-secret"}, "current_password"),
        ({"password": "a-brand-new-secret", "current_password": "wrong-password"}, "current_password"),
        ({"password": "short", "current_password": DEFAULT_PASSWORD}, "password"),
        ({"first_name": "Grace", "password": "short", "current_password": DEFAULT_PASSWORD}, "password"),
        ({"first_name": "", "password": "a-brand-new-secret", "current_password": DEFAULT_PASSWORD},
         "first_name"),
        ({"username": "no spaces allowed"}, "username"),
        ({"timezone": "Nowhere/Special"}, "timezone"),
        ({"first_name": None}, "first_name"),
    ],
)
def test_profile_refuses_bad_changes_and_writes_nothing(api, owner, db, body, field):
    before = (owner.first_name, owner.username, owner.password_hash, owner.timezone)
    assert_error(api.put("/api/accounts/profile/", body), 400, field)
    db.session.expire_all()
    user = db.session.get(User, owner.id)
    assert (user.first_name, user.username, user.password_hash, user.timezone) == before


def test_delete_account(api, owner, world, db):
    assert_error(api.request("DELETE", "/api/accounts/delete/", {}), 400, "password")
    assert_error(api.request("DELETE", "/api/accounts/delete/", {"password": "not-my-password"}), 400, "password")
    assert _count(db, User) == 1
    response = api.request("DELETE", "/api/accounts/delete/", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 204
    assert_error(api.get("/api/accounts/profile/"), 401)
    assert _count(db, User) == 0 and _count(db, Calendar) == 0 and _count(db, Contact) == 0


# ---- contacts ---------------------------------------------------------------------------------

def test_contacts_crud(api, db):
    response = api.post("/api/contacts/", {"first_name": "Ada", "last_name": "Lovelace",
                                           "email": "Ada@Example.org",
                                           "user": 999})
    assert response.status_code == 201
    contact = response.get_json()
    assert contact == {**contact, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
                       "image_url": None}
    url = f"/api/contacts/{contact['id']}/"
    assert api.get(url).get_json() == contact
    response = api.put(url, {"last_name": "King"})
    assert response.status_code == 200 and response.get_json()["last_name"] == "King"
    assert response.get_json()["email"] == "ada@example.org"
    assert api.delete(url).status_code == 204
    assert_error(api.get(url), 404)
    assert _count(db, Contact) == 0


def test_contacts_list_is_paginated_and_searchable(api, owner, make_contact):
    for name in ("Cy", "Ann", "Bea"):
        make_contact(owner=owner, first_name=name, last_name=name + "son", email=f"{name}@example.org")
    response = api.get("/api/contacts/")
    assert [c["first_name"] for c in response.get_json()] == ["Ann", "Bea", "Cy"]
    assert response.headers["X-Total-Count"] == "3"
    response = api.get("/api/contacts/?per_page=2&page=2")
    assert [c["first_name"] for c in response.get_json()] == ["Cy"]
    assert 'rel="prev"' in response.headers["Link"]
    response = api.get("/api/contacts/?per_page=1")
    assert len(response.get_json()) == 1 and 'rel="next"' in response.headers["Link"]
    assert len(api.get("/api/contacts/?per_page=5000&page=-3").get_json()) == 3  # clamped, not refused
    assert len(api.get("/api/contacts/?per_page=abc&page=99999999999999999999").get_json()) == 0
    response = api.get("/api/contacts/?search=bea")
    assert [c["first_name"] for c in response.get_json()] == ["Bea"]
    assert response.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("first_name", "last_name", "email")),
        ({"first_name": "A", "last_name": "B", "email": "nope"}, ("email",)),
        ({"first_name": "", "last_name": "B", "email": "a@example.org"}, ("first_name",)),
        ({"first_name": "A" * 121, "last_name": "B", "email": "a@example.org"}, ("first_name",)),
        ({"first_name": 1, "last_name": True, "email": None}, ("first_name", "last_name", "email")),
    ],
)
def test_contact_create_refuses_bad_input(api, db, body, fields):
    assert_error(api.post("/api/contacts/", body), 400, *fields)
    assert _count(db, Contact) == 0


def test_contact_duplicate_email_is_refused(api, owner, make_contact):
    make_contact(owner=owner, email="ada@example.org")
    body = {"first_name": "A", "last_name": "B", "email": "ADA@example.org"}
    assert_error(api.post("/api/contacts/", body), 400, "email")


# ---- calendars and timeslots ------------------------------------------------------------------

def test_calendar_create_list_get_delete(api, owner, db):
    response = api.post("/api/calendars/", {"name": "Office hours", "start_date": "2030-03-04",
                                            "end_date": "2030-03-08", "owner": 12345})
    assert response.status_code == 201
    calendar = response.get_json()
    assert calendar == {**calendar, "name": "Office hours", "start_date": "2030-03-04",
                        "end_date": "2030-03-08",
                        "owner": owner.id, "timezone": owner.timezone, "response_deadline": None}
    listed = api.get("/api/calendars/")
    assert listed.get_json() == [calendar] and listed.headers["X-Total-Count"] == "1"
    detail = api.get(f"/api/calendars/{calendar['id']}/").get_json()
    assert detail == {**calendar, "timeslots": [], "timeslots_total": 0,
                      "timeslots_url": f"/api/calendars/{calendar['id']}/timeslots/"}
    assert api.delete(f"/api/calendars/{calendar['id']}/").status_code == 204
    assert _count(db, Calendar) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"start_date": "2030-03-09"}, "end_date"),
        ({"start_date": "04/03/2030"}, "start_date"),
        ({"end_date": "2030-02-30"}, "end_date"),
        ({"start_date": "9999-12-31", "end_date": "9999-12-31"}, "start_date"),
        ({"start_date": 20300304}, "start_date"),
        ({"timezone": "Not/AZone"}, "timezone"),
        ({"response_deadline": "tomorrow"}, "response_deadline"),
        ({"name": None}, "name"),
    ],
)
def test_calendar_create_refuses_bad_input(api, db, changes, field):
    body = {"name": "Office hours", "start_date": "2030-03-04", "end_date": "2030-03-08", **changes}
    assert_error(api.post("/api/calendars/", body), 400, field)
    assert _count(db, Calendar) == 0


def test_add_timeslot_reads_naive_times_in_the_calendars_zone(api, owner, make_calendar):
    calendar = make_calendar(owner=owner, timezone="America/New_York", start_date=dt.date(2030, 3, 4))
    response = api.post(f"/api/calendars/{calendar.id}/", {"start_time": "2030-03-04T09:00",
                                                           "end_time": "2030-03-04T09:30"})
    assert response.status_code == 201
    slot = response.get_json()
    assert slot == {**slot, "calendar": calendar.id, "high_priority": False}
    assert dt.datetime.fromisoformat(slot["start_time"]) == dt.datetime(2030, 3, 4, 14, 0, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(slot["end_time"]).utcoffset() is not None
    response = api.post(f"/api/calendars/{calendar.id}/", {"start_time": "2030-03-05T09:00:00Z",
                                                           "end_time": "2030-03-05T10:00:00+00:00",
                                                           "high_priority": True})
    assert response.status_code == 201
    slot = response.get_json()
    assert dt.datetime.fromisoformat(slot["start_time"]) == dt.datetime(2030, 3, 5, 9, 0, tzinfo=dt.UTC)
    assert slot["high_priority"] is True
    detail = api.get(f"/api/calendars/{calendar.id}/").get_json()
    assert [s["id"] for s in detail["timeslots"]] == [s["id"] for s in api.get(
        f"/api/calendars/{calendar.id}/timeslots/").get_json()]
    assert len(detail["timeslots"]) == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"start_time": "2030-06-03T09:15", "end_time": "2030-06-03T09:45"}, 409, "start_time"),
        ({"start_time": "2030-06-03T11:00", "end_time": "2030-06-03T10:30"}, 400, "end_time"),
        ({"start_time": "2031-01-01T09:00", "end_time": "2031-01-01T10:00"}, 400, "start_time"),
        ({"start_time": "soon", "end_time": "2030-06-03T10:30"}, 400, "start_time"),
        ({"end_time": "2030-06-03T10:30"}, 400, "start_time"),
        ({"start_time": "2030-06-03T12:00", "end_time": "2030-06-03T12:30", "high_priority": "yes"},
         400, "high_priority"),
        ({"start_time": 5, "end_time": None}, 400, "end_time"),
    ],
)
def test_add_timeslot_refuses_bad_input(api, world, db, body, status, field):
    assert_error(api.post(f"/api/calendars/{world['calendar'].id}/", body), status, field)
    assert _count(db, Timeslot) == 2


def test_update_and_delete_timeslot(api, world, make_event, db):
    calendar, slot = world["calendar"], world["nine"]
    url = f"/api/calendars/{calendar.id}/timeslots/{slot.id}/"
    response = api.put(url, {"start_time": "2030-06-03T08:00+01:00", "high_priority": True})
    assert response.status_code == 200
    body = response.get_json()
    assert dt.datetime.fromisoformat(body["start_time"]) == dt.datetime(2030, 6, 3, 7, 0, tzinfo=dt.UTC)
    assert body["high_priority"] is True
    assert_error(api.put(url, {"start_time": "2030-06-03T10:15", "end_time": "2030-06-03T10:45"}), 409,
                 "start_time")
    assert_error(api.put(url, {"end_time": "2030-06-03T07:00"}), 400, "end_time")
    make_event(slot, world["ada"], confirmed=True)
    assert_error(api.delete(url), 409, "confirm")
    assert api.delete(url + "?confirm=true").status_code == 204
    assert db.session.get(Timeslot, slot.id) is None


def test_invitee_lists_only_its_own_calendars_timeslots(client, world, owner, make_calendar, make_contact,
                                                        make_invitee):
    invitee_api = Api(client, world["token"])
    response = invitee_api.get(f"/api/calendars/{world['calendar'].id}/timeslots/")
    assert response.status_code == 200
    assert [s["id"] for s in response.get_json()] == [world["nine"].id, world["ten"].id]
    other = make_calendar(owner=owner, name="Other")
    assert_error(invitee_api.get(f"/api/calendars/{other.id}/timeslots/"), 404)
    # An invitation token is not an owner token.
    for path in ("/api/contacts/", f"/api/calendars/{world['calendar'].id}/", "/api/accounts/profile/",
                 f"/api/timeslots/{world['nine'].id}/events/"):
        assert_error(invitee_api.get(path), 403)


# ---- invitations, picks, suggestions, finalizing ----------------------------------------------

def test_invite_emails_a_link_whose_token_works_as_a_bearer_token(api, client, world, mailbox, db):
    calendar, bob = world["calendar"], world["bob"]
    response = api.post(f"/api/calendars/{calendar.id}/contacts/{bob.id}/")
    assert response.status_code == 201
    invitee = response.get_json()
    assert invitee == {**invitee, "calendar_id": calendar.id, "contact_id": bob.id, "responded": False}
    token = LINK_RE.fullmatch(invitee["link"]).group(1)
    messages = mailbox.to("bob@example.org")
    assert len(messages) == 1
    assert invitee["link"] in text_of(messages[0])
    invitee_api = Api(client, token)
    assert invitee_api.get(f"/api/calendars/{calendar.id}/timeslots").status_code == 200
    response = invitee_api.post("/api/events/", {"calendar": calendar.id, "timeslot": world["ten"].id,
                                                 "contact": bob.id, "preference": "if_need_be"})
    assert response.status_code == 201
    # Inviting again: the existing invitee, no new link and no new email.
    again = api.post(f"/api/calendars/{calendar.id}/contacts/{bob.id}")
    assert again.status_code == 200
    assert again.get_json() == {**invitee, "link": None, "responded": True}
    assert len(mailbox.to("bob@example.org")) == 1
    assert _count(db, Invitee) == 2


def test_invite_refuses_another_owners_contact(api, world, make_contact, make_user):
    stranger = make_contact(owner=make_user())
    assert_error(api.post(f"/api/calendars/{world['calendar'].id}/contacts/{stranger.id}/"), 404)


def test_invitee_picks_and_picking_again_returns_the_same_event(client, world, db):
    invitee_api = Api(client, world["token"])
    body = {"calendar": world["calendar"].id, "timeslot": world["nine"].id, "contact": world["ada"].id}
    response = invitee_api.post("/api/events/", body)
    assert response.status_code == 201
    event = response.get_json()
    assert event == {**event, "calendar": world["calendar"].id, "timeslot": world["nine"].id,
                     "contact": world["ada"].id, "confirmed": False, "preference": "preferred"}
    again = invitee_api.post("/api/events", body)
    assert again.status_code == 200 and again.get_json()["id"] == event["id"]
    assert _count(db, Event) == 1
    assert invitee_api.get(f"/api/events/{event['id']}/").get_json()["status"] == "picked"


def test_invitee_cannot_pick_for_someone_else_or_elsewhere(client, world, make_invitee, make_calendar,
                                                           make_timeslot, owner, db):
    invitee_api = Api(client, world["token"])
    body = {"calendar": world["calendar"].id, "timeslot": world["nine"].id, "contact": world["bob"].id}
    assert_error(invitee_api.post("/api/events/", body), 403, "contact")
    other = make_calendar(owner=owner, name="Other", start_date=dt.date(2030, 6, 3))
    other_slot = make_timeslot(other, "09:00")
    assert_error(invitee_api.post("/api/events/", {**body, "calendar": other.id, "timeslot": other_slot.id,
                                                   "contact": world["ada"].id}), 404)
    assert_error(invitee_api.post("/api/events/", {**body, "timeslot": other_slot.id,
                                                   "contact": world["ada"].id}), 400, "timeslot")
    assert _count(db, Event) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preference": "sometimes"}, "preference"),
        ({"timeslot": "1"}, "timeslot"),
        ({"timeslot": -1}, "timeslot"),
        ({"timeslot": 2**40}, "timeslot"),
        ({"calendar": None}, "calendar"),
        ({"contact": 1.5}, "contact"),
        ({"contact": True}, "contact"),
    ],
)
def test_event_create_refuses_bad_input(client, world, db, changes, field):
    body = {"calendar": world["calendar"].id, "timeslot": world["nine"].id, "contact": world["ada"].id,
            **changes}
    assert_error(Api(client, world["token"]).post("/api/events/", body), 400, field)
    assert _count(db, Event) == 0


def test_picking_a_slot_confirmed_for_someone_else_is_409(client, world, make_invitee, make_event, db):
    make_invitee(world["calendar"], world["bob"])
    make_event(world["nine"], world["bob"], confirmed=True)
    body = {"calendar": world["calendar"].id, "timeslot": world["nine"].id, "contact": world["ada"].id}
    assert_error(Api(client, world["token"]).post("/api/events/", body), 409)
    assert _count(db, Event) == 1


def test_closed_answers_refuse_picking_again_a_slot_already_picked(client, world, make_event, db):
    """The API applies the pick page's rules in the same order: answers closed is a refusal even for a
    pick that exists (it used to return the existing pick with 200)."""
    make_event(world["nine"], world["ada"])
    body = {"calendar": world["calendar"].id, "timeslot": world["nine"].id, "contact": world["ada"].id}
    invitee_api = Api(client, world["token"])
    world["calendar"].response_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()
    assert_error(invitee_api.post("/api/events/", body), 403)
    world["calendar"].response_deadline = None
    make_event(world["ten"], world["ada"], confirmed=True)
    db.session.commit()
    assert_error(invitee_api.post("/api/events/", body), 409)
    assert _count(db, Event) == 2


def test_owner_picks_on_behalf_of_an_invitee_only(api, world, db):
    body = {"calendar": world["calendar"].id, "timeslot": world["ten"].id, "contact": world["ada"].id}
    response = api.post("/api/events/", body)
    assert response.status_code == 201
    assert_error(api.post("/api/events/", {**body, "contact": world["bob"].id}), 404, "contact")
    assert _count(db, Event) == 1


def test_timeslot_events_lists_the_picks(api, world, make_invitee, make_event):
    make_invitee(world["calendar"], world["bob"])
    first = make_event(world["nine"], world["ada"])
    second = make_event(world["nine"], world["bob"], preference="if_need_be", confirmed=True)
    response = api.get(f"/api/timeslots/{world['nine'].id}/events/")
    assert [e["id"] for e in response.get_json()] == [second.id, first.id]
    assert response.headers["X-Total-Count"] == "2"
    assert response.get_json()[0] == {**response.get_json()[0], "confirmed": True, "preference": "if_need_be",
                                      "contact": world["bob"].id, "timeslot": world["nine"].id}
    assert api.get(f"/api/timeslots/{world['ten'].id}/events/").get_json() == []


def test_suggested_schedules(api, world, make_invitee, make_event):
    make_invitee(world["calendar"], world["bob"])
    ada_nine = make_event(world["nine"], world["ada"])
    ada_ten = make_event(world["ten"], world["ada"])
    response = api.get(f"/api/calendars/{world['calendar'].id}/suggested/?k=3")
    assert response.status_code == 200
    schedules = response.get_json()["schedules"]
    assert schedules[0] == {
        "score": {"scheduled": 1, "high_priority": 1, "preferred": 1},
        "assignments": [{"contact": world["ada"].id, "timeslot": world["ten"].id, "event": ada_ten.id,
                         "forced": True}],
        # Bob picked nothing: the free 09:00 would seat him, and so would 10:00 (Ada moves to 09:00).
        "unscheduled": [{"contact": world["bob"].id, "reason": "no_picks",
                         "would_fit": [world["nine"].id, world["ten"].id]}],
        "changes": [], "equally_good": False,
    }
    assert schedules[1]["assignments"][0]["event"] == ada_nine.id
    assert len(schedules) == 2
    assert len(api.get(f"/api/calendars/{world['calendar'].id}/suggested/").get_json()["schedules"]) == 2
    for k in ("0", "11", "x", "-1"):
        assert_error(api.get(f"/api/calendars/{world['calendar'].id}/suggested/?k={k}"), 400, "k")


def test_finalize_confirms_emails_an_ics_and_unconfirms_the_rest(api, client, world, make_invitee, make_event,
                                                                  mailbox, db):
    make_invitee(world["calendar"], world["bob"])
    ada = make_event(world["nine"], world["ada"])
    bob = make_event(world["nine"], world["bob"], confirmed=True)
    mailbox.messages.clear()
    response = api.put(f"/api/events/{ada.id}/", {"confirmed": True})
    assert response.status_code == 200
    assert response.get_json() == {**response.get_json(), "confirmed": True, "status": "confirmed"}
    db.session.expire_all()
    assert db.session.get(Event, bob.id).confirmed is False
    confirmed = mailbox.to("ada@example.org")
    assert len(confirmed) == 1
    assert any(part.get_content_type() == "text/calendar" for part in confirmed[0].walk())
    assert len(mailbox.to("bob@example.org")) == 1  # told their meeting is cancelled
    assert Api(client, world["token"]).get(f"/api/events/{ada.id}/").get_json()["status"] == "confirmed"
    response = api.put(f"/api/events/{ada.id}", {"confirmed": False})
    assert response.status_code == 200 and response.get_json()["confirmed"] is False


@pytest.mark.parametrize("body", [{}, {"confirmed": "yes"}, {"confirmed": 1}, {"confirmed": None}])
def test_finalize_refuses_bad_input(api, world, make_event, body):
    event = make_event(world["nine"], world["ada"])
    assert_error(api.put(f"/api/events/{event.id}/", body), 400, "confirmed")


def test_invitee_cannot_finalize_nor_see_others_events(client, world, make_invitee, make_event):
    make_invitee(world["calendar"], world["bob"])
    ada = make_event(world["nine"], world["ada"])
    bob = make_event(world["ten"], world["bob"])
    invitee_api = Api(client, world["token"])
    assert invitee_api.get(f"/api/events/{ada.id}/").status_code == 200
    assert_error(invitee_api.get(f"/api/events/{bob.id}/"), 404)
    assert_error(invitee_api.put(f"/api/events/{ada.id}/", {"confirmed": True}), 403)


# ---- every owner-only endpoint: no token is 401, another owner's token is 404 ------------------

PUBLIC = {("/api/accounts/signup/", "GET"), ("/api/accounts/signup/", "POST"),
          ("/api/accounts/signin/", "GET"), ("/api/accounts/signin/", "POST"),
          ("/api/accounts/password-reset/", "POST"), ("/api/accounts/password-reset/confirm/", "POST")}


def _api_operations(app) -> list[tuple[str, str]]:
    operations = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and not rule.endpoint.startswith("api."):
            operations += [(rule.rule, method) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(operations)


def _fill(rule: str, world: dict, event: Event) -> str:
    ids = {"calendar_id": world["calendar"].id, "contact_id": world["bob"].id,
           "timeslot_id": world["nine"].id,
           "event_id": event.id}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(ids[m.group(1)]), rule)


VALID_BODIES = {
    ("/api/accounts/profile/", "PUT"): {"first_name": "Mallory"},
    ("/api/contacts/", "POST"): {"first_name": "A", "last_name": "B", "email": "ab@example.org"},
    ("/api/contacts/<id:contact_id>/", "PUT"): {"first_name": "Mallory"},
    ("/api/calendars/", "POST"): {"name": "Mine", "start_date": "2030-06-03", "end_date": "2030-06-07"},
    ("/api/calendars/<id:calendar_id>/", "PUT"): {"name": "Mine", "start_date": "2030-06-03",
                                                  "end_date": "2030-06-07"},
    ("/api/calendars/<id:calendar_id>/", "POST"): {"start_time": "2030-06-03T15:00",
                                                   "end_time": "2030-06-03T16:00"},
    ("/api/calendars/<id:calendar_id>/timeslots/<id:timeslot_id>/", "PUT"): {"high_priority": True},
    ("/api/events/<id:event_id>/", "PUT"): {"confirmed": True},
    ("/api/calendars/<id:calendar_id>/invitees/<id:contact_id>/ask/", "POST"): {"timeslots": [1]},
    ("/api/accounts/delete/", "DELETE"): {"password": "whatever-it-is"},
}


def test_every_protected_endpoint_needs_a_token(app, client, world, make_event):
    event = make_event(world["nine"], world["ada"])
    operations = [op for op in _api_operations(app) if op not in PUBLIC]
    assert len(operations) >= 20
    for rule, method in operations:
        path = _fill(rule, world, event)
        response = Api(client).request(method, path, VALID_BODIES.get((rule, method), {}), token=None)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)


def test_every_owner_only_endpoint_hides_another_owners_objects(app, client, world, make_event, intruder, db):
    event = make_event(world["nine"], world["ada"])
    checked = 0
    for rule, method in _api_operations(app):
        if (rule, method) in PUBLIC or "<" not in rule:
            continue
        path = _fill(rule, world, event)
        response = intruder.request(method, path, VALID_BODIES.get((rule, method), {}))
        assert_error(response, 404)
        checked += 1
    assert checked >= 11
    # Events are created with ids in the body: another owner's calendar is not found either.
    body = {"calendar": world["calendar"].id, "timeslot": world["nine"].id, "contact": world["ada"].id}
    assert_error(intruder.post("/api/events/", body), 404)
    # And nothing of the owner's changed.
    db.session.expire_all()
    assert db.session.get(Contact, world["bob"].id).first_name == "Bob"
    assert db.session.get(Timeslot, world["nine"].id).high_priority is False
    assert db.session.get(Event, event.id).confirmed is False
    assert _count(db, Calendar) == 1 and _count(db, Invitee) == 1


def test_lists_show_only_your_own(intruder, world):
    assert intruder.get("/api/contacts/").get_json() == []
    assert intruder.get("/api/calendars/").get_json() == []


@pytest.mark.parametrize("item", ["0", "-1", "2147483648", "99999999999999999999", "abc", "1.5"])
def test_bad_ids_in_the_url_are_404(api, item):
    for path in (f"/api/contacts/{item}/", f"/api/calendars/{item}/", f"/api/events/{item}/",
                 f"/api/timeslots/{item}/events/"):
        assert_error(api.get(path), 404)


def test_a_replaced_invitation_link_is_refused_with_a_reason(client, world):
    from oneonone.scheduling.invitations import resend_invitation

    with unit_of_work():
        new_token = resend_invitation(world["invitee"])
    path = f"/api/calendars/{world['calendar'].id}/timeslots/"
    body = assert_error(Api(client, world["token"]).get(path), 401)
    assert "replaced" in body["message"]
    assert Api(client, new_token).get(path).status_code == 200
