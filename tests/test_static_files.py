"""Static files carry a content hash in their URL and are cached for a year; text answers are compressed
for clients that ask (brotli or gzip), never tiny ones, downloads or partial content (oneonone/static_files.py)."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

import brotli
import pytest
from flask import url_for

ROOT = Path(__file__).resolve().parent.parent
APP_CSS = ROOT / "static" / "css" / "app.css"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def bootstrap_css(app) -> Path:
    return Path(app.blueprints["bootstrap"].static_folder) / "css" / "bootstrap.min.css"


def fetch(client, url: str, headers: dict[str, str] | None = None):
    """GET `url`; the response read and closed (a static file's handle is closed with it)."""
    response = client.get(url, headers=headers or {})
    response.get_data()
    response.close()
    return response


def decoded(response) -> bytes:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](body)


def test_every_asset_on_a_page_has_its_content_hash_and_the_scripts_are_deferred(app, client):
    html = client.get("/accounts/signin").get_data(as_text=True)
    assert f'href="/static/css/app.css?v={digest(APP_CSS)}"' in html
    assert f'href="/bootstrap/static/css/bootstrap.min.css?v={digest(bootstrap_css(app))}"' in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 3, scripts
    assert all(" defer " in tag and "?v=" in tag for tag in scripts), scripts
    assert "js/app.js" in scripts[-1]  # after Bootstrap: the order defer keeps


def test_a_fingerprinted_file_is_cached_for_a_year_and_a_plain_one_briefly(client):
    version = digest(APP_CSS)
    fresh = fetch(client, f"/static/css/app.css?v={version}")
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == IMMUTABLE
    assert fresh.get_data() == APP_CSS.read_bytes()
    for url in ("/static/css/app.css", "/static/css/app.css?v=0123456789ab"):  # none, or an old one
        plain = fetch(client, url)
        assert plain.status_code == 200 and plain.headers["Cache-Control"] == SHORT, url
        assert plain.get_data() == APP_CSS.read_bytes()


def test_a_missing_static_file_is_a_404_and_gets_no_fingerprint(app, client):
    assert fetch(client, "/static/css/nothing-here.css").status_code == 404
    with app.test_request_context():
        assert url_for("static", filename="css/nothing-here.css") == "/static/css/nothing-here.css"
        assert url_for("static", filename="../config.py") == "/static/../config.py"  # no hash outside static/


@pytest.mark.parametrize("accept, encoding", [("br", "br"), ("gzip", "gzip"), ("gzip, deflate, br, zstd", "br"),
                                              ("gzip;q=1, br;q=0.5", "gzip"), ("identity", None), ("", None)])
def test_bootstrap_is_sent_compressed_to_clients_that_ask(app, client, accept, encoding):
    css = bootstrap_css(app)
    response = fetch(client, f"/bootstrap/static/css/bootstrap.min.css?v={digest(css)}",
                          headers={"Accept-Encoding": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert decoded(response) == css.read_bytes()
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    if encoding:
        assert len(response.get_data()) < css.stat().st_size / 6  # 227 KiB of CSS: about 23 KiB in brotli


def test_a_compressed_file_revalidates_with_its_own_etag(app, client):
    url = f"/static/css/app.css?v={digest(APP_CSS)}"
    first = fetch(client, url, headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"]
    assert etag.endswith(':br"')
    again = fetch(client, url, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["Cache-Control"] == IMMUTABLE
    plain = fetch(client, url, headers={"If-None-Match": etag})  # the uncompressed file is another version
    assert plain.status_code == 200 and plain.get_data() == APP_CSS.read_bytes()
    assert fetch(client, url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_a_range_request_gets_the_plain_bytes_asked_for(client):
    response = fetch(client, "/static/css/app.css", headers={"Accept-Encoding": "gzip, br", "Range": "bytes=0-9"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == APP_CSS.read_bytes()[:10]


def test_pages_are_compressed_for_browsers_and_plain_for_clients_that_do_not_ask(client):
    plain = client.get("/accounts/signin")
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    squeezed = client.get("/accounts/signin", headers={"Accept-Encoding": "gzip"})
    assert squeezed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in squeezed.headers["Vary"]
    page = decoded(squeezed).decode()
    assert "<title>Sign in" in page and len(squeezed.get_data()) < len(page) / 2


def test_tiny_answers_are_not_compressed(client):
    response = fetch(client, "/robots.txt", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and len(response.get_data()) < 500
    assert "Content-Encoding" not in response.headers


def test_the_csv_download_is_not_compressed(owner, owner_client, make_calendar, make_timeslot):
    calendar = make_calendar(owner=owner)
    for hour in range(9, 17):
        make_timeslot(calendar, f"{hour:02d}:00")
    response = owner_client.get(f"/calendars/{calendar.id}/schedule.csv", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Content-Encoding" not in response.headers
    assert response.get_data().decode("utf-8-sig").splitlines()[0]


def test_a_new_version_of_a_file_gets_a_new_hash_and_the_same_version_is_hashed_once(app, tmp_path, monkeypatch):
    asset = tmp_path / "site.css"
    asset.write_text("body { color: black; }\n")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    expected = f"/static/site.css?v={digest(asset)}"
    calls = []
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda data: calls.append(1) or real_sha256(data))
    with app.test_request_context():
        first = url_for("static", filename="site.css")
        assert url_for("static", filename="site.css") == first == expected
        assert len(calls) == 1
        asset.write_text("body { color: navy; }\n")
        os.utime(asset, ns=(1, 1))  # a new mtime even on a coarse clock
        second = url_for("static", filename="site.css")
    assert second != first and second.endswith(digest(asset))


@pytest.mark.parametrize("app_config", [{"COMPRESS_RESPONSES": False}])
def test_compression_can_be_left_to_a_proxy(app, client):
    page = client.get("/accounts/signin", headers={"Accept-Encoding": "gzip, br"})
    css = fetch(client, f"/static/css/app.css?v={digest(APP_CSS)}", headers={"Accept-Encoding": "gzip, br"})
    for response in (page, css):
        assert "Content-Encoding" not in response.headers
    assert css.headers["Cache-Control"] == IMMUTABLE


def test_a_compressed_api_answer_keeps_the_etag_of_its_content(client, owner, make_contact):
    from oneonone.accounts.services import issue_api_token
    from oneonone.transaction import unit_of_work

    for _ in range(12):
        make_contact(owner=owner)
    with unit_of_work():
        token = issue_api_token(owner)
    auth = {"Authorization": f"Bearer {token}"}
    plain = client.get("/api/contacts/", headers=auth)
    squeezed = client.get("/api/contacts/", headers={**auth, "Accept-Encoding": "gzip"})
    assert squeezed.headers["Content-Encoding"] == "gzip"
    assert decoded(squeezed) == plain.get_data()
    if "ETag" in plain.headers:  # conditional GET of the API (oneonone/http_headers.py)
        # Compression runs after the ETag is set: the same content, the same ETag, marked with the encoding
        # (gzip's own header holds a timestamp, so a hash of the compressed bytes would change every second).
        assert squeezed.headers["ETag"] == plain.headers["ETag"][:-1] + ':gzip"'
        again = client.get("/api/contacts/", headers={**auth, "Accept-Encoding": "gzip",
                                                      "If-None-Match": squeezed.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""
