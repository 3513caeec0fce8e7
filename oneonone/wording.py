"""Small helpers for the words the app shows people."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """'1 slot', '3 slots' (or `many` for an irregular plural: plural(2, 'invitee was', 'invitees were'))."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def megabytes(size: int) -> str:
    """A size limit in words: '2 MB', '0.5 MB'."""
    return f"{size / (1024 * 1024):g} MB"
