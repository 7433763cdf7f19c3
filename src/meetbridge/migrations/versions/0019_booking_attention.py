"""bookings: a condition a person should look at that no other state records (its meeting
was moved, on the Meetings page or at Zoom, into a time its member is not free), and since
when; and when a person last marked what it showed as seen

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attention", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("attention_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "attention_seen_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("attention_seen_at")
        batch_op.drop_column("attention_at")
        batch_op.drop_column("attention")
