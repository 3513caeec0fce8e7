"""Calendar and timeslot forms: text in, typed values out (dates, times, ints, a set of weekdays).

The services hold the rules; these catch the obvious, each in the product's words: text that is not
a date, a time or a number gets an example of what to type, not the library's default message."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms import DateField as _DateField
from wtforms import DateTimeLocalField as _DateTimeLocalField
from wtforms import IntegerField as _IntegerField
from wtforms import TimeField as _TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..timezones import timezone_choices
from ..validation import parse_int
from ..zone_options import ZoneSelect
from .details import DESCRIPTION_MAX, LOCATION_MAX, MEETING_URL_MAX
from .services import KEEP_CLOCK_TIMES, KEEP_MOMENTS, NAME_MAX
from .timeslots import WEEKDAYS_PROBLEM

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
WEEKDAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class _OwnWords:
    """A field whose unparsable text is refused with `unparsable` instead of WTForms' message."""

    unparsable = ""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.unparsable) from None


class DateField(_OwnWords, _DateField):
    unparsable = "Enter a date such as 2030-03-04."


class TimeField(_OwnWords, _TimeField):
    unparsable = "Enter a time such as 09:30."


class DateTimeLocalField(_OwnWords, _DateTimeLocalField):
    unparsable = "Enter a date and time such as 2030-03-04 17:00."


class IntegerField(_OwnWords, _IntegerField):
    unparsable = "Enter a whole number of minutes, such as 30."


class CalendarForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[InputRequired(message="Name is required."),
                    Length(max=NAME_MAX, message=f"Name must be at most {NAME_MAX} characters.")],
        description="For example “Team 1:1s, spring” (at most 50 characters).",
    )
    start_date = DateField("First day", validators=[InputRequired(message="Choose the first day.")])
    end_date = DateField("Last day", validators=[InputRequired(message="Choose the last day.")])
    timezone = SelectField("Time zone", validate_choice=False, widget=ZoneSelect(),  # options rendered once
                           description="Slots are entered and shown in this zone.")
    response_deadline = DateTimeLocalField(
        "Answers close at (optional)", format=DATETIME_FORMATS, validators=[Optional()],
        description="In the calendar's time zone. After it, invitees can see but no longer change "
                    "their answers.",
    )
    # The meeting details: their rules are in details.py (refusals show beside each field).
    location = StringField("Location (optional)", description="Where you meet, for example “Room 4.2, "
                           f"Main Building” (one line, at most {LOCATION_MAX} characters).")
    meeting_url = URLField("Video call link (optional)", description="The address of your Zoom, Teams or "
                           f"Meet room, starting with https:// (at most {MEETING_URL_MAX} characters).")
    description = TextAreaField("Agenda or description (optional)", description="What the meeting is "
                                f"about; invitees see it with the times (at most {DESCRIPTION_MAX:,} characters).")
    # Asked only when the zone changes on a calendar with slots or a deadline ahead (views.edit).
    slot_times = RadioField("When the time zone changes", validate_choice=False,
                            choices=[SelectChoice(KEEP_CLOCK_TIMES, "Keep the clock times"),
                                     SelectChoice(KEEP_MOMENTS, "Keep the moments")])
    zone_asked = HiddenField()  # the new zone the question was asked for
    submit = SubmitField("Save calendar")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = list(timezone_choices(self.timezone.data))


class DeleteCalendarForm(FlaskForm):
    submit = SubmitField("Delete calendar")


class TimeslotForm(FlaskForm):
    date = DateField("Date", validators=[InputRequired(message="Choose the date.")])
    start_time = TimeField("Start", format=TIME_FORMATS,
                           validators=[InputRequired(message="Enter the start time.")])
    end_time = TimeField("End", format=TIME_FORMATS,
                         validators=[InputRequired(message="Enter the end time.")],
                         description="An end of 00:00 means midnight at the end of the day.")
    high_priority = BooleanField("High priority", description="A time you would rather use; "
                                 "suggested schedules fill these first.")
    acknowledge = BooleanField("I understand")
    submit = SubmitField("Save slot")


class DeleteTimeslotForm(FlaskForm):
    confirm = BooleanField("Cancel the confirmed meeting and email the invitee a cancellation")
    submit = SubmitField("Delete slot")


class WeekdaysField(SelectMultipleField):
    """Checkboxes whose data is the chosen weekday numbers (0 = Monday)."""

    def process_formdata(self, valuelist):
        days = [parse_int(value, minimum=0, maximum=6) for value in valuelist]
        if None in days:
            self.data = valuelist  # shown again as sent
            raise ValueError(WEEKDAYS_PROBLEM)
        self.data = days


class SeriesForm(FlaskForm):
    weekdays = WeekdaysField(
        "Weekdays", choices=[SelectChoice(str(n), label) for n, label in enumerate(WEEKDAY_LABELS)],
        validate_choice=False,
        validators=[InputRequired(message="Choose at least one weekday.")],
    )
    start = TimeField("From", format=TIME_FORMATS, validators=[InputRequired(message="Enter a start time.")])
    end = TimeField("To", format=TIME_FORMATS, validators=[InputRequired(message="Enter an end time.")],
                    description="The last slot ends by this time.")
    length_minutes = IntegerField(
        "Slot length (minutes)",
        validators=[InputRequired(message="Enter the slot length in minutes."),
                    NumberRange(min=5, max=1440, message="Slot length must be between 5 and 1440.")],
    )
    gap_minutes = IntegerField(
        "Gap between slots (minutes)", default=0,
        validators=[Optional(), NumberRange(min=0, max=1440, message="Gap must be between 0 and 1440.")],
    )
    first_day = DateField("First day (optional)", validators=[Optional()],
                          description="Defaults to the first day of the window.")
    last_day = DateField("Last day (optional)", validators=[Optional()],
                         description="Defaults to the last day of the window.")
    high_priority = BooleanField("High priority")
    submit = SubmitField("Add the slots")

