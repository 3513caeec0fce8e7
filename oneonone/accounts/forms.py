"""Account forms. Rules that need the database live in services; these catch the obvious."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..timezones import timezone_choices
from ..validation import EMAIL_MAX, NAME_MAX
from .services import PASSWORD_MAX, PASSWORD_MIN

PASSWORD_HINT = f"At least {PASSWORD_MIN} characters."


class SignupForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired(), Length(max=NAME_MAX)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=NAME_MAX)])
    username = StringField("Username", validators=[DataRequired(), Length(min=3, max=64)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=EMAIL_MAX), Email()])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        description=PASSWORD_HINT,
    )
    repeat_password = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords do not match.")],
    )
    timezone = SelectField("Time zone", default="UTC", validate_choice=False)
    submit = SubmitField("Create account")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = list(timezone_choices())


class SigninForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Sign in")


class ProfileForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired(), Length(max=NAME_MAX)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=NAME_MAX)])
    username = StringField("Username", validators=[DataRequired(), Length(min=3, max=64)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=EMAIL_MAX), Email()])
    timezone = SelectField("Time zone", validate_choice=False)
    current_password = PasswordField(
        "Current password", description="Needed only when you change your email."
    )
    submit = SubmitField("Save profile")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = list(timezone_choices())


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        description=PASSWORD_HINT,
    )
    repeat_password = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two passwords do not match.")],
    )
    submit = SubmitField("Change password")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=EMAIL_MAX)])
    submit = SubmitField("Email me a link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        description=PASSWORD_HINT,
    )
    repeat_password = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords do not match.")],
    )
    submit = SubmitField("Set new password")


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired()])
    confirm = BooleanField(
        "I understand that my contacts, calendars and meetings will be deleted for good.",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
    submit = SubmitField("Delete my account")
