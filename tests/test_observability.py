"""Request ids, logged unexpected errors with an error reference, /healthz and /metrics."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pathlib
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from querycount import count_queries

from config import TestConfig
from oneonone import create_app
from oneonone.errors import MESSAGES
from oneonone.extensions import db as _db
from oneonone.outbox import FAILED, PENDING, SENT, OutboxMessage

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
LINK_TOKEN = "Sup3rSecretLinkToken_do-not-log-me"
METRICS_TOKEN = "metrics-token-for-tests"


def _test_config(**overrides) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, **overrides}


def _break_view(app, monkeypatch, endpoint: str, error: Exception | None = None) -> None:
    """Make the view behind `endpoint` raise, as a bug in it would."""

    def broken(*_args, **_kwargs):
        raise error or RuntimeError("boom: the view fell over")

    monkeypatch.setitem(app.view_functions, endpoint, broken)


def _error_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("oneonone")]


# ---- request id --------------------------------------------------------------------------------

def test_every_response_gets_a_fresh_request_id(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/no/such/page").headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(first) and GENERATED_ID.fullmatch(second)
    assert first != second


def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/accounts/signin", headers={"X-Request-ID": "lb-42.Abc_def-9"})
    assert response.headers["X-Request-ID"] == "lb-42.Abc_def-9"


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 201, "a/b", "<script>", "id;drop", "ü-umlaut"])
def test_an_insane_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/accounts/signin", headers={"X-Request-ID": incoming})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize(("path", "masked"), [
    (f"/pick/{LINK_TOKEN}", "/pick/***"),
    (f"/pick/{LINK_TOKEN}/meeting.ics", "/pick/***/meeting.ics"),
    (f"/feed/{LINK_TOKEN}.ics", "/feed/***.ics"),
    (f"/pick/{LINK_TOKEN}/no-such-page", "/pick/***/no-such-page"),  # no route matches
    ("/calendars/3/", "/calendars/3/"),
])
def test_link_tokens_are_masked_in_logged_paths(app, path, masked):
    from oneonone.observability import masked_path

    with app.test_request_context(path):
        assert masked_path() == masked


# ---- unexpected errors -------------------------------------------------------------------------

@pytest.fixture
def app_config():
    return {"HANDLE_UNEXPECTED_ERRORS": True}


def test_an_unexpected_error_is_logged_and_its_reference_shown(app, owner, owner_client, monkeypatch, caplog):
    _break_view(app, monkeypatch, "scheduling.pick")

    response = owner_client.get(f"/pick/{LINK_TOKEN}")

    assert response.status_code == 500
    reference = response.headers["X-Request-ID"]
    page = response.get_data(as_text=True)
    assert MESSAGES[500] in page
    assert f"Error reference: <code class=\"user-select-all\">{reference}</code>" in page
    [record] = _error_records(caplog)
    assert record.exc_info[0] is RuntimeError
    assert (record.request_id, record.method, record.path, record.user_id) == (
        reference, "GET", "/pick/***", str(owner.id))
    message = record.getMessage()
    assert reference in message and "GET /pick/***" in message and f"user {owner.id}" in message
    assert "Traceback" in caplog.text and "boom: the view fell over" in caplog.text
    assert LINK_TOKEN not in caplog.text


@pytest.mark.parametrize("error", [
    sa.exc.DataError("UPDATE x", {}, ValueError("integer out of range")),
    sa.exc.IntegrityError("INSERT x", {}, ValueError("duplicate key")),
], ids=["DataError", "IntegrityError"])
def test_a_database_refusal_on_a_page_is_logged_like_any_unexpected_error(app, owner_client, monkeypatch,
                                                                         caplog, error):
    _break_view(app, monkeypatch, "scheduling.pick", error)

    response = owner_client.get(f"/pick/{LINK_TOKEN}")

    assert response.status_code == 500 and MESSAGES[500] in response.get_data(as_text=True)
    [record] = _error_records(caplog)
    assert record.exc_info[0] is type(error) and record.path == "/pick/***"
    assert LINK_TOKEN not in caplog.text


def test_an_unexpected_api_error_has_the_reference_in_its_json_body(app, client, monkeypatch, caplog):
    _break_view(app, monkeypatch, "api.openapi_json")

    response = client.get("/api/openapi.json", headers={"X-Request-ID": "support-ticket-7"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "support-ticket-7"
    assert response.get_json() == {"error": "server_error", "message": MESSAGES[500], "fields": {},
                                   "reference": "support-ticket-7"}
    [record] = _error_records(caplog)
    assert (record.request_id, record.path, record.user_id) == ("support-ticket-7", "/api/openapi.json",
                                                                "anonymous")


def test_other_api_errors_have_no_reference(client):
    body = client.get("/api/no-such-endpoint").get_json()
    assert body["error"] == "not_found" and "reference" not in body


def test_a_table_gone_under_the_running_app_is_logged_with_the_id_on_the_page(
        app, db, owner, owner_client, make_calendar, caplog):
    make_calendar(owner, name="Board interviews")
    assert "Board interviews" in owner_client.get("/calendars/").get_data(as_text=True)
    db.session.remove()  # no transaction of the test's may hold a lock on the table (PostgreSQL)
    with db.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE calendars RENAME TO calendars_moved_away"))
    try:
        response = owner_client.get("/calendars/")
    finally:
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE calendars_moved_away RENAME TO calendars"))

    assert response.status_code == 500
    reference = response.headers["X-Request-ID"]
    assert reference in response.get_data(as_text=True)
    [record] = _error_records(caplog)
    assert issubclass(record.exc_info[0], sa.exc.DBAPIError)
    assert record.request_id == reference and record.path == "/calendars/"
    assert "Traceback" in caplog.text and "calendars" in caplog.text
    # And the app recovers as soon as the table is back.
    assert "Board interviews" in owner_client.get("/calendars/").get_data(as_text=True)


# ---- log format --------------------------------------------------------------------------------

class TestLogFormat:
    @pytest.fixture
    def restore_logging(self):
        root, flask_logger = logging.getLogger(), logging.getLogger("oneonone")
        level, handlers, flask_handlers = root.level, list(root.handlers), list(flask_logger.handlers)
        yield
        root.handlers[:] = handlers
        flask_logger.handlers[:] = flask_handlers
        root.setLevel(level)

    @pytest.fixture
    def log_format(self):
        return "json"

    @pytest.fixture
    def app_config(self, restore_logging, log_format):
        return {"HANDLE_UNEXPECTED_ERRORS": True, "CONFIGURE_LOGGING": True, "LOG_FORMAT": log_format}

    def test_json_logs_are_one_object_a_line_with_the_request_id(self, app, client, monkeypatch, capsys):
        _break_view(app, monkeypatch, "scheduling.pick")
        capsys.readouterr()
        response = client.get(f"/pick/{LINK_TOKEN}")
        with app.test_request_context("/", headers={"X-Request-ID": "in-a-request"}):
            logging.getLogger("oneonone.test").warning("a line\nwith a newline")
        logging.getLogger("oneonone.test").warning("outside any request")

        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        entries = [json.loads(line) for line in lines]  # every line is one JSON object
        [error] = [e for e in entries if e["level"] == "ERROR"]
        assert error["request_id"] == response.headers["X-Request-ID"]
        assert error["logger"] == "oneonone" and error["path"] == "/pick/***"
        assert error["exception"].startswith("Traceback") and "RuntimeError: boom" in error["exception"]
        assert dt.datetime.fromisoformat(error["time"]).tzinfo is not None
        by_message = {e["message"]: e for e in entries}
        assert by_message["a line\nwith a newline"]["request_id"] == "in-a-request"
        assert by_message["outside any request"]["request_id"] == "-"
        assert LINK_TOKEN not in "\n".join(lines)

    @pytest.mark.parametrize("log_format", ["text"])
    def test_text_logs_carry_the_request_id(self, app, client, monkeypatch, capsys):
        _break_view(app, monkeypatch, "scheduling.pick")
        capsys.readouterr()
        response = client.get(f"/pick/{LINK_TOKEN}")
        err = capsys.readouterr().err
        assert f"ERROR [{response.headers['X-Request-ID']}] oneonone: Unexpected RuntimeError" in err
        assert "Traceback (most recent call last)" in err

    def test_configuring_twice_leaves_one_handler(self, app):
        from oneonone.observability import configure_logging

        configure_logging(app)
        configure_logging(app)
        ours = [h for h in logging.getLogger().handlers if getattr(h, "_oneonone", False)]
        assert len(ours) == 1


# ---- /healthz ----------------------------------------------------------------------------------

def test_healthz_answers_ok_without_a_session_cookie(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


def test_healthz_runs_one_statement_and_the_hooks_none(app, client):
    client.get("/healthz")
    with count_queries(app, _db.engine) as queries:
        assert client.get("/healthz").status_code == 200
        assert client.get("/no/such/page").status_code == 404
    assert [s.strip() for s in queries.statements] == ["SELECT 1"]


@pytest.mark.parametrize("app_config", [{"TALISMAN_FORCE_HTTPS": True, "RATELIMIT_ENABLED": True,
                                         "RATELIMIT_DEFAULT": "2 per minute"}])
def test_healthz_is_neither_redirected_to_https_nor_rate_limited(client):
    assert client.get("/accounts/signin").status_code == 302  # everything else goes to HTTPS
    for _ in range(5):
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("url", [
    "sqlite:///{tmp}/no-such-directory/oneonone.sqlite",
    "postgresql+psycopg://postgres@127.0.0.1:1/nope",
], ids=["sqlite-missing-directory", "postgresql-nothing-listening"])
def test_healthz_answers_503_when_the_database_does_not(tmp_path, mail_server, url, caplog):
    broken = create_app(_test_config(SQLALCHEMY_DATABASE_URI=url.format(tmp=tmp_path),
                                     MAIL_PORT=mail_server.port, UPLOAD_FOLDER=str(tmp_path / "uploads")))
    try:
        response = broken.test_client().get("/healthz")
    finally:
        with broken.app_context():
            _db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body == {"status": "unavailable", "database": "unreachable"}  # no host or driver detail
    assert any("OperationalError: " in r.getMessage() for r in caplog.records)  # that is in the log
    assert "X-Request-ID" in response.headers


# ---- /metrics ----------------------------------------------------------------------------------

def test_metrics_are_not_served_without_a_token_configured(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": METRICS_TOKEN}])
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong", f"Basic {METRICS_TOKEN}",
                                           f"Bearer {METRICS_TOKEN}x"])
def test_metrics_refuse_a_missing_or_wrong_bearer_token(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "oneonone_http_requests" not in response.get_data(as_text=True)


def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert LINK_TOKEN not in text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": METRICS_TOKEN}])
def test_metrics_count_requests_by_endpoint_and_status(client):
    client.get("/")
    client.get("/")
    client.get(f"/pick/{LINK_TOKEN}")  # no such link: 404, labelled by endpoint, not by path
    samples = _scrape(client)

    def labels(endpoint, status):
        return tuple(sorted({"endpoint": endpoint, "method": "GET", "status": status}.items()))

    assert samples["oneonone_http_requests_total", labels("home.index", "200")] == 2
    assert samples["oneonone_http_requests_total", labels("scheduling.pick", "404")] == 1
    assert samples["oneonone_http_request_duration_seconds_count", labels("home.index", "200")] == 2
    assert samples["oneonone_http_request_duration_seconds_bucket",
                   tuple(sorted({**dict(labels("home.index", "200")), "le": "+Inf"}.items()))] == 2


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": METRICS_TOKEN}])
def test_metrics_show_the_outbox(db, client):
    samples = _scrape(client)
    assert samples["oneonone_outbox_messages", (("state", "pending"),)] == 0
    assert samples["oneonone_outbox_messages", (("state", "failed"),)] == 0
    assert samples["oneonone_outbox_oldest_pending_age_seconds", ()] == 0

    now = dt.datetime.now(dt.UTC)
    for status, age in [(PENDING, dt.timedelta(hours=1)), (PENDING, dt.timedelta(minutes=5)),
                        (FAILED, dt.timedelta(days=2)), (SENT, dt.timedelta(days=3))]:
        db.session.add(OutboxMessage(recipient="someone@example.org", subject="Hello", body_text="Hi",
                                     status=status, created_at=now - age, next_attempt_at=now))
    db.session.commit()

    samples = _scrape(client)
    assert samples["oneonone_outbox_messages", (("state", "pending"),)] == 2
    assert samples["oneonone_outbox_messages", (("state", "failed"),)] == 1
    assert 3600 <= samples["oneonone_outbox_oldest_pending_age_seconds", ()] < 3660


# One "gunicorn worker": serves some requests, then (with a 4th argument) answers a scrape.
WORKER = """
import sys
from oneonone import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "METRICS_TOKEN": "t"})
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
if len(sys.argv) > 3:
    print(client.get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True))
"""


def test_with_a_multiprocess_directory_a_scrape_sums_every_worker(_schema, tmp_path, database_url):
    """Each gunicorn worker counts its own requests; PROMETHEUS_MULTIPROC_DIR makes one scrape see all."""
    root = pathlib.Path(__file__).resolve().parent.parent
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(root)}
    run = [sys.executable, "-c", WORKER, database_url]
    subprocess.run([*run, "3"], env=env, check=True, timeout=60)
    scraped = subprocess.run([*run, "4", "scrape"], env=env, check=True, timeout=60, capture_output=True,
                             text=True).stdout
    line = 'oneonone_http_requests_total{endpoint="observability.healthz",method="GET",status="200"} 7.0'
    assert line in scraped.splitlines()
    assert 'oneonone_outbox_messages{state="pending"} 0.0' in scraped.splitlines()
