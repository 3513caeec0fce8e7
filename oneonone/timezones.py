"""IANA time zones (from tzdata), for validation and select lists."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def all_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def common_timezones() -> list[str]:
    """Sorted zone names for select lists (Area/City names plus UTC)."""
    names = {n for n in all_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))}
    return sorted(names | {"UTC"})


@cache
def timezone_choices() -> tuple[tuple[str, str], ...]:
    """(value, label) pairs for a time-zone select: "America/New_York" reads "America/New York"."""
    return tuple((name, name.replace("_", " ")) for name in common_timezones())


def is_valid_timezone(name: str | None) -> bool:
    """True when `name` is an IANA time zone this machine knows."""
    if not name or name not in all_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
