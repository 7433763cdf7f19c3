"""Every way a call to Zoom can fail, as the project's own exceptions. The client maps HTTP
statuses, Zoom's `{code, message}` bodies and transport failures to these; nothing above
`zoom/` ever sees an httpx exception."""

from __future__ import annotations

import datetime as dt
from typing import Any


class ZoomError(Exception):
    """Base. `status` and `code` are Zoom's where Zoom answered; `request_id` its tracking id
    for the reply (the `x-zm-trackingid` header), when it sent one."""

    request_id: str | None = None

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class NotConnected(ZoomError):
    """There is no usable connection (never connected, disconnected, or removed in Zoom)."""


class NeedsReconnect(ZoomError):
    """Zoom refused the refresh token (invalid_grant) or the app was removed: the user must
    connect again. No further calls are made for this connection."""


class ZoomAuthError(ZoomError):
    """Zoom refused our credentials (401 / code 124) even after a fresh token."""


class ZoomScopeError(ZoomError):
    """The token lacks a scope the operation needs (code 4711)."""


class ZoomNotFound(ZoomError):
    """404: the user or meeting does not exist (codes 1001, 3001, 3301)."""


class ZoomValidationError(ZoomError):
    """400 with code 300: Zoom named fields it refused."""

    def __init__(self, message: str, errors: list[dict[str, str]], **kw: int | None) -> None:
        super().__init__(message, **kw)
        self.errors = errors


class ZoomRateLimited(ZoomError):
    """429. `daily` is the per-host 100 creates+updates per day (or an account's daily cap);
    `retry_at` is when Zoom will take the call again."""

    def __init__(
        self, message: str, *, retry_at: dt.datetime, daily: bool, **kw: int | None
    ) -> None:
        super().__init__(message, **kw)
        self.retry_at = retry_at
        self.daily = daily


class ZoomUnavailable(ZoomError):
    """Zoom could not be reached or kept failing (5xx, timeouts) after the allowed retries,
    and the request certainly had no effect (or is safe to repeat)."""


class ZoomAmbiguous(ZoomError):
    """A non-idempotent request (a create) may or may not have taken effect: it was sent and
    no reliable answer came back. Look the object up before trying again."""


class ZoomApiError(ZoomError):
    """Any other error Zoom answered with."""


def error_for(status: int, code: int | None, message: str, body: Any) -> ZoomError:
    """The error for a 4xx answer from Zoom (its status, `code`, `message` and body)."""
    if status == 401:
        return ZoomAuthError(message or "Zoom refused the access token", status=status, code=code)
    if code == 4711 or code == 4700:
        return ZoomScopeError(message, status=status, code=code)
    if status == 404:
        return ZoomNotFound(message, status=status, code=code)
    if code == 300 and isinstance(body, dict) and body.get("errors"):
        return ZoomValidationError(message, list(body["errors"]), status=status, code=code)
    return ZoomApiError(message or f"Zoom answered {status}", status=status, code=code)
