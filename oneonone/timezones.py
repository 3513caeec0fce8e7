"""IANA time zones (from tzdata): which names are valid, and which are offered in lists.

Every zone this machine knows is valid (an account or calendar may hold an old alias such as
US/Eastern); lists offer only tzdata's canonical zones, one name per place as in `zone.tab`, plus UTC.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def all_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _zone_tab() -> frozenset[str]:
    """The zone names of tzdata's zone.tab (third column), which lists no deprecated alias."""
    text = files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    return frozenset(line.split("\t")[2] for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


@cache
def common_timezones() -> list[str]:
    """Sorted canonical zone names for select lists (no alias like Africa/Asmera or US/Eastern), plus UTC."""
    return sorted((_zone_tab() & all_timezones()) | {"UTC"})


@cache
def alias_targets() -> dict[str, str]:
    """Each alias tzdata links to an offered zone ("Asia/Calcutta": "Asia/Kolkata"), from the "L" lines
    of tzdata.zi: for a browser that reports an old name (Chromium reports some)."""
    text = files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text(encoding="utf-8")
    offered = set(common_timezones())
    pairs = (line.split()[1:3] for line in text.splitlines() if line.startswith("L "))
    return {alias: target for target, alias in pairs if alias not in offered and target in offered}


def _label(name: str) -> str:
    return name.replace("_", " ")


@cache
def _canonical_choices() -> tuple[tuple[str, str], ...]:
    return tuple((name, _label(name)) for name in common_timezones())


def timezone_choices(selected: str | None = None) -> tuple[tuple[str, str], ...]:
    """(value, label) pairs for a time-zone select: "America/New_York" reads "America/New York".

    A valid zone that is not offered (an alias stored before) comes first, so it still shows as chosen.
    """
    choices = _canonical_choices()
    if selected and selected not in common_timezones() and is_valid_timezone(selected):
        return ((selected, _label(selected)), *choices)
    return choices


def is_valid_timezone(name: str | None) -> bool:
    """True when `name` is an IANA time zone this machine knows."""
    if not name or name not in all_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
