"""Error pages: HTML for people, JSON under /api/; a 500 rolls the session back."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

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


def json_error(status: int, message: str | None = None, fields: dict | None = None):
    """A JSON error body in the API's shape."""
    body = {
        "error": CODES.get(status, "error"),
        "message": message or MESSAGES.get(status, "Error."),
        "fields": fields or {},
    }
    return jsonify(body), status


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        db.session.rollback()
    if wants_json():
        response, status = json_error(status, error.description if status != 500 else None)
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response, status
    template = f"errors/{status}.html" if status in (403, 404, 429, 500) else "errors/generic.html"
    message = MESSAGES.get(status, error.description)
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    return render_template(template, status=status, message=message, error=error), status


def handle_unexpected(error: Exception):
    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    return handle_http_exception(InternalServerError(original_exception=error))


def register(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(HTTPException, handle_http_exception)
    if not app.testing or app.config.get("HANDLE_UNEXPECTED_ERRORS"):
        app.register_error_handler(Exception, handle_unexpected)
