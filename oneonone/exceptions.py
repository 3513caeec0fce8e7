"""Domain errors raised by services; views turn them into form errors, the API into JSON."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a refusal with a message and, optionally, the fields at fault."""

    status = 400
    code: str | None = None  # the API's `error` value, when it is more specific than the status's

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationError(DomainError):
    """Bad input: `fields` names each field and its problems."""

    status = 400

    @classmethod
    def for_field(cls, field: str, problem: str) -> ValidationError:
        return cls(problem, {field: [problem]})


class ConflictError(DomainError):
    """The input is well formed but clashes with what exists (overlap, taken slot)."""

    status = 409


class NotFoundError(DomainError):
    """The object does not exist, or belongs to someone else."""

    status = 404


class PermissionDenied(DomainError):
    status = 403
