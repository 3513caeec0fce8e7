"""Rate limits on the account doors, shared by the pages and the API (one counter for both).

Sign-in is limited strictly per (client address, account) and per client address, and per account
only by a high ceiling of *failed* attempts: wrong guesses from elsewhere cannot lock the right
password out from a new address. A browser that has signed in to the account before carries a
device cookie (OWASP's "device cookies") and is exempt from that ceiling, so even a distributed
attack that fills it cannot lock the owner out of their own browser. Password-reset requests are
limited per client address and per account.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadData, URLSafeSerializer

from ..extensions import limiter


def _account() -> str:
    """The (lower-cased) email a sign-in or reset request is about, from the form or the JSON body."""
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, dict) or hasattr(data, "getlist") else None
    return str(email or "").strip().lower()[:200] or "-"


def _client_and_account() -> str:
    return f"{get_remote_address()}|{_account()}"


DEVICE_COOKIE = "oneonone_device"


def _devices() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="oneonone.device")


def device_cookie_value(email: str) -> str:
    """The device cookie a browser gets when it signs in to the account with this email."""
    return _devices().dumps(email.strip().lower())


def _known_device() -> bool:
    try:
        return _devices().loads(request.cookies.get(DEVICE_COOKIE, "")) == _account()
    except BadData:
        return False


def _shared(limit: str, scope: str, key_func, **options):
    return limiter.shared_limit(limit, scope=scope, key_func=key_func, methods=["POST"], **options)


def _failed(response) -> bool:
    return response.status_code in (400, 401)


SIGNIN_LIMITS = [
    _shared("10 per 15 minutes", "signin-client-account", _client_and_account),
    _shared("30 per 15 minutes", "signin-client", get_remote_address),
    _shared("100 per hour", "signin-account", _account, deduct_when=_failed, exempt_when=_known_device),
]
RESET_LIMITS = [
    _shared("10 per hour", "reset-client", get_remote_address),
    _shared("3 per hour", "reset-account", _account),
]


def with_limits(limits):
    """Apply a list of limits to a view function."""
    def decorate(view):
        for limit in reversed(limits):
            view = limit(view)
        return view
    return decorate
