"""The JSON API under /api/: bearer tokens only (no session cookies, so no CSRF), JSON in and out,
and an OpenAPI 3 document generated from the code by flask-smorest."""

from __future__ import annotations

import flask_smorest
from flask import Flask

from ..extensions import csrf
from . import accounts, calendars, contacts, docs, scheduling
from .core import INVITEE, OWNER
from .schemas import ErrorSchema

API_BLUEPRINTS = (accounts.bp, contacts.bp, calendars.bp, scheduling.bp)

DESCRIPTION = """\
JSON in, JSON out. Create an account with `POST /api/accounts/signup/`, sign in with
`POST /api/accounts/signin/` for `{"token": "..."}` and send it as `Authorization: Bearer <token>`.
Invitees use the token at the end of their invitation link (`/pick/<token>`) the same way, to list their
calendar's timeslots and record their picks. Session cookies are not accepted here.

Every path works with and without its trailing slash. Dates are `YYYY-MM-DD`; datetimes are ISO 8601
with an offset (an input without one is read in the calendar's time zone; output is in the calendar's
zone). Lists take `?page=` and `?per_page=` (default 50, at most 200) and give the total in
`X-Total-Count`, with `Link` to the next and previous pages.

Errors are always `{"error": code, "message": text, "fields": {field: [problem, ...]}}`:
400 invalid input (every bad field named), 401 missing or bad token, 403 not allowed with this token,
404 not found (also for another owner's objects), 405 method not allowed, 409 conflict,
415 a body that is not JSON (wrong Content-Type, or unparsable), 429 too many requests.
"""


class Api(flask_smorest.Api):
    """flask-smorest's Api documenting our error shape.

    Errors are answered by the app's handlers (oneonone/errors.py), registered after this one's.
    """

    ERROR_SCHEMA = ErrorSchema

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """Register `blp` and document its routes under its tag."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=blp.name, parameters=parameters)
        self.spec.tag({"name": blp.tag, "description": blp.description})


def init_api(app: Flask) -> None:
    """Register the API's blueprints, its OpenAPI document and docs page."""
    # The `id` converter of the API's rules is registered for the whole app (register_blueprints).
    api = Api(app, spec_kwargs={
        "title": "OneOnOne API", "version": "1.0", "openapi_version": "3.0.3",
        "info": {"description": DESCRIPTION},
    })
    api.spec.components.security_scheme(OWNER, {
        "type": "http", "scheme": "bearer",
        "description": "An owner's API token from POST /api/accounts/signin/."})
    api.spec.components.security_scheme(INVITEE, {
        "type": "http", "scheme": "bearer",
        "description": "The token at the end of an invitation link (/pick/<token>)."})
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.extensions["oneonone.api"] = api
    app.register_blueprint(docs.bp)
    csrf.exempt(docs.bp)
