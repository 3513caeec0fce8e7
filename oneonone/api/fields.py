"""The API's own marshmallow fields and base schemas: text the database can store, strict booleans and
ids, datetimes shown in their calendar's zone (resolved once per response), and the request and
response schemas' bases. (Dates and datetimes a request sends: dates.py; the bodies: schemas.py.)
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from zoneinfo import ZoneInfo

import marshmallow as ma

from ..validation import ID_MAX
from .dates import REQUEST_ERRORS

TEXT_MAX = 1000  # far above any field's own limit; only bounds the work a huge string causes


class Text(ma.fields.String):
    """A string the database can store: no NUL characters, valid Unicode, at most `limit` characters."""

    default_error_messages = {**REQUEST_ERRORS, "invalid": "Must be a string."}

    def __init__(self, *args, limit: int = TEXT_MAX, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain NUL characters.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ma.ValidationError("Must be valid Unicode text.") from error
        if len(text) > self.limit:
            raise ma.ValidationError(f"Must be at most {self.limit} characters.")
        return text


class StrictBoolean(ma.fields.Boolean):
    """JSON true or false only (not "yes", 1 or "on")."""

    default_error_messages = REQUEST_ERRORS

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ma.ValidationError("Must be true or false.")
        return value


class Id(ma.fields.Integer):
    """A positive integer id that fits the database's integer columns."""

    default_error_messages = {**REQUEST_ERRORS, "invalid": "Must be an integer id."}

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=ma.validate.Range(1, ID_MAX), **kwargs)


class DateTime(ma.fields.DateTime):
    """ISO 8601 output in the calendar's time zone, with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(zone_of(obj)).isoformat()


# Each calendar's zone, by calendar id, while a ResponseSchema dumps one response (None outside one).
_response_zones: ContextVar[dict[int, dt.tzinfo] | None] = ContextVar("api_response_zones", default=None)


class ResponseSchema(ma.Schema):
    """A response body whose datetimes show in their calendar's zone: each calendar's zone is resolved
    once per response (a list of 100 timeslots builds one ZoneInfo, not 200), nested schemas included."""

    def dump(self, obj, *, many=None):
        if _response_zones.get() is not None:  # nested in a response already being dumped
            return super().dump(obj, many=many)
        token = _response_zones.set({})
        try:
            return super().dump(obj, many=many)
        finally:
            _response_zones.reset(token)


def zone_of(obj) -> dt.tzinfo:
    """The zone of the calendar `obj` is (or belongs to); UTC when it has none. Inside a
    ResponseSchema's dump, read once per calendar."""
    key = getattr(obj, "id", None) if hasattr(obj, "zone") else getattr(obj, "calendar_id", None)
    zones = _response_zones.get()
    if zones is not None and key is not None and key in zones:
        return zones[key]
    calendar = obj if hasattr(obj, "zone") else getattr(obj, "calendar", None)
    try:
        zone: dt.tzinfo = ZoneInfo(calendar.timezone) if calendar is not None else dt.UTC
    except (ValueError, KeyError):
        zone = dt.UTC
    if zones is not None and key is not None:
        zones[key] = zone
    return zone


class RequestSchema(ma.Schema):
    class Meta:
        # Fields the API does not use (such as the design document's "owner" or "user") are ignored.
        unknown = ma.EXCLUDE
