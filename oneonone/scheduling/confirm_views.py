"""The owner's steps before confirming an invitee (on the scheduling blueprint): choosing one of the
calendar's times for them, and, for a time that holds someone else's meeting, who loses it."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from ..calendars.times import describe_timeslot
from ..calendars.timeslots import get_timeslot
from ..pagination import MAX_PAGE
from ..validation import parse_id, parse_int
from . import confirmations, invitations
from .invitees_page import time_chooser
from .models import PREFERENCE_LABELS
from .views import bp

CHOOSER = ("picked", "free")  # ?show=: the times they picked, or those and every free time


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/confirm", methods=["GET"])
@login_required
def confirm_page(calendar_id: int, invitee_id: int):
    """With `show` and no slot: the times to choose from for the invitee, page by page (their picks, or
    those and every free time). With a slot: the step that says what confirming there does, and names
    whose meeting it cancels, if any."""
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
    show = request.args.get("show")
    if show in CHOOSER and "timeslot_id" not in request.args:
        page = parse_int(request.args.get("page", 1), minimum=1, maximum=MAX_PAGE, clamp=True) or 1
        view = time_chooser(invitee, page=page, picked_only=show == "picked")
        return render_template("scheduling/choose_time.html", calendar=invitee.calendar, invitee=invitee,
                               contact=invitee.contact, view=view, labels=PREFERENCE_LABELS)
    timeslot = get_timeslot(current_user, calendar_id, parse_id(request.args.get("timeslot_id")) or 0)
    meeting = confirmations.meeting_of(invitee)
    moving = request.args.get("move") == "1"
    holder = confirmations.holder_of(timeslot, invitee)
    already = meeting is not None and meeting.timeslot_id == timeslot.id
    return render_template(
        "scheduling/confirm_meeting.html", calendar=invitee.calendar, invitee=invitee,
        contact=invitee.contact, timeslot=timeslot, when=describe_timeslot(timeslot), holder=holder,
        current=describe_timeslot(meeting.timeslot) if meeting and not already else None,
        moving=moving, already=already,
        refusal=None if already else confirmations.confirm_refusal(
            invitee, timeslot, confirmations.pick_of(invitee, timeslot), unpicked=moving, holder=holder),
    )
