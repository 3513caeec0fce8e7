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
from ..calendars.timeslots import get_timeslot
from ..db_types import utcnow
from ..errors import refusals_go_to, word_refusal
from ..exceptions import DomainError, NotFoundError, ValidationError
from ..extensions import db, limiter
from ..pagination import clamp_page_args
from ..timezones import is_valid_timezone
from ..validation import parse_id, parse_int, require_ids
from ..wording import plural
from . import answers, confirmations, feeds, invitations, pages, reminders
from .models import CANT_MAKE_ANY, PREFERENCE_LABELS, Invitee
from .notify import meeting_ics
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
    view = pages.invitees_page(current_user, calendar, page=page_number, per_page=per_page,
                               links_since=_new_links_since(calendar.id))
    return render_template(
        "scheduling/invitees.html", calendar=calendar, page=view.page, rows=view.page.items,
        uninvited=view.uninvited, max_choices=pages.MAX_INVITE_CHOICES, slots=view.slots,
        taken_by=view.taken_by, totals=view.totals, new_links=view.new_links, labels=PREFERENCE_LABELS,
        waiting=view.waiting, undelivered=view.undelivered,
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


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/confirm", methods=["GET"])
@login_required
def confirm_page(calendar_id: int, invitee_id: int):
    """The step before confirming into a slot that holds another invitee's meeting: who loses it."""
    invitee = invitations.get_invitee(current_user, calendar_id, invitee_id)
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
    view = pages.suggestions_page(calendar, k)
    suggestions = view.suggestions
    return render_template(
        "scheduling/suggestions.html", calendar=calendar, suggestions=suggestions,
        schedules=suggestions.schedules, days=view.days, slots=suggestions.slots,
        invitees=suggestions.invitees, k=k, k_max=MAX_SUGGESTIONS, answered=suggestions.answered,
        invitee_count=len(suggestions.invitees), labels=PREFERENCE_LABELS,
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


# ---- the invitee's pick page --------------------------------------------------------------------

def _invitee_or_404(token: str) -> Invitee:
    try:
        return invitations.invitee_for_token(token)
    except invitations.LinkReplacedError:
        abort(Response(render_template("scheduling/link_replaced.html"), status=404))
    except NotFoundError:
        abort(Response(render_template("scheduling/link_invalid.html"), status=404))


def _viewer_zone(invitee: Invitee) -> tuple[str, bool]:
    """The zone to show times in, and whether the browser should detect one."""
    requested = request.values.get("tz")
    if requested and is_valid_timezone(requested):
        return requested, False
    if invitee.timezone:
        return invitee.timezone, False
    return invitee.calendar.timezone, True


def _pick_submission_key() -> str:
    return f"pick:{request.view_args.get('token', '')[:64]}"


@bp.route("/pick/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"], key_func=_pick_submission_key)
def pick(token: str):
    invitee = _invitee_or_404(token)
    calendar = invitee.calendar
    zone, detect = _viewer_zone(invitee)
    errors: dict[str, list[str]] = {}
    none_work = request.form.get("none_work") == "1"  # "None of these times work for me"
    comment = request.form.get("comment")  # None (not sent): keep the saved one
    if request.method == "POST":
        choices: dict[int, str | None] = {}
        for key, value in request.form.items():
            if not key.startswith("slot-"):
                continue
            slot_id = parse_id(key.removeprefix("slot-"))
            if slot_id is None:
                errors.setdefault("timeslot", []).append("Unknown slot.")
                continue
            # "" means can't; anything unknown goes on to the service, which names the slot.
            choices[slot_id] = None if value == "" else value
        if not errors:
            try:
                picked = answers.save_picks(invitee, choices, timezone=zone, none_work=none_work, comment=comment)
            except DomainError as error:
                db.session.rollback()
                errors = error.fields or {"form": [error.message]}
                flash(error.message, "danger")
            else:
                owner_name = calendar.owner.first_name or calendar.owner.full_name
                told = f" {owner_name} will see your comment." if invitee.comment else ""
                if invitee.declined_at is not None:
                    flash(f"Thank you! Your answer was saved: none of these times work for you.{told}"
                          f"{'' if told else ' If one does later, you can pick it here.'}", "success")
                else:
                    flash(f"Thank you! Your answer was saved ({plural(picked, 'slot')} picked).{told} "
                          "You can change it here until the meeting is confirmed.", "success")
                return redirect(url_for(".pick", token=token, tz=zone))
        else:
            flash("Some choices could not be saved.", "danger")
    view = pages.pick_page(invitee, zone)
    status = 400 if errors else 200
    return render_template(
        "scheduling/pick.html", invitee=invitee, calendar=calendar, owner=calendar.owner, view=view,
        zone=zone, detect=detect, token=token, errors=errors, labels=PREFERENCE_LABELS,
        # A refused answer keeps what was typed and chosen, to correct it.
        comment=comment if errors and comment is not None else (view.comment or ""),
        none_work=none_work if errors else view.state == CANT_MAKE_ANY,
    ), status


@bp.route("/pick/<token>/meeting.ics")
def pick_ics(token: str):
    invitee = _invitee_or_404(token)
    meeting = confirmations.meeting_of(invitee)
    if meeting is None:
        abort(404)
    data = meeting_ics(invitee, meeting.timeslot, sequence=max(0, invitee.ics_sequence - 1), download=True)
    return Response(data, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="meeting.ics"'})
