"""Small validators shared by services (the single source of truth for input rules)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from .exceptions import ValidationError
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
    except EmailNotValidError as error:
        problems.add(field, f"Enter a valid email address ({error}).")
        return text
    return result.normalized.lower()


def clean_timezone(problems: Problems, field: str, value: str | None) -> str:
    text = (value or "").strip()
    if not is_valid_timezone(text):
        problems.add(field, "Choose a known time zone, such as Europe/London or America/New_York.")
    return text


MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """A database id from user input (a positive 32-bit integer), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit() or len(value) > 10:
            return None
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value
