"""Any Zoom endpoint: for a person (the API's "call any Zoom API", through the member's own
connection or, for admins, the organisation's account connection), and for the organisation
itself (`for_org`: what workflows call Zoom with, through the account connection, whether it
is Server-to-Server or admin OAuth). The only Zoom module workflows may import
(tests/test_layers.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from meetbridge.core.errors import Conflict, DomainError
from meetbridge.core.models import User
from meetbridge.integrations.zoom.account_install import require_admin
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomAmbiguous,
    ZoomAuthError,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomScopeError,
    ZoomUnavailable,
    ZoomValidationError,
)
from meetbridge.integrations.zoom.install import ZoomConnections
from meetbridge.integrations.zoom.tables import AuthMethod, ConnectionStatus, ZoomConnection

# A meeting create names its host in the path: it counts against that host's 100 creates and
# updates a day, which meetbridge counts with its own creates (client.HOST_DAILY_LIMIT).
_CREATE_FOR = re.compile(r"^/users/([^/]+)/meetings/?$")


class ZoomFailed(DomainError):
    """A call to Zoom made for a person failed; the message says how."""

    status = 502
    code = "zoom_failed"


@dataclass(frozen=True)
class ZoomReply:
    status: int  # Zoom's HTTP status
    body: Any  # decoded JSON, None for 204
    request_id: str | None  # Zoom's tracking id header, when Zoom sent one


class CallFailed(Exception):
    """kind: "not_connected" (no usable account connection), "auth" (Zoom refused our
    credentials: re-connect), "refresh" (the refresh token was refused/revoked:
    re-authenticate), "scope" (4711, message names the scopes), "refused" (other 4xx: Zoom's
    message; `errors` Zoom's field errors), "not_found" (404), "rate_limited" (429; `retry_at`
    aware datetime), "unavailable" (5xx/timeouts, the call certainly had no effect), "unclear"
    (a non-idempotent call was sent and no reliable answer came back: look it up before
    repeating)"""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        request_id: str | None = None,
        retry_at: dt.datetime | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_at = retry_at
        self.errors = errors

    def __repr__(self) -> str:
        return f"CallFailed({self.kind!r}, {self.message!r}, status={self.status})"


class ZoomPassthrough:
    def __init__(self, connections: ZoomConnections, client: ZoomClient) -> None:
        self.connections = connections
        self.client = client

    # ---- for the organisation (workflows) ---------------------------------------------------

    def for_org(
        self,
        org_id: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> ZoomReply:
        """One call to Zoom's REST API (`path` under /v2, e.g. "/users") through the
        organisation's account connection, Server-to-Server or admin OAuth. The same road as
        every other call (shared rate limits, one refresh on 401, waits on 429 no longer than
        the configured max wait, retries only where safe); every failure is a CallFailed.
        A meeting create (POST /users/{userId}/meetings) counts against that host's daily
        creates and updates."""
        conn = self.connections.account_connection_of(org_id)
        if conn is None:
            raise CallFailed(
                "not_connected",
                "The organisation's Zoom account is not connected; an admin can connect it in "
                "Settings → Integrations → Zoom.",
            )
        method = method.upper()
        path = "/" + path.lstrip("/")
        if ".." in path.split("?")[0].split("/"):
            raise CallFailed("refused", "The path must not contain '..'.")
        create = _CREATE_FOR.match(path) if method == "POST" else None
        try:
            reply = self.client.api(conn.id).call_api_reply(
                method, path, params=params, json=body, host=create.group(1) if create else None
            )
        except ZoomError as exc:
            raise _failed(exc, conn) from None
        return ZoomReply(reply.status, reply.body, reply.request_id)

    def account_scopes(self, org_id: str) -> frozenset[str] | None:
        """The scopes Zoom granted the organisation's account connection; None when there is
        no usable one (never connected, disconnected, or waiting to be connected again)."""
        conn = self.connections.account_connection_of(org_id)
        if conn is None or conn.status != ConnectionStatus.CONNECTED:
            return None
        return frozenset(conn.scopes.split())

    # ---- for a person (the API) -------------------------------------------------------------

    def call_api(
        self,
        actor: User,
        *,
        via: str,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
    ) -> Any:
        """Calls any Zoom endpoint through the member's own connection (`via="me"`) or, for
        admins, the organisation's account connection (`via="account"`)."""
        if via == "account":
            require_admin(actor)
            conn = self.connections.account_connection(actor)
        else:
            mine = self.connections.my_connection(actor)
            conn = mine if mine is not None and mine.status != ConnectionStatus.ENDED else None
        if conn is None:
            raise Conflict("via", "Zoom is not connected for this")
        try:
            return self.client.api(conn.id).call_api(method, path, params=params, json=body)
        except (NotConnected, NeedsReconnect) as exc:
            raise Conflict("via", exc.message) from None
        except ZoomRateLimited as exc:
            raise ZoomFailed(f"{exc.message} Retry after {exc.retry_at.isoformat()}.") from None
        except ZoomError as exc:
            failed = ZoomFailed(f"Zoom: {exc.message}")
            if exc.status and 400 <= exc.status < 500:
                failed.status = 400 if exc.status != 404 else 404
            raise failed from None


def _failed(exc: ZoomError, conn: ZoomConnection) -> CallFailed:
    """The CallFailed for one of the client's errors."""
    kw: dict[str, Any] = {"status": exc.status, "code": exc.code, "request_id": exc.request_id}
    if isinstance(exc, NotConnected):
        return CallFailed("not_connected", exc.message, **kw)
    if isinstance(exc, NeedsReconnect):
        if conn.auth_method == AuthMethod.SERVER_TO_SERVER:
            # No refresh token here: Zoom refused the Server-to-Server app's credentials (its
            # secret regenerated, the app deactivated): an admin enters them again.
            return CallFailed(
                "auth",
                "Zoom refused the Server-to-Server app's credentials; an admin must connect "
                "the Zoom account again.",
                **kw,
            )
        return CallFailed(
            "refresh",
            "Zoom no longer accepts the account connection's authorization (revoked, or the "
            "app was removed); a Zoom owner or admin must connect the Zoom account again.",
            **kw,
        )
    if isinstance(exc, ZoomAuthError):
        return CallFailed("auth", exc.message, **kw)
    if isinstance(exc, ZoomScopeError):
        return CallFailed("scope", exc.message, **kw)
    if isinstance(exc, ZoomNotFound):
        return CallFailed("not_found", exc.message, **kw)
    if isinstance(exc, ZoomRateLimited):
        return CallFailed("rate_limited", exc.message, retry_at=exc.retry_at, **kw)
    if isinstance(exc, ZoomAmbiguous):
        return CallFailed("unclear", exc.message, **kw)
    if isinstance(exc, ZoomUnavailable):
        return CallFailed("unavailable", exc.message, **kw)
    if isinstance(exc, ZoomValidationError):
        return CallFailed("refused", exc.message, errors=list(exc.errors), **kw)
    if exc.status is not None and 400 <= exc.status < 500:
        return CallFailed("refused", exc.message, **kw)
    # Anything else (a reply Zoom's REST API does not give, such as a 3xx): whether it was
    # done is not known.
    return CallFailed("unclear", exc.message, **kw)
