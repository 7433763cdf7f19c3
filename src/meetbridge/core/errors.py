"""The project's own error types. Services raise these; the API and pages map them to 4xx."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


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

    @classmethod
    def many(cls, errors: list[FieldError]) -> ValidationFailed:
        """One error for several fields: a form or API call says everything wrong at once."""
        exc = cls(errors[0].field, errors[0].reason)
        exc.errors = list(errors)
        exc.message = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        exc.args = (exc.message,)
        return exc


class Problems:
    """Collects the field errors of one input, to raise them together:

    found = Problems()
    title = found.check(inputs.title, data.title)
    ...
    found.raise_any()  # ValidationFailed.many(...) when any check failed
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def check(self, rule: Callable[..., T], *args: object) -> T:
        """`rule(*args)`, or, when it raises ValidationFailed, its errors kept and None
        returned (typed as T: `raise_any` runs before any such value is used)."""
        try:
            return rule(*args)
        except ValidationFailed as exc:
            self.errors.extend(exc.errors)
            return None  # type: ignore[return-value]

    def add(self, field_name: str, reason: str) -> None:
        """A problem found by comparing fields (an end before its start)."""
        self.errors.append(FieldError(field_name, reason))

    def raise_any(self) -> None:
        if self.errors:
            raise ValidationFailed.many(self.errors)


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


class Unavailable(DomainError):
    """A service this one needs (Zoom) is failing or unreachable now: the same request works
    later, unchanged. Durable work treats it as worth retrying, never as bad input."""

    status = 503
    code = "unavailable"

    def __init__(self, field_name: str, reason: str, retry_after: int = 30) -> None:
        super().__init__(f"{field_name}: {reason}", [FieldError(field_name, reason)])
        self.retry_after = retry_after
