"""Sessions kept on the server hold under gunicorn -w 2 (issue 15), on SQLite and on PostgreSQL: a
cookie copied before sign-out opens nothing on either worker, and a server started without
SECRET_KEY makes a key of its own, keeps it across a restart, and never accepts the old public one."""

from __future__ import annotations

import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from .scenario import OWNER_PASSWORD
from .support import HTTP_TIMEOUT, csrf_token, sign_in


def _profile_status(cookies: dict[str, str], base_url: str) -> int:
    with requests.Session() as session:
        for name, value in cookies.items():
            session.cookies.set(name, value, domain="127.0.0.1", path="/")
        return session.get(f"{base_url}/accounts/profile", timeout=HTTP_TIMEOUT, allow_redirects=False).status_code


def test_a_copied_cookie_opens_nothing_on_any_worker_once_signed_out(
        app, db, make_user, gunicorn, smtp_sink, database_url, tmp_path):
    owner = make_user(password=OWNER_PASSWORD)
    server = gunicorn(database_url, smtp_sink.port, workers=2, SECRET_KEY="", INSTANCE_PATH=str(tmp_path / "inst"))
    key = (tmp_path / "inst" / "secret_key").read_text().strip()
    assert len(key) >= 32
    with requests.Session() as session:
        page = session.get(f"{server.url}/accounts/signin", timeout=HTTP_TIMEOUT)
        session.post(f"{server.url}/accounts/signin", timeout=HTTP_TIMEOUT, allow_redirects=False, data={
            "email": owner.email, "password": OWNER_PASSWORD, "remember": "y", "csrf_token": csrf_token(page.text)})
        copied = {cookie.name: cookie.value for cookie in session.cookies}
        assert {"session", "remember_token"} <= set(copied)
        # Twenty requests spread over both workers: the copy works while the session lives...
        assert {_profile_status(copied, server.url) for _ in range(20)} == {200}
        profile = session.get(f"{server.url}/accounts/profile", timeout=HTTP_TIMEOUT)
        session.post(f"{server.url}/accounts/signout", data={"csrf_token": csrf_token(profile.text)},
                     timeout=HTTP_TIMEOUT)
    # ...and on no worker once it has signed out, remember-me cookie included.
    assert {_profile_status(copied, server.url) for _ in range(20)} == {302}
    assert {_profile_status({"remember_token": copied["remember_token"]}, server.url) for _ in range(10)} == {302}

    # A restart without SECRET_KEY keeps this instance's key: a live session survives it.
    with requests.Session() as session:
        sign_in(session, server.url, owner.email, OWNER_PASSWORD)
        live = {cookie.name: cookie.value for cookie in session.cookies}
    server.stop()
    restarted = gunicorn(database_url, smtp_sink.port, workers=2, SECRET_KEY="",
                         INSTANCE_PATH=str(tmp_path / "inst"))
    assert (tmp_path / "inst" / "secret_key").read_text().strip() == key
    assert _profile_status(live, restarted.url) == 200
    # A cookie signed with the constant that used to be the default opens nothing.
    forger = Flask("forger")
    forger.secret_key = "dev-only-insecure-secret-key"
    forged = SecureCookieSessionInterface().get_signing_serializer(forger).dumps({"_user_id": str(owner.id)})
    assert _profile_status({"session": forged}, restarted.url) == 302
