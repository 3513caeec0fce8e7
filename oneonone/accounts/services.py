"""Account operations: sign-up, sign-in, profile, password, deletion, API and calendar-feed tokens.

Mail, queued by `recovery`'s `queue_…` functions in the request's transaction and sent by the outbox
only after it commits (none if it rolls back): sign-up queues a verification link, or, when the
address already has an account, a sign-up-attempt notice to it; an email change queues a link to the
new address and a security notice to the old one; a password change queues a security notice.
Deleting an account first sends `account_deleting`, so the features above accounts clean up their
part (calendars delete themselves, for which scheduling queues the cancellations of upcoming
meetings; contacts remove their photo files) without accounts importing them.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..db_types import utcnow
from ..email import forget_owner_mail
from ..exceptions import ValidationError
from ..extensions import db
from ..validation import NAME_MAX, Problems, clean_email, clean_text, clean_timezone
from . import recovery
from .models import ApiToken, User, hash_token
from .sessions import end_all_sessions, end_other_sessions, revoke_all_api_tokens

signals = Namespace()
# Sent with the user just before their account is deleted, inside the same transaction.
account_deleting = signals.signal("account-deleting")
# Asked (oneonone.signals.answers) by the delete-account page with the user: each answer lists the
# cancellations deleting the account will email, as objects with `name` and `timeslot`.
account_deletion_notices = signals.signal("account-deletion-notices")
TOKEN_TOUCH_EVERY = dt.timedelta(minutes=5)  # `last_used_at` is written at most this often

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
USERNAME_PROBLEM = "Use 3 to 64 characters: letters, digits, dots, dashes or underscores."
PASSWORD_MIN = 10
PASSWORD_MAX = 256
# Common passwords of at least ten characters, refused at sign-up and password change.
COMMON_PASSWORDS = frozenset(
    line.strip().lower()
    for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
# Used when the email is unknown so sign-in takes as long as with a real account.
_DUMMY_HASH = None


def password_problems(password: str | None) -> list[str]:
    """What is wrong with a new password (empty when it is acceptable)."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return [f"Use at least {PASSWORD_MIN} characters."]
    if len(password) > PASSWORD_MAX:
        return [f"Use at most {PASSWORD_MAX} characters."]
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 3:
        return ["This password is too common; choose one that is harder to guess."]
    return []


def _check_unique(problems: Problems, *, username: str, email: str | None, user_id: int | None) -> None:
    def taken(column, value) -> bool:
        query = sa.select(User.id).where(column == value)
        if user_id is not None:
            query = query.where(User.id != user_id)
        return db.session.scalar(query) is not None

    if "username" not in problems and taken(sa.func.lower(User.username), username.lower()):
        problems.add("username", "That username is taken.")
    if email is not None and "email" not in problems and taken(User.email, email):
        problems.add("email", "An account with this email already exists.")


def _clean_profile(problems: Problems, data: dict) -> dict:
    cleaned = {
        "first_name": clean_text(problems, "first_name", data.get("first_name"),
                                 max_length=NAME_MAX, label="First name"),
        "last_name": clean_text(problems, "last_name", data.get("last_name"),
                                max_length=NAME_MAX, label="Last name"),
        "username": (data.get("username") or "").strip(),
        "email": clean_email(problems, "email", data.get("email")),
    }
    if not USERNAME_RE.match(cleaned["username"]):
        problems.add("username", USERNAME_PROBLEM)
    return cleaned


def register_user(
    *, first_name: str, last_name: str, username: str, email: str, password: str,
    repeat_password: str | None = None, timezone: str | None = None,
) -> User:
    """Create an unverified account and mail it a verification link; raises ValidationError naming
    every bad field.

    An email that already has an account gets the same answer as a new one, so sign-up cannot tell
    anyone which addresses have accounts: the caller gets an unsaved User holding the cleaned input
    (callers need not, and cannot, tell the two apart), nothing is created, and that account's owner
    is told someone tried (`recovery.queue_signup_attempt`).
    """
    problems = Problems()
    data, zone = _clean_signup(problems, first_name=first_name, last_name=last_name, username=username,
                               email=email, password=password, repeat_password=repeat_password,
                               timezone=timezone)
    problems.raise_if_any()
    user = User(timezone=zone, **data)
    existing = _user_with_email(data["email"])
    user.set_password(password)  # hashed even when the address is taken: the answer takes as long
    if existing is None:
        db.session.add(user)
        try:
            _flush_unique(user)
        except ValidationError as error:
            if "email" not in error.fields:
                raise
            existing = _user_with_email(data["email"])  # a concurrent sign-up won the race
        else:
            recovery.queue_verification(user)
            return user
    if existing is not None:
        recovery.queue_signup_attempt(existing)
    return user


def signup_problems(
    *, first_name: str | None, last_name: str | None, username: str | None, email: str | None,
    password: str | None, repeat_password: str | None = None, timezone: str | None = None,
) -> dict[str, list[str]]:
    """Every problem sign-up would report for this input, by field, creating nothing.

    For a page whose form already refused some fields, so a taken username or a common password is
    reported with them rather than after they are fixed. Like sign-up, it never says an email is taken.
    """
    problems = Problems()
    _clean_signup(problems, first_name=first_name, last_name=last_name, username=username, email=email,
                  password=password, repeat_password=repeat_password, timezone=timezone)
    return problems.fields


def _clean_signup(problems: Problems, *, first_name, last_name, username, email, password,
                  repeat_password, timezone) -> tuple[dict, str]:
    """Sign-up's input cleaned, and its problems recorded: every field, and a taken username (never a
    taken email: see `register_user`)."""
    data = _clean_profile(problems, {"first_name": first_name, "last_name": last_name,
                                     "username": username, "email": email})
    zone = clean_timezone(problems, "timezone", timezone or "UTC")
    for problem in password_problems(password):
        problems.add("password", problem)
    if repeat_password is not None and repeat_password != password:
        problems.add("repeat_password", "The two passwords do not match.")
    _check_unique(problems, username=data["username"], email=None, user_id=None)
    return data, zone


def signup_message(address: str) -> str:
    """What sign-up says, page and API alike, whether or not the address already had an account."""
    return (f"Check your inbox: we sent a message to {address}. Open the link in it to verify your "
            f"address; you can sign in meanwhile.")


def _user_with_email(address: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == address))


def _flush_unique(user: User) -> None:
    """Flush, turning a lost race on a unique column into a field error."""
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        text = str(error.orig).lower()
        field = "username" if "username" in text else "email"
        message = "That username is taken." if field == "username" else (
            "An account with this email already exists.")
        raise ValidationError.for_field(field, message) from error


def authenticate(email: str | None, password: str | None) -> User | None:
    """The user with this email and password, or None (timing does not reveal which failed)."""
    global _DUMMY_HASH
    address = (email or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == address)) if address else None
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = User(password_hash="")
            _DUMMY_HASH.set_password(secrets.token_hex(16))
        _DUMMY_HASH.check_password(password or "")
        return None
    return user if user.check_password(password or "") else None


# How an owner hears of answers (User.answer_notifications): an email for each, a daily digest, none.
ANSWER_NOTIFICATIONS = ("each", "daily", "off")


def _check_profile(problems: Problems, user: User, changes: dict,
                   current_password: str | None) -> tuple[dict, str | None]:
    """The profile changes cleaned (with the email and time zone), their problems recorded."""
    merged = {
        "first_name": user.first_name, "last_name": user.last_name,
        "username": user.username, "email": user.email, **changes,
    }
    data = _clean_profile(problems, merged)
    zone = clean_timezone(problems, "timezone", changes.get("timezone", user.timezone))
    email_changed = data["email"] != user.email
    if email_changed and "email" not in problems and not user.check_password(current_password or ""):
        problems.add("current_password", "Enter your current password to change your email.")
    _check_unique(problems, username=data["username"], email=data["email"], user_id=user.id)
    if "answer_notifications" in changes:
        choice = changes["answer_notifications"]
        if choice not in ANSWER_NOTIFICATIONS:
            problems.add("answer_notifications", "Choose an email for each answer, one summary a day, or none.")
        else:
            data["answer_notifications"] = choice
    return data, zone


def profile_problems(user: User, changes: dict, *, current_password: str | None = None) -> dict[str, list[str]]:
    """Everything `update_profile` would refuse, without changing anything (so that a form can
    report every problem at once)."""
    problems = Problems()
    _check_profile(problems, user, changes, current_password)
    return problems.fields


def update_profile(user: User, changes: dict, *, current_password: str | None = None) -> User:
    """Change names, username, email, time zone or answer notifications; a new email needs the
    current password.

    A new email does not take effect yet: it waits in `pending_email` for the link mailed to it
    (`recovery.verify_email`), and the current address is told of the request.
    """
    problems = Problems()
    data, zone = _check_profile(problems, user, changes, current_password)
    problems.raise_if_any()
    email_changed = data["email"] != user.email
    new_email = data.pop("email")
    for key, value in data.items():
        setattr(user, key, value)
    user.timezone = zone
    if email_changed and new_email != user.pending_email:
        user.pending_email = new_email
        recovery.queue_verification(user)
        recovery.queue_security_notice(user, "email_change", new_email=new_email)
    _flush_unique(user)
    return user


def change_password(user: User, *, current_password: str, new_password: str,
                    repeat_password: str | None = None) -> None:
    """Set a new password after checking the current one; ends every other session and every API
    token, and tells the account's address."""
    problems = Problems()
    if not user.check_password(current_password or ""):
        problems.add("current_password", "Your current password is not correct.")
    for problem in password_problems(new_password):
        problems.add("new_password", problem)
    if repeat_password is not None and repeat_password != new_password:
        problems.add("repeat_password", "The two passwords do not match.")
    problems.raise_if_any()
    user.set_password(new_password)
    user.pending_email = None  # a change of address asked for before is cancelled with the old password
    end_other_sessions(user, user.session_id)
    revoke_all_api_tokens(user)
    recovery.queue_security_notice(user, "password_changed")
    db.session.flush()


def delete_account(user: User, password: str | None) -> None:
    """Delete the user and everything they own, once their password is confirmed.

    Invitees with an upcoming confirmed meeting are emailed a cancellation; photo files go once
    the deletion commits; the owner's outbox rows go now (sent ones) or once delivered (the rest).
    """
    if not user.check_password(password or ""):
        raise ValidationError.for_field("password", "Your password is not correct.")
    account_deleting.send(user)
    db.session.flush()
    forget_owner_mail(user.id)
    end_all_sessions(user)
    db.session.delete(user)
    db.session.flush()


def issue_api_token(user: User) -> str:
    """A new random API token for `user`; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    db.session.flush()
    return token


def user_for_api_token(token: str) -> User | None:
    """The owner of a live API token, or None. A token unused for `API_TOKEN_MAX_IDLE_DAYS` has
    expired (and is deleted); each use is recorded in `last_used_at`."""
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token))
                            .options(joinedload(ApiToken.user)))  # one query for both
    if row is None:
        return None
    now = utcnow()
    idle = dt.timedelta(days=float(current_app.config["API_TOKEN_MAX_IDLE_DAYS"]))
    if (row.last_used_at or row.created_at) < now - idle:
        db.session.delete(row)
        return None
    if row.last_used_at is None or row.last_used_at < now - TOKEN_TOUCH_EVERY:
        row.last_used_at = now
    return row.user


def api_tokens(user: User) -> list[ApiToken]:
    """The user's API tokens, newest first (for the profile)."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_api_token_by_id(user: User, token_id: int) -> bool:
    """Revoke one of the user's API tokens from the profile; True when it existed."""
    result = db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.id == token_id))
    return result.rowcount == 1


def revoke_api_token(token: str) -> bool:
    """Revoke one API token; True when it existed."""
    result = db.session.execute(sa.delete(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    db.session.flush()
    return result.rowcount == 1


def rotate_feed_token(user: User) -> str:
    """A new token for the owner's calendar feed (the old address stops working); only its hash is kept."""
    token = secrets.token_urlsafe(32)
    user.feed_token_hash = hash_token(token)
    db.session.flush()
    return token


def revoke_feed_token(user: User) -> None:
    """Turn the owner's calendar feed off."""
    user.feed_token_hash = None
    db.session.flush()


def user_for_feed_token(token: str) -> User | None:
    """The owner whose calendar-feed token this is, or None."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(sa.select(User).where(User.feed_token_hash == hash_token(token)))
