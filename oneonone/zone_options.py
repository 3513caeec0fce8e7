"""The <option>s of a time-zone select, rendered once per process: every request marks its chosen zone
with one string splice instead of rendering and escaping some 500 options again (issue 20).

The list is `timezones.timezone_choices()`: tzdata's canonical zones plus UTC, labelled "America/New
York". A valid zone that is not offered (an alias such as Asia/Calcutta stored before) comes first,
chosen, as `timezone_choices(selected)` puts it. Use `zone_options(zone)` in a template's <select>, or
`ZoneSelect()` as the widget of a WTForms SelectField of zones.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup, escape
from wtforms.widgets import html_params

from .timezones import is_valid_timezone, timezone_choices


@cache
def _rendered() -> tuple[str, dict[str, int]]:
    """Every offered zone's <option>, and where in that text each zone's " selected" goes."""
    parts: list[str] = []
    marks: dict[str, int] = {}
    length = 0
    for name, label in timezone_choices():
        opening = f'<option value="{escape(name)}"'
        marks[name] = length + len(opening)
        part = f"{opening}>{escape(label)}</option>"
        parts.append(part)
        length += len(part)
    return "".join(parts), marks


def zone_options(selected: str | None = None) -> Markup:
    """The <option>s for every offered zone with `selected` marked (an unknown name marks none)."""
    html, marks = _rendered()
    at = marks.get(selected) if selected else None
    if at is not None:
        return Markup(f"{html[:at]} selected{html[at:]}")
    if selected and is_valid_timezone(selected):
        name, label = timezone_choices(selected)[0]
        return Markup(f'<option value="{escape(name)}" selected>{escape(label)}</option>{html}')
    return Markup(html)


class ZoneSelect:
    """A WTForms widget for a SelectField of zones: `SelectField(..., widget=ZoneSelect())` renders
    `zone_options(field.data)`, whatever the field's `choices`, which still validate as usual."""

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        if "required" not in kwargs and "required" in getattr(field, "flags", []):
            kwargs["required"] = True
        selected = field.data if isinstance(field.data, str) else None
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{zone_options(selected)}</select>")
