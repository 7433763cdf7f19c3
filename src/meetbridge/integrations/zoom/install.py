"""Installing Zoom: a member's own Zoom (OAuth authorization code with state and PKCE), the
organisation's Zoom account (Server-to-Server, "Test Zoom", or admin OAuth, in
account_install.py), disconnecting and releasing.

A Zoom user (account id + user id) is bound to one meetbridge user ID while a connection is not
ended; a second meetbridge user connecting the same Zoom user is refused. Only the Zoom user id,
account id, e-mail, scopes and the (encrypted) tokens are kept. Ending a connection deletes its
tokens at once and leaves the revoke at Zoom to a job (`revocations`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.audit import Origin
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import Conflict, NotFound
from meetbridge.core.jobs import JobQueue
from meetbridge.core.models import User
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.account_install import (
    AccountInstall,
    ConnectFailed,
    require_admin,
)
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.credentials_check import (
    USER_APP,
    bound_elsewhere,
    exchange_message,
    missing_scopes,
)
from meetbridge.integrations.zoom.errors import ZoomError
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth
from meetbridge.integrations.zoom.revocations import REVOKE_TASK, queue_revocation
from meetbridge.integrations.zoom.tables import (
    AuthMethod,
    ConnectionKind,
    ConnectionStatus,
    ZoomConnection,
    identity_of,
)

USER_STATE = ""  # a member's connect attempts: the state's digest as it always was


class ZoomConnections(AccountInstall):
    """The install flows, and the reads the pages make of a member's or the account's
    connection. Tokens in use are the `TokenManager`'s business."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        crypto: Crypto,
        oauth: ZoomOAuth,
        client: ZoomClient,
        jobs: JobQueue,
    ) -> None:
        self.db = db
        self.settings = settings
        self.crypto = crypto
        self.oauth = oauth
        self.client = client
        self.jobs = jobs
        # The token manager renews the refresh tokens of the admin app's connections too (the
        # account through admin OAuth): it knows the user app's credentials from its start.
        client.tokens.add_app(
            settings.zoom_admin_client_id, settings.zoom_admin_client_secret.get_secret_value()
        )
        # Told each new or renewed connection's id once it is saved (the meetings it hosted
        # before a disconnect are attached to it again).
        self.on_connected: Callable[[str], object] | None = None

    # ---- a member's own Zoom -----------------------------------------------------------------

    def start_connect(self, actor: User) -> str:
        """Returns the URL of Zoom's consent page for this user, with a fresh state and PKCE."""
        state, challenge = self._open_state(actor, USER_STATE)
        return self.oauth.authorize_url(
            self.settings.zoom_client_id,
            self.settings.effective_zoom_redirect_uri,
            state,
            challenge,
        )

    def finish_connect(
        self,
        actor: User,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        origin: Origin,
    ) -> ZoomConnection:
        """Handles Zoom's redirect back. Every failure says what happened and what to do."""
        verifier = self._close_state(actor, USER_STATE, state, USER_APP.button)
        if error:
            if error == "access_denied":
                raise ConnectFailed(
                    "You declined access in Zoom, so Zoom is not connected. "
                    "To connect, click Connect Zoom and choose Allow."
                )
            raise ConnectFailed(
                f"Zoom reported an error ({error[:100]}). Try Connect Zoom "
                "again; if it keeps failing, ask your admin to check the Zoom "
                "app's settings."
            )
        if not code:
            raise ConnectFailed(
                "Zoom did not send an authorization code. Start again with Connect Zoom."
            )
        secret = self.settings.zoom_client_secret.get_secret_value()
        try:
            tokens = self.oauth.exchange_code(
                self.settings.zoom_client_id,
                secret,
                code,
                self.settings.effective_zoom_redirect_uri,
                verifier,
            )
        except OAuthFailed as exc:
            raise ConnectFailed(exchange_message(exc)) from None
        try:
            me = self.client.probe(tokens.access_token, "/users/me")
        except ZoomError as exc:
            raise ConnectFailed(
                f"Zoom accepted the sign-in but would not say which account it "
                f"is ({exc.message}). Try again."
            ) from None
        zoom_user_id, zoom_account_id = str(me.get("id", "")), str(me.get("account_id", ""))
        email = str(me.get("email", ""))
        try:
            with self.db.write() as s:
                conn = self._bind(s, actor, zoom_account_id, zoom_user_id)
                conn.zoom_email = email
                conn.zoom_identity = identity_of(
                    self.settings.secret_key.get_secret_value(), zoom_account_id, zoom_user_id
                )
                conn.scopes = tokens.scope
                conn.access_token_enc = self.crypto.encrypt(tokens.access_token)
                conn.refresh_token_enc = self.crypto.encrypt(tokens.refresh_token or "")
                conn.access_expires_at = utcnow() + dt.timedelta(seconds=tokens.expires_in)
                conn.token_version += 1
                conn.status = ConnectionStatus.CONNECTED
                conn.last_error = missing_scopes(self.settings.zoom_scopes, tokens.scope)
                conn.updated_at = utcnow()
                self._audit(s, actor, "zoom.connected", origin, conn, {"zoom_email": email})
        except IntegrityError:
            raise ConnectFailed(bound_elsewhere(email)) from None
        if self.on_connected is not None:
            self.on_connected(conn.id)
        return conn

    def _bind(self, s: Session, actor: User, account_id: str, zoom_user_id: str) -> ZoomConnection:
        bound = s.scalar(
            select(ZoomConnection).where(
                ZoomConnection.kind == ConnectionKind.USER,
                ZoomConnection.status != ConnectionStatus.ENDED,
                ZoomConnection.zoom_account_id == account_id,
                ZoomConnection.zoom_user_id == zoom_user_id,
            )
        )
        if bound is not None and bound.user_id != actor.id:
            raise ConnectFailed(bound_elsewhere(bound.zoom_email or "this Zoom user"))
        if bound is not None:
            return bound  # the same person reconnecting: fresh tokens on the same binding
        mine = s.scalar(
            select(ZoomConnection).where(
                ZoomConnection.kind == ConnectionKind.USER,
                ZoomConnection.status != ConnectionStatus.ENDED,
                ZoomConnection.user_id == actor.id,
            )
        )
        if mine is not None:  # switching to another Zoom user: the old binding ends
            self._end(s, mine, "replaced")
        conn = ZoomConnection(
            org_id=actor.org_id,
            kind=ConnectionKind.USER,
            user_id=actor.id,
            zoom_account_id=account_id,
            zoom_user_id=zoom_user_id,
        )
        s.add(conn)
        s.flush()
        return conn

    def my_connection(self, actor: User) -> ZoomConnection | None:
        """The member's current connection, or their last ended one (to say why it ended)."""
        with self.db.read() as s:
            return s.scalar(
                select(ZoomConnection)
                .where(
                    ZoomConnection.kind == ConnectionKind.USER, ZoomConnection.user_id == actor.id
                )
                .order_by(
                    ZoomConnection.status == ConnectionStatus.ENDED,
                    ZoomConnection.updated_at.desc(),
                )
                .limit(1)
            )

    def connections(self, actor: User) -> Sequence[ZoomConnection]:
        """Every member connection in the organisation that is not ended (for the Team page)."""
        with self.db.read() as s:
            return s.scalars(
                select(ZoomConnection).where(
                    ZoomConnection.org_id == actor.org_id,
                    ZoomConnection.kind == ConnectionKind.USER,
                    ZoomConnection.status != ConnectionStatus.ENDED,
                )
            ).all()

    def disconnect(self, actor: User, origin: Origin) -> None:
        """Tokens deleted now; the revoke at Zoom is done by a job (retried if Zoom is down).
        Meetings already created stay, here and in Zoom; they are marked as having no Zoom
        until the same Zoom user connects again (meetings/detached.py)."""
        with self.db.write() as s:
            conn = s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.kind == ConnectionKind.USER,
                    ZoomConnection.user_id == actor.id,
                    ZoomConnection.status != ConnectionStatus.ENDED,
                )
            )
            if conn is None:
                raise NotFound("Zoom is not connected")
            revocation = self._end(s, conn, "disconnected")
            self._audit(
                s, actor, "zoom.disconnected", origin, conn, {"zoom_email": conn.zoom_email}
            )
        if revocation:
            self.jobs.enqueue(REVOKE_TASK, revocation)

    def release(self, admin: User, connection_id: str, origin: Origin) -> None:
        """An admin frees the Zoom binding of a deactivated member, so the Zoom user can connect
        to another login."""
        require_admin(admin)
        with self.db.write() as s:
            conn = s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.id == connection_id,
                    ZoomConnection.org_id == admin.org_id,
                    ZoomConnection.kind == ConnectionKind.USER,
                )
            )
            if conn is None or conn.status == ConnectionStatus.ENDED:
                raise NotFound("no such Zoom connection")
            owner = s.get(User, conn.user_id) if conn.user_id else None
            if owner is not None and owner.is_active:
                raise Conflict(
                    "connection_id", "this member is active; they can disconnect Zoom themselves"
                )
            revocation = self._end(s, conn, "released")
            self._audit(
                s,
                admin,
                "zoom.binding_released",
                origin,
                conn,
                {"zoom_email": conn.zoom_email, "member_id": conn.user_id},
            )
        if revocation:
            self.jobs.enqueue(REVOKE_TASK, revocation)

    def _end(
        self, s: Session, conn: ZoomConnection, reason: str, revoke: bool = True
    ) -> str | None:
        """Deletes the tokens now; returns the id of a queued revocation, if there was a token
        of an OAuth app (a member's, or the account's through admin OAuth) and `revoke`."""
        self.client.tokens.forget(conn.id)
        method = conn.auth_method
        token = conn.refresh_token_enc or conn.access_token_enc
        conn.status = ConnectionStatus.ENDED
        conn.end_reason = reason
        conn.ended_at = conn.updated_at = utcnow()
        conn.access_token_enc = conn.refresh_token_enc = None
        conn.access_expires_at = None
        if not token or not revoke or method == AuthMethod.SERVER_TO_SERVER:
            return None  # a Server-to-Server token is not a user's grant: it just expires
        if method == AuthMethod.ADMIN_OAUTH:
            return queue_revocation(s, token, conn.client_id or self.settings.zoom_admin_client_id)
        return queue_revocation(s, token, self.settings.zoom_client_id)
