"""OneOnOne: schedule one-on-one meetings. The app factory reads like a table of contents."""

from __future__ import annotations

import os
import secrets
import sqlite3
from typing import Any

import sqlalchemy as sa
from flask import Flask

from config import Config

from .extensions import bootstrap, csrf, db, limiter, login_manager, mail, migrate, talisman
from .hosts import refuse_unknown_hosts

# Keys that once shipped as defaults: anyone can sign cookies with them, so none is accepted.
PUBLIC_SECRET_KEYS = {"dev-only-insecure-secret-key"}

CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "style-src": "'self'",
    "script-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def create_app(config: type | dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Create and configure the application."""
    app = Flask(
        __name__,
        # INSTANCE_PATH: where the SQLite file, uploads and the generated secret key live.
        instance_path=instance_path or os.environ.get("INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = os.path.join(app.instance_path, "oneonone.sqlite")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    if app.config.get("SECRET_KEY") in PUBLIC_SECRET_KEYS:
        raise RuntimeError("SECRET_KEY is a value published in OneOnOne's source; set a random one, or unset "
                           "it outside production for a key of this instance's own.")
    if not app.config.get("SECRET_KEY"):
        if app.config["APP_ENV"] == "production":
            raise RuntimeError("SECRET_KEY must be set in production (APP_ENV=production).")
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)

    register_extensions(app)
    register_blueprints(app)
    register_unit_of_work(app)
    register_observability(app)
    # Before the header hooks, so that compression (after_request runs last-registered first) comes last.
    from .static_files import register as register_static_files  # fingerprints, caching, compression
    register_static_files(app)
    register_http_headers(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    refuse_unknown_hosts(app)
    return app


def instance_secret_key(folder: str) -> str:
    """This instance's own random key, made once and kept in `<instance>/secret_key` (mode 0600).

    Two installs never share it. Concurrent first starts (gunicorn workers) agree on one key: the
    file is written aside and linked into place, which fails if another process got there first.
    """
    path = os.path.join(folder, "secret_key")
    if not os.path.exists(path):
        draft = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    with open(path) as file:
        key = file.read().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one.")
    return key


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers work during a write, and NORMAL sync skips an fsync per commit
        # (still crash-safe in WAL mode): several processes and threads share the file.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every model registered before the metadata is used
    from .outbox import init_outbox

    db.init_app(app)
    if not sa.event.contains(sa.engine.Engine, "connect", _enable_sqlite_foreign_keys):
        sa.event.listen(sa.engine.Engine, "connect", _enable_sqlite_foreign_keys)
    migrate.init_app(
        app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
        render_as_batch=True, compare_type=True,
    )
    login_manager.init_app(app)
    login_manager.login_view = "accounts.signin"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    mail.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["TALISMAN_FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        strict_transport_security=app.config["APP_ENV"] == "production",
    )
    init_outbox(app)

    @app.teardown_appcontext
    def _remove_session_even_if_the_connection_died(_error) -> None:
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier). When the database closed
        # the connection mid-request, the ROLLBACK in session.remove() raises after the response was
        # built; SQLAlchemy has invalidated the connection by then, so a second remove() succeeds.
        try:
            db.session.remove()
        except sa.exc.DBAPIError:
            db.session.remove()


def register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .api import init_api
    from .calendars.views import bp as calendars_bp
    from .contacts.views import bp as contacts_bp
    from .home import bp as home_bp
    from .scheduling import (
        calendar_receivers,  # noqa: F401  (connects scheduling to the calendar signals)
        contact_receivers,  # noqa: F401  (answers the contact pages' questions)
    )
    from .scheduling.views import bp as scheduling_bp
    from .validation import IdConverter

    # `<id:...>` in every rule, pages and API alike: out-of-range or non-ASCII ids are 404s before any view.
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(home_bp)
    app.register_blueprint(accounts_bp, url_prefix="/accounts")
    app.register_blueprint(contacts_bp, url_prefix="/contacts")
    app.register_blueprint(calendars_bp, url_prefix="/calendars")
    app.register_blueprint(scheduling_bp)
    init_api(app)


def register_unit_of_work(app: Flask) -> None:
    from .transaction import init_app

    init_app(app)


def register_observability(app: Flask) -> None:
    # After the unit of work: /healthz and /metrics only read, and run outside any transaction.
    from .observability import register

    register(app)


def register_http_headers(app: Flask) -> None:
    # Cache-Control and X-Robots-Tag for private pages, error pages included.
    from .http_headers import register

    register(app)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from .commands import register

    register(app)
