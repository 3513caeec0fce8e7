"""Calendars and their timeslots."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from ..calendars import services, timeslots
from ..exceptions import NotFoundError
from . import schemas
from .core import (
    INVITEE,
    OWNER,
    PAGE_HEADERS_DOC,
    ApiBlueprint,
    current_owner,
    list_page,
    page_args,
    page_headers,
    requires,
)

bp = ApiBlueprint("api_calendars", __name__, tag="Calendars", url_prefix="/api/calendars",
                  description="Calendars (a date window in a time zone) and the timeslots you offer in them.")


@bp.route("/")
class Calendars(MethodView):
    @requires(OWNER)
    @bp.arguments(schemas.PageArgsSchema, location="query")
    @bp.response(200, schemas.CalendarSchema(many=True), headers=PAGE_HEADERS_DOC)
    @bp.doc(operationId="listCalendars")
    def get(self, args):
        """List your calendars (latest window first)"""
        page_number, per_page = page_args(args)
        page = services.list_calendars(current_owner(), page=page_number, per_page=per_page)
        return page.items, page_headers(page)

    @requires(OWNER)
    @bp.body(schemas.CalendarCreateSchema)
    @bp.response(201, schemas.CalendarSchema)
    @bp.doc(operationId="createCalendar")
    def post(self, data):
        """Create a calendar

        `timezone` defaults to yours; `owner` in the body, if sent, is ignored: it is you.
        """
        return services.create_calendar(
            current_owner(), name=data["name"], start_date=data["start_date"], end_date=data["end_date"],
            timezone=data.get("timezone"), response_deadline=data.get("response_deadline"))


@bp.route("/<id:calendar_id>/")
class CalendarDetail(MethodView):
    @requires(OWNER)
    @bp.response(200, schemas.CalendarDetailSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="getCalendar")
    def get(self, calendar_id: int):
        """A calendar with its timeslots"""
        return services.get_calendar(current_owner(), calendar_id)

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
    page = list_page(timeslots.calendar_timeslots(calendar), page_number, per_page)
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
        """Change a timeslot (partial updates allowed; a moved confirmed meeting is emailed)"""
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
