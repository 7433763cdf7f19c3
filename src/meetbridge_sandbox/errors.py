"""Errors exactly as Zoom sends them: the REST API's `{code, message[, errors]}` with its HTTP
status and headers, and the OAuth endpoints' `{reason, error}`."""

from __future__ import annotations

from typing import Any


class ZoomError(Exception):
    """An error exactly as Zoom sends it: HTTP status, `{code, message[, errors]}`, headers."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            out["errors"] = self.errors
        return out


class OAuthError(Exception):
    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def invalid(field: str, message: str) -> ZoomError:
    return ZoomError(400, 300, "Validation Failed.", errors=[{"field": field, "message": message}])
