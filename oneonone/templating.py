"""Jinja filters and globals: times shown in the viewer's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask

from .timezones import common_timezones


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


def register(app: Flask) -> None:
    """Register template filters and globals."""
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_time, "time")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(to_zone, "in_zone")
    app.add_template_global(common_timezones, "common_timezones")
