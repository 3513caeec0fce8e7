"""Static files and compression: fingerprinted URLs, a year's caching, and compressed text responses.

- **Fingerprints.** `url_for('static', ...)` and `url_for('bootstrap.static', ...)` (Bootstrap-Flask's
  `load_css()` and the script tags in base.html) get `?v=<first 12 hex digits of the file's SHA-256>`.
  A file's hash is computed once per process for each version of the file (its size and mtime).
- **Caching.** A static file asked for with its current fingerprint is answered with
  `Cache-Control: public, max-age=31536000, immutable`: the URL changes whenever the content does.
  Without the fingerprint (or with an old one) it is still served, with `public, max-age=300`.
- **Compression.** Flask-Compress compresses HTML, JSON, CSS, JS and SVG answers of 500 bytes or more
  (`COMPRESS_MIN_SIZE`) for clients that send `Accept-Encoding`, and adds `Vary: Accept-Encoding`; it
  leaves error and 304 answers, CSV and `.ics` downloads (types not in `COMPRESS_MIMETYPES`) and anything
  already encoded alone, and suffixes a strong ETag with the encoding so that conditional requests keep
  working. It runs after the header hooks of oneonone/http_headers.py (registered before them), so
  it compresses the final body and sees the final ETag. Static files are compressed once per process and file version
  (brotli quality 10: Bootstrap's CSS in 0.17 s, 227 -> 23 KiB; gzip level 9), not on each request; a
  Range request gets the plain file. `COMPRESS_RESPONSES=0` turns it all off (for a proxy that compresses).

BREACH: a compressed HTTPS page that holds a secret (a CSRF token, a pick or feed link on the owner's
pages) and also reflects what a request put in it (a search box) can leak the secret, byte by byte, to
an attacker who both watches the encrypted traffic's sizes and makes the victim's browser send thousands
of chosen requests. Compression is on anyway: the session and remember-me cookies are `SameSite=Lax`,
so the requests another site's page can send in bulk (images, scripts, frames, fetch, form posts) carry
no cookie and get an anonymous page with no secret of the victim's; only top-level navigations carry the
cookie, and a stolen CSRF token is of little use while cross-site posts carry no session. Sites that
want no residual risk set `COMPRESS_RESPONSES=0` (or have their proxy compress only static files).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from dataclasses import dataclass, field

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.security import safe_join

# Endpoint names are kept: tests/test_query_budget.py and http_headers.py know them.
STATIC_ENDPOINTS = ("static", "bootstrap.static")
VERSION_ARG = "v"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
ENCODINGS = ("br", "gzip")  # in order of preference when the client accepts both equally

compress = Compress()


@dataclass
class Asset:
    """One version of a static file: its fingerprint, and its compressed bodies once asked for."""

    stamp: tuple[int, int]  # (size, mtime_ns): a new version of the file is a new Asset
    digest: str
    path: str
    bodies: dict[str, bytes] = field(default_factory=dict)

    def body(self, encoding: str) -> bytes:
        if encoding not in self.bodies:
            with open(self.path, "rb") as file:
                data = file.read()
            self.bodies[encoding] = (brotli.compress(data, quality=10) if encoding == "br"
                                     else gzip.compress(data, compresslevel=9, mtime=0))
        return self.bodies[encoding]


class StaticFiles:
    """The assets of one app, keyed by (endpoint, filename); shared by the threads of one process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.assets: dict[tuple[str, str], Asset | None] = {}
        self.lock = threading.Lock()

    def folder(self, endpoint: str) -> str | None:
        if endpoint == "static":
            return self.app.static_folder
        blueprint = self.app.blueprints.get(endpoint.rpartition(".")[0])
        return blueprint.static_folder if blueprint is not None else None

    def asset(self, endpoint: str, filename: str) -> Asset | None:
        """The current version of a static file, or None when there is no such file."""
        folder = self.folder(endpoint)
        path = safe_join(folder, filename) if folder else None
        try:
            status = os.stat(path) if path else None
        except OSError:
            status = None
        if status is None or not os.path.isfile(path):
            return None
        stamp = (status.st_size, status.st_mtime_ns)
        key = (endpoint, filename)
        asset = self.assets.get(key)
        if asset is None or asset.stamp != stamp:
            with open(path, "rb") as file:
                digest = hashlib.sha256(file.read()).hexdigest()[:12]
            asset = Asset(stamp, digest, path)
            with self.lock:
                self.assets[key] = asset
        return asset


def _static_files() -> StaticFiles:
    return current_app.extensions["static_files"]


def add_fingerprint(endpoint: str, values: dict) -> None:
    """url_defaults hook: `?v=<hash>` on every static URL whose file exists."""
    if endpoint not in STATIC_ENDPOINTS or VERSION_ARG in values or "filename" not in values:
        return
    asset = _static_files().asset(endpoint, values["filename"])
    if asset is not None:
        values[VERSION_ARG] = asset.digest


def _choose_encoding(response: Response) -> str | None:
    config = current_app.config
    if (request.range is not None or response.mimetype not in config["COMPRESS_MIMETYPES"]
            or (response.content_length or 0) < config["COMPRESS_MIN_SIZE"]):
        return None
    accepted = request.accept_encodings
    best = max(ENCODINGS, key=lambda name: accepted[name])
    return best if accepted[best] > 0 else None


def static_headers(response: Response) -> Response:
    """Caching by fingerprint, and a compressed copy of the file, for the static endpoints' answers."""
    if response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    asset = _static_files().asset(request.endpoint, filename)
    fresh = asset is not None and request.args.get(VERSION_ARG) == asset.digest
    response.headers["Cache-Control"] = IMMUTABLE if fresh else SHORT_CACHE
    response.expires = None
    if not current_app.config["COMPRESS_RESPONSES"]:
        return response
    response.vary.add("Accept-Encoding")
    encoding = _choose_encoding(response) if asset is not None and response.status_code == 200 else None
    if encoding is None:
        return response
    etag, weak = response.get_etag()
    if hasattr(response.response, "close"):
        response.response.close()  # the file Flask opened; the compressed copy replaces it
    response.direct_passthrough = False
    response.set_data(asset.body(encoding))
    response.headers["Content-Encoding"] = encoding
    if etag:
        response.set_etag(f"{etag}:{encoding}", weak=weak)
    return response.make_conditional(request)


def compressed(response: Response) -> Response:
    """after_request: static files as above; other answers through Flask-Compress (never a 206)."""
    if request.endpoint in STATIC_ENDPOINTS:
        return static_headers(response)
    if not current_app.config["COMPRESS_RESPONSES"] or response.status_code == 206:
        return response
    return compress.after_request(response)


def register(app: Flask) -> None:
    """Fingerprinted static URLs, their caching, and compressed answers for `app`."""
    app.config.setdefault("COMPRESS_RESPONSES", True)
    app.config.setdefault("COMPRESS_STREAMING_ENDPOINT_CONDITIONAL", ["api.docs_asset"])
    # Brotli, else gzip: every browser and HTTP library decodes these (not every one zstd or deflate).
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config["COMPRESS_REGISTER"] = False  # one hook, `compressed`, decides
    compress.init_app(app)
    app.extensions["static_files"] = StaticFiles(app)
    app.url_defaults(add_fingerprint)
    app.after_request(compressed)
