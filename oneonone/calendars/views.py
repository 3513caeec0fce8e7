"""Calendar and timeslot pages (owner only)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..exceptions import ConflictError, ValidationError
from ..forms import apply_errors
from ..pagination import clamp_page_args
from ..wording import plural
from . import grid, services, timeslots
from .forms import CalendarForm, DeleteCalendarForm, DeleteTimeslotForm, SeriesForm, TimeslotForm
from .grid import listing
from .models import Calendar, Timeslot
from .signals import MoveOutcome, SlotPicker
from .times import describe_timeslot, describe_window

bp = Blueprint("calendars", __name__)


def _refused(form, error: ValidationError | ConflictError) -> list[str]:
    """Put the error's field problems on the form; return what no field could show."""
    unplaced = [problem for name, problems in error.fields.items() if not hasattr(form, name)
                for problem in problems]
    if not apply_errors(form, error) and not unplaced:
        unplaced = [error.message]
    return unplaced


def _status(form, problems: list[str]) -> int:
    return 400 if (form.errors or problems) else 200


# ---- calendars ----------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    page_number, per_page = clamp_page_args(request.args.get("page"), request.args.get("per_page"))
    page = services.list_calendars(current_user, page=page_number, per_page=per_page)
    counts = services.calendar_counts([calendar.id for calendar in page.items])
    return render_template("calendars/index.html", page=page, counts=counts)


def _calendar_changes(form: CalendarForm) -> dict:
    return {"name": form.name.data, "start_date": form.start_date.data, "end_date": form.end_date.data,
            "timezone": form.timezone.data, "response_deadline": form.response_deadline.data,
            "location": form.location.data, "meeting_url": form.meeting_url.data,
            "description": form.description.data}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    form = CalendarForm()
    if request.method == "GET":
        form.timezone.data = current_user.timezone
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            calendar = services.create_calendar(current_user, **_calendar_changes(form))
        except ValidationError as error:
            problems = _refused(form, error)
        else:
            flash(f"Created “{calendar.name}”. Now add the timeslots you can offer.", "success")
            return redirect(url_for("calendars.detail", calendar_id=calendar.id))
    return render_template("calendars/form.html", form=form, calendar=None,
                           problems=problems), _status(form, problems)


@bp.route("/<id:calendar_id>/")
@login_required
def detail(calendar_id: int):
    calendar = services.get_calendar(current_user, calendar_id)
    page = grid.calendar_page(calendar, request.args.get("week"))
    return render_template(
        "calendars/detail.html", calendar=calendar, page=page, weeks=page.weeks,
        counts=grid.page_counts(calendar, page.slots), high_priority=page.high_priority,
        window=describe_window(calendar),
    ), 400 if page.bad_week else 200


def _zone_note(calendar: Calendar, old_zone: str, question: dict | None, choice: str,
               outcome: MoveOutcome) -> str:
    """What a zone change did to the slots (nothing to say when it asked nothing)."""
    if calendar.timezone == old_zone or question is None:
        return ""
    if not question["slots"]:
        return (" The response deadline kept its clock time." if choice == services.KEEP_CLOCK_TIMES
                else " The response deadline kept its moment.")
    if choice == services.KEEP_CLOCK_TIMES:
        return (f" The slots kept their clock times in {calendar.timezone}; "
                f"{plural(outcome.slots, 'slot')} moved.{_moved_note(outcome)}")
    return f" The slots kept their moments and now show in {calendar.timezone}."


@bp.route("/<id:calendar_id>/edit", methods=["GET", "POST"])
@login_required
def edit(calendar_id: int):
    calendar = services.get_calendar(current_user, calendar_id)
    form = CalendarForm(obj=calendar)
    if request.method == "GET" and calendar.response_deadline is not None:
        local = calendar.response_deadline.astimezone(calendar.zone)
        form.response_deadline.data = local.replace(tzinfo=None)
    problems: list[str] = []
    question = grid.zone_question(calendar, form) if request.method == "POST" else None
    if question and form.zone_asked.data != question["new"]:
        form.slot_times.data = None  # a choice made for another zone does not count
    if form.validate_on_submit():
        choice = form.slot_times.data if question else services.KEEP_MOMENTS
        if question and choice not in services.SLOT_TIMES:
            if form.zone_asked.data == question["new"]:
                form.slot_times.errors = ["Choose whether the slots keep their clock times or their moments."]
        else:
            old_zone = calendar.timezone
            try:
                outcome = services.change_calendar(calendar, _calendar_changes(form), slot_times=choice)
            except ValidationError as error:
                problems = _refused(form, error)
            else:
                flash(f"Saved “{calendar.name}”.{_zone_note(calendar, old_zone, question, choice, outcome)}",
                      "success")
                return redirect(url_for("calendars.detail", calendar_id=calendar.id))
    if question:
        form.zone_asked.data = question["new"]
    return render_template("calendars/form.html", form=form, calendar=calendar, question=question,
                           problems=problems), _status(form, problems)


@bp.route("/<id:calendar_id>/delete", methods=["GET", "POST"])
@login_required
def delete(calendar_id: int):
    calendar = services.get_calendar(current_user, calendar_id)
    form = DeleteCalendarForm()
    if form.validate_on_submit():
        name = calendar.name
        cancelled = services.delete_calendar(calendar)
        note = f" {plural(cancelled, 'invitee was', 'invitees were')} emailed a cancellation." \
            if cancelled else ""
        flash(f"Deleted “{name}”.{note}", "info")
        return redirect(url_for("calendars.index"))
    counts = services.calendar_counts([calendar.id]).get(calendar.id, services.CalendarCounts())
    upcoming = services.upcoming_confirmed_meetings(calendar)
    return render_template("calendars/delete.html", calendar=calendar, form=form, counts=counts,
                           upcoming=upcoming, window=describe_window(calendar))


# ---- timeslots ----------------------------------------------------------------------------

def _slot_times(form: TimeslotForm) -> tuple[dt.datetime, dt.datetime]:
    """Naive local start and end; an end of 00:00 after a later start is the next midnight."""
    start = dt.datetime.combine(form.date.data, form.start_time.data)
    end = dt.datetime.combine(form.date.data, form.end_time.data)
    if form.end_time.data == dt.time(0) and form.start_time.data != dt.time(0):
        end += dt.timedelta(days=1)
    return start, end


def _local_date(timeslot: Timeslot) -> dt.date:
    """The slot's day in its calendar's zone: the week the calendar page shows it in."""
    return timeslot.start_time.astimezone(timeslot.calendar.zone).date()


def _requested_date(calendar: Calendar) -> dt.date:
    try:
        date = dt.date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return calendar.start_date
    return date if calendar.start_date <= date <= calendar.end_date else calendar.start_date


@bp.route("/<id:calendar_id>/timeslots/new", methods=["GET", "POST"])
@login_required
def add_timeslot(calendar_id: int):
    calendar = services.get_calendar(current_user, calendar_id)
    form = TimeslotForm()
    if request.method == "GET":
        form.date.data = _requested_date(calendar)
    problems: list[str] = []
    if form.validate_on_submit():
        start, end = _slot_times(form)
        try:
            timeslot = timeslots.add_timeslot(calendar, start_time=start, end_time=end,
                                              high_priority=form.high_priority.data)
        except (ValidationError, ConflictError) as error:
            problems = _refused(form, error)
        else:
            flash(f"Added the slot {describe_timeslot(timeslot)}.", "success")
            if request.form.get("another"):
                return redirect(url_for("calendars.add_timeslot", calendar_id=calendar.id,
                                        date=form.date.data.isoformat()))
            return redirect(url_for("calendars.detail", calendar_id=calendar.id,
                                    week=form.date.data.isoformat(),
                                    _anchor=f"day-{form.date.data.isoformat()}"))
    return render_template("calendars/timeslot_form.html", calendar=calendar, form=form, timeslot=None,
                           pickers=[], problems=problems), _status(form, problems)


def _timeslot_changes(form: TimeslotForm, timeslot: Timeslot) -> dict:
    """The form's changes; a time left as shown is not sent, so it keeps its exact instant."""
    zone = timeslot.calendar.zone
    local_start, local_end = timeslot.start_time.astimezone(zone), timeslot.end_time.astimezone(zone)
    same_day = form.date.data == local_start.date()
    start, end = _slot_times(form)
    changes: dict = {"high_priority": form.high_priority.data}
    if not (same_day and form.start_time.data == local_start.time().replace(tzinfo=None)):
        changes["start_time"] = start
    if not (same_day and form.end_time.data == local_end.time().replace(tzinfo=None)):
        changes["end_time"] = end
    return changes


def _move_warning(pickers: list[SlotPicker]) -> str:
    """What changing the slot's time does, said before: whose answers go, whose meeting moves."""
    others = [picker.name for picker in pickers if not picker.confirmed]
    meeting = next((picker.name for picker in pickers if picker.confirmed), None)
    parts = []
    if others:
        who = "they are" if len(others) > 1 else f"{others[0]} is"
        parts.append(f"Changing the time removes {plural(len(others), 'answer')} on this slot "
                     f"({listing(others)}); {who} emailed to pick again.")
    if meeting:
        parts.append(f"{meeting}’s confirmed meeting moves with the slot; {meeting} is emailed the new time.")
    return " ".join(parts)


def _acknowledge_label(pickers: list[SlotPicker]) -> str:
    others = sum(not picker.confirmed for picker in pickers)
    meeting = next((picker.name for picker in pickers if picker.confirmed), None)
    parts = []
    if others:
        parts.append(f"removes {plural(others, 'answer')} and emails "
                     f"{'those invitees' if others > 1 else 'that invitee'} to pick again")
    if meeting:
        parts.append(f"moves the meeting with {meeting}, who is emailed the new time")
    return "I understand that changing the time " + " and ".join(parts) + "."


def _moved_note(outcome: MoveOutcome) -> str:
    """What a move did, for the flash."""
    note = ""
    if outcome.removed:
        were = "was" if len(outcome.asked_again) == 1 else "were"
        note += (f" Removed {plural(outcome.removed, 'answer')}; {listing(list(outcome.asked_again))} "
                 f"{were} emailed to pick again.")
    for name in outcome.meetings_moved:
        note += f" {name} was emailed the new time."
    return note


@bp.route("/<id:calendar_id>/timeslots/<id:timeslot_id>/edit", methods=["GET", "POST"])
@login_required
def edit_timeslot(calendar_id: int, timeslot_id: int):
    timeslot = timeslots.get_timeslot(current_user, calendar_id, timeslot_id)
    calendar = timeslot.calendar
    pickers = grid.timeslot_pickers(timeslot)
    form = TimeslotForm()
    form.acknowledge.label.text = _acknowledge_label(pickers) if pickers else ""
    if request.method == "GET":
        start = timeslot.start_time.astimezone(calendar.zone)
        end = timeslot.end_time.astimezone(calendar.zone)
        form.date.data, form.start_time.data = start.date(), start.time().replace(tzinfo=None)
        form.end_time.data = end.time().replace(tzinfo=None)
        form.high_priority.data = timeslot.high_priority
    problems: list[str] = []
    if form.validate_on_submit():
        changes = _timeslot_changes(form, timeslot)
        moved = "start_time" in changes or "end_time" in changes
        if moved and pickers and not form.acknowledge.data:
            form.acknowledge.errors = ["Tick this box to change the time of a slot that invitees picked."]
        else:
            description = describe_timeslot(timeslot)
            try:
                outcome = timeslots.change_timeslot(timeslot, changes)
            except (ValidationError, ConflictError) as error:
                problems = _refused(form, error)
            else:
                flash(f"Saved the slot {describe_timeslot(timeslot)} "
                      f"(was {description}).{_moved_note(outcome)}" if moved else
                      f"Saved the slot {description}.", "success")
                return redirect(url_for("calendars.detail", calendar_id=calendar.id,
                                        week=_local_date(timeslot).isoformat(),
                                        _anchor=f"slot-{timeslot.id}"))
    return render_template("calendars/timeslot_form.html", calendar=calendar, form=form,
                           timeslot=timeslot, pickers=pickers, move_warning=_move_warning(pickers),
                           description=describe_timeslot(timeslot),
                           problems=problems), _status(form, problems)


@bp.route("/<id:calendar_id>/timeslots/<id:timeslot_id>/delete", methods=["GET", "POST"])
@login_required
def delete_timeslot(calendar_id: int, timeslot_id: int):
    timeslot = timeslots.get_timeslot(current_user, calendar_id, timeslot_id)
    calendar = timeslot.calendar
    summary = grid.timeslot_summary(timeslot)
    description = describe_timeslot(timeslot)
    week = _local_date(timeslot).isoformat()
    form = DeleteTimeslotForm()
    if summary.confirmed:
        form.confirm.label.text = (f"Cancel the meeting with {summary.confirmed_name} and email "
                                   f"them a cancellation")
    problems: list[str] = []
    if form.validate_on_submit():
        if summary.confirmed and not form.confirm.data:
            form.confirm.errors = ["Tick this box to cancel the confirmed meeting."]
        else:
            try:
                timeslots.delete_timeslot(timeslot, confirm=bool(form.confirm.data))
            except ConflictError as error:
                problems = _refused(form, error)
            else:
                note = f" {summary.confirmed_name} was emailed a cancellation." if summary.confirmed else ""
                flash(f"Deleted the slot {description}.{note}", "info")
                return redirect(url_for("calendars.detail", calendar_id=calendar.id, week=week))
    return render_template("calendars/timeslot_delete.html", calendar=calendar, timeslot=timeslot,
                           summary=summary, description=description, form=form,
                           problems=problems), _status(form, problems)


@bp.route("/<id:calendar_id>/timeslots/series", methods=["GET", "POST"])
@login_required
def add_series(calendar_id: int):
    calendar = services.get_calendar(current_user, calendar_id)
    form = SeriesForm()
    if request.method == "GET":
        form.weekdays.data = [0, 1, 2, 3, 4]
        form.start.data, form.end.data = dt.time(9), dt.time(12)
        form.length_minutes.data, form.gap_minutes.data = 30, 0
    problems: list[str] = []
    summary_message = None
    if form.validate_on_submit():
        try:
            slots = timeslots.add_series(
                calendar, weekdays=set(form.weekdays.data), start=form.start.data, end=form.end.data,
                length_minutes=form.length_minutes.data, gap_minutes=form.gap_minutes.data or 0,
                first_day=form.first_day.data, last_day=form.last_day.data,
                high_priority=form.high_priority.data,
            )
        except (ValidationError, ConflictError) as error:
            problems = _refused(form, error)
            if problems and error.message not in problems:
                summary_message = error.message
        else:
            flash(f"Added {plural(len(slots), 'slot')}.", "success")
            first = min(slots, key=lambda slot: slot.start_time, default=None)
            return redirect(url_for("calendars.detail", calendar_id=calendar.id,
                                    week=None if first is None else _local_date(first).isoformat()))
    return render_template("calendars/series_form.html", calendar=calendar, form=form,
                           problems=problems, summary_message=summary_message,
                           window=describe_window(calendar)), _status(form, problems)
