"""When access to Zoom ends. Ours: a disconnected connection's token is revoked at Zoom by a
job, retried with back-off while Zoom is down (the connection's own tokens are already gone).
Zoom's: a refresh refused (invalid_grant) or the app removed in Zoom (`app_deauthorized`) ends
the connection and tells the member; with `user_data_retention: false` everything Zoom gave us
about that user is deleted too (Zoom's data compliance rule for published apps): the tokens,
the Zoom e-mail, user id, account id and scopes. The meetings the member scheduled here are
meetbridge's records and stay, with the meeting id and join link meetbridge made and sent to
the invitees (so a cancel still reaches them, and a reconnect finds the meetings again);
docs/decisions/0007-meetings-outlive-the-connection.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.jobs import JobQueue
from meetbridge.core.models import User
from meetbridge.core.settings import Settings
from meetbridge.core.work import Done, Failed, Later, Outcome, Retry, WorkTable
from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth
from meetbridge.integrations.zoom.tables import (
    ConnectionKind,
    ConnectionStatus,
    RevocationStatus,
    WebhookStatus,
    ZoomConnection,
    ZoomRevocation,
    identity_of,
)
from meetbridge.integrations.zoom.webhooks import ZoomEvent
from meetbridge.notify.outbox import MailDelivery, queue_email

REVOKE_TASK = "zoom.revoke"
# While Zoom is down: 30 s doubling, capped at an hour; 12 attempts are about 6 hours.
RETRY = Retry(base=30, cap=3600, max_attempts=12)


def queue_revocation(s: Session, token_enc: str, client_id: str) -> str:
    """Records a token to revoke at Zoom (in the caller's transaction); returns its id, for
    the caller to enqueue REVOKE_TASK with once committed."""
    revocation = ZoomRevocation(token_enc=token_enc, client_id=client_id)
    s.add(revocation)
    s.flush()
    return revocation.id


class Revocations:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        crypto: Crypto,
        oauth: ZoomOAuth,
        client: ZoomClient,
        jobs: JobQueue,
        mail: MailDelivery,
        clock: Clock,
    ) -> None:
        self.db = db
        self.settings = settings
        self.crypto = crypto
        self.oauth = oauth
        self.client = client
        self.jobs = jobs
        self.mail = mail
        self.clock = clock
        self.work = WorkTable(
            ZoomRevocation,
            pending=[RevocationStatus.PENDING],
            failed=RevocationStatus.FAILED,
            retry=RETRY,
            lease=dt.timedelta(seconds=max(60.0, 3 * settings.zoom_timeout)),
        )

    # ---- ours: revoking at Zoom --------------------------------------------------------------

    def revoke(self, revocation_id: str) -> str:
        """The job: one attempt at revoking the token at Zoom (durable work: claimed under a
        lease, retried with back-off while Zoom is down). Returns the row's status."""
        attempt = self.work.attempt(self.db, self.clock, revocation_id, self._revoke)
        return attempt.status

    def _revoke(self, row: Row[Any]) -> Outcome:
        # With the secret of the app the token belongs to: the user app, or the admin app.
        st = self.settings
        secret = (
            st.zoom_admin_client_secret
            if row.client_id == st.zoom_admin_client_id and row.client_id != st.zoom_client_id
            else st.zoom_client_secret
        ).get_secret_value()
        try:
            self.oauth.revoke(row.client_id, secret, self.crypto.decrypt(row.token_enc))
        except OAuthFailed as exc:
            error = f"{exc.error}: {exc.reason}"
            if exc.status != 0 and exc.status < 500:
                # Zoom no longer knows the token: nothing left to revoke.
                return Done(RevocationStatus.DONE, {"token_enc": "", "last_error": error})
            if RETRY.exhausted(row.attempts):
                return Failed(error, {"token_enc": ""})  # the token is not kept forever
            return Later(error)
        return Done(RevocationStatus.DONE, {"token_enc": ""})

    def reconcile(self) -> int:
        """Re-enqueues the revocations that are due; returns how many."""
        due = self.work.due_ids(self.db, self.clock.now())
        for rid in due:
            self.jobs.enqueue(REVOKE_TASK, rid)
        return len(due)

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

    def on_deauthorized(self, event: ZoomEvent) -> str:
        """app_deauthorized: the user removed the app in Zoom (or we revoked). Tokens deleted,
        connection ended, user told; with user_data_retention false, all of that user's Zoom
        data is deleted too."""
        payload = event.payload
        account_id, zoom_user_id = event.account_id, payload.get("user_id")
        if not account_id or not zoom_user_id:
            return WebhookStatus.IGNORED  # `== None` would match purged connections
        retain = str(payload.get("user_data_retention", "false")).lower() == "true"
        # Whose app was removed: the admin app's removal ends the account connection that
        # admin authorized; any other (the user app's) ends the member's own connection.
        st = self.settings
        admin_app = (
            payload.get("client_id") == st.zoom_admin_client_id
            and st.zoom_admin_client_id != st.zoom_client_id
        )
        messages = []
        with self.db.write() as s:
            conns = s.scalars(
                select(ZoomConnection).where(
                    ZoomConnection.kind
                    == (ConnectionKind.ACCOUNT if admin_app else ConnectionKind.USER),
                    ZoomConnection.zoom_account_id == account_id,
                    ZoomConnection.zoom_user_id == zoom_user_id,
                )
            )
            found = False
            for conn in conns:
                found = True
                self.client.tokens.forget(conn.id)
                was_live = conn.status != ConnectionStatus.ENDED
                if was_live:
                    conn.status, conn.end_reason = ConnectionStatus.ENDED, "removed_in_zoom"
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
        return WebhookStatus.DONE if found else WebhookStatus.IGNORED

    def _forget_zoom_data(self, s: Session, conn: ZoomConnection) -> None:
        """Zoom's data compliance: delete everything Zoom gave us about this user, keeping only
        the keyed digest that recognises the same Zoom user when it connects again (made here
        for a connection made before the digest existed)."""
        if conn.zoom_identity is None and conn.zoom_account_id:
            conn.zoom_identity = identity_of(
                self.settings.secret_key.get_secret_value(),
                conn.zoom_account_id,
                "account" if conn.kind == ConnectionKind.ACCOUNT else conn.zoom_user_id or "",
            )
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
