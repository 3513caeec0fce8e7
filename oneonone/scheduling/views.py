"""Invitations, the invitee's pick page, suggestions and finalizing."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scheduling", __name__)
