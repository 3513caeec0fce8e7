"""The front page, and /robots.txt."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("home", __name__)

# Secret links, the owner's account and the API are nobody's search results (see oneonone/http_headers.py).
ROBOTS_TXT = """User-agent: *
Disallow: /pick/
Disallow: /feed/
Disallow: /accounts/
Disallow: /api/
"""


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("calendars.index"))
    return render_template("home.html")


@bp.route("/robots.txt")
def robots_txt():
    return Response(ROBOTS_TXT, mimetype="text/plain")
