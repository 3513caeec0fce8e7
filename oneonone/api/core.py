"""The API's plumbing: blueprints that answer with and without a trailing slash, JSON-only bodies
(415 otherwise), 400s that name every bad field, bearer-token authentication and pagination."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import g, request
from flask_smorest import Blueprint
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser

from ..accounts.models import User
from ..accounts.services import user_for_api_token
from ..exceptions import DomainError, NotFoundError
from ..hosts import public_url_for
from ..pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, Page, clamp_page_args
from ..scheduling.models import Invitee
from ..validation import parse_int
from .dates import NamedProblem

OWNER = "ownerToken"
INVITEE = "invitationToken"
AUTH_REALM = 'Bearer realm="OneOnOne API"'
TOKEN_MAX = 200  # tokens are 43 characters; anything much longer is not one


# ---- errors ---------------------------------------------------------------------------------

class ApiError(DomainError):
    """A refusal only the API makes (bad token, body not JSON), with its status and extra headers.

    Like every domain error it is answered by `oneonone.errors.handle_domain_error`.
    """

    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message, fields, headers)
        self.status = status


# ---- request bodies ---------------------------------------------------------------------------

def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"field" or "field.sub": [problem, ...]}."""
    if isinstance(messages, dict):
        fields: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = "body" if key == "_schema" and not prefix else str(key)
            for field, problems in _flatten(value, f"{prefix}.{name}" if prefix else name).items():
                fields.setdefault(field, []).extend(problems)
        return fields
    if isinstance(messages, list | tuple):
        flat: dict[str, list[str]] = {}
        for item in messages:
            for field, problems in _flatten(item, prefix).items():
                flat.setdefault(field, []).extend(problems)
        return flat
    return {prefix or "body": [messages if isinstance(messages, str) else str(messages)]}


def invalid_fields_message(fields: dict[str, list[str]]) -> str:
    """A one-line summary naming the fields at fault."""
    if len(fields) == 1:
        name, problems = next(iter(fields.items()))
        return problems[0] if isinstance(problems[0], NamedProblem) else f"{name}: {problems[0]}"
    return "Please correct these fields: " + ", ".join(fields) + "."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class ApiParser(FlaskParser):
    """webargs parser: bodies must be JSON (else 415); invalid input is a 400 naming each field."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req, schema):
        """The parsed JSON body; 415 unless the Content-Type is JSON and the body parses."""
        if not webargs_core.is_json(req.mimetype):
            raise ApiError(415, "Send the request body as JSON (Content-Type: application/json).")
        try:
            return json.loads(req.get_data(cache=True), parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError too
            raise ApiError(415, "The request body is not valid JSON.") from error

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        """A 400 naming every missing or invalid field."""
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            # webargs namespaces messages under the location ("json", "query").
            messages = next(iter(messages.values()))
        fields = _flatten(messages)
        # The rules of the fields that could be read, so that one answer names every bad field.
        rule_problems = getattr(schema, "rule_problems", None)
        if rule_problems is not None and isinstance(error.valid_data, dict):
            for name, problems in rule_problems(error.valid_data).items():
                fields.setdefault(name, problems)
        raise ApiError(error_status_code or 400, invalid_fields_message(fields), fields)


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose every rule answers with and without its trailing slash."""

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, name: str, import_name: str, *, tag: str, **kwargs):
        super().__init__(name, import_name, **kwargs)
        self.tag = tag

    def route(self, rule, *, parameters=None, tags=None, **options):
        options.setdefault("strict_slashes", False)
        return super().route(rule, parameters=parameters, tags=tags or [self.tag], **options)

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        options.setdefault("strict_slashes", False)
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def body(self, schema, **kwargs):
        """A JSON request body (documented with its 400 and 415 answers)."""
        arguments = self.arguments(schema, location="json", **kwargs)
        unsupported = self.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")

        def decorator(func):
            return unsupported(arguments(func))

        return decorator


# ---- authentication ---------------------------------------------------------------------------

def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _invitee_for(token: str) -> tuple[Invitee | None, str | None]:
    """The invitee of an invitation token, or None and why not (when the link was replaced)."""
    from ..scheduling.invitations import LinkReplacedError, invitee_for_token

    try:
        return invitee_for_token(token), None
    except LinkReplacedError as error:
        return None, f"{error.message} Use the link in the latest invitation email."
    except NotFoundError:
        return None, None


def _unauthorized(message: str, *, invalid: bool) -> ApiError:
    challenge = f'{AUTH_REALM}, error="invalid_token"' if invalid else AUTH_REALM
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def authenticate(kinds: Sequence[str]) -> None:
    """Set g.api_user or g.api_invitee from the bearer token, or raise 401/403."""
    g.api_user = None
    g.api_invitee = None
    token = bearer_token()
    if token is None:
        raise _unauthorized("Send your API token as `Authorization: Bearer <token>` "
                            "(POST /api/accounts/signin/ gives you one).", invalid=False)
    if len(token) > TOKEN_MAX:
        raise _unauthorized("This token is not valid.", invalid=True)
    user = user_for_api_token(token)
    if user is not None and OWNER in kinds:
        g.api_user = user
        return
    invitee, problem = _invitee_for(token) if user is None else (None, None)
    if problem:
        raise _unauthorized(problem, invalid=True)
    if invitee is not None:
        if INVITEE in kinds:
            g.api_invitee = invitee
            return
        raise ApiError(403, "An invitation token cannot do this; it lists its calendar's timeslots "
                            "and records its own picks.")
    raise _unauthorized("This token is not valid (it may have been revoked). Sign in again.", invalid=True)


def requires(*kinds: str) -> Callable:
    """Decorator: the bearer token must be one of `kinds` (OWNER, INVITEE); documents the security."""

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            authenticate(kinds)
            return func(*args, **kwargs)

        doc = dict(getattr(func, "_apidoc", {}))
        manual = dict(doc.get("manual_doc", {}))
        manual["security"] = [{kind: []} for kind in kinds]
        doc["manual_doc"] = manual
        response = dict(doc.get("response", {}))
        responses = {key: list(value) for key, value in response.get("responses", {}).items()}
        responses.setdefault(401, []).append("UNAUTHORIZED")
        responses.setdefault(403, []).append("FORBIDDEN")
        response["responses"] = responses
        doc["response"] = response
        wrapper._apidoc = doc
        return wrapper

    return decorator


def current_owner() -> User:
    """The owner authenticated by the bearer token (inside a @requires(OWNER) view)."""
    user = g.get("api_user")
    if user is None:
        raise ApiError(403, "This needs the calendar owner's API token.")
    return user


# ---- pagination -------------------------------------------------------------------------------

class LenientInteger(ma.fields.Integer):
    """A page number or size: anything unusable falls back to the default instead of a 400."""

    def _deserialize(self, value, attr, data, **kwargs):
        return parse_int(value, clamp=True)  # clamp_page_args caps it further


class WholeNumber(ma.fields.Integer):
    """A count in a query string (`?k=3`): ASCII digits within the range, else a 400 naming it."""

    def __init__(self, *, minimum: int, maximum: int, **kwargs):
        super().__init__(validate=ma.validate.Range(minimum, maximum), **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_int(value, minimum=self.minimum, maximum=self.maximum)
        if number is None:
            raise ma.ValidationError(f"Must be a whole number from {self.minimum} to {self.maximum}.")
        return number


class PageArgsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    page = LenientInteger(load_default=1, metadata={
        "minimum": 1, "description": "Page number, from 1."})
    per_page = LenientInteger(load_default=DEFAULT_PER_PAGE, metadata={
        "minimum": 1, "maximum": MAX_PER_PAGE,
        "description": f"Items per page: default 50, at most {MAX_PER_PAGE} (larger values are capped)."})


def page_args(args: dict) -> tuple[int, int]:
    """(page, per_page) from parsed query args, clamped like the pages do."""
    return clamp_page_args(args.get("page"), args.get("per_page"))


def list_page(items: Sequence[Any], page: int, per_page: int) -> Page:
    """One page of an in-memory list."""
    start = (page - 1) * per_page
    return Page(items=items[start:start + per_page], total=len(items), page=page, per_page=per_page)


def page_headers(page: Page, **query) -> dict[str, str]:
    """X-Total-Count, and a Link header with the next and previous pages of this endpoint."""
    headers = {"X-Total-Count": str(page.total)}
    links = []
    for rel, number in (("next", page.next_num), ("prev", page.prev_num)):
        if number is not None:
            # From PUBLIC_URL, never the request's Host header.
            url = public_url_for(request.endpoint, **(request.view_args or {}), **query, page=number,
                                 per_page=page.per_page)
            links.append(f'<{url}>; rel="{rel}"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers


PAGE_HEADERS_DOC = {
    "X-Total-Count": {"description": "How many items there are across all pages.",
                      "schema": {"type": "integer", "minimum": 0}},
    "Link": {"description": 'The next and previous pages: `<url>; rel="next", <url>; rel="prev"`.',
             "schema": {"type": "string"}},
}
