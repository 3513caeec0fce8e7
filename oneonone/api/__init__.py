"""The JSON API under /api/ (bearer tokens, no cookies, no CSRF)."""

from __future__ import annotations

from flask import Blueprint, Flask

from ..extensions import csrf

bp = Blueprint("api", __name__)


def init_api(app: Flask) -> None:
    """Register the API's blueprints."""
    app.register_blueprint(bp, url_prefix="/api")
    csrf.exempt(bp)
