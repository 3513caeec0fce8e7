"""What may a calendar's meeting details hold? Where the meeting is (a location, one line), its video
call link (an absolute http:// or https:// address, so that no `javascript:` or file link reaches an
invitee's page, email or calendar) and its agenda (lines of text). Each is optional: empty is None.

The services (`services.create_calendar`, `services.change_calendar`) check them with these rules;
the form and the API only turn text into text.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..validation import Problems, has_control_characters

LOCATION_MAX, MEETING_URL_MAX, DESCRIPTION_MAX = 200, 500, 2000
DETAILS = (("location", "Location", LOCATION_MAX),
           ("meeting_url", "The video call link", MEETING_URL_MAX),
           ("description", "The agenda or description", DESCRIPTION_MAX))
DETAIL_FIELDS = tuple(key for key, _, _ in DETAILS)
MULTILINE = frozenset({"description"})


def link_problem(url: str) -> str | None:
    """What is wrong with a video call link, if anything: it must be an absolute http(s) address
    with a host, in one piece."""
    if any(character.isspace() for character in url):
        return "A link cannot contain spaces; copy it again from your video call app."
    if not url.lower().startswith(("http://", "https://")):
        return "Use a link that starts with https:// or http://."
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # a port that is not a number raises ValueError
    except ValueError:
        host = None
    return None if host else "Use a full link, such as https://meet.example.com/team-1-1."


def check_details(problems: Problems, fields: dict[str, Any]) -> dict[str, str | None]:
    """The meeting details among `fields`, cleaned (stripped; an empty one is None; in the description
    "\\r\\n" and "\\r" become "\\n"), each problem recorded under its field."""
    cleaned: dict[str, str | None] = {}
    for key, label, limit in DETAILS:
        if key not in fields:
            continue
        value = fields[key]
        if value is not None and not isinstance(value, str):
            problems.add(key, f"{label} must be text.")
            continue
        text = re.sub(r"\r\n?", "\n", value or "").strip()
        multiline = key in MULTILINE
        if len(text) > limit:
            problems.add(key, f"{label} must be at most {limit:,} characters.")
        elif has_control_characters(text, multiline=multiline):
            problems.add(key, f"{label} cannot contain control characters (line breaks and tabs are fine)."
                         if multiline else f"{label} must be one line, without line breaks or control characters.")
        elif key == "meeting_url" and text and (problem := link_problem(text)):
            problems.add(key, problem)
        cleaned[key] = text or None
    return cleaned
