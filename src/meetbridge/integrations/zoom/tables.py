"""The Zoom package's tables: connections (a member's OAuth or the account's Server-to-Server
app), OAuth states in flight, revocations to make at Zoom, webhook events, and the shared rate
counters. Same metadata as the other tables (`core.db.Base`); the migrations see them through
`migrations/env.py`, which imports this module."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from meetbridge.core.db import Base, UTCDateTime, utcnow
from meetbridge.core.models import new_id


class ConnectionKind(enum.StrEnum):
    USER = "user"  # a member's own Zoom (OAuth authorization code)
    # The organisation's Zoom account: Server-to-Server OAuth, or admin OAuth (an owner or
    # admin authorized the admin-managed app; `ZoomConnection.auth_method` tells them apart).
    ACCOUNT = "account"


class AuthMethod(enum.StrEnum):
    USER_OAUTH = "user_oauth"
    SERVER_TO_SERVER = "server_to_server"
    ADMIN_OAUTH = "admin_oauth"


class ConnectionStatus(enum.StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"  # Zoom refused the refresh (invalid_grant)
    ENDED = "ended"  # disconnected, released, replaced or removed in Zoom: never again usable


class RevocationStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class WebhookStatus(enum.StrEnum):
    PENDING = "pending"  # to handle (a worker holds it while `claimed_until` is ahead)
    DONE = "done"
    IGNORED = "ignored"  # handled, and nothing of ours matched
    FAILED = "failed"  # the handler failed on every allowed attempt


class ZoomConnection(Base):
    """One road to Zoom: a member's own Zoom (kind "user", OAuth) or the organisation's Zoom
    account (kind "account", Server-to-Server). Tokens and the client secret are encrypted
    (core.crypto); `token_version` grows on every refresh so a refresh can be compared-and-set.

    Binding: while a connection is not ended, its Zoom user (account id + user id) belongs to
    that one meetbridge user ID; a partial unique index makes a second binding impossible."""

    __tablename__ = "zoom_connections"
    __table_args__ = (
        Index(
            "uq_zoom_binding",
            "zoom_account_id",
            "zoom_user_id",
            unique=True,
            sqlite_where=text("status != 'ended' AND kind = 'user'"),
            postgresql_where=text("status != 'ended' AND kind = 'user'"),
        ),
        Index(
            "uq_zoom_user_connection",
            "user_id",
            unique=True,
            sqlite_where=text("status != 'ended' AND kind = 'user'"),
            postgresql_where=text("status != 'ended' AND kind = 'user'"),
        ),
        Index(
            "uq_zoom_account_connection",
            "org_id",
            unique=True,
            sqlite_where=text("status != 'ended' AND kind = 'account'"),
            postgresql_where=text("status != 'ended' AND kind = 'account'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # user | account
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    zoom_account_id: Mapped[str | None] = mapped_column(String(64))
    zoom_user_id: Mapped[str | None] = mapped_column(String(64))
    zoom_email: Mapped[str | None] = mapped_column(String(254))
    # A keyed digest of the Zoom user (`identity_of`), kept when Zoom's data about the user is
    # deleted: it names nobody without the server's key, and lets a reconnect of the same Zoom
    # user find the meetings of this ended connection (meetings/detached.py).
    zoom_identity: Mapped[str | None] = mapped_column(String(64))
    # Account kind: members (not only admins) may schedule with any licensed user as host.
    members_may_schedule: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    client_id: Mapped[str | None] = mapped_column(String(128))  # account kind: the S2S app
    client_secret_enc: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text, default="")
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    # A refresh in flight: who holds the lease (a random id) and until when (`tokens`).
    refresh_claim: Mapped[str | None] = mapped_column(String(36))
    refresh_claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # connected | needs_reconnect | ended
    status: Mapped[str] = mapped_column(String(20), default="connected")
    end_reason: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    connected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def auth_method(self) -> str:
        """How the connection reaches Zoom, from the columns it has (no column of its own):
        an account connection through Server-to-Server keeps its app's client secret until it
        ends; one through admin OAuth never has one, and names the Zoom admin who authorized
        it (`zoom_user_id`) and the admin app (`client_id`), with a refresh token."""
        if self.kind != ConnectionKind.ACCOUNT:
            return AuthMethod.USER_OAUTH
        if self.client_secret_enc is None and (
            self.status != ConnectionStatus.ENDED or self.zoom_user_id or self.refresh_token_enc
        ):
            return AuthMethod.ADMIN_OAUTH
        return AuthMethod.SERVER_TO_SERVER


def identity_of(secret_key: str, zoom_account_id: str, zoom_user_id: str) -> str:
    """The keyed digest a connection keeps of its Zoom user (`ZoomConnection.zoom_identity`)."""
    message = f"zoom-user:{zoom_account_id}:{zoom_user_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


class OAuthState(Base):
    """A connect attempt in flight: the `state` we sent (stored as a digest), the PKCE verifier
    (encrypted), who started it. Ten minutes, once."""

    __tablename__ = "oauth_states"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the state
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    verifier_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ZoomRevocation(Base):
    """A token to revoke at Zoom. The connection's own tokens are deleted at once on disconnect;
    this row (encrypted) lets a job retry the revoke while Zoom is down. A work row
    (core.work)."""

    __tablename__ = "zoom_revocations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_enc: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # a revoke's lease


class WebhookEvent(Base):
    """A Zoom event as received (verified), recorded before the reply; a job handles it.
    A work row (core.work): pending (claimed by a worker under a lease, `claimed_until`) →
    done | ignored, or pending again with `next_attempt_at` after a handler error, and failed
    after the last attempt, with the handler's error in `last_error`."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_status", "status", "received_at"),
        Index("ix_webhook_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    event_ts: Mapped[int | None] = mapped_column(BigInteger)  # Zoom's event time, ms
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RatePace(Base):
    """The next free moment of an evenly paced limit (Zoom's per-second budgets), shared by
    every process (embedded mode; Redis at scale). One row per key, moved on by each call."""

    __tablename__ = "rate_paces"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[float] = mapped_column(Double, nullable=False)  # seconds since the epoch


class RateCounter(Base):
    """Fixed-window counters shared by every process (embedded mode; Redis at scale)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
