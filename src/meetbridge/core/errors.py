"""The project's own error types. Services raise these; the API and pages map them to 4xx."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldError:
    field: str
    reason: str


class DomainError(Exception):
    """Base of every error a user can be shown. `status` is the HTTP status the faces use."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}", [FieldError(field_name, reason)])


class Conflict(DomainError):
    status = 409
    code = "conflict"

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}", [FieldError(field_name, reason)])


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class Throttled(DomainError):
    status = 429
    code = "throttled"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
