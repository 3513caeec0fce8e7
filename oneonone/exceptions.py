"""Domain errors raised by services.

A view that shows the problem on its form (a field error, an overlapping slot) catches `ValidationError`
or `ConflictError` and does so; every other domain error reaches `oneonone.errors.handle_domain_error`,
the one place it becomes a page (flash and back, or an error page) or the API's JSON body.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a refusal with a message and, optionally, the fields at fault."""

    status = 400
    code: str | None = None  # the API's `error` value, when it is more specific than the status's

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}  # extra response headers (WWW-Authenticate, Retry-After)


class ValidationError(DomainError):
    """Bad input: `fields` names each field and its problems."""

    status = 400

    @classmethod
    def for_field(cls, field: str, problem: str) -> ValidationError:
        return cls(problem, {field: [problem]})


class MalformedRequest(ValidationError):
    """The request itself cannot be read (a crafted id in a form): a 400, never taken for a refusal."""


class ConflictError(DomainError):
    """The input is well formed but clashes with what exists (overlap, taken slot)."""

    status = 409


class NotFoundError(DomainError):
    """The object does not exist, or belongs to someone else."""

    status = 404


class PermissionDenied(DomainError):
    """The object exists and is the user's, but this action is not allowed (an unverified owner)."""

    status = 403
