"""Configuration read from environment variables, with safe development defaults."""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import urlsplit


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(url: str | None) -> str | None:
    """Accept the common `postgres://` spellings and use the psycopg 3 driver."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _trusted_hosts(value: str | None, public_url: str, app_env: str) -> list[str]:
    """TRUSTED_HOSTS from its variable, or the host of PUBLIC_URL (plus localhost outside production)."""
    if value and value.strip():
        return [host.strip().lower() for host in value.split(",") if host.strip()]
    hosts = [urlsplit(public_url).hostname or "127.0.0.1"]
    if app_env != "production":
        hosts += ["localhost", "127.0.0.1"]
    return list(dict.fromkeys(hosts))


def _default_sender(public_url: str) -> str:
    """`OneOnOne <no-reply@<PUBLIC_URL's host>>` when that host is a domain name, which the site's
    own mail setup can send as; otherwise (127.0.0.1, localhost) a placeholder for development."""
    host = (urlsplit(public_url).hostname or "").lower()
    if "." in host and not host.replace(".", "").isdigit() and not host.startswith("["):
        return f"OneOnOne <no-reply@{host}>"
    return "OneOnOne <no-reply@oneonone.local>"


class Config:
    APP_ENV = os.environ.get("APP_ENV", "development")
    # Unset: outside production the app makes a random key once per instance (instance/secret_key).
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # None means "a SQLite file in the instance folder", resolved by create_app.
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    # Host headers answered (Flask's TRUSTED_HOSTS; any other gets 400): comma-separated, ".example.org"
    # for all its subdomains. Default: the host of PUBLIC_URL, and outside production localhost too.
    TRUSTED_HOSTS = _trusted_hosts(os.environ.get("TRUSTED_HOSTS"), PUBLIC_URL, APP_ENV)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25") or 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    # From on every message (replies to invitees' mail go to the owner: Reply-To).
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or _default_sender(PUBLIC_URL)
    # The same invitee is reminded at most once in this many hours (the button and `flask remind`).
    REMINDER_COOLDOWN_HOURS = float(os.environ.get("REMINDER_COOLDOWN_HOURS", "12") or 12)
    # Seconds to wait for the SMTP server to connect or answer a command.
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10") or 10)
    # "thread": one background sender per process, woken by new mail and by due retries (default);
    # "sync": deliver before the request returns (tests); "off": leave it to `flask outbox worker`.
    OUTBOX_DELIVERY = os.environ.get("OUTBOX_DELIVERY", "thread")
    # A failed message is tried again after this many seconds, doubling each time up to an hour...
    OUTBOX_RETRY_SECONDS = float(os.environ.get("OUTBOX_RETRY_SECONDS", "30") or 30)
    # ...and marked failed (shown to the owner, listed by `flask outbox list`) after this many tries.
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "12") or 12)

    # Messages an owner's actions may send in 24 hours (invitations, resends, reminders, meeting mail).
    OWNER_DAILY_EMAIL_LIMIT = int(os.environ.get("OWNER_DAILY_EMAIL_LIMIT", "500") or 500)

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True

    # Sign-in sessions (rows in user_sessions): one unused this many days ends; a "Keep me signed in"
    # one lasts as long as its cookie, REMEMBER_COOKIE_DURATION.
    SESSION_MAX_IDLE_DAYS = float(os.environ.get("SESSION_MAX_IDLE_DAYS", "14") or 14)
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=365)
    # An API token unused this many days expires.
    API_TOKEN_MAX_IDLE_DAYS = float(os.environ.get("API_TOKEN_MAX_IDLE_DAYS", "30") or 30)
    # Seconds a password-reset link lasts, and a link that verifies an email address.
    PASSWORD_RESET_MAX_AGE = 3600
    VERIFY_EMAIL_MAX_AGE = 7 * 86400

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", APP_ENV == "production")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    PASSWORD_HASH_METHOD = "scrypt"
    BOOTSTRAP_SERVE_LOCAL = True
    # Compress HTML, JSON, CSS and JS answers (brotli, gzip: oneonone/static_files.py); 0 when a proxy does.
    COMPRESS_RESPONSES = _bool("COMPRESS_RESPONSES", True)
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    # Contact photos; None means `<instance folder>/uploads`.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER") or None
    CONTACT_IMAGE_MAX_BYTES = 2 * 1024 * 1024
    TALISMAN_FORCE_HTTPS = _bool("FORCE_HTTPS", False)
    # "text" or "json" (one object a line, for log collectors).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    # Empty: /metrics answers 404. Set: served to `Authorization: Bearer <METRICS_TOKEN>` only.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")


class TestConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    OUTBOX_DELIVERY = "sync"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 1  # nothing listens there: tests that read mail start a real SMTP sink
    MAIL_TIMEOUT = 5.0
    MAIL_SUPPRESS_SEND = False  # Flask-Mail would otherwise drop mail when TESTING
    SESSION_COOKIE_SECURE = False
    PUBLIC_URL = "http://oneonone.test"
    TRUSTED_HOSTS = ["oneonone.test", "localhost", "127.0.0.1"]  # the test client's host is localhost
    # scrypt costs ~0.3 s a hash by design; tests hash hundreds of passwords.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
