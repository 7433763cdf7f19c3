"""Access tokens from the store, refreshed exactly once however many processes ask.

Zoom rotates refresh tokens: a second refresh with the old one fails with invalid_grant and
would cut the user off. So a refresh happens inside a write transaction holding the
connection's row (SELECT … FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite); whoever gets
the lock second finds `token_version` moved on and uses the new token. Server-to-Server tokens
are cached in the same row, shared by all processes (Zoom has been seen to invalidate older S2S
tokens when a new one is minted, so minting one per process breaks)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, select

from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.logging import get_logger
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomAuthError,
    ZoomUnavailable,
)
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth
from meetbridge.integrations.zoom.tables import ConnectionKind, ConnectionStatus, ZoomConnection

log = get_logger("meetbridge.integrations.zoom.tokens")
SKEW = dt.timedelta(seconds=60)
# How long a process reuses credentials it read without looking at the store again. Bounds how
# long another process's disconnect takes to stop this one (this process's own: at once).
CACHE_SECONDS = 2.0
_STATE = select(ZoomConnection.status, ZoomConnection.token_version.label("v")).where(
    ZoomConnection.id == bindparam("id")
)


class SeenState(NamedTuple):
    """A connection's status and token version as a caller just read them (e.g. in the
    statement that claimed a job), so `current` need not read them again."""

    status: str
    v: int


@dataclass(frozen=True)
class Credentials:
    connection_id: str
    kind: str
    access_token: str
    token_version: int
    zoom_account_id: str
    zoom_user_id: str | None


class TokenManager:
    def __init__(
        self,
        db: Database,
        crypto: Crypto,
        oauth: ZoomOAuth,
        client_id: str,
        client_secret: str,
        on_lost: Callable[[str, str], None] | None = None,
    ) -> None:
        self.db = db
        self.crypto = crypto
        self.oauth = oauth
        self.client_id = client_id
        self.client_secret = client_secret
        self.on_lost = on_lost  # (connection id, reason), after the connection is marked
        # connection id → (reuse until, monotonic; credentials; access token's expiry)
        self._cache: dict[str, tuple[float, Credentials, dt.datetime]] = {}

    def forget(self, connection_id: str) -> None:
        self._cache.pop(connection_id, None)

    def current(self, connection_id: str, seen: SeenState | None = None) -> Credentials:
        """Credentials for a call. `seen`: the connection's state as the caller read it a
        moment ago; a cached token is then checked against it instead of the store."""
        hit = self._cache.get(connection_id)
        if hit is not None and seen is None and hit[0] > time.monotonic():
            return hit[1]
        if hit is not None and hit[2] > utcnow() + SKEW:
            # Seen before: a two-column look is enough to know it is still the same token.
            if seen is None:
                with self.db.connect() as conn:
                    state = conn.execute(_STATE, {"id": connection_id}).first()
                seen = SeenState(*state) if state is not None else None
            if (
                seen is not None
                and seen.status == ConnectionStatus.CONNECTED
                and seen.v == hit[1].token_version
            ):
                self._cache[connection_id] = (self._deadline(hit[2]), hit[1], hit[2])
                return hit[1]
        with self.db.read() as s:
            row = s.get(ZoomConnection, connection_id)
            self._usable(row)
            assert row is not None
            if self._fresh(row):
                return self._remember(row)
            version = row.token_version
        return self.refresh(connection_id, version)

    def _remember(self, row: ZoomConnection) -> Credentials:
        creds = self._credentials(row)
        expires = row.access_expires_at or utcnow()
        self._cache[row.id] = (self._deadline(expires), creds, expires)
        return creds

    @staticmethod
    def _deadline(expires: dt.datetime) -> float:
        left = (expires - utcnow() - SKEW).total_seconds()
        return time.monotonic() + min(CACHE_SECONDS, left)

    def refresh(self, connection_id: str, seen_version: int) -> Credentials:
        """Refreshes unless someone already did since `seen_version` was read."""
        self.forget(connection_id)
        lost: str | None = None
        creds: Credentials | None = None
        with self.db.write() as s:
            row = s.execute(
                select(ZoomConnection).where(ZoomConnection.id == connection_id).with_for_update()
            ).scalar_one_or_none()
            self._usable(row)
            assert row is not None
            if row.token_version != seen_version and self._fresh(row):
                return self._remember(row)
            try:
                if row.kind == ConnectionKind.USER:
                    refresh = self.crypto.decrypt(row.refresh_token_enc or "")
                    tokens = self.oauth.refresh(self.client_id, self.client_secret, refresh)
                else:
                    secret = self.crypto.decrypt(row.client_secret_enc or "")
                    tokens = self.oauth.account_token(
                        row.client_id or "", secret, row.zoom_account_id or ""
                    )
            except OAuthFailed as exc:
                if exc.status == 0 or exc.status >= 500:
                    raise ZoomUnavailable(
                        f"Zoom could not refresh the token: {exc.reason}", status=exc.status or None
                    ) from None
                # invalid_grant (rotated away, revoked, expired) or refused app credentials:
                # the connection is over until the user (or admin) connects again.
                lost = f"{exc.error}: {exc.reason}"
                self._end_tokens(row, lost)
            else:
                row.access_token_enc = self.crypto.encrypt(tokens.access_token)
                row.access_expires_at = utcnow() + dt.timedelta(seconds=tokens.expires_in)
                if tokens.refresh_token:
                    row.refresh_token_enc = self.crypto.encrypt(tokens.refresh_token)
                row.scopes = tokens.scope or row.scopes
                row.token_version += 1
                row.updated_at = utcnow()
                creds = self._remember(row)
        if lost is not None:
            log.warning("zoom.oauth.refresh_failed", connection_id=connection_id, reason=lost)
            if self.on_lost:
                self.on_lost(connection_id, lost)
            raise NeedsReconnect("Zoom no longer accepts this connection; connect Zoom again")
        log.info("zoom.oauth.refreshed", connection_id=connection_id)
        assert creds is not None
        return creds

    @staticmethod
    def _end_tokens(row: ZoomConnection, reason: str) -> None:
        row.status = ConnectionStatus.NEEDS_RECONNECT
        row.access_token_enc = None
        row.refresh_token_enc = None
        row.access_expires_at = None
        row.last_error = reason[:1000]
        row.last_error_at = utcnow()
        row.updated_at = utcnow()

    @staticmethod
    def _usable(row: ZoomConnection | None) -> None:
        if row is None or row.status == ConnectionStatus.ENDED:
            raise NotConnected("Zoom is not connected")
        if row.status == ConnectionStatus.NEEDS_RECONNECT:
            raise NeedsReconnect("Zoom needs to be connected again")

    @staticmethod
    def _fresh(row: ZoomConnection) -> bool:
        return bool(
            row.access_token_enc
            and row.access_expires_at
            and row.access_expires_at > utcnow() + SKEW
        )

    def _credentials(self, row: ZoomConnection) -> Credentials:
        if not row.access_token_enc:
            raise ZoomAuthError("no access token stored")
        return Credentials(
            connection_id=row.id,
            kind=row.kind,
            access_token=self.crypto.decrypt(row.access_token_enc),
            token_version=row.token_version,
            zoom_account_id=row.zoom_account_id or "",
            zoom_user_id=row.zoom_user_id,
        )
