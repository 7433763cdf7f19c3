"""Any Zoom endpoint (a workflow's "Call API" step), through the member's own connection or,
for admins, the organisation's account connection."""

from __future__ import annotations

from typing import Any

from meetbridge.core.errors import Conflict, DomainError
from meetbridge.core.models import User
from meetbridge.integrations.zoom.account_install import require_admin
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomError,
    ZoomRateLimited,
)
from meetbridge.integrations.zoom.install import ZoomConnections
from meetbridge.integrations.zoom.tables import ConnectionStatus


class ZoomFailed(DomainError):
    """A call to Zoom made for a person failed; the message says how."""

    status = 502
    code = "zoom_failed"


class ZoomPassthrough:
    def __init__(self, connections: ZoomConnections, client: ZoomClient) -> None:
        self.connections = connections
        self.client = client

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
