"""The service-requests module's tables: each organisation's Zoom settings for requests (the
host pool, the host-link window and padding, who may take the host link), the requests with
their participants and tags, recurring series and their bulk-conversion jobs, the durable
work that makes a request's Zoom meeting match it, and the per-person calendar feeds. Same
metadata as the other tables (`core.db.Base`); the migrations see them through
`migrations/env.py`."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from meetbridge.core.db import Base, UTCDateTime, utcnow
from meetbridge.core.models import new_id


class RequestStatus(enum.StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELED = "canceled"


class RequestKind(enum.StrEnum):
    REGULAR = "regular"
    ZOOM = "zoom"  # a Zoom meeting on a host of the pool


class HostLinkRole(enum.StrEnum):
    """Who may take a request's host link (besides nobody else): the organisation chooses."""

    SCHEDULERS = "schedulers"  # schedulers and admins
    PROVIDER = "provider"  # the request's providers (members)
    CLIENT = "client"  # the request's client contacts (when they sign in)


class ParticipantRole(enum.StrEnum):
    PROVIDER = "provider"
    CLIENT = "client"


class RequestSettings(Base):
    """One row per organisation. Also the lock a host choice takes (`SELECT … FOR UPDATE` on
    PostgreSQL; SQLite's writers are serialised by `BEGIN IMMEDIATE`), so two conversions at
    the same moment never pick the same host for overlapping times."""

    __tablename__ = "request_settings"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    lead_minutes: Mapped[int] = mapped_column(Integer, default=15)  # host link before start
    padding_minutes: Mapped[int] = mapped_column(Integer, default=15)  # blocked after end
    host_pool: Mapped[list[str]] = mapped_column(JSON, default=list)  # Zoom user e-mails
    # What the account said about each pool host at save: [{"email", "problem"}].
    pool_warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    host_link_roles: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: [HostLinkRole.SCHEDULERS.value]
    )
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RequestSeries(Base):
    """A repeating request: the rule (scheduling/recurrence.py) it was expanded from."""

    __tablename__ = "request_series"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServiceRequest(Base):
    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_org_start", "org_id", "start_at"),
        # The host choice reads the windows held on pool hosts (`block_start` … `block_end`).
        Index("ix_service_requests_host_block", "org_id", "zoom_host_id", "block_start"),
        # Zoom Demand reads a year of windows from this index alone (no row lookups).
        Index("ix_service_requests_org_block_end", "org_id", "block_start", "block_end"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    client: Mapped[str] = mapped_column(String(200))
    requester: Mapped[str] = mapped_column(String(200), default="")
    service: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(500), default="")  # a regular request's
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.REQUESTED)
    kind: Mapped[str] = mapped_column(String(16), default=RequestKind.REGULAR)
    # A Zoom request: the pool host chosen, and the window held on it (start - lead,
    # end + padding) while the request is a Zoom meeting; None otherwise.
    zoom_host_id: Mapped[str | None] = mapped_column(String(64))
    zoom_host_email: Mapped[str | None] = mapped_column(String(254))
    block_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    block_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Why the host was chosen (the hosts skipped, and why), shown on the request.
    choice_note: Mapped[str] = mapped_column(Text, default="")
    # The meeting (through the meetings service) the request holds now, if any.
    meeting_id: Mapped[str | None] = mapped_column(String(36), index=True)
    series_id: Mapped[str | None] = mapped_column(
        ForeignKey("request_series.id", ondelete="SET NULL"), index=True
    )
    occurrence: Mapped[int | None] = mapped_column(Integer)  # 0-based, within the series
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # its calendar entry's SEQUENCE
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RequestParticipant(Base):
    __tablename__ = "request_participants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # provider | client
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class RequestTag(Base):
    __tablename__ = "request_tags"

    request_id: Mapped[str] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class WorkStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class RequestWork(Base):
    """Durable work, written in the request's own transaction: "sync" makes the request's
    meeting match the request (schedule on the chosen host, move, cancel, through the
    meetings service); "drop" cancels a meeting the request no longer holds; "notify" tells
    the participants (their e-mail, with the join link when the template says so)."""

    __tablename__ = "request_work"
    __table_args__ = (Index("ix_request_work_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    meeting_id: Mapped[str | None] = mapped_column(String(36))  # "drop": the one to cancel
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=WorkStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SeriesJob(Base):
    """Converting every occurrence of a series to a Zoom meeting ("Clone Zoom Settings"), as
    durable work with progress: `done` of `total` looked at, and a report of every occurrence
    that could not be placed and why ([{"request_id", "start", "reason"}])."""

    __tablename__ = "request_series_jobs"
    __table_args__ = (Index("ix_request_series_jobs_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    series_id: Mapped[str] = mapped_column(
        ForeignKey("request_series.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    placed: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=WorkStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CalendarFeed(Base):
    """A person's secret iCalendar feed URL (its token kept as a digest): every request and
    meeting of theirs. Revoked feeds answer 404."""

    __tablename__ = "calendar_feeds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
