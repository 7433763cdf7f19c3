"""booking: meeting types and their members, member availability and calendars (with the busy
times read from them), bookings, and the durable work that keeps their meetings and messages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_types",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("assignment", sa.String(length=16), nullable=False),
        sa.Column("buffer_before_min", sa.Integer(), nullable=False),
        sa.Column("buffer_after_min", sa.Integer(), nullable=False),
        sa.Column("min_notice_min", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("interval_min", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("reminders_min", sa.JSON(), nullable=False),
        sa.Column("cutoff_min", sa.Integer(), nullable=False),
        sa.Column("fallback", sa.String(length=16), nullable=False),
        sa.Column("fallback_value", sa.String(length=500), nullable=False),
        sa.Column("show_members", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meeting_types", schema=None) as batch_op:
        batch_op.create_index("uq_meeting_types_slug", ["org_id", "slug"], unique=True)

    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("host_user_id", sa.String(length=36), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("start_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("booker_name", sa.String(length=200), nullable=False),
        sa.Column("booker_email", sa.String(length=254), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("origin_ip", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=True),
        sa.Column("location", sa.String(length=16), nullable=False),
        sa.Column("location_value", sa.String(length=500), nullable=False),
        sa.Column("link_state", sa.String(length=16), nullable=False),
        sa.Column("assignment_reason", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["host_user_id"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["type_id"], ["meeting_types.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_host_start", ["host_user_id", "start_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index("ix_bookings_org_start", ["org_id", "start_at"], unique=False)
        batch_op.create_index(
            "uq_bookings_host_start",
            ["host_user_id", "start_at"],
            unique=True,
            sqlite_where=sa.text("status = 'confirmed'"),
            postgresql_where=sa.text("status = 'confirmed'"),
        )

    op.create_table(
        "meeting_type_members",
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["type_id"], ["meeting_types.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("type_id", "user_id"),
    )
    with op.batch_alter_table("meeting_type_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_type_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "member_availability",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(length=16), nullable=False),
        sa.Column("location_value", sa.String(length=500), nullable=False),
        sa.Column("updated_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "member_calendars",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password_enc", sa.Text(), nullable=True),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_read_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member_calendars", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_calendars_user_id"), ["user_id"], unique=False)

    op.create_table(
        "booking_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("booking_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("booking_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_notices_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index("ix_booking_notices_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "calendar_busy",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("calendar_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("start_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["member_calendars.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calendar_busy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_busy_calendar_id"), ["calendar_id"], unique=False
        )
        batch_op.create_index("ix_calendar_busy_user_start", ["user_id", "start_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_busy", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_busy_user_start")
        batch_op.drop_index(batch_op.f("ix_calendar_busy_calendar_id"))

    op.drop_table("calendar_busy")
    with op.batch_alter_table("booking_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_notices_due")
        batch_op.drop_index(batch_op.f("ix_booking_notices_booking_id"))

    op.drop_table("booking_notices")
    with op.batch_alter_table("member_calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_calendars_user_id"))

    op.drop_table("member_calendars")
    op.drop_table("member_availability")
    with op.batch_alter_table("meeting_type_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_type_members_user_id"))

    op.drop_table("meeting_type_members")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bookings_host_start",
            sqlite_where=sa.text("status = 'confirmed'"),
            postgresql_where=sa.text("status = 'confirmed'"),
        )
        batch_op.drop_index("ix_bookings_org_start")
        batch_op.drop_index(batch_op.f("ix_bookings_meeting_id"))
        batch_op.drop_index("ix_bookings_host_start")

    op.drop_table("bookings")
    with op.batch_alter_table("meeting_types", schema=None) as batch_op:
        batch_op.drop_index("uq_meeting_types_slug")

    op.drop_table("meeting_types")
