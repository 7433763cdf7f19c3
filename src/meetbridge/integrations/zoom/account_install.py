"""Installing the organisation's Zoom account, its settings and its disconnect: a part of
`ZoomConnections` (install.py). Two ways in: Server-to-Server OAuth (the admin pastes an S2S
app's credentials, "Test Zoom"), or admin OAuth (an owner or admin of the Zoom account
authorizes the admin-managed OAuth app with the granular `:admin` scopes; state and PKCE as
for a member's own Zoom). Either way the organisation has one account connection (kind
"account"); `ZoomConnection.auth_method` tells which."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import DomainError, FieldError, NotFound, PermissionDenied
from meetbridge.core.jobs import JobQueue
from meetbridge.core.models import User
from meetbridge.core.security import digest
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.credentials_check import (
    ADMIN_APP,
    TestResult,
    check_account,
    exchange_message,
    missing_admin_scopes,
    not_an_admin,
    not_granted,
)
from meetbridge.integrations.zoom.errors import ZoomError
from meetbridge.integrations.zoom.oauth import OAuthFailed, TokenSet, ZoomOAuth, pkce_pair
from meetbridge.integrations.zoom.revocations import REVOKE_TASK, queue_revocation
from meetbridge.integrations.zoom.tables import (
    AuthMethod,
    ConnectionKind,
    ConnectionStatus,
    OAuthState,
    ZoomConnection,
    identity_of,
)

STATE_TTL = dt.timedelta(minutes=10)
ADMIN_BUTTON = ADMIN_APP.button


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
    jobs: JobQueue
    on_connected: Callable[[str], object] | None

    def _end(
        self, s: Session, conn: ZoomConnection, reason: str, revoke: bool = True
    ) -> str | None:
        raise NotImplementedError

    # ---- a connect attempt in flight (state and PKCE), for either OAuth app ----------------

    def _open_state(self, actor: User, key: str) -> tuple[str, str]:
        """A fresh `state` for `actor` and the PKCE challenge, remembered for ten minutes.
        `key`: what the state is stored under (so a state of one flow works in no other)."""
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        with self.db.write() as s:
            s.execute(
                OAuthState.__table__.delete().where(OAuthState.expires_at < utcnow())  # type: ignore[attr-defined]
            )
            s.add(
                OAuthState(
                    id=digest(key + state),
                    user_id=actor.id,
                    verifier_enc=self.crypto.encrypt(verifier),
                    expires_at=utcnow() + STATE_TTL,
                )
            )
        return state, challenge

    def _close_state(self, actor: User, key: str, state: str | None, button: str) -> str:
        """The PKCE verifier of the attempt `state` names (once: it is deleted), or
        ConnectFailed saying what to do."""
        with self.db.write() as s:
            row = s.get(OAuthState, digest(key + state)) if state else None
            if row is not None:
                s.delete(row)  # a state works once
        if row is None or row.user_id != actor.id:
            raise ConnectFailed(
                "This sign-in with Zoom was not started here, or was already "
                f"used. Start again with {button}."
            )
        if row.expires_at < utcnow():
            raise ConnectFailed(
                f"The sign-in with Zoom took too long (over 10 minutes). Start again with {button}."
            )
        return self.crypto.decrypt(row.verifier_enc)

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
            revocation = self._end(s, old, "replaced") if old is not None else None
            if old is not None:
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
                {
                    "how": AuthMethod.SERVER_TO_SERVER,
                    "zoom_account_id": conn.zoom_account_id,
                    "client_id": conn.client_id,
                },
            )
        if revocation:  # an admin OAuth connection replaced: its grant is revoked at Zoom
            self.jobs.enqueue(REVOKE_TASK, revocation)
        if self.on_connected is not None:
            self.on_connected(conn.id)
        return conn

    # ---- the organisation's Zoom account (admin OAuth) -----------------------------------------

    def start_admin_connect(self, admin: User) -> str:
        """The URL of Zoom's consent page for the admin-managed app, asking for its admin
        scopes explicitly, with a fresh state and PKCE. Only a Zoom owner or admin can allow
        it there."""
        require_admin(admin)
        state, challenge = self._open_state(admin, ADMIN_STATE)
        return self.oauth.authorize_url(
            self.settings.zoom_admin_client_id,
            self.settings.effective_zoom_admin_redirect_uri,
            state,
            challenge,
            scope=self.settings.zoom_admin_scopes,
        )

    def finish_admin_connect(
        self,
        admin: User,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        origin: Origin,
    ) -> ZoomConnection:
        """Handles Zoom's redirect back to the admin callback: saves the organisation's account
        connection (replacing the one before), or ConnectFailed saying what happened and what
        to do. The Zoom user must be an owner or admin of its account, and Zoom must have
        granted the scopes the account connection needs."""
        require_admin(admin)
        verifier = self._close_state(admin, ADMIN_STATE, state, ADMIN_BUTTON)
        if error:
            if error == "access_denied":
                raise ConnectFailed(
                    "You declined access in Zoom, so the Zoom account is not connected. To "
                    f"connect it, click {ADMIN_BUTTON} and choose Allow."
                )
            raise ConnectFailed(
                f"Zoom reported an error ({error[:100]}). Try {ADMIN_BUTTON} again; if it "
                "keeps failing, check the admin app's settings in the Zoom App Marketplace."
            )
        if not code:
            raise ConnectFailed(
                f"Zoom did not send an authorization code. Start again with {ADMIN_BUTTON}."
            )
        client_id = self.settings.zoom_admin_client_id
        try:
            tokens = self.oauth.exchange_code(
                client_id,
                self.settings.zoom_admin_client_secret.get_secret_value(),
                code,
                self.settings.effective_zoom_admin_redirect_uri,
                verifier,
            )
        except OAuthFailed as exc:
            raise ConnectFailed(exchange_message(exc, ADMIN_APP)) from None
        me, refusal = self._check_admin_grant(tokens)
        zoom_user_id, zoom_account_id = str(me.get("id", "")), str(me.get("account_id", ""))
        email = str(me.get("email", ""))
        grant = (zoom_account_id, zoom_user_id, client_id)
        if refusal is not None:
            # Nothing is kept, so the authorization goes too (unless it is the live one's).
            with self.db.write() as s:
                old = s.scalar(_account_of(admin.org_id))
                token = tokens.refresh_token or tokens.access_token
                discard = (
                    None
                    if _same_grant(old, grant)
                    else queue_revocation(s, self.crypto.encrypt(token), client_id)
                )
            if discard:
                self.jobs.enqueue(REVOKE_TASK, discard)
            raise ConnectFailed(refusal)
        with self.db.write() as s:
            old = s.scalar(_account_of(admin.org_id))
            # The same Zoom admin authorizing the same app again: Zoom keeps one grant, which
            # the new tokens belong to, so revoking the old tokens would revoke it.
            revocation = (
                self._end(s, old, "replaced", revoke=not _same_grant(old, grant))
                if old is not None
                else None
            )
            if old is not None:
                s.flush()
            conn = ZoomConnection(
                org_id=admin.org_id,
                kind=ConnectionKind.ACCOUNT,
                zoom_account_id=zoom_account_id,
                zoom_user_id=zoom_user_id,
                zoom_email=email,
                client_id=client_id,
                client_secret_enc=None,  # admin OAuth: the refresh token renews access
                scopes=tokens.scope,
                access_token_enc=self.crypto.encrypt(tokens.access_token),
                access_expires_at=utcnow() + dt.timedelta(seconds=tokens.expires_in),
                refresh_token_enc=self.crypto.encrypt(tokens.refresh_token or ""),
                token_version=1,
                status=ConnectionStatus.CONNECTED,
                last_error=not_granted(self.settings.zoom_admin_scopes, tokens.scope),
                members_may_schedule=old.members_may_schedule if old is not None else False,
                # The same Zoom account as an S2S connection before it: its meetings come back.
                zoom_identity=identity_of(
                    self.settings.secret_key.get_secret_value(), zoom_account_id, "account"
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
                {
                    "how": AuthMethod.ADMIN_OAUTH,
                    "zoom_account_id": zoom_account_id,
                    "zoom_email": email,
                    "client_id": client_id,
                    "scopes": tokens.scope,
                },
            )
        if revocation:
            self.jobs.enqueue(REVOKE_TASK, revocation)
        if self.on_connected is not None:
            self.on_connected(conn.id)
        return conn

    def _check_admin_grant(self, tokens: TokenSet) -> tuple[dict[str, Any], str | None]:
        """Who authorized (Zoom's /users/me) and, when the grant cannot serve as the account
        connection, why not (a person reads it): not an owner or admin, fewer scopes than
        needed, or Zoom refusing to list the account's users with it."""
        try:
            me = self.client.probe(tokens.access_token, "/users/me")
        except ZoomError as exc:
            return {}, (
                "Zoom accepted the sign-in but would not say which user it is "
                f"({exc.message}). Try {ADMIN_BUTTON} again."
            )
        if not isinstance(me, dict):
            return {}, f"Zoom's answer about the user was malformed. Try {ADMIN_BUTTON} again."
        refusal = not_an_admin(me) or missing_admin_scopes(tokens.scope)
        if refusal is None:
            # The proof: a role of another name may hold an admin's privileges, or not.
            try:
                self.client.probe(tokens.access_token, "/users", {"page_size": 1})
            except ZoomError as exc:
                refusal = (
                    f"Zoom does not let {me.get('email', 'this Zoom user')} list the Zoom "
                    f"account's users ({exc.message}). Sign in to Zoom as the account's owner "
                    "or an admin, then try again."
                )
        return me, refusal

    def account_connection(self, actor: User) -> ZoomConnection | None:
        """The organisation's account connection, with its settings: for admins only."""
        require_admin(actor)
        with self.db.read() as s:
            return s.scalar(_account_of(actor.org_id))

    def account_connection_of(self, org_id: str) -> ZoomConnection | None:
        """The organisation's account connection that is not ended, for the parts of
        meetbridge that act for the organisation (workflows, through the passthrough)."""
        with self.db.read() as s:
            return s.scalar(_account_of(org_id))

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
            how = conn.auth_method
            revocation = self._end(s, conn, "disconnected")  # admin OAuth: revoked at Zoom
            conn.client_secret_enc = None
            self._audit(s, admin, "zoom.account_disconnected", origin, conn, {"how": how})
        if revocation:
            self.jobs.enqueue(REVOKE_TASK, revocation)


# Where an admin OAuth attempt's state is kept, apart from a member's connect attempts: a
# state started for one flow is no good at the other's callback.
ADMIN_STATE = "admin:"


def _same_grant(old: ZoomConnection | None, grant: tuple[str, str, str]) -> bool:
    """Whether `old` is an admin OAuth connection of this (account, Zoom user, app)."""
    return (
        old is not None
        and old.auth_method == AuthMethod.ADMIN_OAUTH
        and (old.zoom_account_id, old.zoom_user_id, old.client_id) == grant
    )


def _account_of(org_id: str) -> Select[ZoomConnection]:
    return select(ZoomConnection).where(
        ZoomConnection.org_id == org_id,
        ZoomConnection.kind == ConnectionKind.ACCOUNT,
        ZoomConnection.status != ConnectionStatus.ENDED,
    )


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an owner or admin can do this")
