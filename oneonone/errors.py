"""The one error path: every HTTP error and domain error becomes an HTML page for people or the API's
JSON body under /api/ (`{"error", "message", "fields"}`); anything that fails rolls the session back.

Registered on the app after the API, so these handlers, not flask-smorest's, answer every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, default_exceptions

from .exceptions import DomainError, MalformedRequest, NotFoundError
from .extensions import db, login_manager
from .observability import log_unexpected, request_id

MESSAGES = {
    400: "The request could not be understood. Please check the form and try again.",
    403: "You do not have access to this page.",
    404: "We could not find that page. It may have been removed, or the link is mistyped.",
    405: "That action is not allowed here.",
    413: "That upload is too large.",
    415: "Send the request body as JSON (Content-Type: application/json).",
    429: "Too many requests. Please wait a moment and try again.",
    500: "Something went wrong on our side. Nothing was saved; please try again.",
}
CSRF_MESSAGE = ("This form has expired or was not sent from this site. "
                "Go back, reload the page and try again.")
CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def json_error(status: int, message: str | None = None, fields: dict | None = None,
               reference: str | None = None, code: str | None = None):
    """A JSON error body in the API's shape (with the request id as `reference` for a 500)."""
    body = {
        "error": code or CODES.get(status, "error"),
        "message": message or MESSAGES.get(status, "Error."),
        "fields": fields or {},
    }
    if reference is not None:
        body["reference"] = reference
    return jsonify(body), status


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        db.session.rollback()
    reference = request_id() if status >= 500 else None
    if wants_json():
        response, status = json_error(status, error.description if status != 500 else None,
                                      reference=reference)
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response, status
    template = _template_for(status)
    message = MESSAGES.get(status, error.description)
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    return _render_error_page(template, status=status, message=message, error=error,
                              reference=reference), status


def _template_for(status: int) -> str:
    return f"errors/{status}.html" if status in (403, 404, 429, 500) else "errors/generic.html"


def _render_error_page(template: str, **context) -> str:
    try:
        return render_template(template, **context)
    except Exception:
        # The page needs the database only for the signed-in user in the navigation bar. When the
        # database is down, show the page as to a signed-out visitor, not the server's bare 500.
        db.session.rollback()
        g._login_user = login_manager.anonymous_user()
        return render_template(template, **context)


def handle_unexpected(error: Exception):
    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    # This handler replaces Flask's own log_exception, so the traceback is logged here.
    log_unexpected(error)
    return handle_http_exception(InternalServerError(original_exception=error))


NUL_PROBLEM = "Must not contain NUL characters."


def _nul_fields(value) -> list[str]:
    """Dotted paths of the strings (and keys) holding NUL in a parsed JSON body; iterative, so any depth works."""
    found, stack = [], [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(path or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                key = str(key)
                if "\x00" in key:
                    found.append(key.replace("\x00", ""))
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((path, child) for child in item)
    return sorted(set(found))


def refuse_nul_characters():
    """No text with NUL characters reaches the database (PostgreSQL cannot store them)."""
    fields = [k.replace("\x00", "") for k, v in request.args.items(multi=True) if "\x00" in k + v]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += [k.replace("\x00", "") for k, v in request.form.items(multi=True) if "\x00" in k + v]
        elif request.is_json:
            try:
                fields += _nul_fields(request.get_json(silent=True))
            except RecursionError:
                return json_error(400, "The JSON body is nested too deeply.", {"body": ["Nested too deeply."]})
    if not fields:
        return None
    if wants_json():
        return json_error(400, "Text may not contain NUL characters.", {f: [NUL_PROBLEM] for f in fields})
    message = "The form contained an invisible NUL character, which we cannot store. Please retype it and try again."
    return render_template("errors/generic.html", status=400, message=message,
                           error=BadRequest(description=message)), 400


def _same_site_referrer() -> str | None:
    """The page the form was posted from, when it is a page of this site (path and query)."""
    referrer = urlsplit(request.referrer or "")
    here = urlsplit(request.host_url)
    if referrer.scheme != here.scheme or referrer.netloc != here.netloc:
        return None
    if not referrer.path.startswith("/") or referrer.path.startswith("//") or "\\" in referrer.path:
        return None  # "//evil.example/…" would leave the site
    return urlunsplit(("", "", referrer.path, referrer.query, ""))


View = TypeVar("View", bound=Callable)


def refusals_go_to(endpoint: str, *, category: str = "danger") -> Callable[[View], View]:
    """Mark a view whose action a service may refuse (a withdrawn pick, the mail quota, a lost race):
    `handle_domain_error` flashes the refusal and sends the browser to `endpoint`, built with the
    URL arguments of the request that it takes, so the view itself holds no try/except. A missing
    object is still the 404 page and an unreadable request the 400 page."""
    def mark(view: View) -> View:
        view.refusals_go_to = (endpoint, category)  # type: ignore[attr-defined]
        return view
    return mark


def word_refusal(prefix: str) -> None:
    """Put `prefix` before the message of a refusal this request may meet ("Ada was not asked: ")."""
    g.refusal_prefix = prefix


def _refusal_target(error: DomainError) -> tuple[str, str] | None:
    """Where a marked view sends a refused action: not for a missing object (a 404 page) or a
    request that cannot be read (a 400), only for what a service refused."""
    if request.method == "GET" or isinstance(error, (NotFoundError, MalformedRequest)):
        return None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "refusals_go_to", None)


def _url_for_target(endpoint: str) -> str:
    """`endpoint` (".invitees" is in the request's blueprint) with the URL arguments it takes."""
    name = f"{request.blueprint}{endpoint}" if endpoint.startswith(".") else endpoint
    takes = set().union(*(rule.arguments for rule in current_app.url_map.iter_rules(name)))
    return url_for(name, **{key: value for key, value in (request.view_args or {}).items() if key in takes})


def _handles_unexpected_errors_of(app: Flask) -> bool:
    """Unexpected errors become the 500 page, except in tests that want to see the exception."""
    return not app.testing or bool(app.config.get("HANDLE_UNEXPECTED_ERRORS"))


def _handles_unexpected_errors() -> bool:
    return _handles_unexpected_errors_of(current_app)


def handle_domain_error(error: DomainError):
    """A refusal no view turned into a form error, typically a lost race found at commit.

    The API answers with the uniform JSON body. A form posted to a view marked `refusals_go_to`
    flashes the message and goes where the view said; any other page that posted a form is shown
    again in its current state with the message on top ("someone else just changed this"); anything
    else gets an error page saying what happened.
    """
    db.session.rollback()
    if wants_json():
        response, status = json_error(error.status, error.message, error.fields, code=error.code)
        response.headers.extend(error.headers)
        return response, status
    target = _refusal_target(error)
    if target is not None:
        endpoint, category = target
        flash(g.pop("refusal_prefix", "") + error.message, category)
        return redirect(_url_for_target(endpoint))
    back = _same_site_referrer() if request.method != "GET" and error.status != 404 else None
    if back is not None and back != request.path:
        flash(error.message, "warning")
        return redirect(back, 303)
    page_error = default_exceptions.get(error.status, BadRequest)(description=error.message)
    return _render_error_page(_template_for(error.status), status=error.status, message=error.message,
                              error=page_error), error.status


def handle_database_refusal(error: IntegrityError | DataError):
    """A constraint or value the database refused and no service caught: 409 or 400 in the API.

    On a page it is unexpected (each form checks its own input first), so it is a 500 there.
    """
    db.session.rollback()
    if not wants_json():
        if _handles_unexpected_errors():
            return handle_unexpected(error)
        raise error  # tests see the exception itself
    if isinstance(error, IntegrityError):
        # A race no service anticipated: someone changed the same rows at the same moment.
        return json_error(409, "That clashes with a change made at the same moment; reload and try again.")
    return json_error(400, "A value is out of the range the database accepts.")


def register(app: Flask) -> None:
    """Install the error handlers."""
    app.before_request(refuse_nul_characters)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_database_refusal)
    app.register_error_handler(DataError, handle_database_refusal)
    if _handles_unexpected_errors_of(app):
        app.register_error_handler(Exception, handle_unexpected)
