"""Personal invitation links, derived so they can be rebuilt and never need storing.

A link's token is HMAC-SHA256(key, nonce), where the key is derived from SECRET_KEY and the nonce is
a random value kept with the invitation. The database holds the nonce and the SHA-256 of the token,
never the token: a copy of the database (or of the outbox) opens no pick page, while the app can
rebuild an invitee's link for a reminder, a meeting email or the owner's "Copy link". Retiring a
link (Resend with a new link, or Revoke) means a new nonce. Changing SECRET_KEY keeps the links
already mailed working (their hashes are stored); the next mail to each invitee carries a new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app

from ..accounts.models import hash_token
from ..hosts import public_url_for


def _link_key() -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"oneonone invitation links",
                    hashlib.sha256).digest()


def derive_token(nonce: str) -> str:
    """The link token of an invitation with this nonce (43 URL-safe characters, 256 bits)."""
    digest = hmac.new(_link_key(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_link() -> tuple[str, str, str]:
    """A fresh (nonce, token, token hash): the nonce and hash are stored, the token is mailed."""
    nonce = secrets.token_urlsafe(16)
    token = derive_token(nonce)
    return nonce, token, hash_token(token)


def new_link_token() -> tuple[str, str]:
    """A random (token, hash) pair for links that are never rebuilt (seeding, tests)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def rebuild_token(nonce: str | None, token_hash: str) -> str | None:
    """The invitation's current token, if it can be rebuilt (made from this nonce under this key)."""
    if not nonce:
        return None
    token = derive_token(nonce)
    return token if hmac.compare_digest(hash_token(token), token_hash) else None


def pick_url(token: str) -> str:
    """The public address of an invitee's pick page."""
    return public_url_for("scheduling.pick", token=token)
