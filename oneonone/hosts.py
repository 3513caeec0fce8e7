"""Requests for a host OneOnOne does not serve (TRUSTED_HOSTS) get a plain 400 before the app runs,
and the addresses OneOnOne gives out start with PUBLIC_URL (`public_url_for`).

Flask 3.1 checks TRUSTED_HOSTS too, but only after the request has started: its before-request hooks
and error page then have no URL adapter (the page's url_for() fails, a 500). Refusing here, ahead of
Flask, keeps an unknown Host out of every link, log line and page.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Flask, current_app
from markupsafe import escape
from werkzeug.exceptions import SecurityError
from werkzeug.wrappers import Response
from werkzeug.wsgi import get_host

MESSAGE = "This server does not answer for that host name."


def public_url_for(endpoint: str, **values) -> str:
    """The absolute address of `endpoint` under PUBLIC_URL, never the request's Host header; it
    works outside a request too (a CLI command, the outbox sender)."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(public.netloc, script_name=public.path or "/", url_scheme=public.scheme)
    return adapter.build(endpoint, values, force_external=True)


def _refusal(environ: dict) -> Response:
    path = environ.get("PATH_INFO", "")
    if path == "/api" or path.startswith("/api/"):
        body = {"error": "invalid", "message": MESSAGE, "fields": {"Host": ["Not a host this server answers for."]}}
        return Response(json.dumps(body), status=400, mimetype="application/json")
    page = (f'<!doctype html><html lang="en"><meta charset="utf-8"><title>Unknown host</title>'
            f"<h1>Unknown host</h1><p>{escape(MESSAGE)}</p></html>")
    return Response(page, status=400, mimetype="text/html")


def refuse_unknown_hosts(app: Flask) -> None:
    """Answer 400 to any request whose Host is not in app.config["TRUSTED_HOSTS"] (read per request)."""
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        trusted = app.config.get("TRUSTED_HOSTS")
        if "HTTP_HOST" in environ:  # host names ignore case; werkzeug's comparison does not
            environ["HTTP_HOST"] = environ["HTTP_HOST"].lower()
        if trusted:
            try:
                get_host(environ, trusted)
            except SecurityError:
                return _refusal(environ)(environ, start_response)
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app
