"""The invitee's pick page and their meeting's .ics, on the scheduling blueprint: parse the form, call
answers.save_picks, read the page (pick_page), flash, redirect.

A large calendar's page shows a week at a time (`?week=`, see pick_page.py); its form says which
slots it showed (`shown`), so saving keeps the answers in the other weeks, and its week buttons save
the week shown before showing the next (`go_week`) — only when something changed, so browsing sends
the owner nothing.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for

from ..exceptions import DomainError, NotFoundError
from ..extensions import db, limiter
from ..timezones import is_valid_timezone
from ..validation import parse_id
from ..wording import plural
from ..zone_options import zone_options
from . import answers, confirmations, invitations
from .models import CANT_MAKE_ANY, PREFERENCE_LABELS, Invitee
from .notify import meeting_ics
from .pick_page import parse_week, pick_page
from .views import bp


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


def _posted_answer(errors: dict[str, list[str]]) -> tuple[dict[int, str | None], list[int] | None]:
    """The form's choices (slot id -> preference, None for can't) and the slots it showed (None: a
    form that does not say, which answers for the whole calendar)."""
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
    listed = request.form.get("shown")
    if listed is None:
        return choices, None
    shown = [parse_id(part) for part in listed.split(",") if part]
    if None in shown:
        errors.setdefault("timeslot", []).append("Unknown slot.")
    return choices, [slot_id for slot_id in shown if slot_id is not None]


def _thank(invitee: Invitee, picked: int) -> None:
    owner = invitee.calendar.owner
    told = f" {owner.first_name or owner.full_name} will see your comment." if invitee.comment else ""
    if invitee.declined_at is not None:
        flash(f"Thank you! Your answer was saved: none of these times work for you.{told}"
              f"{'' if told else ' If one does later, you can pick it here.'}", "success")
    else:
        flash(f"Thank you! Your answer was saved ({plural(picked, 'slot')} picked).{told} "
              "You can change it here until the meeting is confirmed.", "success")


@bp.route("/pick/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"], key_func=_pick_submission_key)
def pick(token: str):
    invitee = _invitee_or_404(token)
    calendar = invitee.calendar
    zone, detect = _viewer_zone(invitee)
    week = parse_week(request.values.get("week"))
    errors: dict[str, list[str]] = {}
    choices: dict[int, str | None] = {}
    none_work = request.form.get("none_work") == "1"  # "None of these times work for me"
    comment = request.form.get("comment")  # None (not sent): keep the saved one
    if request.method == "POST":
        going = parse_week(request.form.get("go_week"))  # a week button: save this week, show that one
        choices, shown = _posted_answer(errors)
        if not errors:
            try:
                picked = answers.save_picks(invitee, choices, shown=shown, timezone=zone, none_work=none_work,
                                            comment=comment, if_changed=going is not None)
            except DomainError as error:
                db.session.rollback()
                errors = error.fields or {"form": [error.message]}
                flash(error.message, "danger")
            else:
                if picked is not None:
                    _thank(invitee, picked)
                shown_week = going or week
                return redirect(url_for(".pick", token=token, tz=zone,
                                        week=shown_week.isoformat() if shown_week else None))
        else:
            flash("Some choices could not be saved.", "danger")
    view = pick_page(invitee, zone, week)
    # A refused answer shows the times as they were chosen, to correct and send again; one refused for
    # choosing nothing shows the answer that stands (nothing was saved).
    if errors and "answer" not in errors:
        for _day, shown_choices in view.days:
            for choice in shown_choices:
                choice.choice = choices.get(choice.slot.id, choice.choice)
    status = 400 if errors else 200
    return render_template(
        "scheduling/pick.html", invitee=invitee, calendar=calendar, owner=calendar.owner, view=view,
        zone=zone, detect=detect, token=token, errors=errors, labels=PREFERENCE_LABELS,
        zone_options=zone_options(zone),
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
