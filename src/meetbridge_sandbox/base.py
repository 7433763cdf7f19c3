"""The sandbox's state and the plumbing every part of it shares: persistence, the movable
clock, pagination, ids, and queueing an event for the apps that may see it."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meetbridge_sandbox import events
from meetbridge_sandbox.config import SandboxConfig
from meetbridge_sandbox.errors import ZoomError
from meetbridge_sandbox.state import (
    UTC,
    App,
    Clock,
    Delivery,
    Persistence,
    State,
    Token,
    User,
    iso,
    seed,
    zoom_id,
)


@dataclass
class Caller:
    token: Token
    account_id: str
    user: User | None  # the authorizing user (user-level apps); None for S2S


class SandboxBase:
    def __init__(self, config: SandboxConfig, persistence: Persistence | None = None) -> None:
        self.config = config
        self.clock = Clock()
        self.persistence = persistence
        self.state = State()
        self.qps: dict[tuple[str, str, int], int] = {}  # (account, label, second) -> count
        self.daily: dict[tuple[str, str, str], int] = {}  # (account, label, day) -> count
        self.listeners: list[Callable[[], None]] = []
        loaded = persistence.read() if persistence else None
        if loaded is not None:
            self.state = loaded
            self.clock.offset = loaded.clock_offset
        elif config.seed:
            seed(self.state, config, self.clock)
            self.save()

    def reset(self) -> None:
        self.state = State()
        self.clock.offset = 0.0
        self.qps.clear()
        self.daily.clear()
        seed(self.state, self.config, self.clock)
        self.save()

    def save(self) -> None:
        if self.persistence:
            self.state.clock_offset = self.clock.offset
            self.persistence.write(self.state)

    # ---- events --------------------------------------------------------------------------

    def emit(self, event: str, host: User, payload: dict[str, Any], **top: Any) -> None:
        """Queues `event` for every app subscribed to it that may see this host's meetings:
        user-managed apps the host authorized, admin-managed apps an admin of the host's account
        authorized, and Server-to-Server apps of the host's account."""
        for app in self.state.apps.values():
            if not app.webhook_url or event not in app.events:
                continue
            if app.kind == "user" and f"{app.client_id}/{host.id}" not in self.state.grants:
                continue
            if app.kind == "admin" and not self._authorized_for(app, host.account_id):
                continue
            if app.kind == "s2s" and app.account_id != host.account_id:
                continue
            self.queue_delivery(app, app.webhook_url, events.body(event, payload, **top), event)

    def _authorized_for(self, app: App, account_id: str) -> bool:
        """Whether a user of this account authorized the (admin-managed) app."""
        for g in self.state.grants.values():
            user = self.state.users.get(g.user_id)
            if g.client_id == app.client_id and user is not None and user.account_id == account_id:
                return True
        return False

    def queue_delivery(self, app: App, url: str, body: str, event: str) -> None:
        self.state.deliveries.append(
            Delivery(
                id=zoom_id(12),
                client_id=app.client_id,
                url=url,
                event=event,
                body=body,
                created_at=self.clock.time(),
                next_at=self.clock.time(),
            )
        )
        for listener in self.listeners:
            listener()

    # ---- helpers -------------------------------------------------------------------------

    def _page(
        self, rows: list[dict[str, Any]], page_size: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str]:
        """Zoom's next_page_token pagination. Tokens are opaque and expire after 15 minutes."""
        start = 0
        if token:
            try:
                raw = base64.urlsafe_b64decode(token + "==").decode()
                offset_s, issued_s = raw.split(":")
                start, issued = int(offset_s), float(issued_s)
            except ValueError:
                raise ZoomError(400, 300, "Invalid next_page_token.") from None
            if self.clock.time() - issued > 15 * 60:
                raise ZoomError(400, 300, "The next page token is invalid or expired.")
        end = start + page_size
        next_token = ""
        if end < len(rows):
            raw = f"{end}:{self.clock.time()}"
            next_token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return rows[start:end], next_token

    def _listing(
        self, key: str, rows: list[dict[str, Any]], page_size: int, token: str | None
    ) -> dict[str, Any]:
        page, next_token = self._page(rows, page_size, token)
        return {
            "page_size": page_size,
            "total_records": len(rows),
            "next_page_token": next_token,
            key: page,
        }

    def _meeting_id(self) -> int:
        while True:
            candidate = secrets.randbelow(9 * 10**10) + 10**10  # 11 digits
            if candidate not in self.state.meetings:
                return candidate

    @staticmethod
    def _uuid() -> str:
        return base64.b64encode(secrets.token_bytes(16)).decode()

    @staticmethod
    def _iso_ts(ts: float | None) -> str:
        return iso(dt.datetime.fromtimestamp(ts or 0, UTC))
