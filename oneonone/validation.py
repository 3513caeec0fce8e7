"""Small validators shared by services (the single source of truth for input rules)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from werkzeug.routing import IntegerConverter

from .exceptions import MalformedRequest, ValidationError
from .timezones import is_valid_timezone

NAME_MAX = 120
EMAIL_MAX = 120


class Problems:
    """Collects field problems, then raises them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, problem: str) -> None:
        self.fields.setdefault(field, []).append(problem)

    def __contains__(self, field: str) -> bool:
        return field in self.fields

    def raise_if_any(self, message: str = "Please correct the highlighted fields.") -> None:
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            raise ValidationError(first if len(self.fields) == 1 else message, self.fields)


# Characters no name or subject may hold: C0/C1 controls (NUL, tab, line feed, \x0b, \x1c-\x1e...,
# which Python's email library can turn into line breaks) and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """True when `text` holds a character no text field accepts (newline and tab only if `multiline`)."""
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(text))


def clean_text(
    problems: Problems, field: str, value: str | None, *, max_length: int, label: str,
    required: bool = True, multiline: bool = False,
) -> str:
    """Strip `value`; record a problem if it is missing, too long or holds control characters
    (a multi-line field keeps newlines and tabs; "\r\n" becomes "\n")."""
    if value is not None and not isinstance(value, str):
        problems.add(field, f"{label} must be text.")
        return ""
    text = (value or "").strip()
    if multiline:
        text = text.replace("\r\n", "\n")
    if required and not text:
        problems.add(field, f"{label} is required.")
    elif len(text) > max_length:
        problems.add(field, f"{label} must be at most {max_length} characters.")
    elif has_control_characters(text, multiline=multiline):
        problems.add(field, f"{label} cannot contain control characters such as line breaks.")
    return text


# What a refused address is told, page and API alike (not the library's reason, e.g. "must have an @-sign").
EMAIL_PROBLEM = "Enter a valid email address, like name@example.com."


def clean_email(problems: Problems, field: str, value: str | None, label: str = "Email") -> str:
    """A normalised (lower-case) email address, or a recorded problem."""
    text = (value or "").strip()
    if not text:
        problems.add(field, f"{label} is required.")
        return text
    if len(text) > EMAIL_MAX:
        problems.add(field, f"{label} must be at most {EMAIL_MAX} characters.")
        return text
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        problems.add(field, EMAIL_PROBLEM)
        return text
    return result.normalized.lower()


def clean_timezone(problems: Problems, field: str, value: str | None) -> str:
    text = (value or "").strip()
    if not is_valid_timezone(text):
        problems.add(field, "Choose a known time zone, such as Europe/London or America/New_York.")
    return text


# ---- ids, page numbers and counts: one parser ---------------------------------------------------

ID_MAX = 2**31 - 1  # PostgreSQL's integer, the type of every id column


def parse_int(value: Any, *, minimum: int = 0, maximum: int = ID_MAX, clamp: bool = False) -> int | None:
    """A whole number from user input, or None: an int, or a string of ASCII digits only (no sign, no
    "²" or "٣", which str.isdigit accepts), within minimum..maximum — or, with `clamp`, brought into it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            return None
        digits = text.lstrip("0") or "0"
        # More digits than `maximum` has is out of range: never int() 5,000 digits (Python refuses).
        value = int(digits) if len(digits) <= len(str(maximum)) else maximum + 1
    if not isinstance(value, int):
        return None
    if clamp:
        return min(max(value, minimum), maximum)
    return value if minimum <= value <= maximum else None


def parse_id(value: Any) -> int | None:
    """A database id from user input (1..ID_MAX), or None."""
    return parse_int(value, minimum=1)


def require_ids(field: str, values: Iterable[Any]) -> list[int]:
    """Every value of a form field as a database id, or a ValidationError naming the field."""
    ids = [parse_id(value) for value in values]
    if None in ids:
        raise MalformedRequest.for_field(field, f"{field} must hold ids: whole numbers from 1 to {ID_MAX}.")
    return ids


def _numbers_up_to(maximum: int) -> str:
    """A regular expression for 1..maximum written in ASCII digits without leading zeros."""
    digits = str(maximum)
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for position, digit in enumerate(digits):  # the same length: a prefix of `maximum`, then a smaller digit
        rest = len(digits) - position - 1
        low, high = (1 if position == 0 else 0), (int(digit) if rest == 0 else int(digit) - 1)
        if low <= high:
            options.append(f"{digits[:position]}[{low}-{high}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<id:name>` in a URL rule: a database id, 1..ID_MAX in ASCII digits; anything else matches no
    rule, so it is a 404 before any view or query. (An int converter, so the OpenAPI document says so.)"""

    # The range is in the pattern, not only in to_python: werkzeug converts after choosing a rule, so a
    # refused value on a path that another method also routes (GET and POST /calendars/<id>/invitees)
    # would be a 405. And werkzeug's \d+ matches "٣", which int() reads as 3.
    regex = _numbers_up_to(ID_MAX)

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)
