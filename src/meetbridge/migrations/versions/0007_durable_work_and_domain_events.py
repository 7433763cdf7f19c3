"""durable work: the e-mail outbox's lease in its own column; domain events

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    # A message a worker was sending kept its lease in next_attempt_at: it is pending again,
    # with that lease as its claim.
    op.execute(
        "UPDATE email_messages SET status = 'pending', claimed_until = next_attempt_at "
        "WHERE status = 'sending'"
    )
    op.create_table(
        "domain_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("occurred_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_domain_events_status_next", "domain_events", ["status", "next_attempt_at"])
    op.create_index("ix_domain_events_subject", "domain_events", ["subject_type", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_domain_events_subject", table_name="domain_events")
    op.drop_index("ix_domain_events_status_next", table_name="domain_events")
    op.drop_table("domain_events")
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
