"""Account pages: sign up, sign in, sign out, profile (sessions, API tokens), verify the address,
forgot password, delete."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from ..exceptions import ValidationError
from ..extensions import db, limiter, login_manager
from ..forms import apply_errors
from ..signals import answers
from ..wording import plural
from . import recovery, services, sessions
from .forms import (
    DeleteAccountForm,
    ForgotPasswordForm,
    PasswordForm,
    ProfileForm,
    ResetPasswordForm,
    SigninForm,
    SignupForm,
)
from .limits import DEVICE_COOKIE, RESET_LIMITS, SIGNIN_LIMITS, device_cookie_value, with_limits
from .models import User

bp = Blueprint("accounts", __name__)
# The delete page's question (a blinker Namespace gives every caller of this name the same signal).
ACCOUNT_DELETION_NOTICES = services.account_deletion_notices


@login_manager.user_loader
def load_user(secret: str) -> User | None:
    """The user of the session the cookie names (None once that session has ended)."""
    return sessions.user_for_session(secret)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("calendars.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                first_name=form.first_name.data, last_name=form.last_name.data,
                username=form.username.data, email=form.email.data,
                password=form.password.data, repeat_password=form.repeat_password.data,
                timezone=form.timezone.data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:  # the same answer whether or not the address already had an account
            flash(services.signup_message(user.email), "success")
            session["signin_email"] = user.email  # prefills sign-in, without putting it in a URL
            return redirect(url_for("accounts.signin"))
    elif form.is_submitted() and "csrf_token" not in form.errors:
        _add_signup_problems(form)
    return render_template("accounts/signup.html", form=form), (400 if form.errors else 200)


def _add_signup_problems(form: SignupForm) -> None:
    """Beside the form's own errors, what sign-up would also refuse (a taken username, a common
    password), so every problem is reported at once; a field the form refused keeps its message."""
    problems = services.signup_problems(
        first_name=form.first_name.data, last_name=form.last_name.data, username=form.username.data,
        email=form.email.data, password=form.password.data, repeat_password=form.repeat_password.data,
        timezone=form.timezone.data,
    )
    _add_problems(form, problems)


def _add_problems(form, problems: dict[str, list[str]]) -> None:
    """Show the service's problems on the form's fields; a field the form refused keeps its message."""
    for name, messages in problems.items():
        field = getattr(form, name, None)
        if field is not None and not field.errors:
            field.errors = list(messages)


def _profile_changes(form: ProfileForm) -> dict:
    names = ["first_name", "last_name", "username", "email", "timezone"]
    if form.answer_notifications.name in request.form:  # a form without it keeps the setting
        names.append("answer_notifications")
    return {name: getattr(form, name).data for name in names}


@bp.route("/signin", methods=["GET", "POST"])
@with_limits(SIGNIN_LIMITS)
def signin():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("calendars.index"))
    form = SigninForm()
    if request.method == "GET" and session.get("signin_email"):
        form.email.data = session.pop("signin_email")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors = ["That email and password do not match an account."]
        else:
            sessions.start_session(user, remember=form.remember.data)
            flash(f"Signed in as {user.email}.", "success")
            response = redirect(next_url or url_for("calendars.index"))
            response.set_cookie(DEVICE_COOKIE, device_cookie_value(user.email), max_age=365 * 86400,
                                httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
            return response
    status = 400 if form.errors else 200
    return render_template("accounts/signin.html", form=form), status


@bp.route("/signout", methods=["GET", "POST"])
def signout():
    if request.method == "POST":
        _sign_out()
        flash("You are signed out.", "info")
        return redirect(url_for("accounts.signin"))
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.signin"))
    return render_template("accounts/signout.html")


def _sign_out() -> None:
    """End this browser's session for good, and forget everything else the cookie held."""
    if current_user.is_authenticated:
        sessions.end_session(current_user)
    logout_user()
    for key in [key for key in session if key not in ("_remember", "_flashes")]:
        session.pop(key)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    password_form = PasswordForm(prefix="pw")
    if request.method == "POST" and request.form.get("action") == "password":
        password_form = PasswordForm(prefix="pw")
        form = ProfileForm(obj=current_user, formdata=None)
        if password_form.validate_on_submit():
            try:
                services.change_password(
                    current_user, current_password=password_form.current_password.data,
                    new_password=password_form.new_password.data,
                    repeat_password=password_form.repeat_password.data,
                )
            except ValidationError as error:
                apply_errors(password_form, error)
            else:
                flash("Your password was changed. Your other sessions and your API tokens were signed out.",
                      "success")
                return redirect(url_for("accounts.profile"))
    elif form.validate_on_submit():
        changes = _profile_changes(form)
        pending = current_user.pending_email
        try:
            services.update_profile(current_user, changes,
                                    current_password=form.current_password.data)
        except ValidationError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            if current_user.pending_email and current_user.pending_email != pending:
                flash(f"Your profile was saved. We emailed a link to {current_user.pending_email}: your address "
                      f"changes when you open it; until then it stays {current_user.email}.", "success")
            else:
                flash("Your profile was saved.", "success")
            return redirect(url_for("accounts.profile"))
    elif form.is_submitted() and "csrf_token" not in form.errors:
        # The form refused some fields: say what else would be refused too (a taken username).
        _add_problems(form, services.profile_problems(current_user, _profile_changes(form),
                                                      current_password=form.current_password.data))
    status = 400 if (form.errors or password_form.errors) else 200
    return render_template(
        "accounts/profile.html", form=form, password_form=password_form,
        sessions=sessions.active_sessions(current_user), describe_device=sessions.describe_device,
        tokens=services.api_tokens(current_user),
    ), status


@bp.route("/sessions/<id:session_id>/signout", methods=["POST"])
@login_required
def end_session(session_id: int):
    if session_id == current_user.session_id:
        return signout()
    if not sessions.end_one_session(current_user, session_id):
        abort(404)
    flash("That session was signed out.", "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/sessions/signout-others", methods=["POST"])
@login_required
def end_other_sessions():
    count = sessions.end_other_sessions(current_user, current_user.session_id)
    flash(f"Signed out everywhere else ({plural(count, 'session')}).", "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/tokens/<id:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if not services.revoke_api_token_by_id(current_user, token_id):
        abort(404)
    flash("That API token was revoked.", "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/feed", methods=["POST"])
@login_required
def feed_rotate():
    """Create, replace or turn off the owner's calendar-feed address (the feed is scheduling's)."""
    if request.form.get("action") == "revoke":
        services.revoke_feed_token(current_user)
        flash("Your calendar feed address was turned off.", "info")
    else:
        token = services.rotate_feed_token(current_user)
        session["feed_url"] = url_for("scheduling.feed", token=token, _external=False)
        flash("A new calendar feed address was created; any old address stopped working.", "success")
    return redirect(url_for("accounts.profile"))


# ---- verified addresses and forgotten passwords ----------------------------------------------------

@bp.route("/verify/<token>")
def verify(token: str):
    """Open the link mailed to an address: it is verified (idempotent, so a GET is fine)."""
    keep = current_user.session_id if current_user.is_authenticated else None
    try:
        user = recovery.verify_email(token, keep_session_id=keep)
    except ValidationError as error:
        return render_template("accounts/link_problem.html", message=error.message), 400
    flash(f"Thank you: {user.email} is verified.", "success")
    return redirect(url_for("calendars.index" if current_user.is_authenticated else "accounts.signin"))


@bp.route("/verify/resend", methods=["POST"])
@login_required
@limiter.limit("5 per hour", key_func=lambda: f"verify:{current_user.id}")
def resend_verification():
    if current_user.is_verified and not current_user.pending_email:
        flash(f"{current_user.email} is already verified.", "info")
    else:
        try:
            address = recovery.queue_verification(current_user)
        except ValidationError as error:
            flash(error.message, "warning")
        else:
            flash(f"We emailed a new link to {address}.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("accounts.profile"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@with_limits(RESET_LIMITS)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.queue_password_reset(form.email.data)
        return render_template("accounts/forgot_sent.html", email=form.email.data.strip())
    return render_template("accounts/forgot.html", form=form), (400 if form.errors else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str):
    """A reset link: GET shows the form (spending nothing: mail scanners fetch links); POST sets it."""
    user = recovery.user_for_reset(token)
    if user is None:
        return render_template("accounts/link_problem.html", reset=True,
                               message="This link has expired or was already used."), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.password.data, form.repeat_password.data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            _sign_out()  # whoever was signed in on this browser before
            sessions.start_session(user)
            flash("Your password was reset and you are signed in. Every other session and API token was "
                  "signed out.", "success")
            return redirect(url_for("calendars.index"))
    return render_template("accounts/reset.html", form=form, user=user), (400 if form.errors else 200)


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.delete_account(user, form.password.data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            _sign_out()
            flash("Your account and everything in it were deleted.", "info")
            return redirect(url_for("home.index"))
    # What deleting will email, asked of the features above accounts: each answer lists cancellations
    # (`name`, `timeslot`); no answer at all means no feature says, and the page says it in general.
    found = answers(ACCOUNT_DELETION_NOTICES, current_user._get_current_object())
    cancellations = [cancellation for answer in found for cancellation in answer] if found else None
    return render_template("accounts/delete.html", form=form, cancellations=cancellations), (
        400 if form.errors else 200)
