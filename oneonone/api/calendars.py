"""Calendars and their timeslots (and the calendar's own bodies: the calendar JSON, its update and its
replacement, which only these endpoints take)."""

from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
from flask import g, url_for
from flask.views import MethodView

from ..calendars import services, timeslots
from ..calendars.details import DETAIL_FIELDS
from ..calendars.models import Calendar, Timeslot
from ..exceptions import NotFoundError
from . import schemas
from .core import (
    INVITEE,
    OWNER,
    PAGE_HEADERS_DOC,
    ApiBlueprint,
    current_owner,
    page_args,
    page_headers,
    requires,
)
from .dates import IsoDate, IsoDateTime

NESTED_TIMESLOTS_MAX = 100
"""The calendar JSON nests its timeslots as the design document asks, but at most this many: the rest
are in the paginated GET /api/calendars/<id>/timeslots/ (`timeslots_url`)."""


class CalendarSchema(schemas.ResponseSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    start_date = ma.fields.Date(required=True)
    end_date = ma.fields.Date(required=True)
    owner = ma.fields.Integer(attribute="owner_id", required=True,
                              metadata={"description": "The owner's user id."})
    timezone = ma.fields.String(required=True)
    response_deadline = schemas.DateTime(required=True, allow_none=True)
    location = ma.fields.String(required=True, allow_none=True, metadata={"description": "Where you meet, or null."})
    meeting_url = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The video call link (http or https), or null."})
    description = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The agenda, which may hold line breaks (\\n), or null."})


class CalendarDetailSchema(CalendarSchema):
    timeslots = ma.fields.List(ma.fields.Nested(schemas.TimeslotSchema), required=True, metadata={
        "description": f"The timeslots, earliest first: at most the first {NESTED_TIMESLOTS_MAX}. "
                       f"`timeslots_total` says how many the calendar has; when it has more, the rest are "
                       f"at `timeslots_url` (paginated)."})
    timeslots_total = ma.fields.Integer(required=True, metadata={
        "minimum": 0, "description": "How many timeslots the calendar has in all."})
    timeslots_url = ma.fields.String(required=True, metadata={
        "description": "GET /api/calendars/{calendar_id}/timeslots/ (listTimeslots, paginated with `page` "
                       "and `per_page`): every timeslot, earliest first, past the nested ones too."})


@dataclass
class CalendarWithTimeslots:
    """A calendar with its first timeslots, as getCalendar answers it."""

    calendar: Calendar
    timeslots: list[Timeslot]
    timeslots_total: int
    timeslots_url: str

    def __getattr__(self, name: str):  # the calendar's own fields (and its zone, for the datetimes)
        if name == "calendar":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.calendar, name)


def calendar_detail(calendar: Calendar) -> CalendarWithTimeslots:
    """The calendar with its first NESTED_TIMESLOTS_MAX slots and how many it has (one query)."""
    slots, total = timeslots.first_timeslots(calendar, NESTED_TIMESLOTS_MAX)
    return CalendarWithTimeslots(calendar, slots, total,
                                 url_for("api_calendars.calendar_timeslots", calendar_id=calendar.id))


def _slot_times() -> ma.fields.Field:
    """What a change of time zone does to the slots (PATCH and PUT)."""
    return schemas.Text(load_default=services.KEEP_MOMENTS, validate=ma.validate.OneOf(
        services.SLOT_TIMES, error="Must be keep_clock_times or keep_moments."), metadata={
        "description": "When timezone changes: `keep_moments` (the default) keeps each slot's moment, "
                       "shown at another clock time from now on, and emails nobody; `keep_clock_times` "
                       "keeps each slot's clock time (09:00 stays 09:00 in the new zone), so the slots "
                       "move: answers on a moved slot that are not a confirmed meeting are removed and "
                       "those invitees emailed to pick again, and a confirmed meeting is emailed its new "
                       "time. A slot (or the deadline) whose clock time the new zone skips or shows twice "
                       "refuses the change (400 naming slot_times or response_deadline). A deadline not "
                       "sent follows the same choice; one already passed stays as it was."})


class CalendarUpdateSchema(schemas.RequestSchema):
    """Only the fields sent are loaded, and changed."""

    name = schemas.Text(metadata={"description": "At most 50 characters."})
    start_date = IsoDate("Start date", metadata={"description": "YYYY-MM-DD."})
    end_date = IsoDate("End date", metadata={"description": "On or after start_date."})
    timezone = schemas.Text(metadata={"description": "An IANA time zone. What happens to the slots: see slot_times."})
    response_deadline = IsoDateTime("Response deadline", allow_none=True, metadata={
        "description": "A new deadline (ISO 8601; without an offset, in the calendar's new zone) must be "
                       "in the future; null removes it. Not sent, it follows slot_times."})
    location = schemas.Text(allow_none=True, metadata={
        "description": "Where you meet: one line, at most 200 characters; empty or null removes it."})
    meeting_url = schemas.Text(allow_none=True, metadata={
        "description": "The video call link: an absolute http:// or https:// address, at most 500 characters; "
                       "empty or null removes it."})
    description = schemas.Text(allow_none=True, limit=10 * schemas.TEXT_MAX, metadata={
        "description": "The agenda: text that may hold line breaks, at most 2,000 characters; empty or null "
                       "removes it."})
    slot_times = _slot_times()


class CalendarReplaceSchema(schemas.CalendarCreateSchema):
    """The whole calendar, as when creating it: an optional field not sent becomes null."""

    timezone = schemas.Text(metadata={"description": "An IANA time zone; not sent, the calendar keeps its "
                                                     "zone. What happens to the slots: see slot_times."})
    response_deadline = IsoDateTime("Response deadline", allow_none=True, metadata={
        "description": "Invitees can answer until then (ISO 8601; without an offset, in the calendar's "
                       "zone); not sent or null: no deadline. A new one must be in the future; the one "
                       "already set, sent back as GET gives it, stays even if it has passed."})
    slot_times = _slot_times()

    def rule_problems(self, valid: dict) -> dict[str, list[str]]:
        """When some fields cannot be read, what the rules that need no calendar say of the others
        (the deadline's depend on the calendar's: they are checked with a readable body)."""
        return services.new_calendar_problems(
            current_owner(), **{key: value for key, value in valid.items() if key != "response_deadline"})


bp = ApiBlueprint("api_calendars", __name__, tag="Calendars", url_prefix="/api/calendars",
                  description="Calendars (a date window in a time zone) and the timeslots you offer in them.")


@bp.route("/")
class Calendars(MethodView):
    @requires(OWNER)
    @bp.arguments(schemas.PageArgsSchema, location="query")
    @bp.response(200, CalendarSchema(many=True), headers=PAGE_HEADERS_DOC)
    @bp.doc(operationId="listCalendars")
    def get(self, args):
        """List your calendars (latest window first)"""
        page_number, per_page = page_args(args)
        page = services.list_calendars(current_owner(), page=page_number, per_page=per_page)
        return page.items, page_headers(page)

    @requires(OWNER)
    @bp.body(schemas.CalendarCreateSchema)
    @bp.response(201, CalendarSchema)
    @bp.doc(operationId="createCalendar")
    def post(self, data):
        """Create a calendar

        `timezone` defaults to yours; `owner` in the body, if sent, is ignored: it is you.
        """
        return services.create_calendar(
            current_owner(), name=data["name"], start_date=data["start_date"], end_date=data["end_date"],
            timezone=data.get("timezone"), response_deadline=data.get("response_deadline"),
            **{key: data.get(key) for key in DETAIL_FIELDS})


@bp.route("/<id:calendar_id>/")
class CalendarDetail(MethodView):
    @requires(OWNER)
    @bp.response(200, CalendarDetailSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="getCalendar")
    def get(self, calendar_id: int):
        """A calendar with its first 100 timeslots

        `timeslots` nests the first 100 by start time (the design document's shape); a larger
        calendar's other slots are in listTimeslots (`timeslots_url`, paginated), and
        `timeslots_total` says how many there are in all.
        """
        return calendar_detail(services.get_calendar(current_owner(), calendar_id))

    @requires(OWNER)
    @bp.body(CalendarUpdateSchema)
    @bp.response(200, CalendarSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="updateCalendar")
    def patch(self, data, calendar_id: int):
        """Change a calendar (only the fields sent)

        Changing `timezone` keeps the slots' moments unless `slot_times` is `keep_clock_times`:
        then they keep their clock times and move, the answers on moved slots that are not a
        confirmed meeting are removed (those invitees are emailed to pick again) and confirmed
        meetings are emailed their new time.
        """
        calendar = services.get_calendar(current_owner(), calendar_id)
        slot_times = data.pop("slot_times")
        return services.update_calendar(calendar, data, slot_times=slot_times)

    @requires(OWNER)
    @bp.body(CalendarReplaceSchema)
    @bp.response(200, CalendarSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="replaceCalendar")
    def put(self, data, calendar_id: int):
        """Replace a calendar (every field, as when creating it)

        The body of createCalendar: an optional field not sent becomes null (no response deadline, no
        location, video call link or description), except `timezone`, which stays when not sent.
        `slot_times` says what a change of zone does to the slots, as in updateCalendar.
        """
        calendar = services.get_calendar(current_owner(), calendar_id)
        slot_times = data.pop("slot_times")
        changes = {"response_deadline": None, **dict.fromkeys(DETAIL_FIELDS), **data}
        return services.update_calendar(calendar, changes, slot_times=slot_times)

    @requires(OWNER)
    @bp.body(schemas.TimeslotCreateSchema)
    @bp.response(201, schemas.TimeslotSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.alt_response(409, response="CONFLICT", description="The slot overlaps another one.")
    @bp.doc(operationId="addTimeslot")
    def post(self, data, calendar_id: int):
        """Add a timeslot

        Times without an offset are read in the calendar's time zone; the slot must lie in the
        calendar's window and not overlap another.
        """
        calendar = services.get_calendar(current_owner(), calendar_id)
        return timeslots.add_timeslot(calendar, start_time=data["start_time"], end_time=data["end_time"],
                                      high_priority=data["high_priority"])

    @requires(OWNER)
    @bp.response(204)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="deleteCalendar")
    def delete(self, calendar_id: int):
        """Delete a calendar with its slots, invitations and picks

        Invitees with an upcoming confirmed meeting are emailed a cancellation.
        """
        services.delete_calendar(services.get_calendar(current_owner(), calendar_id))
        return None


@bp.route("/<id:calendar_id>/timeslots/", methods=["GET"])
@requires(OWNER, INVITEE)
@bp.arguments(schemas.PageArgsSchema, location="query")
@bp.response(200, schemas.TimeslotSchema(many=True), headers=PAGE_HEADERS_DOC)
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(operationId="listTimeslots")
def calendar_timeslots(args, calendar_id: int):
    """A calendar's timeslots, earliest first

    For the owner, and for the calendar's invitees with the token of their invitation link.
    """
    if g.api_invitee is not None:
        if g.api_invitee.calendar_id != calendar_id:
            raise NotFoundError("We could not find that calendar.")
        calendar = g.api_invitee.calendar
    else:
        calendar = services.get_calendar(current_owner(), calendar_id)
    page_number, per_page = page_args(args)
    page = timeslots.timeslot_page(calendar, page_number, per_page)
    return page.items, page_headers(page)


@bp.route("/<id:calendar_id>/timeslots/<id:timeslot_id>/")
class TimeslotDetail(MethodView):
    @requires(OWNER)
    @bp.body(schemas.TimeslotUpdateSchema)
    @bp.response(200, schemas.TimeslotSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.alt_response(409, response="CONFLICT", description="The slot would overlap another one.")
    @bp.doc(operationId="updateTimeslot")
    def put(self, data, calendar_id: int, timeslot_id: int):
        """Change a timeslot (partial updates allowed)

        When its times change, the picks on it that are not a confirmed meeting are removed and
        those invitees are emailed that a time they picked changed, with their link to pick again
        (one left with no picks counts as not answered); a confirmed meeting there is emailed the
        new and the old time. Changing only `high_priority` changes nobody's answers.
        """
        timeslot = timeslots.get_timeslot(current_owner(), calendar_id, timeslot_id)
        return timeslots.update_timeslot(timeslot, data)

    @requires(OWNER)
    @bp.arguments(schemas.ConfirmArgsSchema, location="query")
    @bp.response(204)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.alt_response(409, response="CONFLICT",
                     description="A meeting is confirmed in this slot: repeat with `?confirm=true`.")
    @bp.doc(operationId="deleteTimeslot")
    def delete(self, args, calendar_id: int, timeslot_id: int):
        """Delete a timeslot and its picks

        If a meeting is confirmed in it, the answer is 409 unless `?confirm=true`; the invitee is then
        emailed a cancellation.
        """
        timeslot = timeslots.get_timeslot(current_owner(), calendar_id, timeslot_id)
        timeslots.delete_timeslot(timeslot, confirm=args["confirm"])
        return None
