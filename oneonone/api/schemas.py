"""marshmallow schemas for every API request and response body (the OpenAPI document is built from them).

Request schemas check shapes and types only (and refuse what no database should see: NUL
characters, broken Unicode, ids beyond the id columns) and turn text into typed values (dates,
datetimes, booleans, ints); the rules themselves live in the services.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for

from ..calendars import services as calendar_services
from ..scheduling.models import PREFERENCES
from ..scheduling.suggestions import MAX_SUGGESTIONS
from .core import PageArgsSchema, WholeNumber, current_owner
from .dates import IsoDate, IsoDateTime
from .fields import (  # also used as schemas.Text, schemas.DateTime, ... by the other API modules
    TEXT_MAX,
    DateTime,
    Id,
    RequestSchema,
    ResponseSchema,
    StrictBoolean,
    Text,
)

# The fields and base schemas (Text, StrictBoolean, Id, DateTime, RequestSchema, ResponseSchema) are in
# fields.py, the datetimes a request sends in dates.py.

# ---- errors and auth --------------------------------------------------------------------------

class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True, metadata={
        "example": "invalid",
        "description": "A short code: invalid, unauthorized, forbidden, not_found, method_not_allowed, "
                       "conflict, too_large, unsupported_media_type, too_many_requests, server_error."})
    message = ma.fields.String(required=True, metadata={
        "example": "email: Enter a valid email address.", "description": "What went wrong, for people."})
    fields = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), required=True,
        metadata={"example": {"email": ["Enter a valid email address."]},
                  "description": "Each field at fault and its problems (empty when no field is)."})


class FieldsDescriptionSchema(ma.Schema):
    method = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), required=True, metadata={
        "description": "Each field the body takes: its JSON type, whether it is required, and its rules."})


class SignupSchema(RequestSchema):
    first_name = Text(required=True, metadata={"description": "At most 120 characters."})
    last_name = Text(required=True, metadata={"description": "At most 120 characters."})
    username = Text(required=True, metadata={
        "description": "3 to 64 letters, digits, dots, dashes or underscores; unique."})
    email = Text(required=True, metadata={"format": "email",
                                          "description": "Unique; at most 120 characters."})
    password = Text(required=True, metadata={
        "format": "password", "description": "At least 10 characters, not a common password."})
    repeat_password = Text(required=True, metadata={"format": "password",
                                                    "description": "The same password."})
    timezone = Text(metadata={"description": "An IANA time zone such as Europe/London (default UTC)."})


class SigninSchema(RequestSchema):
    email = Text(required=True, metadata={"format": "email"})
    password = Text(required=True, metadata={"format": "password"})


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={
        "description": "Send it as `Authorization: Bearer <token>`; it lasts until you sign out, change "
                       "your password or email, or leave it unused for 30 days (API_TOKEN_MAX_IDLE_DAYS)."})


class UserSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    timezone = ma.fields.String(required=True)
    email_verified = ma.fields.Boolean(attribute="is_verified", required=True, metadata={
        "description": "false until the link emailed to `email` is opened; until then inviting, resending, "
                       "reminding and confirming answer 403 `email_not_verified`."})
    pending_email = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "A new address waiting for the link emailed to it; `email` stays in force until then."})
    answer_notifications = ma.fields.String(required=True, metadata={
        "enum": ["each", "daily", "off"],
        "description": "How you hear of answers: `each` (an email per answer), `daily` (one summary a day, "
                       "by `flask digest`; the default) or `off`."})


class SignupResultSchema(ma.Schema):
    username = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    timezone = ma.fields.String(required=True)
    email_verified = ma.fields.Boolean(dump_default=False, required=True, metadata={
        "description": "Always false: the address is verified by opening the link emailed to it."})
    detail = ma.fields.String(required=True)


class EmailSchema(RequestSchema):
    email = Text(required=True, metadata={"format": "email"})


class PasswordResetSchema(RequestSchema):
    token = Text(required=True, metadata={"description": "The token of the link in the reset email "
                                                         "(the last part of /accounts/password/reset/<token>)."})
    password = Text(required=True, metadata={"format": "password"})
    repeat_password = Text(required=True, metadata={"format": "password"})


class DeleteAccountSchema(RequestSchema):
    password = Text(required=True, metadata={"format": "password"})


class MessageSchema(ma.Schema):
    message = ma.fields.String(required=True)


class ProfileUpdateSchema(RequestSchema):
    first_name = Text()
    last_name = Text()
    username = Text()
    email = Text(metadata={"format": "email", "description": "Changing it needs `current_password`; the new "
                           "address takes effect when the link emailed to it is opened (see `pending_email`)."})
    timezone = Text()
    answer_notifications = Text(metadata={"enum": ["each", "daily", "off"],
                                          "description": "`each`, `daily` or `off`."})
    password = Text(metadata={"format": "password",
                              "description": "A new password; needs `current_password`."})
    current_password = Text(metadata={"format": "password"})


# ---- contacts ---------------------------------------------------------------------------------

class ContactSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    image_url = ma.fields.Method("get_image_url", required=True, metadata={
        "type": "string", "nullable": True,
        "description": "The photo (GET it with your API token), or null."})

    def get_image_url(self, contact) -> str | None:
        from ..contacts.photos import photo_version

        version = photo_version(contact)
        return None if version is None else url_for("api_contacts.contact_photo", contact_id=contact.id,
                                                    v=version)


class ContactCreateSchema(RequestSchema):
    first_name = Text(required=True)
    last_name = Text(required=True)
    email = Text(required=True, metadata={"format": "email", "description": "Unique in your address book."})


class ContactUpdateSchema(RequestSchema):
    first_name = Text()
    last_name = Text()
    email = Text(metadata={"format": "email"})
    remove_image = StrictBoolean(metadata={"description": "true removes the contact's photo."})


# ---- calendars and timeslots ------------------------------------------------------------------

class TimeslotSchema(ResponseSchema):
    id = ma.fields.Integer(required=True)
    calendar = ma.fields.Integer(attribute="calendar_id", required=True)
    start_time = DateTime(required=True)
    end_time = DateTime(required=True)
    high_priority = ma.fields.Boolean(required=True)


# The calendar's response schemas (CalendarSchema, CalendarDetailSchema) are in api/calendars.py.
class CalendarCreateSchema(RequestSchema):
    name = Text(required=True, metadata={"description": "At most 50 characters."})
    start_date = IsoDate("Start date", required=True, metadata={"description": "YYYY-MM-DD."})
    end_date = IsoDate("End date", required=True, metadata={"description": "On or after start_date."})
    timezone = Text(metadata={"description": "An IANA time zone (default: yours)."})
    response_deadline = IsoDateTime("Response deadline", allow_none=True, metadata={
        "description": "Invitees can answer until then (ISO 8601; without an offset, in the "
                       "calendar's zone). It must be in the future: a past one is refused (400 naming "
                       "response_deadline)."})
    location = Text(allow_none=True, metadata={"description": "Where you meet: one line, at most 200 characters."})
    meeting_url = Text(allow_none=True, metadata={
        "description": "The video call link: an absolute http:// or https:// address, at most 500 characters."})
    description = Text(allow_none=True, limit=10 * TEXT_MAX, metadata={
        "description": "The agenda: text that may hold line breaks, at most 2,000 characters."})

    def rule_problems(self, valid: dict) -> dict[str, list[str]]:
        """When some fields cannot be read, what the calendar rules say of the others."""
        return calendar_services.new_calendar_problems(current_owner(), **valid)


class TimeslotCreateSchema(RequestSchema):
    start_time = IsoDateTime("Start", required=True, metadata={
        "description": "ISO 8601; without an offset it is read in the calendar's time zone."})
    end_time = IsoDateTime("End", required=True, metadata={"description": "After start_time."})
    high_priority = StrictBoolean(load_default=False)


class TimeslotUpdateSchema(RequestSchema):
    """Only the fields sent are loaded, and changed."""

    start_time = IsoDateTime("Start")
    end_time = IsoDateTime("End")
    high_priority = StrictBoolean()


class ConfirmArgsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    confirm = ma.fields.Boolean(load_default=False, metadata={
        "description": "true deletes a slot even if it holds a confirmed meeting (the invitee is told)."})


# ---- invitations, events and suggestions ------------------------------------------------------

class InviteeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    calendar_id = ma.fields.Integer(required=True)
    contact_id = ma.fields.Integer(required=True)
    link = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The invitation link, when this response created it; null otherwise (links are "
                       "stored hashed). Its token is the invitee's bearer token."})
    responded = ma.fields.Boolean(required=True)


class EventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    calendar = ma.fields.Integer(attribute="calendar_id", required=True)
    timeslot = ma.fields.Integer(attribute="timeslot_id", required=True)
    contact = ma.fields.Integer(attribute="contact_id", required=True)
    confirmed = ma.fields.Boolean(required=True)
    preference = ma.fields.String(required=True, validate=ma.validate.OneOf(PREFERENCES))
    owner_placed = ma.fields.Boolean(required=True, metadata={
        "description": "true: a meeting the owner moved to a slot the invitee did not pick; `preference` is "
                       "then not the invitee's answer, and the event goes when the meeting is cancelled."})
    status = ma.fields.Method("get_status", required=True, metadata={
        "type": "string", "enum": ["confirmed", "picked", "removed"],
        "description": "confirmed: the meeting is on; picked: the invitee can make it, not finalized; "
                       "removed: an owner-placed meeting was cancelled, and the event no longer exists."})

    def get_status(self, event) -> str:
        if sa.inspect(event).was_deleted:  # an owner-placed meeting, cancelled
            return "removed"
        return "confirmed" if event.confirmed else "picked"


class EventCreateSchema(RequestSchema):
    calendar = Id(required=True)
    timeslot = Id(required=True)
    contact = Id(required=True)
    preference = Text(load_default=PREFERENCES[0], validate=ma.validate.OneOf(PREFERENCES))


class EventUpdateSchema(RequestSchema):
    confirmed = StrictBoolean(required=True, metadata={
        "description": "true finalizes the meeting (the invitee gets an email with an .ics file and the "
                       "slot's other events are unconfirmed); false undoes it."})


class SuggestArgsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    k = WholeNumber(minimum=1, maximum=MAX_SUGGESTIONS, load_default=3,
                    metadata={"description": "How many schedules, best first."})


class ScoreSchema(ma.Schema):
    scheduled = ma.fields.Integer(required=True)
    high_priority = ma.fields.Integer(required=True)
    preferred = ma.fields.Integer(required=True)


class AssignmentSchema(ma.Schema):
    contact = ma.fields.Integer(required=True)
    timeslot = ma.fields.Integer(required=True)
    event = ma.fields.Integer(required=True)
    forced = ma.fields.Boolean(required=True, metadata={
        "description": "true when every schedule as good as the best (same score) gives this invitee this "
                       "same slot: the only slot they can have."})


class UnscheduledSchema(ma.Schema):
    contact = ma.fields.Integer(required=True)
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(["no_picks", "slots_taken"]))
    would_fit = ma.fields.List(ma.fields.Integer(), required=True, metadata={
        "description": "In the best schedule: the timeslots this invitee did not pick that would seat them "
                       "without unseating anyone (confirmed meetings kept), in start order. Ask them with "
                       "POST /api/calendars/{calendar_id}/invitees/{contact_id}/ask/. Empty elsewhere."})


class ChangeSchema(ma.Schema):
    contact = ma.fields.Integer(required=True)
    from_timeslot = ma.fields.Integer(required=True, allow_none=True,
                                      metadata={"description": "Their slot in the best schedule; null: none."})
    to_timeslot = ma.fields.Integer(required=True, allow_none=True,
                                    metadata={"description": "Their slot in this schedule; null: none."})


class ScheduleSchema(ma.Schema):
    score = ma.fields.Nested(ScoreSchema, required=True)
    assignments = ma.fields.List(ma.fields.Nested(AssignmentSchema), required=True)
    unscheduled = ma.fields.List(ma.fields.Nested(UnscheduledSchema), required=True)
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True, metadata={
        "description": "How this schedule differs from the best, invitee by invitee (empty for the best)."})
    equally_good = ma.fields.Boolean(required=True, metadata={
        "description": "true for a schedule after the best whose score equals the best's."})


class AskSchema(RequestSchema):
    timeslots = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1), metadata={
        "description": "Timeslot ids, each among the invitee's `would_fit` in the suggested schedules."})


class AskedSchema(ma.Schema):
    contact = ma.fields.Integer(attribute="contact_id", required=True)
    asked_timeslots = ma.fields.List(ma.fields.Integer(), attribute="asked_timeslot_ids", required=True)
    asked_at = ma.fields.AwareDateTime(required=True)


class SuggestionsSchema(ma.Schema):
    schedules = ma.fields.List(ma.fields.Nested(ScheduleSchema), required=True)


class ContactListArgsSchema(PageArgsSchema):
    search = Text(metadata={"description": "Words to find in the name or email."})
