"""The booking module's tables: meeting types and who they are assigned to, each member's
availability and calendars (with the busy times last read from them), the bookings, and the
durable work of telling people about them. Same metadata as the other tables
(`core.db.Base`); the migrations see them through `migrations/env.py`."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from meetbridge.core.db import Base, UTCDateTime, utcnow
from meetbridge.core.models import new_id


class Assignment(enum.StrEnum):
    ONE = "one"  # one person
    ROUND_ROBIN = "round_robin"  # one of the assigned members, by fairness
    COLLECTIVE = "collective"  # every assigned member


class Fallback(enum.StrEnum):
    """Where a booking meets when no assigned member has a working Zoom."""

    NONE = "none"  # refuse to publish without a host; a booking then waits for Zoom
    JITSI = "jitsi"  # a generated Jitsi Meet room on the type's server
    LINK = "link"  # a fixed link the member gives (their Teams or Meet room)
    PHONE = "phone"
    IN_PERSON = "in_person"


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class LinkState(enum.StrEnum):
    """How far the booking's join link has got to the people in it."""

    WAITING = "waiting"  # the meeting is being made; nobody told yet
    FOLLOWS = "follows"  # the booker was told the link follows (Zoom is slow or down)
    SENT = "sent"  # the confirmation with the link went out
    FALLBACK = "fallback"  # the fallback location was sent instead of Zoom
    NONE = "none"  # no Zoom and no fallback: the member and admins were alerted


class MeetingType(Base):
    __tablename__ = "meeting_types"
    __table_args__ = (Index("uq_meeting_types_slug", "org_id", "slug", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_min: Mapped[int] = mapped_column(Integer)
    assignment: Mapped[str] = mapped_column(String(16))
    buffer_before_min: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_min: Mapped[int] = mapped_column(Integer, default=0)
    min_notice_min: Mapped[int] = mapped_column(Integer, default=0)
    horizon_days: Mapped[int] = mapped_column(Integer, default=60)
    interval_min: Mapped[int] = mapped_column(Integer, default=30)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    reminders_min: Mapped[list[int]] = mapped_column(JSON, default=list)  # e.g. [1440, 60]
    cutoff_min: Mapped[int] = mapped_column(Integer, default=0)  # changes by the booker until
    fallback: Mapped[str] = mapped_column(String(16), default=Fallback.NONE)
    fallback_value: Mapped[str] = mapped_column(String(500), default="")
    show_members: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingTypeMember(Base):
    __tablename__ = "meeting_type_members"

    type_id: Mapped[str] = mapped_column(
        ForeignKey("meeting_types.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)  # collective: who hosts first
    weight: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=1)  # 2 high, 1 medium, 0 low


class Availability(Base):
    """A member's weekly hours (minutes after local midnight, by weekday "0" = Monday), date
    overrides ("YYYY-MM-DD" → ranges, [] = a day off) and meeting location. Also the row a
    booking locks, so that two bookers never get the same member for overlapping times (both
    databases, any number of processes)."""

    __tablename__ = "member_availability"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    timezone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    location: Mapped[str] = mapped_column(String(16), default="zoom")
    location_value: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarKind(enum.StrEnum):
    FEED = "feed"  # an iCalendar feed URL (read only)
    CALDAV = "caldav"  # read for busy times, and each booking written to it


class MemberCalendar(Base):
    """A calendar a member's busy times are read from. Durable work: each refresh is an
    attempt (core/work.py); `status` is "active" while it is read on schedule."""

    __tablename__ = "member_calendars"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2000))
    username: Mapped[str] = mapped_column(String(200), default="")
    password_enc: Mapped[str | None] = mapped_column(Text)  # Fernet, like Zoom's tokens
    etag: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarBusy(Base):
    """The busy times last read from a calendar (replaced on each read)."""

    __tablename__ = "calendar_busy"
    __table_args__ = (Index("ix_calendar_busy_user_start", "user_id", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_id: Mapped[str] = mapped_column(
        ForeignKey("member_calendars.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(36))
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_host_start", "host_user_id", "start_at"),
        Index("ix_bookings_org_start", "org_id", "start_at"),
        # A backstop under the member lock: one confirmed booking per host and start.
        Index(
            "uq_bookings_host_start",
            "host_user_id",
            "start_at",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    type_id: Mapped[str] = mapped_column(ForeignKey("meeting_types.id", ondelete="RESTRICT"))
    host_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    member_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # everyone in it
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64))  # the booker's
    booker_name: Mapped[str] = mapped_column(String(200))
    booker_email: Mapped[str] = mapped_column(String(254))
    notes: Mapped[str] = mapped_column(Text, default="")
    origin_ip: Mapped[str | None] = mapped_column(String(64))  # for the public rate limit
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.CONFIRMED)
    # The Zoom meeting (through the meetings service), or none when the fallback applies.
    meeting_id: Mapped[str | None] = mapped_column(String(36), index=True)
    location: Mapped[str] = mapped_column(String(16))  # "zoom" or a Fallback value
    location_value: Mapped[str] = mapped_column(String(500), default="")
    link_state: Mapped[str] = mapped_column(String(16), default=LinkState.WAITING)
    assignment_reason: Mapped[str] = mapped_column(Text, default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # of its calendar invite
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    # What a person should look at that no other state records (its meeting moved into a
    # time its member is not free), in plain words, and since when; the other reasons a
    # booking needs attention are read from its state (booking/attention.py).
    attention: Mapped[str | None] = mapped_column(Text)
    attention_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A person looked at what it showed: reasons from before this are not shown again.
    attention_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class BookingNotice(Base):
    """Durable work for a booking, written in the booking's own transaction. `kind`:
    "sync" makes its meeting match it (schedule, move, cancel, through the meetings service);
    "drop" cancels a meeting it no longer uses; "confirm" waits for the join link (or the
    fallback) and sends the confirmation; "reminder" is due `minutes` before the start;
    "calendar" writes the booking to the members' CalDAV calendars."""

    __tablename__ = "booking_notices"
    __table_args__ = (Index("ix_booking_notices_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # "drop": the meeting to cancel (a booking that moved to another host or to the fallback).
    meeting_id: Mapped[str | None] = mapped_column(String(36))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # the booking's, when queued
    status: Mapped[str] = mapped_column(String(16), default=NoticeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
