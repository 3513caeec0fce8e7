"""Account pages: sign up, sign in, sign out, profile, delete."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..exceptions import ValidationError
from ..extensions import db, limiter, login_manager
from ..forms import apply_errors
from . import services
from .forms import DeleteAccountForm, PasswordForm, ProfileForm, SigninForm, SignupForm
from .models import User

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


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


def _signin_email_key() -> str:
    return (request.form.get("email") or "").strip().lower() or "-"


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
        else:
            login_user(user)
            flash(f"Welcome to OneOnOne, {user.first_name}!", "success")
            return redirect(url_for("calendars.index"))
    return render_template("accounts/signup.html", form=form), (400 if form.errors else 200)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit("20 per 5 minutes", methods=["POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"], key_func=_signin_email_key)
def signin():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("calendars.index"))
    form = SigninForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors = ["That email and password do not match an account."]
        else:
            login_user(user, remember=form.remember.data)
            flash(f"Signed in as {user.email}.", "success")
            return redirect(next_url or url_for("calendars.index"))
    status = 400 if form.errors else 200
    return render_template("accounts/signin.html", form=form), status


@bp.route("/signout", methods=["GET", "POST"])
def signout():
    if request.method == "POST":
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("accounts.signin"))
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.signin"))
    return render_template("accounts/signout.html")


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
                flash("Your password was changed. API tokens were signed out.", "success")
                return redirect(url_for("accounts.profile"))
    elif form.validate_on_submit():
        changes = {name: getattr(form, name).data
                   for name in ("first_name", "last_name", "username", "email", "timezone")}
        try:
            services.update_profile(current_user, changes,
                                    current_password=form.current_password.data)
        except ValidationError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            flash("Your profile was saved.", "success")
            return redirect(url_for("accounts.profile"))
    status = 400 if (form.errors or password_form.errors) else 200
    return render_template("accounts/profile.html", form=form, password_form=password_form), status


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data):
            form.password.errors = ["Your password is not correct."]
        else:
            user = current_user._get_current_object()
            logout_user()
            services.delete_account(user)
            flash("Your account and everything in it were deleted.", "info")
            return redirect(url_for("home.index"))
    return render_template("accounts/delete.html", form=form), (400 if form.errors else 200)
