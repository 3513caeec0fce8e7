"""How does the API read the dates and times a request body sends?

As ISO 8601 text, with Python's `fromisoformat` (what the API has always accepted), into `date` and
`datetime` values for the services. A datetime without an offset stays naive: it is wall-clock time
in the calendar's zone, which the calendar services apply (they also refuse times the clocks skip and
years outside 1970–2999). The messages name the field by its label, as the services' own do.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

REQUEST_ERRORS = {"required": "This field is required.", "null": "This field cannot be null."}
LONGEST = 64  # far longer than any ISO date or datetime; only bounds the work a huge string causes


class NamedProblem(str):
    """A problem that names its field itself ("Start date: enter …"), so a summary uses it as is."""


class IsoDate(ma.fields.Date):
    """A date ("2026-03-02"). Blank text is a missing value: null where null is allowed, else refused."""

    default_error_messages = REQUEST_ERRORS
    kind: type = dt.date
    example = "a date like 2026-03-02"

    def __init__(self, label: str, **kwargs):
        super().__init__(**kwargs)
        self.label = label

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ma.ValidationError("Must be a string.")  # as every text field of the API says
        if not value.strip():
            if self.allow_none:
                return None
            raise ma.ValidationError(NamedProblem(f"{self.label} is required."))
        try:
            if len(value) > LONGEST:
                raise ValueError(value)
            return self.kind.fromisoformat(value.strip())
        except ValueError:
            raise ma.ValidationError(NamedProblem(f"{self.label}: enter {self.example}.")) from None


class IsoDateTime(IsoDate):
    """A date and time ("2026-03-02T09:30", "2026-03-02T09:30+01:00"); naive = the calendar's zone."""

    kind = dt.datetime
    example = "a date and time like 2026-03-02T09:30"

    def __init__(self, label: str, **kwargs):
        metadata = {"format": "date-time", **kwargs.pop("metadata", {})}
        super().__init__(label, metadata=metadata, **kwargs)
