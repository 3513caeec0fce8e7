"""Invitations, the invitee's pick page, suggestions and finalizing."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("scheduling", __name__)


@bp.route("/calendars/<int:calendar_id>/invitees")
@login_required
def invitees(calendar_id: int):
    abort(404)


@bp.route("/calendars/<int:calendar_id>/suggestions")
@login_required
def suggestions(calendar_id: int):
    abort(404)
