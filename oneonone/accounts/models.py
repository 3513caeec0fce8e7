"""Owners (users), their sign-in sessions and their API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..db_types import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..calendars.models import Calendar
    from ..contacts.models import Contact


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a random token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("answer_notifications IN ('each', 'daily', 'off')", name="answer_notifications_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(120), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(120))
    last_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # Private .ics feed of confirmed meetings; only the hash of its token is kept.
    feed_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None until the owner opens the link emailed to `email`: until then OneOnOne mails nobody else.
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A new address waiting for its link to be opened; `email` stays in force until then.
    pending_email: Mapped[str | None] = mapped_column(sa.String(120))
    # How the owner hears of answers: "each" (an email per answer), "daily" (a digest by `flask
    # digest`) or "off"; `answers_digest_at`: the answers up to then are in a digest already.
    answer_notifications: Mapped[str] = mapped_column(sa.String(8), default="daily", server_default="daily")
    answers_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )
    calendars: Mapped[list[Calendar]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # The secret of the sign-in session this object was loaded through (not stored): Flask-Login
    # keeps it in the session and remember-me cookies instead of the user id (see `get_id`).
    session_secret = None  # type: str | None
    session_id = None  # type: int | None

    def get_id(self) -> str | None:
        """What the cookies carry: the session's secret, never the (reusable) user id."""
        return self.session_secret

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="api_tokens")

    def __str__(self) -> str:
        return f"API token {self.id} of user {self.user_id}"


class UserSession(db.Model):
    """One signed-in browser. The cookies carry its random secret; only the hash is stored, so
    signing out (deleting the row) ends that browser's session and remember-me login for good."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    ip_address: Mapped[str] = mapped_column(sa.String(64), default="")

    user: Mapped[User] = relationship(back_populates="sessions")

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"
