"""Form helpers shared by the feature packages."""

from __future__ import annotations

from flask_wtf import FlaskForm

from .exceptions import DomainError


def apply_errors(form: FlaskForm, error: DomainError) -> bool:
    """Attach a service's field problems to the form's fields; False if none matched."""
    matched = False
    for name, problems in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(problems)
            matched = True
    return matched
