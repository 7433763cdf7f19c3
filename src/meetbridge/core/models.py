"""The tables. IDs are random UUID strings: never guessable, never reused.

A user's ID is the identity (a Zoom connection is bound to it); e-mails can change. Restoring a
deactivated login makes a new user with a new ID that points back at the old one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetbridge.core.db import Base, UTCDateTime, utcnow

# A scheduler manages service requests (requests/) without the rest of an admin's rights.
ROLES = ("owner", "admin", "scheduler", "member")


def new_id() -> str:
    return str(uuid.uuid4())


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Organization | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # One active login per e-mail address; deactivated rows keep theirs for the record.
        Index(
            "uq_users_active_email",
            "email",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The day a new hire starts (their onboarding): "member.onboarded" carries it to workflows.
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    restored_from_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    org: Mapped[Organization] = relationship(lazy="joined")

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")

    @property
    def is_scheduler(self) -> bool:
        """Schedules service requests for others: schedulers and admins."""
        return self.role in ("owner", "admin", "scheduler")

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class ApiToken(Base):
    """A personal API token. Shown once; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The token whose request created this one (None: made on the page, signed in). Revoking
    # a token revokes the tokens it made, so a leaked token leaves nothing behind.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL"), index=True
    )


class IdempotencyKey(Base):
    """A create request's `Idempotency-Key`, kept after it succeeded: a retry with the same key
    and the same body gets the first result; with another body, a 422. The created resource's
    id is derived from the key (core/idempotency.py), so two racing requests cannot both
    create it."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("ux_idempotency_keys", "user_id", "scope", "key", unique=True),
        Index("ix_idempotency_keys_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_org_created", "org_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmailMessage(Base):
    """The e-mail outbox. Rows are written in the same transaction as the change that causes
    them; a job sends them; the reconciler re-enqueues any left pending. `dedupe_key` makes
    queuing the same message twice a no-op (e.g. `welcome:<user id>`)."""

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_status_next", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    # The template and its values; the message is rendered when it is sent (an organisation's
    # failing template must not undo the change that queued it), then the rendered parts are
    # kept as the record of what went out.
    template: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # A calendar invite (text/calendar) sent along, with its METHOD (REQUEST or CANCEL).
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # a send's lease
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_email_time", "email", "created_at"),
        Index("ix_login_ip_time", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("uq_project_name", "org_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Meeting(Base):
    """A Zoom meeting meetbridge schedules. The row is the intent: written first, then a job
    makes it true at Zoom. `status`: creating → scheduled (or failed); updating; cancelling →
    cancelled; `deleted_in_zoom` when the host deleted it in Zoom. `sequence` is the calendar
    invite's SEQUENCE, raised on every change."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_org_start", "org_id", "start_at"),
        Index("ix_meetings_status_next", "status", "next_attempt_at"),
        Index("uq_meetings_zoom_id", "zoom_meeting_id", unique=True),
        Index("ix_meetings_source", "source_kind", "source_id"),
        # A person's meetings (their calendar feed: `Meetings.of_person`) by host and start.
        Index("ix_meetings_host_start", "host_user_id", "start_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    host_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    connection_id: Mapped[str | None] = mapped_column(
        ForeignKey("zoom_connections.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    agenda: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_min: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    passcode: Mapped[str | None] = mapped_column(String(10))
    waiting_room: Mapped[bool] = mapped_column(Boolean, default=True)
    join_before_host: Mapped[bool] = mapped_column(Boolean, default=False)
    # People register for it (Zoom's approval_type 0: approved at once), e.g. a workflow's
    # "add registrants" step; off, Zoom refuses registrants (code 3000).
    registration: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20), default="creating")
    zoom_meeting_id: Mapped[int | None] = mapped_column(BigInteger)
    join_url: Mapped[str | None] = mapped_column(Text)
    # Made through the organisation's account connection: the Zoom user who hosts it (None:
    # the connection's own user, a member's own Zoom).
    zoom_host_id: Mapped[str | None] = mapped_column(String(64))
    zoom_host_email: Mapped[str | None] = mapped_column(String(254))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)  # a create may have happened
    # An attempt ended without a clear answer at least once: Zoom may still hold a late copy,
    # so the reconciler sweeps this host's meetings for orphans once (`swept_at`).
    had_ambiguity: Mapped[bool] = mapped_column(Boolean, default=False)
    swept_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # an attempt's lease
    invitee_count: Mapped[int] = mapped_column(Integer, default=0)
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What owns the meeting (meetings/source.py): "own", "booking", "request", "workflow",
    # and that module's id for it.
    source_kind: Mapped[str] = mapped_column(String(20), default="own", server_default="own")
    source_id: Mapped[str | None] = mapped_column(String(64))
    # When the last change the row holds was made (ours, or one made at the platform, by the
    # platform's clock): an older change arriving late is not applied over it.
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the last create attempt ended: a late copy of our create is made before this (plus
    # a lease); a meeting made at the platform later is not ours to sweep.
    last_create_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingInvitee(Base):
    __tablename__ = "meeting_invitees"
    __table_args__ = (
        Index("uq_invitee", "meeting_id", "email", unique=True),
        # The day's invitations per organisation are counted from it (meetings/caps.py).
        Index("ix_meeting_invitees_created", "created_at"),
        # The meetings a person is invited to, by their address (their calendar feed).
        Index("ix_meeting_invitees_email", "email"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmailTemplate(Base):
    """An organisation's own wording for one of meetbridge's e-mails (subject and text)."""

    __tablename__ = "email_templates"
    __table_args__ = (Index("uq_email_template", "org_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    # Whether e-mails built from it carry the meeting's Zoom invite link (where it has one).
    include_join_link: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DomainEvent(Base):
    """Something that happened (`meeting.scheduled`, `member.created`, …), written in the
    transaction of the change and dispatched to subscribers by a job (core.events). A work row
    (core.work): `delivered` lists the subscribers that have handled it."""

    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_status_next", "status", "next_attempt_at"),
        Index("ix_domain_events_subject", "subject_type", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[list[str]] = mapped_column(JSON, default=list)
