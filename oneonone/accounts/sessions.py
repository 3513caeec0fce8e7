"""Sign-in sessions kept on the server: one row per signed-in browser.

The session cookie and the remember-me cookie carry a random secret naming that row (only its hash
is stored), never the user id. So signing out deletes the row and every copy of both cookies is dead;
a password change, a password reset or an email change ends the user's other sessions; a deleted
account's sessions go with it, and its cookies open nothing — whichever account later gets its id.
The state lives in the database, so it holds for any number of workers and servers.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask import current_app, request
from flask import session as flask_session
from flask_login import login_user
from sqlalchemy.orm import joinedload

from ..db_types import utcnow
from ..extensions import db
from .models import ApiToken, User, UserSession, hash_token

SECRET_PREFIX = "s."  # cookies from before sessions were kept on the server carry a bare user id
USER_ID_KEY = "uid"
TOUCH_EVERY = dt.timedelta(minutes=5)  # `last_seen_at` is written at most this often per session


def _idle_limit(session: UserSession) -> dt.timedelta:
    if session.remember:
        return current_app.config["REMEMBER_COOKIE_DURATION"]
    return dt.timedelta(days=float(current_app.config["SESSION_MAX_IDLE_DAYS"]))


def start_session(user: User, *, remember: bool = False) -> UserSession:
    """Sign `user` in on this browser: a new session row, its secret in the cookies."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id, secret_hash=hash_token(secret), remember=remember,
        user_agent=(request.user_agent.string or "")[:255],
        ip_address=(request.remote_addr or "")[:64],
    )
    db.session.add(row)
    db.session.flush()
    user.session_secret = secret
    user.session_id = row.id
    login_user(user, remember=remember)
    flask_session[USER_ID_KEY] = user.id  # for logs only (observability.user_label); never trusted
    return row


def user_for_session(secret: str) -> User | None:
    """The user a cookie's session secret belongs to, or None when that session has ended."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    row = db.session.scalar(sa.select(UserSession).options(joinedload(UserSession.user))
                            .where(UserSession.secret_hash == hash_token(secret)))
    if row is None:
        return None
    now = utcnow()
    if row.last_seen_at < now - _idle_limit(row):
        db.session.delete(row)
        return None
    if row.last_seen_at < now - TOUCH_EVERY:
        row.last_seen_at = now
    user = row.user
    user.session_secret = secret
    user.session_id = row.id
    return user


def end_session(user: User) -> None:
    """End the session this request is signed in with (sign-out)."""
    if user.session_secret:
        db.session.execute(sa.delete(UserSession).where(UserSession.secret_hash == hash_token(user.session_secret)))


def end_other_sessions(user: User, keep_session_id: int | None) -> int:
    """End every session of `user` but `keep_session_id` (the current one); returns how many ended."""
    query = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session_id is not None:
        query = query.where(UserSession.id != keep_session_id)
    return db.session.execute(query).rowcount


def end_all_sessions(user: User) -> None:
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))


def end_one_session(user: User, session_id: int) -> bool:
    """End one of the user's sessions (from the profile's list); True when it existed."""
    result = db.session.execute(sa.delete(UserSession).where(
        UserSession.user_id == user.id, UserSession.id == session_id))
    return result.rowcount == 1


def revoke_all_api_tokens(user: User) -> None:
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))


def active_sessions(user: User) -> list[UserSession]:
    """The user's sessions, the most recently seen first."""
    return list(db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python-", "a script"))
SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_device(user_agent: str) -> str:
    """'Firefox on Linux' from a User-Agent header, for the profile's list of sessions."""
    browser = next((name for token, name in BROWSERS if token in user_agent), "A browser")
    system = next((name for token, name in SYSTEMS if token in user_agent), None)
    return f"{browser} on {system}" if system else browser
