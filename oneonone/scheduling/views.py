"""Invitations, the invitee's pick page, suggestions and finalizing."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from .. import csv_safe
from ..calendars.models import Calendar, Timeslot
from ..calendars.services import get_calendar
from ..contacts.models import Contact
from ..db_types import utcnow
from ..email import undelivered_for_invitees
from ..exceptions import DomainError, NotFoundError
from ..extensions import db, limiter
from ..pagination import clamp_page_args
from ..timezones import is_valid_timezone
from ..validation import parse_id, parse_int, require_ids
from . import feeds, services
from .models import PREFERENCE_LABELS, Event, Invitee
from .notify import meeting_ics

bp = Blueprint("scheduling", __name__)

NEW_LINKS_KEY = "new_invitation_links"
MAX_INVITE_CHOICES = 200  # beyond this many uninvited contacts, "Invite all" is the way


def _owned_calendar(calendar_id: int) -> Calendar:
    try:
        return get_calendar(current_user, calendar_id)
    except NotFoundError:
        abort(404)


def _owned_invitee(calendar_id: int, invitee_id: int) -> Invitee:
    try:
        return services.get_invitee(current_user, calendar_id, invitee_id)
    except NotFoundError:
        abort(404)


def _show_new_links(calendar_id: int, since: dt.datetime) -> None:
    """Offer "Copy" for the links issued from `since` on, on the next invitees page. The cookie holds
    only the calendar and the time (a few bytes, however many were invited); the links are rebuilt
    from their invitations when shown, never stored."""
    session[NEW_LINKS_KEY] = {"calendar": calendar_id, "since": since.isoformat()}


def _new_links(calendar_id: int, invitees) -> dict[str, str]:
    shown = session.pop(NEW_LINKS_KEY, None)
    if not isinstance(shown, dict) or shown.get("calendar") != calendar_id:
        return {}
    try:
        since = dt.datetime.fromisoformat(shown["since"])
    except (KeyError, TypeError, ValueError):
        return {}
    links = {}
    for invitee in invitees:
        if invitee.link_issued_at is not None and invitee.link_issued_at >= since:
            link = services.visible_link(invitee)
            if link:
                links[str(invitee.id)] = link
    return links


def _owner_key() -> str:
    return f"owner:{current_user.id}" if current_user.is_authenticated else "anonymous"


# ---- the owner's invitations page -------------------------------------------------------------

@bp.route("/calendars/<id:calendar_id>/invitees")
@login_required
def invitees(calendar_id: int):
    calendar = _owned_calendar(calendar_id)
    page_number, per_page = clamp_page_args(request.args.get("page", 1), request.args.get("per_page", 50))
    page = services.invitee_overview(calendar, page=page_number, per_page=per_page)
    invited = sa.select(Invitee.contact_id).where(Invitee.calendar_id == calendar.id)
    uninvited = db.session.scalars(
        sa.select(Contact).where(Contact.owner_id == current_user.id, Contact.id.not_in(invited))
        .order_by(Contact.last_name, Contact.first_name).limit(MAX_INVITE_CHOICES + 1)).all()
    # Each slot with whoever holds its confirmed meeting, in the same query.
    slot_rows = db.session.execute(
        sa.select(Timeslot, Event.contact_id)
        .outerjoin(Event, sa.and_(Event.timeslot_id == Timeslot.id, Event.confirmed))
        .where(Timeslot.calendar_id == calendar.id).order_by(Timeslot.start_time)).all()
    slots = [slot for slot, _ in slot_rows]
    taken_by = {slot.id: contact_id for slot, contact_id in slot_rows if contact_id is not None}
    new_links = _new_links(calendar.id, [row.invitee for row in page.items])
    return render_template(
        "scheduling/invitees.html", calendar=calendar, page=page, rows=page.items, uninvited=uninvited,
        max_choices=MAX_INVITE_CHOICES, slots=slots, taken_by=taken_by, new_links=new_links,
        labels=PREFERENCE_LABELS,
        waiting=services.unanswered_count(calendar),
        undelivered=undelivered_for_invitees([row.invitee.id for row in page.items]),
    )


@bp.route("/calendars/<id:calendar_id>/invitees", methods=["POST"])
@login_required
@limiter.limit("30 per hour", key_func=_owner_key)
def invite(calendar_id: int):
    calendar = _owned_calendar(calendar_id)
    query = sa.select(Contact).where(Contact.owner_id == current_user.id)
    if request.form.get("all") != "1":
        ids = set(require_ids("contact_id", request.form.getlist("contact_id")))
        if not ids:
            flash("Choose at least one contact to invite.", "warning")
            return redirect(url_for(".invitees", calendar_id=calendar.id))
        query = query.where(Contact.id.in_(ids))
    contacts = db.session.scalars(query.order_by(Contact.id)).all()
    started = utcnow()
    try:
        results = services.invite_contacts(calendar, contacts)
    except DomainError as error:
        db.session.rollback()  # nothing of a refused action is kept
        flash(error.message, "danger")
        return redirect(url_for(".invitees", calendar_id=calendar.id))
    created = sum(r.created for r in results)
    _show_new_links(calendar.id, started)
    if created:
        flash(f"Invited {created} contact{'s' if created != 1 else ''}; the invitations are on their way.",
              "success")
    else:
        flash("Everyone you chose was already invited.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar.id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/resend", methods=["POST"])
@login_required
@limiter.limit("30 per hour", key_func=_owner_key)
def resend(calendar_id: int, invitee_id: int):
    invitee = _owned_invitee(calendar_id, invitee_id)
    token = services.resend_invitation(invitee)
    if token is None:
        flash(f"A new link was sent to {invitee.contact.email} less than a minute ago; "
              "no other was sent. Give it a moment to arrive.", "info")
        return redirect(url_for(".invitees", calendar_id=calendar_id))
    _show_new_links(calendar_id, invitee.link_issued_at)
    flash(f"A new link was sent to {invitee.contact.email}; the old link no longer works.", "success")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/ask", methods=["POST"])
@login_required
@limiter.limit("30 per hour", key_func=_owner_key)
def ask(calendar_id: int, invitee_id: int):
    """Ask a left-out invitee about the free times that would seat them (from the suggestions)."""
    invitee = _owned_invitee(calendar_id, invitee_id)
    ids = require_ids("timeslot_id", request.form.getlist("timeslot_id"))
    try:
        services.ask_about_times(invitee.calendar, invitee.contact_id, ids)
    except DomainError as error:
        db.session.rollback()  # nothing of a refused action is kept
        flash(f"{invitee.contact.full_name} was not asked: {error.message}", "warning")
    else:
        count = len(set(ids))
        flash(f"{invitee.contact.full_name} was asked about {count} time{'' if count == 1 else 's'} "
              f"by email; their page marks them.", "success")
    return redirect(url_for(".suggestions", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/revoke", methods=["POST"])
@login_required
def revoke(calendar_id: int, invitee_id: int):
    invitee = _owned_invitee(calendar_id, invitee_id)
    name = invitee.contact.full_name
    services.revoke_invitation(invitee)
    flash(f"{name}'s invitation and answers were removed.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/remind", methods=["POST"])
@login_required
@limiter.limit("10 per hour", key_func=_owner_key)
def remind(calendar_id: int):
    calendar = _owned_calendar(calendar_id)
    count = services.remind_unanswered(calendar)
    if count:
        flash(f"Reminded {count} invitee{'s' if count != 1 else ''} who had not answered.", "success")
    else:
        flash("Everyone has answered; no reminders were sent.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar.id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/confirm", methods=["POST"])
@login_required
def confirm(calendar_id: int, invitee_id: int):
    invitee = _owned_invitee(calendar_id, invitee_id)
    try:
        services.confirm_pick(invitee, request.form.get("timeslot_id"))
    except DomainError as error:
        db.session.rollback()  # nothing of a refused action is kept
        flash(error.message, "danger")
    else:
        flash(f"Confirmed {invitee.contact.full_name}; they were emailed the meeting.", "success")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


@bp.route("/calendars/<id:calendar_id>/invitees/<id:invitee_id>/unconfirm", methods=["POST"])
@login_required
def unconfirm(calendar_id: int, invitee_id: int):
    invitee = _owned_invitee(calendar_id, invitee_id)
    if services.cancel_meeting(invitee):
        flash(f"{invitee.contact.full_name}'s meeting was cancelled and they were told by email.", "info")
    return redirect(url_for(".invitees", calendar_id=calendar_id))


# ---- suggestions ------------------------------------------------------------------------------

@bp.route("/calendars/<id:calendar_id>/suggestions")
@login_required
def suggestions(calendar_id: int):
    calendar = _owned_calendar(calendar_id)
    k = parse_int(request.args.get("k", 3), minimum=1, maximum=services.MAX_SUGGESTIONS, clamp=True) or 3
    schedules = services.suggest_for_calendar(calendar, k)
    slots = {s.id: s for s in db.session.scalars(sa.select(Timeslot).where(Timeslot.calendar_id == calendar.id))}
    rows = db.session.execute(
        sa.select(Contact, Invitee).join(Invitee, Invitee.contact_id == Contact.id)
        .where(Invitee.calendar_id == calendar.id)).all()
    contacts = {contact.id: contact for contact, _ in rows}
    invitees = {contact.id: invitee for contact, invitee in rows}
    answered = db.session.scalar(sa.select(sa.func.count()).select_from(Invitee).where(
        Invitee.calendar_id == calendar.id, Invitee.responded_at.is_not(None)))
    zone = ZoneInfo(calendar.timezone)
    days = [
        [(day, list(group)) for day, group in itertools.groupby(
            schedule.assignments, key=lambda a: slots[a.timeslot_id].start_time.astimezone(zone).date())]
        for schedule in schedules
    ]
    return render_template(
        "scheduling/suggestions.html", calendar=calendar, schedules=schedules, days=days, slots=slots,
        contacts=contacts, invitees=invitees, k=k, answered=answered, invitee_count=len(contacts),
        labels=PREFERENCE_LABELS,
    )


@bp.route("/calendars/<id:calendar_id>/suggestions/finalize", methods=["POST"])
@login_required
def finalize(calendar_id: int):
    calendar = _owned_calendar(calendar_id)
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
    try:
        services.finalize_schedule(calendar, pairs)
    except DomainError as error:
        db.session.rollback()  # nothing of a refused action is kept
        flash(error.message, "danger")
        return redirect(url_for(".suggestions", calendar_id=calendar.id))
    flash(f"Schedule confirmed: {len(pairs)} meeting{'s' if len(pairs) != 1 else ''}; "
          "each invitee was emailed their meeting.", "success")
    return redirect(url_for(".invitees", calendar_id=calendar.id))


@bp.route("/calendars/<id:calendar_id>/schedule.csv")
@login_required
def schedule_csv(calendar_id: int):
    calendar = _owned_calendar(calendar_id)
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)  # names like `=cmd|...` reach a spreadsheet as text
    writer.writerow(["date", "start", "end", "timezone", "first_name", "last_name", "email",
                     "high_priority", "preference", "start_utc", "end_utc"])
    zone = ZoneInfo(calendar.timezone)
    for event, slot, contact in services.confirmed_meetings(calendar):
        start, end = slot.start_time.astimezone(zone), slot.end_time.astimezone(zone)
        writer.writerow([f"{start:%Y-%m-%d}", f"{start:%H:%M}", f"{end:%H:%M}", calendar.timezone,
                         contact.first_name, contact.last_name, contact.email,
                         "yes" if slot.high_priority else "no", event.preference,
                         slot.start_time.isoformat(), slot.end_time.isoformat()])
    filename = f"schedule-{calendar.id}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ---- the owner's private feed of confirmed meetings -------------------------------------------

@bp.route("/feed/<token>.ics")
def feed(token: str):
    owner = feeds.owner_for_feed_token(token)
    if owner is None:
        abort(404)
    return Response(feeds.owner_feed(owner), mimetype="text/calendar")  # caching: oneonone/http_headers.py


@bp.route("/accounts/feed", methods=["POST"])
@login_required
def feed_rotate():
    if request.form.get("action") == "revoke":
        feeds.revoke_feed(current_user)
        flash("Your calendar feed address was turned off.", "info")
    else:
        token = feeds.rotate_feed(current_user)
        session["feed_url"] = url_for(".feed", token=token, _external=False)
        flash("A new calendar feed address was created; any old address stopped working.", "success")
    return redirect(url_for("accounts.profile"))


# ---- the invitee's pick page --------------------------------------------------------------------

def _invitee_or_404(token: str) -> Invitee:
    try:
        return services.invitee_for_token(token)
    except services.LinkReplacedError:
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
                picked = services.save_picks(invitee, choices, timezone=zone)
            except DomainError as error:
                db.session.rollback()
                errors = error.fields or {"form": [error.message]}
                flash(error.message, "danger")
            else:
                flash(f"Thank you! Your answer was saved ({picked} slot{'s' if picked != 1 else ''} picked). "
                      "You can change it here until the meeting is confirmed.", "success")
                return redirect(url_for(".pick", token=token, tz=zone))
        else:
            flash("Some choices could not be saved.", "danger")
    view = services.pick_page(invitee, zone)
    status = 400 if errors else 200
    return render_template(
        "scheduling/pick.html", invitee=invitee, calendar=calendar, owner=calendar.owner, view=view,
        zone=zone, detect=detect, token=token, errors=errors, labels=PREFERENCE_LABELS,
    ), status


@bp.route("/pick/<token>/meeting.ics")
def pick_ics(token: str):
    invitee = _invitee_or_404(token)
    event = services.confirmed_event(invitee)
    if event is None:
        abort(404)
    data = meeting_ics(invitee, event.timeslot, sequence=max(0, invitee.ics_sequence - 1))
    return Response(data, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="meeting.ics"'})


@bp.app_context_processor
def _public_url():
    return {"public_url": current_app.config["PUBLIC_URL"]}
