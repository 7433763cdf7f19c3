"""meetings: what owns a meeting (source), when its last change was made, when its last
create attempt ended

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source_kind", sa.String(length=20), nullable=False, server_default="own")
        )
        batch_op.add_column(sa.Column("source_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("changed_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "last_create_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index("ix_meetings_source", ["source_kind", "source_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_source")
        batch_op.drop_column("last_create_at")
        batch_op.drop_column("changed_at")
        batch_op.drop_column("source_id")
        batch_op.drop_column("source_kind")
