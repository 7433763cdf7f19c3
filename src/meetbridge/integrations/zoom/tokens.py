"""Access tokens from the store, refreshed exactly once however many processes ask.

Zoom rotates refresh tokens: a second refresh with the old one fails with invalid_grant and
would cut the user off. So one caller at a time holds a refresh *lease* on the connection's
row: a short write transaction records the claim and commits; the call to Zoom is made with no
transaction open (a slow Zoom must not hold SQLite's write lock, or a PostgreSQL row lock,
for seconds); a second short transaction stores the new tokens only if the claim is still
ours and `token_version` is the one we read (compare-and-set), raising the version. Everyone
else who needs a token meanwhile waits, reading, until the version moves on (and uses the new
token), or the lease is released (the refresh failed: they fail the same way) or runs out (its
holder died: one of them takes over). Server-to-Server tokens are cached in the same row,
shared by all processes (Zoom has been seen to invalidate older S2S tokens when a new one is
minted, so minting one per process breaks).

Which grant renews a connection's token: a member's connection and an account connection made
through admin OAuth hold a refresh token (the refresh_token grant, with the credentials of the
OAuth app that issued it: the user app, or the admin app its row names in `client_id`); a
Server-to-Server one holds its app's client secret (the account_credentials grant)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, select, update

from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.logging import get_logger
from meetbridge.core.models import new_id
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomAuthError,
    ZoomUnavailable,
)
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth
from meetbridge.integrations.zoom.tables import (
    AuthMethod,
    ConnectionKind,
    ConnectionStatus,
    ZoomConnection,
)

log = get_logger("meetbridge.integrations.zoom.tokens")
SKEW = dt.timedelta(seconds=60)
# How long a process reuses credentials it read without looking at the store again. Bounds how
# long another process's disconnect takes to stop this one (this process's own: at once).
CACHE_SECONDS = 2.0
# How often a caller waiting for another's refresh looks at the row again.
POLL_SECONDS = 0.05
_STATE = select(ZoomConnection.status, ZoomConnection.token_version.label("v")).where(
    ZoomConnection.id == bindparam("id")
)


class SeenState(NamedTuple):
    """A connection's status and token version as a caller just read them (e.g. in the
    statement that claimed a job), so `current` need not read them again."""

    status: str
    v: int


@dataclass(frozen=True)
class _Claim:
    """A refresh lease this caller holds, with what it needs for the call to Zoom."""

    token: str
    version: int
    grant: str  # "refresh_token" | "account_credentials"
    secret: str  # the refresh token, or the S2S app's client secret
    client_id: str  # the OAuth app the refresh token belongs to, or the S2S app
    account_id: str


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
        *,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        # Longer than the call to Zoom's token endpoint can take (its timeout): a lease that
        # ran out while its holder still waited on Zoom would let a second refresh start.
        self.lease = lease
        self.sleep = sleep
        self.crypto = crypto
        self.oauth = oauth
        self.client_id = client_id
        self.client_secret = client_secret
        # The OAuth apps whose refresh tokens may be renewed here, by client id: the user app,
        # and the admin app (`add_app`).
        self.apps: dict[str, str] = {client_id: client_secret}
        self.on_lost = on_lost  # (connection id, reason), after the connection is marked
        # connection id → (reuse until, monotonic; credentials; access token's expiry)
        self._cache: dict[str, tuple[float, Credentials, dt.datetime]] = {}

    def add_app(self, client_id: str, client_secret: str) -> None:
        """Another OAuth app whose connections' refresh tokens are renewed here (the admin
        app of account connections made through admin OAuth)."""
        if client_id:
            self.apps.setdefault(client_id, client_secret)

    def forget(self, connection_id: str) -> None:
        self._cache.pop(connection_id, None)

    def zoom_account_of(self, connection_id: str) -> str | None:
        """The Zoom account a connection goes to (it never changes for a connection)."""
        hit = self._cache.get(connection_id)
        if hit is not None:
            return hit[1].zoom_account_id
        with self.db.read() as s:
            return s.scalar(
                select(ZoomConnection.zoom_account_id).where(ZoomConnection.id == connection_id)
            )

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
        while True:
            got = self._claim(connection_id, seen_version)
            if isinstance(got, Credentials):
                return got
            if isinstance(got, _Claim):
                return self._refresh_with(connection_id, got)
            waited = self._wait_for_other(connection_id, seen_version)
            if waited is not None:
                return waited

    def _claim(self, connection_id: str, seen_version: int) -> Credentials | _Claim | None:
        """A short write: the fresh credentials another caller stored, or a lease of our own,
        or None while someone else holds one."""
        now = utcnow()
        with self.db.write() as s:
            row = s.execute(
                select(ZoomConnection).where(ZoomConnection.id == connection_id).with_for_update()
            ).scalar_one_or_none()
            self._usable(row)
            assert row is not None
            if row.token_version != seen_version and self._fresh(row):
                return self._remember(row)
            if row.refresh_claim and row.refresh_claimed_until and row.refresh_claimed_until > now:
                return None
            token = new_id()
            row.refresh_claim, row.refresh_claimed_until = token, now + self.lease
            if row.auth_method == AuthMethod.SERVER_TO_SERVER:
                grant, enc, client_id = "account_credentials", row.client_secret_enc, row.client_id
            else:  # a member's connection, or the account's through admin OAuth
                grant, enc = "refresh_token", row.refresh_token_enc
                client_id = row.client_id if row.kind == ConnectionKind.ACCOUNT else None
            return _Claim(
                token=token,
                version=row.token_version,
                grant=grant,
                secret=self.crypto.decrypt(enc or ""),
                client_id=client_id or self.client_id,
                account_id=row.zoom_account_id or "",
            )

    def _wait_for_other(self, connection_id: str, seen_version: int) -> Credentials | None:
        """Reads (no lock) until the holder of the lease stores new tokens. None: the lease
        ran out with no new tokens (its holder died): the caller tries to take it."""
        while True:
            self.sleep(POLL_SECONDS)
            with self.db.read() as s:
                row = s.get(ZoomConnection, connection_id)
                self._usable(row)  # the refresh was refused: NeedsReconnect here too
                assert row is not None
                if row.token_version != seen_version and self._fresh(row):
                    return self._remember(row)
                if row.refresh_claim is None:
                    if row.token_version != seen_version:
                        return None  # refreshed, and already stale again: refresh anew
                    raise ZoomUnavailable("Zoom could not refresh the token; try again shortly")
                if row.refresh_claimed_until is None or row.refresh_claimed_until <= utcnow():
                    return None

    def _refresh_with(self, connection_id: str, claim: _Claim) -> Credentials:
        """The call to Zoom, outside any transaction; then compare-and-set."""
        mine = (
            (ZoomConnection.id == connection_id)
            & (ZoomConnection.refresh_claim == claim.token)
            & (ZoomConnection.token_version == claim.version)
        )
        try:
            if claim.grant == "refresh_token":
                app_secret = self.apps.get(claim.client_id)
                if app_secret is None:
                    # The app that issued the refresh token is no longer configured here (its
                    # client id changed): only that app can renew it.
                    raise OAuthFailed(
                        "invalid_client", f"the Zoom app {claim.client_id} is not configured", 401
                    )
                tokens = self.oauth.refresh(claim.client_id, app_secret, claim.secret)
            else:
                tokens = self.oauth.account_token(claim.client_id, claim.secret, claim.account_id)
        except OAuthFailed as exc:
            if exc.status == 0 or exc.status >= 500:
                with self.db.write() as s:
                    s.execute(
                        update(ZoomConnection)
                        .where(mine)
                        .values(refresh_claim=None, refresh_claimed_until=None)
                    )
                raise ZoomUnavailable(
                    f"Zoom could not refresh the token: {exc.reason}", status=exc.status or None
                ) from None
            # invalid_grant (rotated away, revoked, expired) or refused app credentials:
            # the connection is over until the user (or admin) connects again.
            lost = f"{exc.error}: {exc.reason}"
            with self.db.write() as s:
                s.execute(update(ZoomConnection).where(mine).values(**_ended(lost)))
            log.warning("zoom.oauth.refresh_failed", connection_id=connection_id, reason=lost)
            if self.on_lost:
                self.on_lost(connection_id, lost)
            raise NeedsReconnect(
                "Zoom no longer accepts this connection; connect Zoom again"
            ) from None
        now = utcnow()
        values: dict[str, object] = {
            "access_token_enc": self.crypto.encrypt(tokens.access_token),
            "access_expires_at": now + dt.timedelta(seconds=tokens.expires_in),
            "token_version": claim.version + 1,
            "updated_at": now,
            "refresh_claim": None,
            "refresh_claimed_until": None,
        }
        if tokens.refresh_token:
            values["refresh_token_enc"] = self.crypto.encrypt(tokens.refresh_token)
        if tokens.scope:
            values["scopes"] = tokens.scope
        with self.db.write() as s:
            stored = s.execute(update(ZoomConnection).where(mine).values(**values))
            row = s.get(ZoomConnection, connection_id)
            if stored.rowcount == 1:  # type: ignore[attr-defined]
                assert row is not None
                log.info("zoom.oauth.refreshed", connection_id=connection_id)
                return self._remember(row)
        # Our lease ran out while Zoom took longer than it allows, and another caller took
        # over (or the connection was ended meanwhile): what it stored, if anything, stands.
        log.error("zoom.oauth.refresh_lease_lost", connection_id=connection_id)
        self._usable(row)
        assert row is not None
        if self._fresh(row):
            return self._remember(row)
        raise ZoomUnavailable("Zoom took too long to refresh the token; try again")

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


def _ended(reason: str) -> dict[str, object]:
    """The row's values once Zoom refused the refresh: no tokens, needs reconnecting."""
    now = utcnow()
    return {
        "status": ConnectionStatus.NEEDS_RECONNECT,
        "access_token_enc": None,
        "refresh_token_enc": None,
        "access_expires_at": None,
        "last_error": reason[:1000],
        "last_error_at": now,
        "updated_at": now,
        "refresh_claim": None,
        "refresh_claimed_until": None,
    }
