"""Connecting Zoom: a member's own Zoom (OAuth authorization code with state and PKCE), the
organisation's Zoom account (Server-to-Server, "Test Zoom"), disconnecting, Zoom-side removal
(app_deauthorized), and the webhook events that arrive for them.

A Zoom user (account id + user id) is bound to one meetbridge user ID while a connection is not
ended; a second meetbridge user connecting the same Zoom user is refused. Only the Zoom user id,
account id, e-mail, scopes and the (encrypted) tokens are kept."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
)
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import (
    OAuthState,
    User,
    WebhookEvent,
    ZoomConnection,
    ZoomRevocation,
)
from meetbridge.core.security import digest
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomError,
    ZoomRateLimited,
    ZoomScopeError,
    ZoomUnavailable,
)
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth, pkce_pair
from meetbridge.integrations.zoom.signatures import WebhookRejected, url_validation_reply, verify
from meetbridge.notify.outbox import MailDelivery, queue_email

log = get_logger("meetbridge.connections")

REVOKE_TASK = "zoom.revoke"
WEBHOOK_TASK = "zoom.webhook"
RECONCILE_TASK = "zoom.reconcile"
STATE_TTL = dt.timedelta(minutes=10)
# Server-to-Server apps need these, each as a classic or a granular scope.
ACCOUNT_SCOPES = [
    ("meeting:write:admin", "meeting:write:meeting:admin"),
    ("meeting:read:admin", "meeting:read:meeting:admin"),
    ("user:read:admin", "user:read:user:admin"),
]


class WebhookRefused(DomainError):
    status = 401
    code = "webhook_refused"


class ZoomFailed(DomainError):
    """A call to Zoom made for a person failed; the message says how."""

    status = 502
    code = "zoom_failed"


class ConnectFailed(DomainError):
    """Connecting did not work; `message` says what happened and what to do next."""

    status = 400
    code = "zoom_connect_failed"


@dataclass
class TestResult:
    ok: bool
    message: str
    field_name: str | None = None
    zoom_users: int = 0
    example_user: str | None = None
    scopes: list[str] = field(default_factory=list)


class ZoomConnections:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        crypto: Crypto,
        oauth: ZoomOAuth,
        client: ZoomClient,
        jobs: JobQueue,
        mail: MailDelivery,
    ) -> None:
        self.db = db
        self.settings = settings
        self.crypto = crypto
        self.oauth = oauth
        self.client = client
        self.jobs = jobs
        self.mail = mail
        self.handlers: dict[str, Callable[[dict[str, Any]], str]] = {
            "app_deauthorized": self.handle_deauthorized,
        }
        # Called when a Zoom user's data must go (user_data_retention false): each module
        # that keeps Zoom data adds its own.
        self.purgers: list[Callable[[Session, ZoomConnection], None]] = []

    # ---- a member's own Zoom -----------------------------------------------------------------

    def start_connect(self, actor: User) -> str:
        """Returns the URL of Zoom's consent page for this user, with a fresh state and PKCE."""
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        with self.db.write() as s:
            s.execute(
                OAuthState.__table__.delete().where(OAuthState.expires_at < utcnow())  # type: ignore[attr-defined]
            )
            s.add(
                OAuthState(
                    id=digest(state),
                    user_id=actor.id,
                    verifier_enc=self.crypto.encrypt(verifier),
                    expires_at=utcnow() + STATE_TTL,
                )
            )
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
        with self.db.write() as s:
            row = s.get(OAuthState, digest(state)) if state else None
            if row is not None:
                s.delete(row)  # a state works once
        if row is None or row.user_id != actor.id:
            raise ConnectFailed(
                "This sign-in with Zoom was not started here, or was already "
                "used. Start again with Connect Zoom."
            )
        if row.expires_at < utcnow():
            raise ConnectFailed(
                "The sign-in with Zoom took too long (over 10 minutes). "
                "Start again with Connect Zoom."
            )
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
                self.crypto.decrypt(row.verifier_enc),
            )
        except OAuthFailed as exc:
            raise ConnectFailed(_exchange_message(exc)) from None
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
                conn.scopes = tokens.scope
                conn.access_token_enc = self.crypto.encrypt(tokens.access_token)
                conn.refresh_token_enc = self.crypto.encrypt(tokens.refresh_token or "")
                conn.access_expires_at = utcnow() + dt.timedelta(seconds=tokens.expires_in)
                conn.token_version += 1
                conn.status = "connected"
                conn.last_error = self._missing_scopes(tokens.scope)
                conn.updated_at = utcnow()
                self._audit(s, actor, "zoom.connected", origin, conn, {"zoom_email": email})
        except IntegrityError:
            raise ConnectFailed(_bound_elsewhere(email)) from None
        return conn

    def _bind(self, s: Session, actor: User, account_id: str, zoom_user_id: str) -> ZoomConnection:
        bound = s.scalar(
            select(ZoomConnection).where(
                ZoomConnection.kind == "user",
                ZoomConnection.status != "ended",
                ZoomConnection.zoom_account_id == account_id,
                ZoomConnection.zoom_user_id == zoom_user_id,
            )
        )
        if bound is not None and bound.user_id != actor.id:
            raise ConnectFailed(_bound_elsewhere(bound.zoom_email or "this Zoom user"))
        if bound is not None:
            return bound  # the same person reconnecting: fresh tokens on the same binding
        mine = s.scalar(
            select(ZoomConnection).where(
                ZoomConnection.kind == "user",
                ZoomConnection.status != "ended",
                ZoomConnection.user_id == actor.id,
            )
        )
        if mine is not None:  # switching to another Zoom user: the old binding ends
            self._end(s, mine, "replaced")
        conn = ZoomConnection(
            org_id=actor.org_id,
            kind="user",
            user_id=actor.id,
            zoom_account_id=account_id,
            zoom_user_id=zoom_user_id,
        )
        s.add(conn)
        s.flush()
        return conn

    def _missing_scopes(self, granted: str) -> str | None:
        """A warning when Zoom granted less than MEETBRIDGE_ZOOM_SCOPES asks for (each scope
        counts as granted when its classic name or a granular one of its family is there)."""
        have = set(granted.split())
        missing = []
        for wanted in self.settings.zoom_scopes.split():
            product, _, action = wanted.partition(":")
            family = [
                g
                for g in have
                if g.startswith(f"{product}:")
                and (
                    g == wanted
                    or g.split(":")[1] == action
                    or (action == "write" and g.split(":")[1] in ("write", "update", "delete"))
                )
            ]
            if not family:
                missing.append(wanted)
        if not missing:
            return None
        return (
            "Zoom granted fewer permissions than meetbridge needs: "
            f"{', '.join(missing)}. Ask your Zoom admin to add them to the app, then "
            "reconnect."
        )

    def my_connection(self, actor: User) -> ZoomConnection | None:
        """The member's current connection, or their last ended one (to say why it ended)."""
        with self.db.read() as s:
            return s.scalar(
                select(ZoomConnection)
                .where(ZoomConnection.kind == "user", ZoomConnection.user_id == actor.id)
                .order_by(ZoomConnection.status == "ended", ZoomConnection.updated_at.desc())
                .limit(1)
            )

    def connections(self, actor: User) -> Sequence[ZoomConnection]:
        """Every member connection in the organisation that is not ended (for the Team page)."""
        with self.db.read() as s:
            return s.scalars(
                select(ZoomConnection).where(
                    ZoomConnection.org_id == actor.org_id,
                    ZoomConnection.kind == "user",
                    ZoomConnection.status != "ended",
                )
            ).all()

    def disconnect(self, actor: User, origin: Origin) -> None:
        """Tokens deleted now; the revoke at Zoom is done by a job (retried if Zoom is down).
        Meetings already created stay."""
        with self.db.write() as s:
            conn = s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.kind == "user",
                    ZoomConnection.user_id == actor.id,
                    ZoomConnection.status != "ended",
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
        """An admin frees the Zoom binding of a deactivated member (the CRM's support task)."""
        _require_admin(admin)
        with self.db.write() as s:
            conn = s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.id == connection_id,
                    ZoomConnection.org_id == admin.org_id,
                    ZoomConnection.kind == "user",
                )
            )
            if conn is None or conn.status == "ended":
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

    def _end(self, s: Session, conn: ZoomConnection, reason: str) -> str | None:
        """Deletes the tokens now; returns the id of a queued revocation, if there was a token."""
        self.client.tokens.forget(conn.id)
        token = conn.refresh_token_enc or conn.access_token_enc
        conn.status = "ended"
        conn.end_reason = reason
        conn.ended_at = conn.updated_at = utcnow()
        conn.access_token_enc = conn.refresh_token_enc = None
        conn.access_expires_at = None
        if not token or conn.kind != "user":
            return None
        revocation = ZoomRevocation(token_enc=token, client_id=self.settings.zoom_client_id)
        s.add(revocation)
        s.flush()
        return revocation.id

    # ---- the organisation's Zoom account (Server-to-Server) ------------------------------------

    def test_account(
        self, admin: User, account_id: str, client_id: str, client_secret: str
    ) -> TestResult:
        """Fetches a token, checks the scopes and looks up a user, with a specific message for
        each way it can fail."""
        _require_admin(admin)
        for name, value in (
            ("account_id", account_id),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ):
            if not value.strip():
                return TestResult(False, "Fill in all three fields.", name)
            if len(value) > 200:
                return TestResult(False, "This is longer than any Zoom credential.", name)
        try:
            tokens = self.oauth.account_token(
                client_id.strip(), client_secret.strip(), account_id.strip()
            )
        except OAuthFailed as exc:
            if exc.status == 0 or exc.status >= 500:
                return TestResult(
                    False,
                    "Zoom could not be reached. Check this server's network "
                    "and proxy settings, then test again.",
                )
            if exc.error == "invalid_client":
                return TestResult(
                    False,
                    "Zoom refused the Client ID or Client Secret. Copy them "
                    "again from your Server-to-Server OAuth app's App "
                    "Credentials.",
                    "client_secret",
                )
            if "account" in exc.reason.lower():
                return TestResult(
                    False,
                    "Zoom does not know this Account ID for this app. Copy it "
                    "from the app's App Credentials page.",
                    "account_id",
                )
            return TestResult(False, f"Zoom refused the credentials ({exc.error}: {exc.reason}).")
        granted = tokens.scope.split()
        missing = [group[0] for group in ACCOUNT_SCOPES if not set(group) & set(granted)]
        if missing:
            return TestResult(
                False,
                "The app lacks scopes meetbridge needs: "
                f"{', '.join(missing)}. Add them in the app's Scopes page and "
                "activate it again.",
                "scopes",
                scopes=granted,
            )
        try:
            page = self.client.probe(tokens.access_token, "/users", {"page_size": 1})
        except ZoomScopeError as exc:
            return TestResult(
                False, f"The app cannot list users: {exc.message}", "scopes", scopes=granted
            )
        except ZoomUnavailable:
            return TestResult(
                False,
                "Zoom could not be reached. Check this server's network "
                "and proxy settings, then test again.",
            )
        except ZoomError as exc:
            return TestResult(False, f"Zoom refused to list users: {exc.message}")
        users = page.get("users", [])
        return TestResult(
            True,
            "Zoom works: the credentials, scopes and user lookup are fine.",
            zoom_users=int(page.get("total_records", len(users))),
            example_user=users[0].get("email") if users else None,
            scopes=granted,
        )

    def save_account(
        self, admin: User, account_id: str, client_id: str, client_secret: str, origin: Origin
    ) -> ZoomConnection:
        result = self.test_account(admin, account_id, client_id, client_secret)
        if not result.ok:
            raise ConnectFailed(
                result.message, [FieldError(result.field_name or "credentials", result.message)]
            )
        with self.db.write() as s:
            old = s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.org_id == admin.org_id,
                    ZoomConnection.kind == "account",
                    ZoomConnection.status != "ended",
                )
            )
            if old is not None:
                self._end(s, old, "replaced")
                s.flush()
            conn = ZoomConnection(
                org_id=admin.org_id,
                kind="account",
                zoom_account_id=account_id.strip(),
                client_id=client_id.strip(),
                client_secret_enc=self.crypto.encrypt(client_secret.strip()),
                scopes=" ".join(result.scopes),
                status="connected",
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
        return conn

    def account_connection(self, actor: User) -> ZoomConnection | None:
        with self.db.read() as s:
            return s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.org_id == actor.org_id,
                    ZoomConnection.kind == "account",
                    ZoomConnection.status != "ended",
                )
            )

    def disconnect_account(self, admin: User, origin: Origin) -> None:
        _require_admin(admin)
        with self.db.write() as s:
            conn = s.scalar(
                select(ZoomConnection).where(
                    ZoomConnection.org_id == admin.org_id,
                    ZoomConnection.kind == "account",
                    ZoomConnection.status != "ended",
                )
            )
            if conn is None:
                raise NotFound("the Zoom account is not connected")
            conn.client_secret_enc = None
            self._end(s, conn, "disconnected")
            self._audit(s, admin, "zoom.account_disconnected", origin, conn)

    # ---- when Zoom ends it -------------------------------------------------------------------

    def connection_lost(self, connection_id: str, reason: str) -> None:
        """Called once a refresh was refused: tell the member (the row is already marked)."""
        with self.db.write() as s:
            conn = s.get(ZoomConnection, connection_id)
            user = s.get(User, conn.user_id) if conn and conn.user_id else None
            if conn is None or user is None:
                return
            msg = self._tell(
                s,
                user,
                conn,
                f"lost:{conn.id}:{conn.token_version}",
                "Zoom no longer accepts meetbridge's access to your Zoom account "
                f"({conn.zoom_email}). This happens when access is revoked in Zoom "
                "or has expired.",
            )
        if msg:
            self.mail.enqueue(msg)

    def handle_deauthorized(self, payload: dict[str, Any]) -> str:
        """app_deauthorized: the user removed the app in Zoom (or we revoked). Tokens deleted,
        connection ended, user told; with user_data_retention false, all of that user's Zoom
        data is deleted too."""
        account_id, zoom_user_id = payload.get("account_id"), payload.get("user_id")
        retain = str(payload.get("user_data_retention", "false")).lower() == "true"
        messages = []
        with self.db.write() as s:
            conns = s.scalars(
                select(ZoomConnection).where(
                    ZoomConnection.kind == "user",
                    ZoomConnection.zoom_account_id == account_id,
                    ZoomConnection.zoom_user_id == zoom_user_id,
                )
            )
            found = False
            for conn in conns:
                found = True
                self.client.tokens.forget(conn.id)
                was_live = conn.status != "ended"
                if was_live:
                    conn.status, conn.end_reason = "ended", "removed_in_zoom"
                    conn.ended_at = utcnow()
                conn.access_token_enc = conn.refresh_token_enc = None
                conn.access_expires_at = None
                conn.updated_at = utcnow()
                user = s.get(User, conn.user_id) if conn.user_id else None
                if user is not None and was_live:
                    msg = self._tell(
                        s,
                        user,
                        conn,
                        f"removed:{conn.id}",
                        "meetbridge was removed from your Zoom account "
                        f"({conn.zoom_email}), so Zoom is no longer connected.",
                    )
                    if msg:
                        messages.append(msg)
                if not retain:
                    self._forget_zoom_data(s, conn)
                audit.record(
                    s,
                    org_id=conn.org_id,
                    actor_id=None,
                    actor_label="Zoom",
                    action="zoom.removed_in_zoom",
                    origin=Origin(via="zoom"),
                    target_type="zoom_connection",
                    target_id=conn.id,
                    details={"user_data_retention": retain, "member_id": conn.user_id},
                )
        for msg in messages:
            self.mail.enqueue(msg)
        return "done" if found else "ignored"

    def _forget_zoom_data(self, s: Session, conn: ZoomConnection) -> None:
        """Zoom's data compliance: delete everything Zoom gave us about this user."""
        for purge in self.purgers:
            purge(s, conn)
        conn.zoom_email = None
        conn.zoom_user_id = None
        conn.zoom_account_id = None
        conn.scopes = ""
        conn.last_error = None

    def _tell(
        self, s: Session, user: User, conn: ZoomConnection, key: str, what: str
    ) -> str | None:
        msg = queue_email(
            s,
            org_id=user.org_id,
            dedupe_key=f"zoom:{key}",
            to=user.email,
            template="zoom_lost",
            context={
                "name": user.name,
                "what": what,
                "link": f"{self.settings.effective_base_url}/integrations/zoom",
            },
        )
        return msg.id if msg else None

    # ---- any Zoom endpoint (Atomicwork's "Call API") ------------------------------------------

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
            _require_admin(actor)
            conn = self.account_connection(actor)
        else:
            mine = self.my_connection(actor)
            conn = mine if mine is not None and mine.status != "ended" else None
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

    # ---- webhooks ------------------------------------------------------------------------

    def verify_webhook(self, timestamp: str | None, signature: str | None, raw: bytes) -> None:
        try:
            verify(
                self.settings.zoom_webhook_secret.get_secret_value(),
                timestamp,
                signature,
                raw,
                time.time(),
            )
        except WebhookRejected as exc:
            log.warning("zoom.webhook_rejected", reason=str(exc))
            raise WebhookRefused(str(exc)) from None

    def url_validation(self, plain_token: str) -> dict[str, str]:
        return url_validation_reply(
            self.settings.zoom_webhook_secret.get_secret_value(), plain_token
        )

    def record_webhook(self, body: dict[str, Any]) -> str | None:
        """Stores a verified event (deduplicated) and queues its handling. Returns the event id,
        or None for a redelivery already recorded."""
        event = str(body.get("event", ""))[:100]
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
        assert isinstance(payload, dict)
        obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
        assert isinstance(obj, dict)
        ident = (
            obj.get("uuid")
            or obj.get("id")
            or (
                f"{payload.get('account_id')}:{payload.get('user_id')}:"
                f"{payload.get('deauthorization_time')}"
            )
        )
        key = f"{event}:{ident}:{body.get('event_ts', '')}"[:300]
        row = WebhookEvent(dedupe_key=key, event=event, payload=payload)
        try:
            with self.db.write() as s:
                s.add(row)
        except IntegrityError:
            return None
        self.jobs.enqueue(WEBHOOK_TASK, row.id)
        return row.id

    def process_webhook(self, event_id: str) -> str:
        """The job: hands the event to its handler, once."""
        with self.db.write() as s:
            claimed = s.execute(
                update(WebhookEvent)
                .where(
                    WebhookEvent.id == event_id,
                    WebhookEvent.status == "pending",
                )
                .values(attempts=WebhookEvent.attempts + 1, status="working")
            )
            row = s.get(WebhookEvent, event_id)
        if row is None or claimed.rowcount == 0:  # type: ignore[attr-defined]
            return row.status if row else "missing"
        handler = self.handlers.get(row.event)
        status, error = "ignored", None
        if handler is not None:
            try:
                status = handler(row.payload)
            except Exception as exc:
                log.exception("zoom.webhook_failed", event=row.event, event_id=event_id)
                status, error = ("pending" if row.attempts < 5 else "failed"), str(exc)[:1000]
        with self.db.write() as s:
            s.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(status=status, error=error, processed_at=utcnow())
            )
        return status

    # ---- jobs ----------------------------------------------------------------------------

    def revoke(self, revocation_id: str) -> str:
        with self.db.read() as s:
            row = s.get(ZoomRevocation, revocation_id)
        if row is None or row.status != "pending" or row.next_attempt_at > utcnow():
            return row.status if row else "missing"
        secret = self.settings.zoom_client_secret.get_secret_value()
        try:
            self.oauth.revoke(row.client_id, secret, self.crypto.decrypt(row.token_enc))
            status, error = "done", None
        except OAuthFailed as exc:
            if exc.status == 0 or exc.status >= 500:
                status, error = "pending", f"{exc.error}: {exc.reason}"
            else:  # Zoom no longer knows the token: nothing left to revoke
                status, error = "done", f"{exc.error}: {exc.reason}"
        attempts = row.attempts + 1
        if status == "pending" and attempts >= 12:
            status = "failed"
        with self.db.write() as s:
            s.execute(
                update(ZoomRevocation)
                .where(ZoomRevocation.id == revocation_id)
                .values(
                    status=status,
                    attempts=attempts,
                    last_error=error,
                    token_enc="" if status != "pending" else row.token_enc,
                    next_attempt_at=utcnow() + dt.timedelta(seconds=min(30 * 2**attempts, 3600)),
                )
            )
        return status

    def reconcile(self) -> dict[str, int]:
        """Re-enqueues revocations that are due and webhook events left pending."""
        now = utcnow()
        with self.db.read() as s:
            revocations = s.scalars(
                select(ZoomRevocation.id).where(
                    ZoomRevocation.status == "pending", ZoomRevocation.next_attempt_at <= now
                )
            ).all()
            events = s.scalars(
                select(WebhookEvent.id).where(
                    or_(
                        (WebhookEvent.status == "pending")
                        & (WebhookEvent.received_at <= now - dt.timedelta(seconds=30)),
                        (WebhookEvent.status == "working")
                        & (WebhookEvent.received_at <= now - dt.timedelta(minutes=10)),
                    )
                )
            ).all()
        with self.db.write() as s:
            s.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_(events), WebhookEvent.status == "working")
                .values(status="pending")
            )
        for rid in revocations:
            self.jobs.enqueue(REVOKE_TASK, rid)
        for eid in events:
            self.jobs.enqueue(WEBHOOK_TASK, eid)
        return {"revocations": len(revocations), "webhook_events": len(events)}

    def rotate_keys(self) -> dict[str, int]:
        """Re-encrypts every stored secret with the newest key."""
        counts = {"zoom_connections": 0, "oauth_states": 0, "zoom_revocations": 0}
        with self.db.write() as s:
            for conn in s.scalars(select(ZoomConnection)):
                for attr in ("access_token_enc", "refresh_token_enc", "client_secret_enc"):
                    value = getattr(conn, attr)
                    if value:
                        setattr(conn, attr, self.crypto.rotate(value))
                        counts["zoom_connections"] += 1
            for state in s.scalars(select(OAuthState)):
                state.verifier_enc = self.crypto.rotate(state.verifier_enc)
                counts["oauth_states"] += 1
            for rev in s.scalars(select(ZoomRevocation).where(ZoomRevocation.token_enc != "")):
                rev.token_enc = self.crypto.rotate(rev.token_enc)
                counts["zoom_revocations"] += 1
        return counts

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _audit(
        s: Session,
        actor: User,
        action: str,
        origin: Origin,
        conn: ZoomConnection,
        details: dict[str, Any] | None = None,
    ) -> None:
        audit.record(
            s,
            org_id=actor.org_id,
            actor_id=actor.id,
            actor_label=actor.email,
            action=action,
            origin=origin,
            target_type="zoom_connection",
            target_id=conn.id,
            details=details,
        )


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an owner or admin can do this")


def _bound_elsewhere(email: str) -> str:
    return (
        f"The Zoom account {email} is already connected to another meetbridge login. A Zoom "
        "account can belong to one login only. Sign in to Zoom as a different user, or ask "
        "an admin to release it if that login was deactivated."
    )


def _exchange_message(exc: OAuthFailed) -> str:
    if exc.status == 0:
        return "Zoom could not be reached to finish connecting. Try again in a minute."
    if exc.error == "invalid_client":
        return (
            "Zoom refused meetbridge's app credentials. An admin must check "
            "MEETBRIDGE_ZOOM_CLIENT_ID and MEETBRIDGE_ZOOM_CLIENT_SECRET."
        )
    reason = exc.reason.lower()
    if "redirect" in reason:
        return (
            "Zoom says the return address does not match the app's Redirect URL. An admin "
            "must make MEETBRIDGE_ZOOM_REDIRECT_URI and the app's allow list the same."
        )
    if "expired" in reason or "invalid authorization code" in reason:
        return (
            "The authorization from Zoom expired or was already used (it lasts 5 minutes). "
            "Click Connect Zoom to try again."
        )
    return f"Zoom refused to finish connecting ({exc.error}). Click Connect Zoom to try again."
