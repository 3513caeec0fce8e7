"""The OpenAPI document and a docs page (Swagger UI from the swagger-ui-bundle package, no CDN)."""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from markupsafe import Markup, escape
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api", __name__, url_prefix="/api")

# The only Swagger UI files the page loads; everything else in the package stays private.
SWAGGER_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _spec() -> dict:
    return current_app.extensions["oneonone.api"].spec.to_dict()


@bp.route("/openapi.json", strict_slashes=False)
def openapi_json():
    """The OpenAPI 3 document, generated from the code (paths in the order the features go)."""
    return current_app.response_class(json.dumps(_spec(), indent=1), mimetype="application/json")


@bp.route("/docs", strict_slashes=False)
def docs():
    """A readable docs page; without JavaScript it lists every operation."""
    spec = _spec()
    operations = [
        {"method": method.upper(), "path": path, "summary": operation.get("summary", ""),
         "tag": (operation.get("tags") or [""])[0]}
        for path, item in spec["paths"].items()
        for method, operation in item.items() if method in HTTP_METHODS
    ]
    return render_template("api/docs.html", spec=spec, operations=operations,
                           description=_paragraphs(spec["info"].get("description", "")))


def _paragraphs(text: str) -> list[Markup]:
    """The document's description as HTML paragraphs, with `code` spans (all else escaped)."""
    return [Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(block.replace("\n", " ")))))
            for block in text.strip().split("\n\n") if block.strip()]


@bp.route("/docs/assets/<name>")
def docs_asset(name: str):
    """Swagger UI's stylesheet and script, from the swagger-ui-bundle package."""
    if name not in SWAGGER_ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
