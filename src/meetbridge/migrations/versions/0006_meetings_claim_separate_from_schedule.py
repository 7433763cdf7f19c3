"""meetings: an attempt's claim is kept apart from when the next attempt is due; invitee count

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("invitee_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE meetings SET invitee_count = "
        "(SELECT count(*) FROM meeting_invitees WHERE meeting_invitees.meeting_id = meetings.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("invitee_count")
        batch_op.drop_column("claimed_until")
