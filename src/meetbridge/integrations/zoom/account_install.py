"""Installing the organisation's Zoom account (Server-to-Server OAuth, "Test Zoom"), its
settings and its disconnect: a part of `ZoomConnections` (install.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import DomainError, FieldError, NotFound, PermissionDenied
from meetbridge.core.models import User
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.credentials_check import TestResult, check_account
from meetbridge.integrations.zoom.oauth import ZoomOAuth
from meetbridge.integrations.zoom.tables import (
    ConnectionKind,
    ConnectionStatus,
    ZoomConnection,
    identity_of,
)


class ConnectFailed(DomainError):
    """Connecting did not work; `message` says what happened and what to do next."""

    status = 400
    code = "zoom_connect_failed"


class AccountInstall:
    db: Database
    settings: Settings
    crypto: Crypto
    oauth: ZoomOAuth
    client: ZoomClient
    on_connected: Callable[[str], object] | None

    def _end(self, s: Session, conn: ZoomConnection, reason: str) -> str | None:
        raise NotImplementedError

    @staticmethod
    def _audit(
        s: Session,
        actor: User,
        action: str,
        origin: Origin,
        conn: ZoomConnection,
        details: dict[str, Any] | None = None,
    ) -> None:
        audit.write(s, audit.by(actor, action, origin, "zoom_connection", conn.id, details))

    # ---- the organisation's Zoom account (Server-to-Server) ------------------------------------

    def test_account(
        self, admin: User, account_id: str, client_id: str, client_secret: str
    ) -> TestResult:
        """Fetches a token, checks the scopes and looks up a user, with a specific message for
        each way it can fail."""
        require_admin(admin)
        return check_account(self.oauth, self.client, account_id, client_id, client_secret)

    def save_account(
        self, admin: User, account_id: str, client_id: str, client_secret: str, origin: Origin
    ) -> ZoomConnection:
        result = self.test_account(admin, account_id, client_id, client_secret)
        if not result.ok:
            raise ConnectFailed(
                result.message, [FieldError(result.field_name or "credentials", result.message)]
            )
        with self.db.write() as s:
            old = s.scalar(_account_of(admin.org_id))
            if old is not None:
                self._end(s, old, "replaced")
                s.flush()
            conn = ZoomConnection(
                org_id=admin.org_id,
                kind=ConnectionKind.ACCOUNT,
                zoom_account_id=account_id.strip(),
                client_id=client_id.strip(),
                client_secret_enc=self.crypto.encrypt(client_secret.strip()),
                scopes=" ".join(result.scopes),
                status=ConnectionStatus.CONNECTED,
                members_may_schedule=old.members_may_schedule if old is not None else False,
                # The same Zoom account: its meetings come back on the new credentials.
                zoom_identity=identity_of(
                    self.settings.secret_key.get_secret_value(), account_id.strip(), "account"
                ),
            )
            s.add(conn)
            s.flush()
            self._audit(
                s,
                admin,
                "zoom.account_connected",
                origin,
                conn,
                {"zoom_account_id": conn.zoom_account_id, "client_id": conn.client_id},
            )
        if self.on_connected is not None:
            self.on_connected(conn.id)
        return conn

    def account_connection(self, actor: User) -> ZoomConnection | None:
        """The organisation's account connection, with its settings: for admins only."""
        require_admin(actor)
        with self.db.read() as s:
            return s.scalar(_account_of(actor.org_id))

    def set_members_may_schedule(
        self, admin: User, allowed: bool, origin: Origin
    ) -> ZoomConnection:
        """Whether members (not only admins) may schedule for any licensed user of the account
        through this connection."""
        require_admin(admin)
        with self.db.write() as s:
            conn = s.scalar(_account_of(admin.org_id))
            if conn is None:
                raise NotFound("the Zoom account is not connected")
            conn.members_may_schedule = allowed
            conn.updated_at = utcnow()
            self._audit(
                s, admin, "zoom.account_settings", origin, conn, {"members_may_schedule": allowed}
            )
        return conn

    def disconnect_account(self, admin: User, origin: Origin) -> None:
        require_admin(admin)
        with self.db.write() as s:
            conn = s.scalar(_account_of(admin.org_id))
            if conn is None:
                raise NotFound("the Zoom account is not connected")
            conn.client_secret_enc = None
            self._end(s, conn, "disconnected")
            self._audit(s, admin, "zoom.account_disconnected", origin, conn)


def _account_of(org_id: str) -> Select[ZoomConnection]:
    return select(ZoomConnection).where(
        ZoomConnection.org_id == org_id,
        ZoomConnection.kind == ConnectionKind.ACCOUNT,
        ZoomConnection.status != ConnectionStatus.ENDED,
    )


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an owner or admin can do this")
