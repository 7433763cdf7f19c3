"""zoom: webhook events and revocations as work rows (a lease, a back-off); token refresh leases

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "zoom_revocations",
        sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
    )
    # Plain ADD COLUMN (nullable), not a batch copy: the table's partial unique indexes stay
    # exactly as they are.
    op.add_column("zoom_connections", sa.Column("refresh_claim", sa.String(36), nullable=True))
    op.add_column(
        "zoom_connections",
        sa.Column(
            "refresh_claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True
        ),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_ts", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "next_attempt_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Rows left "working" before leases existed are pending, claimed by a lease that is over.
    op.execute("UPDATE webhook_events SET next_attempt_at = received_at")
    op.execute(
        "UPDATE webhook_events SET status = 'pending', claimed_until = received_at "
        "WHERE status = 'working'"
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.alter_column("error", new_column_name="last_error", existing_type=sa.Text())
        batch_op.alter_column(
            "next_attempt_at",
            existing_type=meetbridge.core.db.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.create_index("ix_webhook_status_next", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_status_next")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("event_ts")
        batch_op.alter_column("last_error", new_column_name="error", existing_type=sa.Text())
    op.drop_column("zoom_revocations", "claimed_until")
    op.drop_column("zoom_connections", "refresh_claimed_until")
    op.drop_column("zoom_connections", "refresh_claim")
