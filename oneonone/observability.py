"""What whoever runs OneOnOne needs to see: request ids, logs, `/healthz` and `/metrics`.

- Every request has an id: a sane incoming `X-Request-ID` (from a proxy) or a fresh one. It is
  sent back in the `X-Request-ID` header, added to every log record, and shown on the 500 page as
  the error reference, so a person's report leads straight to the traceback.
- Logging is configured in the app factory: plain text, or one JSON object a line when
  `LOG_FORMAT=json`. Under `TESTING` it is left alone (pytest's caplog), unless `CONFIGURE_LOGGING`.
- `/healthz` answers whether the database does; `/metrics` (Prometheus text format) is served only
  when `METRICS_TOKEN` is set, to `Authorization: Bearer <METRICS_TOKEN>`. Counters live in this
  process (one registry per app), so with several gunicorn workers each scrape sees one worker's
  counts — unless `PROMETHEUS_MULTIPROC_DIR` is set, then prometheus-client sums them over workers.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import re
import sys
import time
import uuid

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, g, has_request_context, jsonify, request, session
from flask import logging as flask_logging
from flask.signals import request_started
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .extensions import csrf, db, limiter, talisman

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
_REQUEST_ID = "oneonone.request_id"
_STARTED = "oneonone.started"
_METRICS = "oneonone.metrics"
_TOKEN_PATHS = "oneonone.token_paths"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

bp = Blueprint("observability", __name__)


# ---- request id --------------------------------------------------------------------------------

def request_id() -> str:
    """This request's id: the incoming `X-Request-ID` when it is sane, else a fresh uuid4 hex."""
    environ = request.environ
    value = environ.get(_REQUEST_ID)
    if value is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        value = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        environ[_REQUEST_ID] = value
    return value


def masked_path() -> str:
    """The request path with link tokens replaced by `***` (`/pick/***`, `/feed/***.ics`)."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if "token" in name and isinstance(value, str) and value:
            path = path.replace(value, "***")
    pattern = current_app.extensions.get(_TOKEN_PATHS)
    return pattern.sub(r"\1***", path) if pattern is not None else path


def _token_paths(app: Flask) -> re.Pattern | None:
    """Paths that start with a token even when no route matched them (`PUT /pick/<token>` → 405)."""
    prefixes = set()
    for rule in app.url_map.iter_rules():
        prefix, _, rest = rule.rule.partition("<")
        first_argument = rest.split(">", 1)[0].rsplit(":", 1)[-1]
        if rest and "token" in first_argument and prefix.strip("/"):
            prefixes.add(prefix)
    if not prefixes:
        return None
    return re.compile(rf"^({'|'.join(re.escape(p) for p in sorted(prefixes))})(?!\*\*\*)[^/.]+")


def user_label() -> str:
    """The signed-in user's id, or "anonymous"; never queries the database (it may be what failed)."""
    # The cookies carry a session secret, not the user id: it must never reach a log. The id comes
    # from the loaded object's identity, which reads nothing even after a rollback expired it.
    for user in (g.get("_login_user"), g.get("api_user")):
        if user is not None and getattr(user, "is_authenticated", False):
            identity = sa.inspect(user).identity
            return str(identity[0]) if identity else "unknown"
    user_id = session.get("uid") if session.get("_user_id") else None  # see accounts.sessions.start_session
    return str(user_id) if user_id else "anonymous"


def log_unexpected(error: BaseException) -> None:
    """Log an unexpected error with its traceback, the request id, method, masked path and user."""
    rid, path, user = request_id(), masked_path(), user_label()
    # The app's logger, as Flask's own log_exception uses (this replaces it).
    current_app.logger.error("Unexpected %s on %s %s (request %s, user %s)", type(error).__name__, request.method, path,
              rid, user, exc_info=error,
              extra={"request_id": rid, "method": request.method, "path": path, "user_id": user})


# ---- logging -----------------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Give every record a `request_id` ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id() if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (+ exception)."""

    EXTRAS = ("method", "path", "user_id")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({key: getattr(record, key) for key in self.EXTRAS if hasattr(record, key)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is now (it may be swapped, e.g. by pytest), not at creation."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self):
        return sys.stderr


def configure_logging(app: Flask) -> logging.Handler:
    """Send the root logger's records to stderr as text or JSON (`LOG_FORMAT`); safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_oneonone", False)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler._oneonone = True
    handler.addFilter(RequestIdFilter())
    fmt = app.config.get("LOG_FORMAT", "text")
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # Flask's own stderr handler on the app's logger would print each record a second time.
    app.logger.removeHandler(flask_logging.default_handler)
    return handler


# ---- metrics -----------------------------------------------------------------------------------

class Metrics:
    """The request counter and latency histogram of one app (so, of one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("endpoint", "method", "status")
        self.requests = Counter("oneonone_http_requests", "HTTP requests answered.", labels,
                                registry=self.registry)
        self.latency = Histogram("oneonone_http_request_duration_seconds", "Time to build the response.",
                                 labels, registry=self.registry)
        self.registry.register(OutboxCollector())


class OutboxCollector:
    """Outbox gauges, read from the database when scraped (one query)."""

    def describe(self):
        return []

    def collect(self):
        from .outbox import FAILED, PENDING, OutboxMessage

        query = (sa.select(OutboxMessage.status, sa.func.count(), sa.func.min(OutboxMessage.created_at))
                 .where(OutboxMessage.status.in_([PENDING, FAILED])).group_by(OutboxMessage.status))
        try:
            rows = {status: (count, oldest) for status, count, oldest in db.session.execute(query)}
        except sa.exc.SQLAlchemyError as error:
            db.session.rollback()
            log.warning("outbox metrics unavailable: %s", error)
            return
        messages = GaugeMetricFamily("oneonone_outbox_messages", "Outbox messages by state.", labels=["state"])
        for state in (PENDING, FAILED):
            messages.add_metric([state], rows.get(state, (0, None))[0])
        yield messages
        oldest = rows.get(PENDING, (0, None))[1]
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            age = max(0.0, (dt.datetime.now(dt.UTC) - oldest).total_seconds())
        yield GaugeMetricFamily("oneonone_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending outbox message (0 when none).", value=age)


def _scrape_registry(app: Flask) -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return app.extensions[_METRICS].registry
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(OutboxCollector())
    return registry


def _request_started(sender: Flask, **_extra) -> None:
    request.environ[_STARTED] = time.perf_counter()


def _after_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    metrics = current_app.extensions.get(_METRICS)
    started = request.environ.get(_STARTED)
    if metrics is not None and started is not None:
        method = request.method if request.method in METHODS else "other"
        labels = (request.endpoint or "unmatched", method, str(response.status_code))
        metrics.requests.labels(*labels).inc()
        metrics.latency.labels(*labels).observe(time.perf_counter() - started)
    return response


# ---- endpoints ---------------------------------------------------------------------------------

@bp.get("/healthz")
@talisman(force_https=False)
def healthz():
    """200 when the database answers `SELECT 1`, else 503 (for load balancers); the reason is logged."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        short = f"{type(getattr(error, 'orig', None) or error).__name__}: {reason[0] if reason else ''}"[:200]
        log.warning("health check: database unavailable: %s", short)
        # The detail (host, port, driver message) goes to the log, not to whoever asks.
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok")


@bp.get("/metrics")
def metrics():
    """Prometheus text format, only with `Authorization: Bearer <METRICS_TOKEN>`; 404 when unset."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)
    sent = request.headers.get("Authorization", "")
    scheme, _, credentials = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), token.encode()):
        return Response("Send Authorization: Bearer <METRICS_TOKEN>\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(generate_latest(_scrape_registry(current_app)), mimetype=CONTENT_TYPE_LATEST)


csrf.exempt(bp)
limiter.exempt(bp)


def register(app: Flask) -> None:
    """Request ids, logging, metrics hooks and the `/healthz` and `/metrics` endpoints."""
    if not app.testing or app.config.get("CONFIGURE_LOGGING"):
        configure_logging(app)
    app.extensions[_METRICS] = Metrics()
    app.register_blueprint(bp)
    app.extensions[_TOKEN_PATHS] = _token_paths(app)
    request_started.connect(_request_started, app)
    app.after_request(_after_request)
