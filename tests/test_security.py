"""Headers, cookies, CSRF on every form, rate limits (memory and Redis), production settings."""

from __future__ import annotations

import re
import uuid

import pytest
from werkzeug.routing import Rule

from config import TestConfig
from oneonone import create_app
from oneonone.errors import CSRF_MESSAGE
from oneonone.extensions import db as _db


def test_security_headers(client):
    response = client.get("/accounts/signin")
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_scripts_or_styles(client, owner_client):
    for url in ("/", "/accounts/signin", "/accounts/signup"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html and "<style" not in html, url


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = client.post("/accounts/signin", data={"email": user.email, "password": "correct-horse-battery"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in tests; production sets it (below)


def test_production_requires_a_secret_key_and_secure_cookies(database_url):
    base = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    base["SQLALCHEMY_DATABASE_URI"] = database_url
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app({**base, "APP_ENV": "production", "SECRET_KEY": None})
    with pytest.raises(RuntimeError, match="published"):
        create_app({**base, "APP_ENV": "production", "SECRET_KEY": "dev-only-insecure-secret-key"})
    app = create_app({**base, "APP_ENV": "production", "SECRET_KEY": uuid.uuid4().hex,
                      "SESSION_COOKIE_SECURE": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def _post_rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules()
            if "POST" in r.methods and not r.rule.startswith("/api")]


def _url(rule: Rule) -> str:
    values = {arg: ("x" * 43 if arg == "token" else 1) for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_every_form_refuses_a_missing_or_forged_csrf_token(app, client, make_user, app_config):
    rules = _post_rules(app)
    assert len(rules) >= 10  # the forms of every feature are enumerated
    for rule in rules:
        url = _url(rule)
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=data)
            assert response.status_code == 400, (url, data, response.status_code)
            assert CSRF_MESSAGE in response.get_data(as_text=True).replace("&#39;", "'"), url


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_forms_work_with_their_csrf_token(app, client, make_user, app_config):
    user = make_user()
    html = client.get("/accounts/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/accounts/signin", data={"csrf_token": token, "email": user.email,
                                                     "password": "correct-horse-battery"})
    assert response.status_code == 302


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_signin_is_rate_limited_per_email(client, make_user, app_config):
    user = make_user()
    statuses = [client.post("/accounts/signin", data={"email": user.email, "password": "wrong-password-x"}).status_code
                for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
    response = client.post("/accounts/signin", data={"email": user.email, "password": "wrong-password-x"})
    assert "Too many requests" in response.get_data(as_text=True)
    # Another email from the same address still gets its own attempts (the per-IP limit is higher).
    assert client.post("/accounts/signin", data={"email": "other@example.com", "password": "x" * 10}).status_code == 400


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_invitations_are_rate_limited_per_owner(owner_client, owner, make_calendar, make_contact, app_config):
    calendar = make_calendar(owner=owner)
    contact = make_contact(owner=owner)
    url, data = f"/calendars/{calendar.id}/invitees", {"contact_id": str(contact.id)}
    statuses = {owner_client.post(url, data=data).status_code for _ in range(31)}
    assert 429 in statuses


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_pick_submissions_are_rate_limited_per_link(client, make_calendar, make_contact, make_invitee, app_config):
    calendar = make_calendar()
    _, token = make_invitee(calendar, make_contact(owner=calendar.owner))
    statuses = [client.post(f"/pick/{token}", data={}).status_code for _ in range(31)]
    assert statuses[-1] == 429 and 429 not in statuses[:30]


def test_rate_limits_shared_through_redis(database_url, mail_server, make_user, db):
    """Two app instances (two processes in production) share counters through Redis."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    prefix = f"oneonone-test-{uuid.uuid4().hex}"
    config.update(SQLALCHEMY_DATABASE_URI=database_url, MAIL_PORT=mail_server.port, RATELIMIT_ENABLED=True,
                  RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379", RATELIMIT_KEY_PREFIX=prefix)
    user = make_user()
    first, second = create_app(config), create_app(config)
    statuses = []
    for n in range(11):
        app = first if n % 2 else second
        with app.test_client() as client:
            statuses.append(client.post("/accounts/signin",
                                        data={"email": user.email, "password": "wrong-password-x"}).status_code)
    for app in (first, second):
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
    assert statuses[-1] == 429 and 429 not in statuses[:10]
    server = redis.Redis(host="127.0.0.1", port=6379)
    keys = server.keys(f"*{prefix}*")
    assert keys  # the counters live in Redis, not in either process
    server.delete(*keys)
