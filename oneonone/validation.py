"""Small validators shared by services (the single source of truth for input rules)."""

from __future__ import annotations

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


def clean_text(
    problems: Problems, field: str, value: str | None, *, max_length: int, label: str,
    required: bool = True,
) -> str:
    """Strip `value`; record a problem if it is missing or too long."""
    text = (value or "").strip()
    if required and not text:
        problems.add(field, f"{label} is required.")
    elif len(text) > max_length:
        problems.add(field, f"{label} must be at most {max_length} characters.")
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
