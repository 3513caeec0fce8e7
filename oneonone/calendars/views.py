"""Calendar and timeslot pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

bp = Blueprint("calendars", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("calendars/index.html", calendars=current_user.calendars)
