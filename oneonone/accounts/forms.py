"""Account forms. Rules that need the database live in services; these catch the obvious.

Every validator carries its own message in the product's words (no library default text); the
password and username messages are the services' own, so a page and the API say the same thing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from ..timezones import timezone_choices
from ..validation import EMAIL_MAX, EMAIL_PROBLEM, NAME_MAX
from ..zone_options import ZoneSelect
from .services import PASSWORD_MAX, PASSWORD_MIN, USERNAME_PROBLEM, USERNAME_RE

PASSWORD_HINT = f"At least {PASSWORD_MIN} characters."
MISMATCH = "The two passwords do not match."


def _name(label: str) -> list:
    return [DataRequired(message=f"Enter your {label.lower()}."),
            Length(max=NAME_MAX, message=f"{label} must be at most {NAME_MAX} characters.")]


def _username() -> list:
    return [DataRequired(message="Choose a username."), Regexp(USERNAME_RE, message=USERNAME_PROBLEM)]


def _strip(value):
    """Usernames are compared without surrounding spaces (as the services do)."""
    return value.strip() if isinstance(value, str) else value


def _email() -> list:
    return [DataRequired(message="Enter your email address."),
            Length(max=EMAIL_MAX, message=f"Email must be at most {EMAIL_MAX} characters."),
            Email(message=EMAIL_PROBLEM)]


def _new_password(missing: str) -> list:
    return [DataRequired(message=missing),
            Length(min=PASSWORD_MIN, message=f"Use at least {PASSWORD_MIN} characters."),
            Length(max=PASSWORD_MAX, message=f"Use at most {PASSWORD_MAX} characters.")]


def _repeat(other: str) -> list:
    return [DataRequired(message="Type the password again."), EqualTo(other, message=MISMATCH)]


class TimezoneChoicesMixin:
    """The zone select offers tzdata's canonical zones, plus the zone already chosen if it is an alias."""

    def _offer_timezones(self) -> None:
        self.timezone.choices = list(timezone_choices(self.timezone.data))


class SignupForm(TimezoneChoicesMixin, FlaskForm):
    first_name = StringField("First name", validators=_name("First name"))
    last_name = StringField("Last name", validators=_name("Last name"))
    username = StringField("Username", validators=_username(), filters=[_strip])
    email = EmailField("Email", validators=_email())
    password = PasswordField("Password", validators=_new_password("Choose a password."),
                             description=PASSWORD_HINT)
    repeat_password = PasswordField("Repeat password", validators=_repeat("password"))
    timezone = SelectField("Time zone", default="UTC", validate_choice=False, widget=ZoneSelect())
    submit = SubmitField("Create account")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._offer_timezones()


class SigninForm(FlaskForm):
    email = EmailField("Email", validators=[
        DataRequired(message="Enter your email address."),
        Length(max=EMAIL_MAX, message=f"Email must be at most {EMAIL_MAX} characters.")])
    password = PasswordField("Password", validators=[
        DataRequired(message="Enter your password."),
        Length(max=PASSWORD_MAX, message=f"A password has at most {PASSWORD_MAX} characters.")])
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Sign in")


class ProfileForm(TimezoneChoicesMixin, FlaskForm):
    first_name = StringField("First name", validators=_name("First name"))
    last_name = StringField("Last name", validators=_name("Last name"))
    username = StringField("Username", validators=_username(), filters=[_strip])
    email = EmailField("Email", validators=_email())
    timezone = SelectField("Time zone", validate_choice=False, widget=ZoneSelect())  # options rendered once
    answer_notifications = SelectField(
        "Emails about answers", validate_choice=False, default="daily",
        choices=[SelectChoice("each", "An email for each answer"),
                 SelectChoice("daily", "One summary a day (default)"),
                 SelectChoice("off", "None (you still hear when everyone has answered)")],
        description="When invitees answer: who, which times, and their comment.")
    current_password = PasswordField(
        "Current password", description="Needed only when you change your email."
    )
    submit = SubmitField("Save profile")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._offer_timezones()


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[
        DataRequired(message="Enter your current password.")])
    new_password = PasswordField("New password", validators=_new_password("Choose a new password."),
                                 description=PASSWORD_HINT)
    repeat_password = PasswordField("Repeat new password", validators=_repeat("new_password"))
    submit = SubmitField("Change password")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[
        DataRequired(message="Enter the email address of your account."),
        Length(max=EMAIL_MAX, message=f"Email must be at most {EMAIL_MAX} characters.")])
    submit = SubmitField("Email me a link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=_new_password("Choose a new password."),
                             description=PASSWORD_HINT)
    repeat_password = PasswordField("Repeat new password", validators=_repeat("password"))
    submit = SubmitField("Set new password")


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", validators=[
        DataRequired(message="Enter your password to confirm.")])
    confirm = BooleanField(
        "I understand that my contacts, calendars and meetings will be deleted for good.",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
    submit = SubmitField("Delete my account")
