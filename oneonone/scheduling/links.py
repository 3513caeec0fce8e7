"""Personal invitation links: random tokens of 256 bits, stored only as hashes."""

from __future__ import annotations

import secrets

from flask import current_app

from ..accounts.models import hash_token


def new_link_token() -> tuple[str, str]:
    """A fresh (token, hash) pair; the token goes in the link, the hash in the database."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def pick_url(token: str) -> str:
    """The public address of an invitee's pick page."""
    return f"{current_app.config['PUBLIC_URL']}/pick/{token}"
