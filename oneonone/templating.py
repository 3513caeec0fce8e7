"""Jinja filters and globals: times shown in the viewer's zone, time-zone options, `plural(n, "slot")`,
email addresses that wrap at their dots and "@" (`breakable_email`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from markupsafe import Markup, escape

from .timezones import alias_targets, common_timezones, timezone_choices
from .wording import plural


def to_zone(value: dt.datetime, zone: str | ZoneInfo | None) -> dt.datetime:
    """An aware datetime converted to `zone` (a name or ZoneInfo; UTC when None)."""
    if zone is None:
        tz: dt.tzinfo = dt.UTC
    elif isinstance(zone, str):
        tz = ZoneInfo(zone)
    else:
        tz = zone
    return value.astimezone(tz)


def format_datetime(value: dt.datetime | None, zone=None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    return to_zone(value, zone).strftime(fmt)


def format_time(value: dt.datetime | None, zone=None) -> str:
    return format_datetime(value, zone, "%H:%M")


def format_date(value: dt.date | dt.datetime | None, fmt: str = "%a %d %b %Y") -> str:
    return "" if value is None else value.strftime(fmt)


@cache
def _timezone_options_html() -> str:
    return "".join(f'<option value="{escape(name)}">{escape(label)}</option>' for name, label in timezone_choices())


def timezone_options(selected: str | None = None) -> Markup:
    """<option>s for every common zone (built once), with `selected` marked; an uncommon zone is added."""
    html = _timezone_options_html()
    if selected:
        needle = f'<option value="{escape(selected)}">'
        if needle in html:
            html = html.replace(needle, f'<option value="{escape(selected)}" selected>', 1)
        else:
            html = f'<option value="{escape(selected)}" selected>{escape(selected)}</option>' + html
    return Markup(html)


@cache
def zone_aliases_json() -> str:
    """Old zone names and the offered zone each stands for, as JSON for a select that starts at the
    browser's zone (app.js), since a browser may report "Asia/Calcutta" for "Asia/Kolkata"."""
    return json.dumps(alias_targets(), separators=(",", ":"), sort_keys=True)


_EMAIL_BREAKS = re.compile(r"(?=[@.])")


def breakable_email(value: str | None) -> Markup:
    """The address, escaped, with a <wbr> before "@" and each ".": a long one wraps at those points
    rather than in the middle of a word."""
    if value is None:
        return Markup("")
    text = value.unescape() if isinstance(value, Markup) else str(value)
    return Markup("<wbr>").join(escape(part) for part in _EMAIL_BREAKS.split(text) if part)


def _public_url() -> dict[str, str]:
    """`public_url`: the address links shown on a page start with (PUBLIC_URL, never the Host header)."""
    return {"public_url": current_app.config["PUBLIC_URL"]}


def register(app: Flask) -> None:
    """Register template filters and globals."""
    app.context_processor(_public_url)
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_time, "time")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(to_zone, "in_zone")
    app.add_template_filter(breakable_email, "breakable_email")
    app.add_template_global(common_timezones, "common_timezones")
    app.add_template_global(timezone_options, "timezone_options")
    app.add_template_global(zone_aliases_json, "zone_aliases_json")
    app.add_template_global(plural, "plural")
