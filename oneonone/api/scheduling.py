"""Invitations, picks, suggested schedules and finalizing meetings.

The design document names a pick an "event" (`/api/events/`, `EventSchema`); a confirmed event is a
meeting. The schemas parse the bodies into typed values; the services check the business rules.
"""

from __future__ import annotations

import dataclasses
import json

import marshmallow as ma
import sqlalchemy as sa
from flask import Response, g, request
from flask.views import MethodView

from ..accounts.services import user_for_api_token
from ..calendars import services as calendar_services
from ..calendars.models import Timeslot
from ..calendars.timeslots import get_timeslot
from ..contacts import services as contact_services
from ..exceptions import NotFoundError
from ..extensions import db, limiter
from ..scheduling import answers, confirmations, invitations, pages, reminders
from ..scheduling.models import ANSWER_STATES, COMMENT_MAX, Invitee
from ..scheduling.suggestions import Suggestions, suggest_for_calendar
from . import schemas
from .core import (
    INVITEE,
    OWNER,
    PAGE_HEADERS_DOC,
    ApiBlueprint,
    ApiError,
    bearer_token,
    current_owner,
    list_page,
    page_args,
    page_headers,
    requires,
)

bp = ApiBlueprint("api_scheduling", __name__, tag="Scheduling", url_prefix="/api",
                  description="Invite contacts, record their picks, see suggested schedules and "
                              "finalize meetings.")


def invitee_resource(invitee: Invitee, token: str | None) -> dict:
    """The invitee as JSON; `link` only when this answer created the token (only its hash is kept)."""
    return {
        "id": invitee.id,
        "calendar_id": invitee.calendar_id,
        "contact_id": invitee.contact_id,
        "link": invitations.invitee_link(token) if token else None,
        "responded": invitee.responded_at is not None,
    }


# The list's schemas live here, not in schemas.py, which is at the 400-line limit (tests/test_architecture.py).
class InviteeContactSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)


class InviteeAnswerSchema(ma.Schema):
    """One row of pages.invitee_overview: an invitee with their answer."""

    id = ma.fields.Integer(attribute="invitee.id", required=True, metadata={"description": "The invitee's id."})
    contact = ma.fields.Nested(InviteeContactSchema, required=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(ANSWER_STATES), metadata={
        "description": "not_answered: no answer yet (reminders go to these only); answered: they picked "
                       "`picks` times; cant_make_any: they said none of the times work for them."})
    comment = ma.fields.String(attribute="invitee.comment", required=True, allow_none=True, metadata={
        "description": f"Their comment for you (at most {COMMENT_MAX} characters, may hold line breaks), "
                       "or null."})
    picks = ma.fields.Function(lambda row: len(row.picks), required=True, metadata={
        "type": "integer", "minimum": 0, "description": "How many timeslots they picked."})
    responded_at = schemas.DateTime(attribute="invitee.responded_at", required=True, allow_none=True,
                                    metadata={"description": "When they last answered, or null."})
    reminded_at = schemas.DateTime(attribute="invitee.reminded_at", required=True, allow_none=True,
                                   metadata={"description": "When they were last reminded, or null."})
    confirmed_timeslot = ma.fields.Integer(attribute="confirmed_slot_id", required=True, allow_none=True,
                                           metadata={"description": "The timeslot of their meeting, or null."})


def _owner_key() -> str:
    """Rate limits per owner, as on the pages (a limit is checked before the view authenticates)."""
    token = bearer_token()
    user = user_for_api_token(token) if token and len(token) <= 200 else None
    return f"owner:{user.id}" if user is not None else "anonymous"


class InviteBodySchema(schemas.RequestSchema):
    """The optional body of an invitation (here, not in schemas.py, which is at its 400-line limit)."""

    message = schemas.Text(allow_none=True, limit=10 * schemas.TEXT_MAX, metadata={
        "description": f"A personal message for the invitation email, at most {invitations.MESSAGE_MAX:,} "
                       "characters; line breaks are kept. Only this email carries it (not reminders); "
                       "it is not stored."})


@bp.route("/calendars/<id:calendar_id>/contacts/<id:contact_id>/", methods=["POST"])
@limiter.limit("30 per hour", key_func=_owner_key)
@requires(OWNER)
@bp.response(201, schemas.InviteeSchema, description="Invited; the contact was emailed the link.")
@bp.alt_response(200, schema=schemas.InviteeSchema, success=True,
                 description="Already invited: the existing invitee (no new email; `link` is null).")
@bp.alt_response(400, response="BAD_REQUEST")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@bp.doc(operationId="inviteContact", requestBody={
    "required": False, "content": {"application/json": {"schema": InviteBodySchema}}})
def invite(calendar_id: int, contact_id: int):
    """Invite a contact to a calendar and email them their link

    The body is optional: `{"message": "..."}` adds your personal message to the invitation email (a
    message that is too long is a 400 naming `message`, and nobody is invited).
    Limited like the page: 30 invitation requests an hour per owner (429), and every email counts
    against the owner's daily quota (`OWNER_DAILY_EMAIL_LIMIT`, 429 `email_quota`, nothing sent).
    """
    owner = current_owner()
    # No body at all is no message; a body must be JSON (415 otherwise), read like every other body.
    body = bp.ARGUMENTS_PARSER.parse(InviteBodySchema(), request, location="json") \
        if request.content_length or request.get_data(cache=True) else {}
    calendar = calendar_services.get_calendar(owner, calendar_id)
    contact = contact_services.get_contact(owner, contact_id)
    result = invitations.invite_contact(calendar, contact, message=body.get("message"))
    return invitee_resource(result.invitee, result.token), (201 if result.created else 200)


@bp.route("/calendars/<id:calendar_id>/invitees/", methods=["GET"])
@requires(OWNER)
@bp.arguments(schemas.PageArgsSchema, location="query")
@bp.response(200, InviteeAnswerSchema(many=True), headers=PAGE_HEADERS_DOC)
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(operationId="listCalendarInvitees")
def calendar_invitees(args, calendar_id: int):
    """The calendar's invitees and their answers, by name

    Each with their contact, answer `state` (not_answered, answered or cant_make_any), comment for
    you, how many times they picked, when they were last reminded and their meeting's timeslot.
    """
    calendar = calendar_services.get_calendar(current_owner(), calendar_id)
    page_number, per_page = page_args(args)
    page = pages.invitee_overview(calendar, page=page_number, per_page=per_page)
    return page.items, page_headers(page)


@bp.route("/calendars/<id:calendar_id>/suggested/", methods=["GET"])
@requires(OWNER)
@bp.arguments(schemas.SuggestArgsSchema, location="query")
@bp.response(200, schemas.SuggestionsSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(operationId="getSuggestedSchedules")
def suggested(args, calendar_id: int):
    """Suggested schedules, best first

    Each gives every invitee at most one slot they picked and each slot at most one invitee;
    confirmed meetings are kept. Ranked by invitees scheduled, then meetings on high-priority
    slots, then meetings on slots marked preferred.
    """
    calendar = calendar_services.get_calendar(current_owner(), calendar_id)
    suggestions = suggest_for_calendar(calendar, args["k"])
    # The schedules are cached until the answers change (suggestions.py), and so is their JSON: made
    # once per version, not once per request (ids and flags only, so no schema dump is needed).
    body = suggestions.memo.get("api_json")
    if body is None:
        body = suggestions.memo["api_json"] = json.dumps({"schedules": _schedules_json(suggestions)},
                                                         separators=(",", ":"))
    return Response(body, mimetype="application/json")


def _schedules_json(suggestions: Suggestions) -> list[dict]:
    """suggest.py's schedules in the API's words (contact, timeslot and event ids; explanations)."""
    return [
        {
            "score": dataclasses.asdict(schedule.score),
            "assignments": [
                {"contact": a.invitee, "timeslot": a.slot, "event": suggestions.pick_ids[(a.invitee, a.slot)],
                 "forced": suggestions.is_forced(a)}
                for a in schedule.assignments],
            "unscheduled": [
                {"contact": u.invitee, "reason": u.reason, "would_fit": list(suggestions.would_fit.get(u.invitee, ()))}
                for u in schedule.unscheduled],
            "changes": [{"contact": contact, "from_timeslot": before, "to_timeslot": after}
                        for contact, before, after in suggestions.changes[n] or ()],
            "equally_good": suggestions.equally_good(n),
        }
        for n, schedule in enumerate(suggestions.schedules)
    ]


@bp.route("/calendars/<id:calendar_id>/invitees/<id:contact_id>/ask/", methods=["POST"])
@limiter.limit("30 per hour", key_func=_owner_key)
@requires(OWNER)
@bp.body(schemas.AskSchema)
@bp.response(200, schemas.AskedSchema, description="The invitee was emailed those times (their page marks "
                                                     "them); asking again for the same times within a minute "
                                                     "sends nothing more.")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(operationId="askAboutTimes")
def ask(data, calendar_id: int, contact_id: int):
    """Ask a left-out invitee about the free times that would seat them

    `timeslots` must be among the invitee's `would_fit` in `GET /api/calendars/{calendar_id}/suggested/`
    (else 400 naming `timeslots`). The email lists the times in the invitee's zone and carries a
    fresh link to their page.
    """
    calendar = calendar_services.get_calendar(current_owner(), calendar_id)
    return reminders.ask_about_times(calendar, contact_id, data["timeslots"])


@bp.route("/timeslots/<id:timeslot_id>/events/", methods=["GET"])
@requires(OWNER)
@bp.arguments(schemas.PageArgsSchema, location="query")
@bp.response(200, schemas.EventSchema(many=True), headers=PAGE_HEADERS_DOC)
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(operationId="listTimeslotEvents")
def timeslot_events(args, timeslot_id: int):
    """The events (picks) on a timeslot, its meeting first"""
    owner = current_owner()
    calendar_id = db.session.scalar(sa.select(Timeslot.calendar_id).where(Timeslot.id == timeslot_id))
    if calendar_id is None:
        raise NotFoundError("We could not find that timeslot.")
    timeslot = get_timeslot(owner, calendar_id, timeslot_id)
    page_number, per_page = page_args(args)
    page = list_page(answers.picks_for_timeslot(timeslot), page_number, per_page)
    return page.items, page_headers(page)


def _invitee_for_pick(calendar_id: int, contact_id: int) -> Invitee:
    """The invitee a pick is for: the token's own, or (for the owner) any invitee of their calendar."""
    invitee = g.api_invitee
    if invitee is not None:
        if invitee.calendar_id != calendar_id:
            raise NotFoundError("We could not find that calendar.")
        if invitee.contact_id != contact_id:
            raise ApiError(403, "An invitation token can only pick for its own contact.",
                           {"contact": ["This is not the contact your invitation is for."]})
        return invitee
    calendar = calendar_services.get_calendar(current_owner(), calendar_id)
    return invitations.invitee_of_contact(calendar, contact_id)


@bp.route("/events/", methods=["POST"])
@requires(OWNER, INVITEE)
@bp.body(schemas.EventCreateSchema)
@bp.response(201, schemas.EventSchema, description="The pick was recorded.")
@bp.alt_response(200, schema=schemas.EventSchema, success=True,
                 description="The contact had already picked this slot: the existing event.")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT",
                 description="The slot is already confirmed for someone else, or this invitee's meeting is "
                             "already confirmed.")
@bp.doc(operationId="createEvent")
def create_event(data):
    """Pick a timeslot (create an event)

    Called by the invitee with the token of their invitation link (`contact` must be their own),
    or by the owner on an invitee's behalf.
    """
    invitee = _invitee_for_pick(data["calendar"], data["contact"])
    pick, created = answers.add_pick(invitee, data["timeslot"], data["preference"])
    return pick, (201 if created else 200)


@bp.route("/events/<id:event_id>/")
class EventDetail(MethodView):
    @requires(OWNER, INVITEE)
    @bp.response(200, schemas.EventSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="getEvent")
    def get(self, event_id: int):
        """An event and its status

        For the owner, and for the invitee whose event it is.
        """
        invitee = g.api_invitee
        if invitee is None:
            return answers.get_pick(current_owner(), event_id)
        pick = answers.get_pick(invitee.calendar.owner, event_id)
        if (pick.calendar_id, pick.contact_id) != (invitee.calendar_id, invitee.contact_id):
            raise NotFoundError("No such event.")
        return pick

    @requires(OWNER)
    @bp.body(schemas.EventUpdateSchema)
    @bp.response(200, schemas.EventSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.alt_response(409, response="CONFLICT")
    @bp.doc(operationId="finalizeEvent")
    def put(self, data, event_id: int):
        """Finalize a meeting (or undo it)

        `{"confirmed": true}` confirms the event: the invitee is emailed the time with an .ics file,
        and every other event on the same timeslot is unconfirmed, as the design document says:
        another invitee's meeting in that slot is cancelled (they are emailed a cancellation) with
        no confirmation step, unlike the owner's pages, which name them first. Confirming another
        event of an invitee who has a meeting moves it: one "Moved" email naming the old time, with
        the same calendar UID and a higher SEQUENCE. `false` undoes it (the invitee is emailed a
        cancellation); an event the owner placed in a slot the invitee had not picked is then
        deleted.
        """
        pick = answers.get_pick(current_owner(), event_id)
        return confirmations.set_pick_confirmed(pick, data["confirmed"])
