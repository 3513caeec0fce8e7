"""Accounts: sign up, sign in (a bearer token), sign out, profile, verification, password reset, delete."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..accounts import recovery, services
from ..accounts.limits import RESET_LIMITS, SIGNIN_LIMITS, with_limits
from ..extensions import limiter
from ..validation import Problems
from . import schemas
from .core import (
    OWNER,
    ApiBlueprint,
    ApiError,
    bearer_token,
    current_owner,
    requires,
)

bp = ApiBlueprint("api_accounts", __name__, tag="Accounts", url_prefix="/api/accounts",
                  description="Sign up, sign in for a bearer token, profile and account deletion.")


def describe_fields(schema: type) -> dict:
    """What a request body takes, from its schema (the same one the OpenAPI document shows)."""
    api = current_app.extensions["oneonone.api"]
    converter = api.ma_plugin.converter
    fields = {}
    for name, field in schema().fields.items():
        described = dict(converter.field2property(field))
        described["required"] = field.required
        fields[name] = described
    return {"method": "POST", "fields": fields}


@bp.route("/signup/")
class Signup(MethodView):
    decorators = [limiter.limit("10 per hour", methods=["POST"])]

    @bp.response(200, schemas.FieldsDescriptionSchema)
    @bp.doc(operationId="describeSignup")
    def get(self):
        """The fields sign-up expects"""
        return describe_fields(schemas.SignupSchema)

    @bp.body(schemas.SignupSchema)
    @bp.response(201, schemas.SignupResultSchema)
    @bp.doc(operationId="signUp")
    def post(self, data):
        """Create an account

        Emails a link to verify the address, and answers with the cleaned input; then sign in for a
        token. The answer is the same whether or not the email already has an account (so sign-up
        reveals nobody's address): in that case nothing is created and the account's owner is emailed
        that someone tried to sign up with it. A taken username is still refused (400 naming
        `username`). Until the link is opened the account can build contacts and calendars but sends no
        email to anyone else: inviting, resending, reminding and confirming answer 403
        `email_not_verified`.
        """
        user = services.register_user(
            first_name=data["first_name"], last_name=data["last_name"], username=data["username"],
            email=data["email"], password=data["password"], repeat_password=data["repeat_password"],
            timezone=data.get("timezone"),
        )
        return {"username": user.username, "email": user.email, "first_name": user.first_name,
                "last_name": user.last_name, "timezone": user.timezone, "email_verified": False,
                "detail": services.signup_message(user.email)}


@bp.route("/signin/")
class Signin(MethodView):
    decorators = SIGNIN_LIMITS

    @bp.response(200, schemas.FieldsDescriptionSchema)
    @bp.doc(operationId="describeSignin")
    def get(self):
        """The fields sign-in expects"""
        return describe_fields(schemas.SigninSchema)

    @bp.body(schemas.SigninSchema)
    @bp.response(200, schemas.TokenSchema)
    @bp.alt_response(401, response="UNAUTHORIZED")
    @bp.doc(operationId="signIn")
    def post(self, data):
        """Sign in for a bearer token

        Send the token as `Authorization: Bearer <token>`. Tokens are random, stored hashed and last
        until signed out, until the password or email changes, or until unused for 30 days.
        Rate-limited per client address and account, per client address, and (a high ceiling) per
        account, shared with the sign-in page.
        """
        user = services.authenticate(data["email"], data["password"])
        if user is None:
            problem = "That email and password do not match an account."
            raise ApiError(401, problem, {"password": [problem]})
        return {"token": services.issue_api_token(user)}


@bp.route("/signout/", methods=["POST"])
@requires(OWNER)
@bp.response(204)
@bp.doc(operationId="signOut")
def signout():
    """Revoke the token this request is made with"""
    services.revoke_api_token(bearer_token())
    return None


@bp.route("/profile/")
class Profile(MethodView):
    @requires(OWNER)
    @bp.response(200, schemas.UserSchema)
    @bp.doc(operationId="getProfile")
    def get(self):
        """Your profile"""
        return current_owner()

    @requires(OWNER)
    @bp.body(schemas.ProfileUpdateSchema)
    @bp.response(200, schemas.UserSchema)
    @bp.doc(operationId="updateProfile")
    def put(self, data):
        """Change your profile (partial updates allowed)

        A new `email` or `password` needs `current_password`. Either change signs out every API
        token, this one included: sign in again afterwards.
        """
        user = current_owner()
        password = data.pop("password", None)
        current_password = data.pop("current_password", None)
        if password is not None:
            _check_password_change(user, password, current_password)
        if data:
            services.update_profile(user, data, current_password=current_password)
        if password is not None:
            services.change_password(user, current_password=current_password, new_password=password)
        return user


def _check_password_change(user, password: str, current_password: str | None) -> None:
    """Refuse a bad password change before anything is written (the profile change comes first)."""
    problems = Problems()
    if not user.check_password(current_password or ""):
        problems.add("current_password", "Enter your current password to change your password.")
    for problem in services.password_problems(password):
        problems.add("password", problem)
    problems.raise_if_any()


@bp.route("/delete/", methods=["DELETE"])
@requires(OWNER)
@bp.body(schemas.DeleteAccountSchema)
@bp.response(204)
@bp.doc(operationId="deleteAccount")
def delete_account(data):
    """Delete your account and everything in it

    Needs your `password` (else 400 naming it). Invitees with an upcoming confirmed meeting are
    emailed a cancellation; every token, session and stored message of the account goes.
    """
    services.delete_account(current_owner(), data["password"])
    return None


@bp.route("/verify/resend/", methods=["POST"])
@requires(OWNER)
@limiter.limit("5 per hour", key_func=lambda: f"verify:{current_owner().id}")
@bp.response(202, schemas.MessageSchema)
@bp.doc(operationId="resendVerification")
def resend_verification():
    """Email the verification link again (to `pending_email` when a change is waiting)"""
    user = current_owner()
    if user.is_verified and not user.pending_email:
        return {"message": f"{user.email} is already verified."}
    return {"message": f"We emailed a new link to {recovery.queue_verification(user)}."}


RESET_SENT = "If an account exists for that address, we emailed it a link to reset the password (valid for an hour)."


@bp.route("/password-reset/", methods=["POST"])
@with_limits(RESET_LIMITS)
@bp.body(schemas.EmailSchema)
@bp.response(202, schemas.MessageSchema)
@bp.doc(operationId="requestPasswordReset")
def password_reset(data):
    """Ask for a password-reset email

    Always answers 202 the same way, whether or not an account has the address. The email's link
    (`/accounts/password/reset/<token>`) works once, for an hour; confirm it here or on that page.
    """
    recovery.queue_password_reset(data["email"])
    return {"message": RESET_SENT}


@bp.route("/password-reset/confirm/", methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"])
@bp.body(schemas.PasswordResetSchema)
@bp.response(200, schemas.TokenSchema)
@bp.doc(operationId="confirmPasswordReset")
def password_reset_confirm(data):
    """Set a new password with a reset token

    Ends every session and API token of the account and turns its feed address off, then returns
    a new bearer token. A used, expired or broken token answers 400 naming `token`.
    """
    user = recovery.reset_password(data["token"], data["password"], data["repeat_password"])
    return {"token": services.issue_api_token(user)}
