"""Invitations, the invitee's pick page, suggestions and finalizing: parse the form, call a service
(invitations, answers, confirmations) or read a page (pages), flash, redirect.

A domain error a view does not catch (a calendar or invitee that is not the owner's, say) is answered
by `oneonone.errors.handle_domain_error`.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from .. import csv_safe
from ..accounts.services import user_for_feed_token
from ..calendars.services import get_calendar
from ..calendars.times import describe_timeslot
from ..db_types import utcnow
from ..errors import refusals_go_to, word_refusal
from ..exceptions import ValidationError
from ..extensions import limiter
from ..pagination import clamp_page_args
from ..validation import parse_id, parse_int, require_ids
from ..wording import plural
from . import confirmations, feeds, invitations, pages, reminders
from .invitees_page import MAX_INVITE_CHOICES, invitees_page
from .models import PREFERENCE_LABELS
from .suggestions import MAX_SUGGESTIONS

bp = Blueprint("scheduling", __name__)

NEW_LINKS_KEY = "new_invitation_links"


def _show_new_links(calendar_id: int, since: dt.datetime) -> None:
    """Offer "Copy" for the links issued from `since` on, on the next invitees page. The cookie holds
    only the calendar and the time (a few bytes, however many were invited); the links are rebuilt
    from their invitations when shown, never stored."""
    session[NEW_LINKS_KEY] = {"calendar": calendar_id, "since": since.isoformat()}


def _new_links_since(calendar_id: int) -> dt.datetime | None:
    """When the links to offer for "Copy" on this invitees page were issued from (once), if any."""
    shown = session.pop(NEW_LINKS_KEY, None)
    if not isinstance(shown, dict) or shown.get("calendar") != calendar_id:
        return None
    try:
        return dt.datetime.fromisoformat(shown["since"])
    except (KeyError, TypeError, ValueError):
        return None


def _owner_key() -> str:
    return f"owner:{current_user.id}" if current_user.is_authenticated else "anonymous"


# ---- the owner's invitations page -------------------------------------------------------------

@bp.route("/calendars/<id:calendar_id>/invitees")
@login_required
def invitees(calendar_id: int):
    calendar = get_calendar(current_user, calendar_id)
    page_number, per_page = clamp_page_args(request.args.get("page", 1), request.args.get("per_page", 50))
    times = clamp_page_args(request.args.get("times", 1), 1)[0]  # which of the slots the grid shows
    view = invitees_page(current_user, calendar, page=page_number, per_page=per_page, times=times,
                         links_since=_new_links_since(calendar.id))
    return render_template(
        "scheduling/invitees.html", calendar=calendar, view=view, page=view.page, rows=view.page.items,
        uninvited=view.uninvited, max_choices=MAX_INVITE_CHOICES, slots=view.slots.items,
        new_links=view.new_links, labels=PREFERENCE_LABELS, waiting=view.waiting, undelivered=view.undelivered,
    )


@bp.route("/calendars/<id:calendar_id>/invitees", methods=["POST"])
@refusals_go_to(".invitees")
@login_required
@limiter.limit("30 per hour", key_func=_owner_key)
def invite(calendar_id: int):
    calendar = get_calendar(current_user, calendar_id)
    ids = None
    if request.form.get("all") != "1":
        ids = set(require_ids("contact_id", request.form.getlist("contact_id")))
        if not ids:
            flash("Choose at least one contact to invite.", "warning")
            return redirect(url_for(".invitees", calendar_id=calendar.id))
    contacts = invitations.contacts_to_invite(current_user, ids)
    started = utcnow()
    try:
        results = invitations.invite_contacts(calendar, contacts, message=request.form.get("message"))
    except ValidationError as error:
        if "message" not in error.fields:
            raise
        # Shown beside the message, with what was typed and chosen (templates/scheduling/invitees.html).
        g.invite_problem = error.fields["message"][0]
        return invitees(calendar_id), 400  # the unit of work rolls back: nobody is invited
    created = sum(r.created for r in results)
    _show_new_links(calendar.id, started)
    if created:
        flash(f"Invited {plural(created, 'contact')}; the invitations are on their way.", "success")
    else:
        flash("Everyone you chose was already invited.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar.id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/resend", methods=["POST"])
@login_required
@limiter.limit("30 per hour", key_func=_owner_key)
def resend(calendar_id: int, invitee_id: int):
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
    token = invitations.resend_invitation(invitee)
    if token is None:
        flash(f"A new link was sent to {invitee.contact.email} less than a minute ago; "
              "no other was sent. Give it a moment to arrive.", "info")
        return redirect(url_for(".invitees", calendar_id=calendar_id))
    _show_new_links(calendar_id, invitee.link_issued_at)
    flash(f"A new link was sent to {invitee.contact.email}; the old link no longer works.", "success")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/ask", methods=["POST"])
@refusals_go_to(".suggestions", category="warning")
@login_required
@limiter.limit("30 per hour", key_func=_owner_key)
def ask(calendar_id: int, invitee_id: int):
    """Ask a left-out invitee about the free times that would seat them (from the suggestions)."""
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
    ids = require_ids("timeslot_id", request.form.getlist("timeslot_id"))
    word_refusal(f"{invitee.contact.full_name} was not asked: ")
    reminders.ask_about_times(invitee.calendar, invitee.contact_id, ids)
    flash(f"{invitee.contact.full_name} was asked about {plural(len(set(ids)), 'time')} "
          f"by email; their page marks them.", "success")
    return redirect(url_for(".suggestions", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/revoke", methods=["POST"])
@login_required
def revoke(calendar_id: int, invitee_id: int):
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
    name = invitee.contact.full_name
    invitations.revoke_invitation(invitee)
    flash(f"{name}'s invitation and answers were removed.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/remind", methods=["POST"])
@login_required
@limiter.limit("10 per hour", key_func=_owner_key)
def remind(calendar_id: int):
    calendar = get_calendar(current_user, calendar_id)
    count = reminders.remind_unanswered(calendar)
    waiting = reminders.waiting_for(calendar) if not count else None
    if count:
        flash(f"Reminded {plural(count, 'invitee')} who had not answered, with the link they already have.",
              "success")
    elif waiting.resting:
        flash(f"Everyone who has not answered was reminded in the last {waiting.hours} hours; "
              "no reminders were sent.", "info")
    else:
        flash("Everyone has answered; no reminders were sent.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar.id))


def _confirm_args(moving: bool, timeslot_id: int | None) -> dict:
    return {"timeslot_id": timeslot_id, **({"move": "1"} if moving else {})}


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/confirm", methods=["POST"])
@refusals_go_to(".invitees")
@login_required
def confirm(calendar_id: int, invitee_id: int):
    """Confirm the invitee in a slot, or move their meeting there ("move": a free slot they did not
    pick is accepted too). A slot holding someone else's meeting goes to the page that names them
    first, unless the form names them in "replaces" (the owner accepted there)."""
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
    moving = request.form.get("move") == "1"
    timeslot_id = parse_id(request.form.get("timeslot_id"))
    try:
        done = confirmations.confirm_in_slot(invitee, timeslot_id, unpicked=moving,
                                             replaces=parse_id(request.form.get("replaces")))
    except confirmations.SlotHeld:
        return redirect(url_for(".confirm_page", calendar_id=calendar_id, invitee_id=invitee_id,
                                **_confirm_args(moving, timeslot_id)))
    name, when = invitee.contact.full_name, describe_timeslot(done.meeting.timeslot)
    unpicked = ", a time they did not pick" if done.placed else ""
    if done.unchanged:
        flash(f"{name}’s meeting is already on {when}; nothing changed and nobody was emailed.", "info")
        return redirect(url_for(".invitees", calendar_id=calendar_id))
    if done.previous is not None:
        message = f"Moved {name}’s meeting to {when}{unpicked}; they were emailed the new time."
    else:
        message = f"Confirmed {name} on {when}{unpicked}; they were emailed the meeting."
    if done.cancelled is not None:
        message += f" {done.cancelled.full_name}’s meeting was cancelled and they were told by email."
    flash(message, "success")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


from . import confirm_views  # noqa: E402, F401  (the GET .../confirm pages, on this blueprint)


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/unconfirm", methods=["POST"])
@login_required
def unconfirm(calendar_id: int, invitee_id: int):
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
    if confirmations.cancel_meeting(invitee):
        flash(f"{invitee.contact.full_name}'s meeting was cancelled and they were told by email.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


# ---- suggestions ------------------------------------------------------------------------------

@bp.route("/calendars/<id:calendar_id>/suggestions")
@login_required
def suggestions(calendar_id: int):
    calendar = get_calendar(current_user, calendar_id)
    k = parse_int(request.args.get("k", 3), minimum=1, maximum=MAX_SUGGESTIONS, clamp=True) or 3
    opened = parse_int(request.args.get("option", 0), minimum=0, maximum=MAX_SUGGESTIONS, clamp=True) or 0
    view = pages.suggestions_page(calendar, k, opened=opened - 1 if opened else 0,
                                  show_all=request.args.get("all") == "1")
    suggestions = view.suggestions
    return render_template(
        "scheduling/suggestions.html", calendar=calendar, suggestions=suggestions,
        schedules=suggestions.schedules, days=view.days, slots=view.slots,
        invitees=view.invitees, k=k, k_max=MAX_SUGGESTIONS, answered=suggestions.answered,
        invitee_count=len(suggestions.invitee_ids), labels=PREFERENCE_LABELS, view=view,
        ask_at_most=pages.ASK_AT_MOST,
    )


@bp.route("/calendars/<id:calendar_id>/suggestions/finalize", methods=["POST"])
@refusals_go_to(".suggestions")
@login_required
def finalize(calendar_id: int):
    calendar = get_calendar(current_user, calendar_id)
    pairs = []
    for value in request.form.getlist("pair"):
        contact_id, _, slot_id = (parse_id(part) for part in value.partition(":"))
        if contact_id is None or slot_id is None:
            flash("That schedule could not be read; reload the suggestions.", "danger")
            return redirect(url_for(".suggestions", calendar_id=calendar.id))
        pairs.append((contact_id, slot_id))
    if not pairs:
        flash("That schedule has no meetings to confirm.", "warning")
        return redirect(url_for(".suggestions", calendar_id=calendar.id))
    new = confirmations.finalize_schedule(calendar, pairs)
    kept = len(pairs) - new
    flash(f"Schedule confirmed: {plural(new, 'new meeting')}"
          f"{f' ({kept} already confirmed, unchanged)' if kept else ''}; "
          f"{'each new invitee was' if new != 1 else 'the invitee was'} emailed their meeting.", "success")
    return redirect(url_for(".invitees", calendar_id=calendar.id))


@bp.route("/calendars/<id:calendar_id>/schedule.csv")
@login_required
def schedule_csv(calendar_id: int):
    calendar = get_calendar(current_user, calendar_id)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the BOM: Excel then reads UTF-8 ("Zoë", not "ZoÃ«")
    writer = csv_safe.writer(buffer)  # names like `=cmd|...` reach a spreadsheet as text
    writer.writerow(["date", "start", "end", "timezone", "first_name", "last_name", "email",
                     "high_priority", "preference", "start_utc", "end_utc", "location", "meeting_url"])
    zone = ZoneInfo(calendar.timezone)
    for meeting, slot, contact in pages.confirmed_meetings(calendar):
        start, end = slot.start_time.astimezone(zone), slot.end_time.astimezone(zone)
        writer.writerow([f"{start:%Y-%m-%d}", f"{start:%H:%M}", f"{end:%H:%M}", calendar.timezone,
                         contact.first_name, contact.last_name, contact.email,
                         "yes" if slot.high_priority else "no", "" if meeting.owner_placed else meeting.preference,
                         slot.start_time.isoformat(), slot.end_time.isoformat(),
                         calendar.location or "", calendar.meeting_url or ""])
    filename = f"schedule-{calendar.id}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ---- the owner's private feed of confirmed meetings -------------------------------------------

@bp.route("/feed/<token>.ics")
def feed(token: str):
    owner = user_for_feed_token(token)
    if owner is None:
        abort(404)
    return Response(feeds.owner_feed(owner), mimetype="text/calendar")  # caching: oneonone/http_headers.py


# ---- the invitee's pick page ----------------------------------------------------------------------

from . import pick_views  # noqa: E402, F401  (the pick page and its .ics, on this blueprint)
