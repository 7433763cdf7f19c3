"""zoom connections: a keyed digest of the Zoom user that outlives a data deletion (a
reconnect of the same Zoom user finds its meetings again), and whether members may schedule
through the account connection; meetings: the Zoom user that hosts a meeting made through the
account connection

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zoom_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zoom_identity", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "members_may_schedule", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zoom_host_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("zoom_host_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("zoom_host_email")
        batch_op.drop_column("zoom_host_id")
    with op.batch_alter_table("zoom_connections", schema=None) as batch_op:
        batch_op.drop_column("members_may_schedule")
        batch_op.drop_column("zoom_identity")
