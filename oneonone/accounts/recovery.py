"""Links OneOnOne mails to an account's own address: verify it, reset a forgotten password, and the
security notices sent when the password or the address changes.

Each queues mail, written to the outbox in the request's transaction and sent only after that
transaction commits (none if it rolls back):
- `queue_verification` — at sign-up, on "Send the verification email again", and to a new address;
- `queue_password_reset` — "Forgot your password?", only when an account has that address;
- `queue_security_notice` — to the account's (old) address after a password change, a password reset
  (`reset_password` queues it) or a request to change the address;
- `queue_signup_attempt` — to an account's address when someone signs up with it again.

Links are signed with a key derived from SECRET_KEY (itsdangerous), so nothing is stored for them. A
reset link also carries a fingerprint of the current password hash: setting any password spends it
(single use), and it lasts `PASSWORD_RESET_MAX_AGE` seconds (an hour). Opening a reset link (GET)
only shows the form; a mail scanner that fetches it spends nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from ..db_types import utcnow
from ..email import queue_email, recent_mail_count
from ..exceptions import PermissionDenied, ValidationError
from ..extensions import db
from ..hosts import public_url_for
from .models import User
from .sessions import end_all_sessions, end_other_sessions, revoke_all_api_tokens

VERIFY, RESET = "verify-email", "password-reset"


class EmailNotVerified(PermissionDenied):
    """The owner's address is not verified yet, so OneOnOne mails nobody on their behalf."""

    code = "email_not_verified"

    def __init__(self) -> None:
        super().__init__("Verify your email address first: OneOnOne mails your invitees only once your own "
                         "address is verified. Open the link we emailed you, or send it again.")


def require_verified(owner: User) -> None:
    """Refuse an action that mails someone else while the owner's address is unverified."""
    if not owner.is_verified:
        raise EmailNotVerified()


def _serializer(kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"oneonone.{kind}")


def _fingerprint(user: User) -> str:
    """Changes when the password or the address does: links carrying it are spent by either."""
    return hashlib.sha256(f"{user.id}:{user.email}:{user.password_hash}".encode()).hexdigest()[:20]


# ---- verification -----------------------------------------------------------------------------

VERIFY_MAILS_PER_HOUR = 5


def queue_verification(user: User) -> str:
    """Mail a verification link to the address waiting to be verified (a new one, else the current).

    At most VERIFY_MAILS_PER_HOUR an hour per account, so changing the address back and forth cannot
    flood a stranger's inbox. The link carries the password fingerprint: a password change or reset
    spends a change-of-address link that an intruder may hold.
    """
    address = user.pending_email or user.email
    db.session.flush()
    if recent_mail_count(user.id, "verify_email", dt.timedelta(hours=1)) >= VERIFY_MAILS_PER_HOUR:
        raise ValidationError.for_field(
            "email", f"We sent {VERIFY_MAILS_PER_HOUR} verification emails in the last hour; try again later.")
    token = _serializer(VERIFY).dumps({"u": user.id, "e": address, "p": _fingerprint(user)})
    changing = user.pending_email is not None
    queue_email(address, "Confirm the change of your OneOnOne email address" if changing
                else "Confirm your email address for OneOnOne", "verify_email",
                owner=user, user=user, address=address, link=public_url_for("accounts.verify", token=token),
                changing=changing, days=_verify_days())
    return address


def _verify_days() -> int:
    return int(current_app.config["VERIFY_EMAIL_MAX_AGE"] // 86400)


def verify_email(token: str, *, keep_session_id: int | None = None) -> User:
    """Open a verification link: the address it names becomes the account's verified address.

    For a change of address the new one takes over, and the user's sessions (but `keep_session_id`,
    the browser that opened the link) and API tokens end.
    Raises ValidationError (field `token`) for a link that is broken, expired or out of date.
    """
    stale = "This link has expired or is out of date. Sign in and ask for a new one."
    try:
        data = _serializer(VERIFY).loads(token, max_age=current_app.config["VERIFY_EMAIL_MAX_AGE"])
        user_id, address = int(data["u"]), str(data["e"])
    except (BadData, KeyError, TypeError, ValueError) as error:
        raise ValidationError.for_field("token", stale) from error
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationError.for_field("token", stale)
    if address == user.email:
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        return user
    if address != user.pending_email or data.get("p") != _fingerprint(user):
        raise ValidationError.for_field("token", stale)
    taken = db.session.scalar(sa.select(User.id).where(User.email == address, User.id != user.id))
    if taken is not None:
        user.pending_email = None
        raise ValidationError.for_field("token", "Another account has taken this address meanwhile.")
    user.email, user.pending_email, user.email_verified_at = address, None, utcnow()
    end_other_sessions(user, keep_session_id)
    revoke_all_api_tokens(user)
    db.session.flush()
    return user


# ---- forgotten password ---------------------------------------------------------------------------

def queue_password_reset(email: str | None) -> None:
    """Mail a reset link if an account has this address; the caller answers the same either way."""
    address = (email or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == address)) if address else None
    if user is None:
        return
    token = _serializer(RESET).dumps({"u": user.id, "p": _fingerprint(user)})
    queue_email(user.email, "Reset your OneOnOne password", "password_reset", owner=user, user=user,
                link=public_url_for("accounts.reset_password", token=token),
                minutes=int(current_app.config["PASSWORD_RESET_MAX_AGE"] // 60))


def user_for_reset(token: str) -> User | None:
    """The user a reset link is for, while it is unused and less than an hour old; else None."""
    try:
        data = _serializer(RESET).loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
        user = db.session.get(User, int(data["u"]))
    except (BadData, KeyError, TypeError, ValueError):
        return None
    if user is None or data.get("p") != _fingerprint(user):
        return None  # a password was set since: the link is spent
    return user


def reset_password(token: str, password: str | None, repeat_password: str | None) -> User:
    """Set a new password through a reset link: every session and API token of the user ends, the
    calendar feed address is turned off, and the account's address gets a notice."""
    from .services import password_problems

    user = user_for_reset(token or "")
    if user is None:
        raise ValidationError.for_field("token", "This link has expired or was already used. Ask for a new one.")
    problems = password_problems(password)
    if problems:
        raise ValidationError(problems[0], {"password": problems})
    if repeat_password is not None and repeat_password != password:
        raise ValidationError.for_field("repeat_password", "The two passwords do not match.")
    user.set_password(password)
    user.pending_email = None  # an intruder's waiting change of address dies with their access
    end_all_sessions(user)
    revoke_all_api_tokens(user)
    user.feed_token_hash = None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the link reached this address: it is theirs
    queue_security_notice(user, "password_reset")
    db.session.flush()
    return user


# ---- security notices -------------------------------------------------------------------------

NOTICES = {
    "password_changed": "Your OneOnOne password was changed",
    "password_reset": "Your OneOnOne password was reset",
    "email_change": "Your OneOnOne email address is being changed",
}


def queue_security_notice(user: User, kind: str, *, new_email: str | None = None) -> None:
    """Tell the account's (current) address what just changed and what to do if it was not them."""
    queue_email(user.email, NOTICES[kind], "security_notice", owner=user, user=user, kind=kind,
                new_email=new_email, when=utcnow(), reset_link=public_url_for("accounts.forgot_password"))


SIGNUP_ATTEMPT_MAILS_PER_HOUR = 3


def queue_signup_attempt(user: User) -> None:
    """Tell an account's owner that someone tried to sign up with their address (nothing changed).

    Sign-up answers this case exactly as it answers a new address, so the notice is the only trace;
    at most SIGNUP_ATTEMPT_MAILS_PER_HOUR an hour per account, then silently none, so repeated
    sign-ups cannot flood the owner.
    """
    if recent_mail_count(user.id, "signup_attempt", dt.timedelta(hours=1)) >= SIGNUP_ATTEMPT_MAILS_PER_HOUR:
        return
    queue_email(user.email, "Someone tried to sign up for OneOnOne with your email address",
                "signup_attempt", owner=user, user=user, when=utcnow(),
                signin_link=public_url_for("accounts.signin"), reset_link=public_url_for("accounts.forgot_password"))
