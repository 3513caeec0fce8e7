"""A gunicorn logger that keeps secret links out of access logs.

    gunicorn --logger-class oneonone.gunicorn_logging.MaskingLogger ... wsgi:app

The request line, path, query and Referer of `/pick/<token>`, `/feed/<token>.ics` and the emailed
account links (`/accounts/password/reset/<token>`, `/accounts/verify/<token>`) are logged with the
token replaced by `***`, so whoever reads the logs cannot answer for an invitee or reset a password.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

SECRET_PATH = re.compile(r"(/(?:pick|feed|accounts/password/reset|accounts/verify)/)(?!resend\b)[^/?#\s.\"]+")
MASKED_ATOMS = ("r", "U", "f", "{referer}i")


def mask(text: str) -> str:
    """`text` with every secret link token replaced by ***."""
    return SECRET_PATH.sub(r"\1***", text)


class MaskingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in MASKED_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = mask(atoms[key])
        return atoms
